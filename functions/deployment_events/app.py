"""DeploymentEventsFunction: ECS "Deployment State Change" -> the release marked
healthy, or failed with git reverted to the image ECS rolled back to."""

from typing import Any

from ecs_gitops.handler import Loaded, lambda_entry
from ecs_gitops.wiring import ports_from_environment


def load(event: dict[str, Any]) -> Loaded:
    """The model and controller for `event` (its one kind of event), imported by the first event
    rather than at cold start (see ecs_gitops.handler)."""
    from ecs_gitops.controllers import deployment
    from ecs_gitops.events import EcsDeploymentEvent

    return EcsDeploymentEvent, deployment.handle


lambda_handler = lambda_entry(load, ports_from_environment)
