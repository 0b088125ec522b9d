"""What every Lambda handler shares: Powertools Logger (correlation id = the event id),
Tracer and Metrics, event parsing, and the outcome/retry policy.

Policy: an event the function does not handle is logged and ignored; a malformed
event is one clear log line and is not retried (a retry cannot fix it); a
transient error (throttling, a held lease, a branch that moved) is raised so that
Lambda retries it and, after the retries, sends it to the dead-letter queue; any
other error of ours is logged, notified by the controller where it matters, and
not retried.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ValidationError

from ecs_gitops.clock import LambdaClock
from ecs_gitops.controllers.outcome import Kind, Outcome, Reason
from ecs_gitops.controllers.ports import Ports
from ecs_gitops.errors import EcsGitopsError


class _CurrentStdout(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stdout is now (on Lambda: always the same; in the embedded
    cloud and tests, the stream that is being captured)."""

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


# Defaults for when the module is imported outside Lambda's environment (tests, CLI).
logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "ecs-gitops"),
                logger_handler=_CurrentStdout())
tracer = Tracer(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "ecs-gitops"))
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "EcsGitops"),
                  service=os.environ.get("POWERTOOLS_SERVICE_NAME", "ecs-gitops"))

E = TypeVar("E", bound=BaseModel)


def run(
    event: dict[str, Any],
    context: Any,
    model: type[E],
    handle: Callable[[E, Ports], Outcome],
    ports: Callable[[], Ports],
) -> dict[str, Any]:
    """Parse `event` as `model`, build the ports, call the controller, log the outcome.

    Args:
        event: the raw EventBridge event Lambda received.
        context: Lambda's context (its remaining time bounds claims and reconciles).
        model: the event's pydantic model (unknown fields tolerated).
        handle: the controller's `handle(event, ports) -> Outcome`.
        ports: the composition root (built once per container, cached).

    Returns:
        The outcome as a dict (`Outcome.as_dict`): what `sam local invoke` prints.

    Raises:
        EcsGitopsError: a transient one, so that Lambda retries the event (and, after
            its retries, sends it to the dead-letter queue). Any exception that is not
            ours is a bug and is raised as well.
    """
    logger.set_correlation_id(str(event.get("id", "")) or None)
    try:
        parsed = model.model_validate(event)
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        logger.error("malformed event: not retried", extra={
            "detail_type": event.get("detail-type"), "source": event.get("source"),
            "problems": problems})
        metrics.add_metric(name="MalformedEvents", unit=MetricUnit.Count, value=1)
        return {"action": "ignored: malformed event", "kind": Kind.IGNORED.value,
                "ignored": True, "problems": problems}
    try:
        outcome = handle(parsed, replace(ports(), clock=LambdaClock(context)))
    except EcsGitopsError as exc:
        if exc.transient:
            logger.warning("transient failure: Lambda will retry", extra={"error": str(exc)})
            metrics.add_metric(name="TransientFailures", unit=MetricUnit.Count, value=1)
            raise
        logger.error("failed", extra={"error": str(exc), "kind": type(exc).__name__})
        metrics.add_metric(name="Failures", unit=MetricUnit.Count, value=1)
        outcome = Outcome(Kind.FAILED, Reason.ERROR, {"error": str(exc),
                                                      "error_type": type(exc).__name__})
        return outcome.as_dict()
    for part in outcome.parts or (outcome,):
        logger.info(part.text(), extra={"outcome": part.as_dict()})
        metrics.add_metric(name="Ignored" if part.ignored else "Handled",
                           unit=MetricUnit.Count, value=1)
    return outcome.as_dict()
