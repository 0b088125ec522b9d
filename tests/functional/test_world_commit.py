"""The test world's commit helper commits what a test means: on the named branch, on top
of its tip as the controllers left it, changing exactly the files given, never empty.

Before it was fixed the helper committed from a stale checkout: after a write-back
(commit-tree + update-ref, no work tree) its next commit on the checked-out branch put
the old file back, silently reverting the write-back."""

from __future__ import annotations

import subprocess

import pytest
from world import World

from ecs_gitops.source.localgit import LocalGitSource

PATH = "desired_state/development.yaml"


def _write_back(world: World, branch: str, text: str) -> str:
    """What the write-back does: a commit made without the work tree."""
    source = LocalGitSource(world.repo)
    return source.put_file(branch=branch, parent=world.tip(branch), path=PATH,
                           content=text, message="write-back")


def test_a_commit_after_a_write_back_on_the_checked_out_branch_keeps_it(world: World) -> None:
    world.git("checkout", "-q", "development")
    written = _write_back(world, "development", world.read("development", PATH) + "# tag\n")
    after = world.commit("development", {"apps/api/main.py": "print('v2')\n"})
    assert world.git("rev-parse", f"{after}^") == written
    assert world.read("development", PATH).endswith("# tag")
    assert world.git("diff", "--name-only", written, after) == "apps/api/main.py"


def test_a_commit_on_another_branch_after_a_write_back_keeps_both(world: World) -> None:
    world.git("checkout", "-q", "development")
    written = _write_back(world, "development", world.read("development", PATH) + "# tag\n")
    main_before = world.tip("main")
    after = world.commit("main", {"README.md": "changed\n"})
    assert world.git("rev-parse", f"{after}^") == main_before
    assert world.tip("development") == written
    assert world.read("development", PATH).endswith("# tag")


def test_a_commit_that_changes_nothing_is_refused(world: World) -> None:
    before = world.tip("main")
    with pytest.raises(subprocess.CalledProcessError):
        world.commit("main", {"README.md": world.read("main", "README.md") + "\n"})
    assert world.tip("main") == before


def test_a_commit_on_a_missing_branch_is_refused(world: World) -> None:
    with pytest.raises(subprocess.CalledProcessError):
        world.commit("no-such-branch", {"README.md": "x\n"})


def test_each_commit_is_new_and_on_its_branch(world: World) -> None:
    first = world.commit("development", {"apps/api/main.py": "print('v2')\n"})
    second = world.commit("development", {"apps/api/main.py": "print('v3')\n"})
    assert len({first, second, world.tip("main")}) == 3
    assert world.git("rev-parse", f"{second}^") == first
    assert world.git("branch", "--contains", second, "--format=%(refname:short)") == "development"
