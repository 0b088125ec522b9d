"""BuildFinishedFunction: CodeBuild "Build State Change" -> the new image tag written
back to the environment's desired-state file (one commit), or the failure reported."""

from typing import Any

from ecs_gitops.handler import Loaded, lambda_entry
from ecs_gitops.wiring import ports_from_environment


def load(event: dict[str, Any]) -> Loaded:
    """The model and controller for `event` (its one kind of event), imported by the first event
    rather than at cold start (see ecs_gitops.handler)."""
    from ecs_gitops.controllers import build
    from ecs_gitops.events import CodeBuildEvent

    return CodeBuildEvent, build.handle


lambda_handler = lambda_entry(load, ports_from_environment)
