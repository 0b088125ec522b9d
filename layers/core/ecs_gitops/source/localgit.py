"""A local git repository as the source (the embedded cloud's CodeCommit).

Writes never touch a work tree: the new commit is built with a temporary index
(read-tree, update-index, write-tree, commit-tree) and the branch moves with a
compare-and-swap `update-ref`, which is exactly CodeCommit's `parentCommitId` rule.

Commit ids come from events (untrusted): they are checked to be hexadecimal object
names before git sees them, and user-supplied names always follow a `--` or an
explicit `refs/heads/` prefix, so that an id such as `--output=FILE` is never an option.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

from ecs_gitops.errors import ConflictError, SourceError
from ecs_gitops.source import Commit

AUTHOR = {"GIT_AUTHOR_NAME": "ecs-gitops", "GIT_AUTHOR_EMAIL": "ecs-gitops@localhost",
          "GIT_COMMITTER_NAME": "ecs-gitops", "GIT_COMMITTER_EMAIL": "ecs-gitops@localhost"}
_OBJECT = re.compile(r"^[0-9a-f]{4,64}$")
_BRANCH = re.compile(r"^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]{1,200}$")
_PATH = re.compile(r"^(?![-/])(?!.*\.\.)[A-Za-z0-9._/ -]{1,500}$")


def _object(commit: str) -> str:
    """`commit` if it is a hexadecimal object name, else SourceError."""
    if not _OBJECT.match(commit):
        raise SourceError(f"not a commit id: {commit[:80]!r}")
    return commit


def _branch(name: str) -> str:
    if not _BRANCH.match(name):
        raise SourceError(f"not a branch name: {name[:80]!r}")
    return name


def _path(path: str) -> str:
    if not _PATH.match(path):
        raise SourceError(f"not a repository path: {path[:80]!r}")
    return path


class LocalGitSource:
    """The `GitSource` port on a local (bare or not) git repository."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _git(self, *args: str, env: dict[str, str] | None = None, check: bool = True,
             stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            # Bytes that are not UTF-8 (in a file's content) travel as surrogateescape:
            # the loader reports them, where they are, instead of a UnicodeDecodeError here.
            ["git", "-C", str(self.path), *args], capture_output=True, text=True,
            encoding="utf-8", errors="surrogateescape",
            env={**os.environ, **AUTHOR, **(env or {})}, input=stdin, check=False,
        )
        if check and result.returncode != 0:
            raise SourceError(f"git {' '.join(args[:2])}: {result.stderr.strip()}")
        return result

    def branch_tip(self, branch: str) -> str:
        """`git rev-parse` of refs/heads/BRANCH (SourceError if there is none)."""
        result = self._git("rev-parse", "--verify", "--quiet",
                           f"refs/heads/{_branch(branch)}^{{commit}}", check=False)
        if result.returncode != 0:
            raise SourceError(f"no branch {branch!r} in {self.path}")
        return result.stdout.strip()

    def changed_paths(self, before: str | None, after: str) -> list[str]:
        """`git diff --name-only` (every file of `after` when `before` is None)."""
        if before is None:
            out = self._git("ls-tree", "-r", "--name-only", _object(after), "--").stdout
        else:
            out = self._git("diff", "--name-only", "--no-renames", _object(before),
                            _object(after), "--").stdout
        return [line for line in out.splitlines() if line]

    def read_file(self, commit: str, path: str) -> str | None:
        """`git show COMMIT:PATH`, or None when the file is not there."""
        result = self._git("show", f"{_object(commit)}:{_path(path)}", check=False)
        return result.stdout if result.returncode == 0 else None

    def commit(self, commit_id: str) -> Commit:
        """The commit's id, parents and message."""
        out = self._git("show", "-s", "--format=%H%n%P%n%B", _object(commit_id), "--").stdout
        sha, parents, *message = out.split("\n")
        return Commit(id=sha, message="\n".join(message).strip(),
                      parents=tuple(p for p in parents.split() if p))

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """`git merge-base --is-ancestor`; False for unknown or malformed ids."""
        if not (_OBJECT.match(ancestor) and _OBJECT.match(descendant)):
            return False
        result = self._git("merge-base", "--is-ancestor", ancestor, descendant, check=False)
        return result.returncode == 0

    def file_history(self, tip: str, path: str, *, limit: int) -> list[str]:
        """`git log --format=%H -n LIMIT TIP -- PATH`."""
        out = self._git("log", "--format=%H", f"-n{int(limit)}", _object(tip), "--",
                        _path(path)).stdout
        return [line for line in out.splitlines() if line]

    def put_file(self, *, branch: str, parent: str, path: str, content: str, message: str) -> str:
        """Commit `content` at `path` on top of `parent` and move `branch` to it, only if
        the branch is still at `parent` (ConflictError otherwise)."""
        blob = self._git("hash-object", "-w", "--stdin", stdin=content).stdout.strip()
        with tempfile.TemporaryDirectory() as tmp:
            index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self._git("read-tree", _object(parent), env=index)
            self._git("update-index", "--add", "--cacheinfo", f"100644,{blob},{_path(path)}",
                      env=index)
            tree = self._git("write-tree", env=index).stdout.strip()
        new = self._git("commit-tree", tree, "-p", parent, "-m", message).stdout.strip()
        moved = self._git("update-ref", f"refs/heads/{_branch(branch)}", new, parent,
                          check=False)
        if moved.returncode != 0:
            raise ConflictError(f"branch {branch} moved past {parent[:12]}: {moved.stderr.strip()}")
        return new
