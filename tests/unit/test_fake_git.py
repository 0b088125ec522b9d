"""The fake git's commit helper, like the test world's, refuses a commit that changes
nothing: a test built on an empty commit would assert nothing."""

from __future__ import annotations

import pytest
from fakes import FakeGit


def test_an_empty_commit_is_refused_and_the_branch_stays() -> None:
    git = FakeGit()
    first = git.commit("main", {"a": "1"})
    with pytest.raises(ValueError, match="changes nothing"):
        git.commit("main", {"a": "1"})
    assert git.branch_tip("main") == first


def test_each_commit_is_new_on_its_branch_and_changes_what_it_says() -> None:
    git = FakeGit()
    first = git.commit("main", {"a": "1", "b": "1"})
    second = git.commit("main", {"a": "2", "b": None})
    assert first != second
    assert git.branch_tip("main") == second
    assert git.commit_info(second).parents == (first,)
    assert git.changed_paths(first, second) == ["a", "b"]
    assert git.read_file(second, "b") is None
