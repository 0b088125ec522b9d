"""SweepFunction (schedule): branch tips and finished builds whose events were lost
(CodeCommit and CodeBuild deliver events best effort) go through their controllers."""

from typing import Any

from ecs_gitops.handler import Loaded, lambda_entry
from ecs_gitops.wiring import ports_from_environment


def load(event: dict[str, Any]) -> Loaded:
    """The model and controller for `event` (its one kind of event), imported by the first event
    rather than at cold start (see ecs_gitops.handler)."""
    from ecs_gitops.controllers import sweep
    from ecs_gitops.events import ScheduledEvent

    return ScheduledEvent, sweep.handle


lambda_handler = lambda_entry(load, ports_from_environment)
