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


@dataclass(frozen=True, slots=True)
class PullRequest:
    """A pull request as CodeCommit's GetPullRequest reports it now (its first target).

    Attributes:
        id: `pullRequestId`.
        status: `pullRequestStatus`: OPEN or CLOSED.
        repository: the target's `repositoryName`.
        source_branch, destination_branch: the target's `sourceReference` and
            `destinationReference` without `refs/heads/`.
        source_commit, destination_commit: the target's `sourceCommit` (the source
            branch's tip) and `destinationCommit` (the destination's tip when the pull
            request was last updated).
        merged: the target's `mergeMetadata.isMerged`.
    """

    id: str
    status: str
    repository: str
    source_branch: str
    destination_branch: str
    source_commit: str
    destination_commit: str
    merged: bool = False


@dataclass(frozen=True, slots=True)
class PullRequestComment:
    """A comment on a pull request (GetCommentsForPullRequest's `Comment`)."""

    id: str  # commentId
    content: str


class PullRequests(Protocol):
    """The pull requests of the configuration repository, and the merge they propose:
    CodeCommit's API (`ecs_gitops.aws.codecommit.CodeCommitPullRequests`) or the
    embedded cloud's (`localgit.LocalPullRequests`)."""

    def get(self, pull_request_id: str) -> PullRequest:
        """GetPullRequest (SourceError when there is no such pull request)."""

    def merge_commit(self, source: str, destination: str) -> str:
        """A commit whose tree is `source` merged into `destination`, on no branch:
        `source` itself when `destination` is its ancestor (a fast-forward), else an
        unreferenced three-way merge commit (CodeCommit's CreateUnreferencedMergeCommit,
        `git merge-tree`). Raises MergeConflictError when the merge needs a person."""

    def comments(self, pull_request_id: str) -> list[PullRequestComment]:
        """Every comment on the pull request (all pages), oldest first."""

    def post_comment(self, pull_request_id: str, *, before: str, after: str, content: str,
                     token: str) -> str:
        """PostCommentForPullRequest on the pull request's changes (`before`: the
        destination commit, `after`: the source commit) with the idempotency token
        `token`; returns the comment's id. The same token with other parameters is a
        ConflictError (CodeCommit's IdempotencyParameterMismatchException)."""

    def update_comment(self, comment_id: str, content: str) -> None:
        """UpdateComment: replace the comment's content (only its author may). SourceError
        when the comment is gone (a person deleted it) or another author's."""
