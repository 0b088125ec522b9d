"""ReconcileFunction: "Reconcile Requested" (one environment) or the schedule (all)
-> observe ECS, plan against the file at the branch tip, apply, record the release."""

from typing import Any

from ecs_gitops.handler import Loaded, lambda_entry
from ecs_gitops.wiring import ports_from_environment


def load(event: dict[str, Any]) -> Loaded:
    """The model and controller for `event` (the schedule: all environments; a reconcile
    request: one), imported by the first event rather than at cold start (see ecs_gitops.handler)."""
    from ecs_gitops.controllers import reconcile
    from ecs_gitops.events import ReconcileEvent, ScheduledEvent

    if event.get("detail-type") == "Scheduled Event":
        return ScheduledEvent, reconcile.handle
    return ReconcileEvent, reconcile.handle


lambda_handler = lambda_entry(load, ports_from_environment)
