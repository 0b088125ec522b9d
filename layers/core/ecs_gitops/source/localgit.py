"""A local git repository as the source (the embedded cloud's CodeCommit).

Writes never touch a work tree: the new commit is built with a temporary index
(read-tree, update-index, write-tree, commit-tree) and the branch moves with a
compare-and-swap `update-ref`, which is exactly CodeCommit's `parentCommitId` rule.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from ecs_gitops.errors import ConflictError, SourceError
from ecs_gitops.source import Commit

AUTHOR = {"GIT_AUTHOR_NAME": "ecs-gitops", "GIT_AUTHOR_EMAIL": "ecs-gitops@localhost",
          "GIT_COMMITTER_NAME": "ecs-gitops", "GIT_COMMITTER_EMAIL": "ecs-gitops@localhost"}


class LocalGitSource:
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
        result = self._git("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}",
                           check=False)
        if result.returncode != 0:
            raise SourceError(f"no branch {branch!r} in {self.path}")
        return result.stdout.strip()

    def changed_paths(self, before: str | None, after: str) -> list[str]:
        if before is None:
            out = self._git("ls-tree", "-r", "--name-only", after).stdout
        else:
            out = self._git("diff", "--name-only", "--no-renames", before, after).stdout
        return [line for line in out.splitlines() if line]

    def read_file(self, commit: str, path: str) -> str | None:
        result = self._git("show", f"{commit}:{path}", check=False)
        return result.stdout if result.returncode == 0 else None

    def commit(self, commit_id: str) -> Commit:
        out = self._git("show", "-s", "--format=%H%n%P%n%B", commit_id).stdout
        sha, parents, *message = out.split("\n")
        return Commit(id=sha, message="\n".join(message).strip(),
                      parents=tuple(p for p in parents.split() if p))

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        result = self._git("merge-base", "--is-ancestor", ancestor, descendant, check=False)
        return result.returncode == 0

    def put_file(self, *, branch: str, parent: str, path: str, content: str, message: str) -> str:
        blob = self._git("hash-object", "-w", "--stdin", stdin=content).stdout.strip()
        with tempfile.TemporaryDirectory() as tmp:
            index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self._git("read-tree", parent, env=index)
            self._git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=index)
            tree = self._git("write-tree", env=index).stdout.strip()
        new = self._git("commit-tree", tree, "-p", parent, "-m", message).stdout.strip()
        moved = self._git("update-ref", f"refs/heads/{branch}", new, parent, check=False)
        if moved.returncode != 0:
            raise ConflictError(f"branch {branch} moved past {parent[:12]}: {moved.stderr.strip()}")
        return new
