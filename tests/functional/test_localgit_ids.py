"""The embedded git source never lets an id from an event become a git option (issue
10, guard 8): commit ids must be hexadecimal object names, branch names and paths
cannot start with `-`, and user-supplied values follow `--` or `refs/heads/`."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ecs_gitops.errors import SourceError
from ecs_gitops.source.localgit import LocalGitSource

ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
       "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"}


@pytest.fixture
def repo(tmp_path: Path) -> tuple[LocalGitSource, str, Path]:
    work = tmp_path / "repo"
    work.mkdir()
    (work / "a.txt").write_text("a\n")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "one"]):
        subprocess.run(["git", "-C", str(work), *args], check=True, env=ENV)
    source = LocalGitSource(work)
    return source, source.branch_tip("main"), tmp_path


CALLS: dict[str, Callable[[LocalGitSource, str, str], Any]] = {
    "read_file": lambda s, bad, good: s.read_file(bad, "a.txt"),
    "commit": lambda s, bad, good: s.commit(bad),
    "changed_paths after": lambda s, bad, good: s.changed_paths(good, bad),
    "changed_paths before": lambda s, bad, good: s.changed_paths(bad, good),
    "changed_paths of a root": lambda s, bad, good: s.changed_paths(None, bad),
    "file_history": lambda s, bad, good: s.file_history(bad, "a.txt", limit=5),
    "put_file parent": lambda s, bad, good: s.put_file(branch="main", parent=bad, path="a.txt",
                                                       content="x", message="m"),
}


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("bad", ["--output={out}", "-p", "HEAD", "main", "{good}~1",
                                 "{good}:a.txt", "--all"])
def test_an_id_that_is_not_hex_is_refused_before_git_sees_it(
        repo: tuple[LocalGitSource, str, Path], call: str, bad: str) -> None:
    source, good, tmp = repo
    out = tmp / "written"
    bad_id = bad.format(out=out, good=good)
    with pytest.raises(SourceError, match="not a commit id"):
        CALLS[call](source, bad_id, good)
    assert not out.exists()
    assert source.branch_tip("main") == good


def test_ancestry_of_an_id_that_is_not_hex_is_false(repo: tuple[LocalGitSource, str, Path]
                                                    ) -> None:
    source, good, tmp = repo
    assert source.is_ancestor(good, good)
    assert not source.is_ancestor(f"--output={tmp / 'x'}", good)
    assert not source.is_ancestor(good, "HEAD")
    assert not (tmp / "x").exists()


@pytest.mark.parametrize("branch", ["-b", "--orphan=x", "a..b"])
def test_a_branch_name_that_could_be_an_option_is_refused(
        repo: tuple[LocalGitSource, str, Path], branch: str) -> None:
    source, good, _ = repo
    with pytest.raises(SourceError, match="not a branch name"):
        source.branch_tip(branch)
    with pytest.raises(SourceError, match="not a branch name"):
        source.put_file(branch=branch, parent=good, path="a.txt", content="x", message="m")


@pytest.mark.parametrize("path", ["-p", "--output=x", "/etc/passwd", "../x"])
def test_a_path_that_could_be_an_option_is_refused(
        repo: tuple[LocalGitSource, str, Path], path: str) -> None:
    source, good, _ = repo
    with pytest.raises(SourceError, match="not a repository path"):
        source.read_file(good, path)
    with pytest.raises(SourceError, match="not a repository path"):
        source.file_history(good, path, limit=5)


def test_hex_ids_short_and_long_work(repo: tuple[LocalGitSource, str, Path]) -> None:
    source, good, _ = repo
    assert source.read_file(good[:12], "a.txt") == "a\n"
    assert source.commit(good).id == good
    assert source.changed_paths(None, good) == ["a.txt"]
    assert source.file_history(good, "a.txt", limit=5) == [good]


def test_an_id_that_is_also_a_file_name_is_read_as_a_commit(
        repo: tuple[LocalGitSource, str, Path]) -> None:
    """`--` ends the revisions: a file named like the id (git would otherwise stop with
    "ambiguous argument: both revision and filename") changes nothing."""
    source, good, _ = repo
    for name in (good, good[:12]):
        (source.path / name).write_text("a file, not a commit\n")
    assert source.commit(good).id == good
    assert source.commit(good[:12]).id == good
    assert source.changed_paths(None, good[:12]) == ["a.txt"]
    assert source.file_history(good[:12], "a.txt", limit=5) == [good]
