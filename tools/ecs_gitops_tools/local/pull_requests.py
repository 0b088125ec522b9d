"""The embedded cloud's CodeCommit pull requests: opened, updated and merged on its git
remote (`ecs_gitops.source.localgit.LocalPullRequests`, the store the PullRequestFunction
reads), each with the "CodeCommit Pull Request State Change" event CodeCommit emits.

A push to an open pull request's source branch emits pullRequestSourceBranchUpdated (the
cloud does it as it takes the push); opening one emits pullRequestCreated; merging moves
the destination branch (whose push event the remote's hook reports, as for any push) and
emits pullRequestMergeStatusUpdated. The CLI hands its events to the running cloud
through the remote's spool (`GitRemote.spool_event`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ecs_gitops.errors import SourceError
from ecs_gitops.source import PullRequest
from ecs_gitops.source.localgit import LocalPullRequests
from ecs_gitops_tools.local import emit

REPOSITORY = "ecs-gitops"


def source_updated(remote: Path, ref: str, *, repository: str = REPOSITORY,
                   region: str = emit.REGION) -> list[dict[str, Any]]:
    """The pullRequestSourceBranchUpdated events of the open pull requests whose source
    branch is `ref` (a pushed ref), their commits refreshed first."""
    if not ref.startswith("refs/heads/"):
        return []
    branch = ref.removeprefix("refs/heads/")
    pulls = LocalPullRequests(remote, repository)
    events = []
    for pull_request in pulls.open_requests():
        # (a push that brings nothing new to it, as the branch's first push before the
        # pull request was opened, tells it nothing)
        if pull_request.source_branch == branch \
                and pulls.recorded_source(pull_request.id) != pull_request.source_commit:
            current = pulls.refresh(pull_request.id)
            events.append(emit.codecommit_pull_request(
                current, "pullRequestSourceBranchUpdated", title=pulls.title(current.id),
                region=region))
    return events


def create(remote: Path, *, source: str, destination: str, title: str = "",
           repository: str = REPOSITORY, region: str = emit.REGION
           ) -> tuple[PullRequest, dict[str, Any]]:
    """Open a pull request from `source` into `destination`: it and its
    pullRequestCreated event.

    Raises:
        SourceError: a branch is missing, or both are the same commit.
    """
    pulls = LocalPullRequests(remote, repository)
    number = pulls.create(source_branch=source, destination_branch=destination, title=title)
    pull_request = pulls.get(number)
    return pull_request, emit.codecommit_pull_request(
        pull_request, "pullRequestCreated", title=pulls.title(number), region=region)


def update(remote: Path, number: str, *, repository: str = REPOSITORY,
           region: str = emit.REGION) -> tuple[PullRequest, dict[str, Any]]:
    """Tell again that the pull request's source branch moved (pullRequestSourceBranchUpdated
    at its source's tip): what a push to that branch does by itself.

    Raises:
        SourceError: the pull request is missing or closed (CodeCommit sends no
            event for a closed one).
    """
    pulls = LocalPullRequests(remote, repository)
    pull_request = pulls.refresh(number)
    if pull_request.status != "OPEN":
        merged = " (merged)" if pull_request.merged else ""
        raise SourceError(f"pull request {number} is closed{merged}: nothing to update")
    return pull_request, emit.codecommit_pull_request(
        pull_request, "pullRequestSourceBranchUpdated", title=pulls.title(number), region=region)


def merge(remote: Path, number: str, *, repository: str = REPOSITORY,
          region: str = emit.REGION) -> tuple[PullRequest, str, dict[str, Any]]:
    """Merge the pull request (fast-forward, else a three-way merge commit): it, the
    destination's new tip, and the pullRequestMergeStatusUpdated event.

    Raises:
        MergeConflictError: the merge needs a person.
        SourceError: the pull request is closed or missing.
    """
    pulls = LocalPullRequests(remote, repository)
    tip = pulls.merge(number)
    pull_request = pulls.get(number)
    return pull_request, tip, emit.codecommit_pull_request(
        pull_request, "pullRequestMergeStatusUpdated", title=pulls.title(number), region=region)


def comments(remote: Path, number: str, *, repository: str = REPOSITORY) -> list[str]:
    """The pull request's comments' contents, oldest first."""
    return [c.content for c in LocalPullRequests(remote, repository).comments(number)]
