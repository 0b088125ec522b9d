"""PullRequestFunction: CodeCommit "Pull Request State Change" -> the plan of the merge,
posted (or updated) as the pull request's one comment."""

from typing import Any

from ecs_gitops.handler import Loaded, lambda_entry
from ecs_gitops.wiring import ports_from_environment


def load(event: dict[str, Any]) -> Loaded:
    """The model and controller for `event` (its one kind of event), imported by the first event
    rather than at cold start (see ecs_gitops.handler)."""
    from ecs_gitops.controllers import preview
    from ecs_gitops.events import CodeCommitPullRequestEvent

    return CodeCommitPullRequestEvent, preview.handle


lambda_handler = lambda_entry(load, ports_from_environment)
