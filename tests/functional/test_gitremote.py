"""The embedded remote carries the checkout's history, so that `git push local
HEAD:<branch>` fast-forwards whatever the checkout looks like."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ecs_gitops_tools.local.gitremote import GitRemote

ENV = {"GIT_AUTHOR_NAME": "U", "GIT_AUTHOR_EMAIL": "u@example.com",
       "GIT_COMMITTER_NAME": "U", "GIT_COMMITTER_EMAIL": "u@example.com", "PATH": "/usr/bin:/bin"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, env=ENV).stdout.strip()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "checkout"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for n in range(3):
        (repo / "f.txt").write_text(f"{n}\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", f"c{n}")
    return repo


def _seed(checkout: Path, tmp_path: Path) -> tuple[GitRemote, dict[str, str]]:
    remote, seeded = GitRemote.from_checkout(tmp_path / "remote.git", source=checkout,
                                             branches=["main", "development"])
    return remote, {s.branch: s.commit for s in seeded}


def test_branches_come_with_their_history(checkout: Path, tmp_path: Path) -> None:
    git(checkout, "branch", "development", "HEAD~1")
    remote, seeded = _seed(checkout, tmp_path)
    assert seeded == {"main": git(checkout, "rev-parse", "main"),
                      "development": git(checkout, "rev-parse", "development")}
    assert remote.tip("main") == seeded["main"]
    log = subprocess.run(["git", "--git-dir", str(remote.path), "log", "--format=%s", "main"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert log == ["c2", "c1", "c0"]


@pytest.mark.parametrize("head", ["main", "feature-behind"])
def test_a_missing_branch_starts_where_a_push_of_head_fast_forwards(
        checkout: Path, tmp_path: Path, head: str) -> None:
    git(checkout, "checkout", "-qb", "feature-behind", "HEAD~2")
    (checkout / "g.txt").write_text("work\n")
    git(checkout, "add", "-A")
    git(checkout, "commit", "-qm", "feature work")
    git(checkout, "checkout", "-q", head)
    remote, seeded = _seed(checkout, tmp_path)
    base = git(checkout, "merge-base", "HEAD", "main")
    assert seeded["development"] == base
    (checkout / "h.txt").write_text("a change\n")  # the README's edit and commit
    git(checkout, "add", "-A")
    git(checkout, "commit", "-qm", "a change")
    push = subprocess.run(["git", "-C", str(checkout), "push", "-q", str(remote.path),
                           "HEAD:development"], capture_output=True, text=True, env=ENV,
                          check=False)
    assert push.returncode == 0, push.stderr  # a fast-forward, never a rejection
    assert remote.pending()  # and the hook recorded it: the bus sees a push
