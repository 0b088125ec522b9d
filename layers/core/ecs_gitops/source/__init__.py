"""The git side behind one interface: CodeCommit (`ecs_gitops.aws.codecommit`) and a
local git repository (`localgit`), so controllers never know which one they use.

The write-back marker says "this commit was written by ecs-gitops": the push
controller never builds from such a commit (invariant 4, no loops).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

WRITE_BACK_MARKER = "[ecs-gitops write-back]"


@dataclass(frozen=True, slots=True)
class Commit:
    """A commit: its id, message and parents."""
    id: str
    message: str
    parents: tuple[str, ...]


class GitSource(Protocol):
    """The git side of a controller: read branches, files and ancestry; commit one file."""
    def branch_tip(self, branch: str) -> str:
        """The commit id at the branch's tip (raises SourceError if there is no such branch)."""

    def changed_paths(self, before: str | None, after: str) -> list[str]:
        """Paths that differ between two commits (all pages); `before=None`: every file."""

    def read_file(self, commit: str, path: str) -> str | None:
        """The file's text at that commit, or None when it does not exist there.

        Decoded as UTF-8; bytes that are not UTF-8 are kept as `surrogateescape` code
        points (U+DC80..U+DCFF), which the desired-state loader reports with their line.
        """

    def commit(self, commit_id: str) -> Commit:
        """The commit `commit_id` (SourceError if git cannot read it)."""

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """True when `ancestor` is `descendant` or reachable from it. Unknown commits: False."""

    def file_history(self, tip: str, path: str, *, limit: int) -> list[str]:
        """The commits (newest first, at most `limit`) reachable from `tip` that changed
        `path` (CodeCommit's ListFileCommitHistory, `git log -- path`)."""

    def put_file(self, *, branch: str, parent: str, path: str, content: str, message: str) -> str:
        """Commit one file on top of `parent`; ConflictError if the branch moved meanwhile."""


def is_write_back(message: str) -> bool:
    """True when a commit message carries the write-back marker (invariant 4)."""
    return WRITE_BACK_MARKER in message
