"""What every Lambda handler shares: Powertools Logger (correlation id = the event id),
Tracer and Metrics, event parsing, and the outcome/retry policy.

Cold start: a handler module imports this, the composition root (boto3 and the clients'
adapters) and nothing heavier; its controller, the event models (pydantic) and what the
controller needs (the desired-state models, the engine) are imported by the first event
that needs them, so that an event that is ignored never pays for them
(docs/benchmarks.md measures both).

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
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from ecs_gitops.clock import LambdaClock
from ecs_gitops.controllers.outcome import Kind, Outcome, Reason
from ecs_gitops.errors import EcsGitopsError

if TYPE_CHECKING:  # pydantic is imported with the first event's model, not at cold start
    from pydantic import BaseModel

    from ecs_gitops.controllers.ports import Ports


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

E = TypeVar("E", bound="BaseModel")
F = TypeVar("F", bound=Callable[..., Any])
# What an entry module names for an event: its pydantic model and its controller's handle.
Loaded: TypeAlias = "tuple[type[BaseModel], Callable[[Any, Ports], Outcome]]"
Load = Callable[[dict[str, Any]], Loaded]


class _NoTracer:
    """What the handlers use of Powertools' Tracer when tracing is off: the decorator,
    doing nothing. Constructing a Tracer, even a disabled one, imports the X-Ray SDK
    and its botocore patches (about 0.3 s of a cold start)."""

    def capture_lambda_handler(self, handler: F) -> F:
        return handler


def tracing_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """Powertools' rule (Tracer._is_tracer_disabled): traced in Lambda, unless
    POWERTOOLS_TRACE_DISABLED is true or under `sam local`. The template turns it on
    with the TraceAwsCalls parameter."""
    if environ.get("POWERTOOLS_TRACE_DISABLED", "false").lower() in ("1", "true", "yes", "on"):
        return False
    return "AWS_LAMBDA_FUNCTION_NAME" in environ and "AWS_SAM_LOCAL" not in environ


def _tracer() -> _NoTracer:
    """Powertools' Tracer when tracing is on, else `_NoTracer` (same decorator)."""
    if not tracing_enabled():
        return _NoTracer()
    from aws_lambda_powertools import Tracer

    real: Any = Tracer(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "ecs-gitops"))
    return cast(_NoTracer, real)


tracer = _tracer()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "EcsGitops"),
                  service=os.environ.get("POWERTOOLS_SERVICE_NAME", "ecs-gitops"))


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
    from pydantic import ValidationError

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


def lambda_entry(load: Load, ports: Callable[[], Ports]
                 ) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """A function's Lambda entry point (`Handler: app.lambda_handler` in template.yaml):
    Powertools logging (correlation id = the event id), tracing and metrics around `run`.

    Args:
        load: `load(event) -> (model, handle)`: the event's pydantic model and the
            controller's handle, imported inside `load` so that they are imported by the
            first event rather than at cold start.
        ports: the composition root (`ecs_gitops.wiring.ports_from_environment`).

    Returns:
        `lambda_handler(event, context) -> dict`: the outcome as `run` returns it; a
        malformed event is logged and answered "ignored", never retried.

    Raises:
        EcsGitopsError: (from the returned function) a transient one, so that Lambda
            retries the asynchronous event (then its dead-letter queue).
    """

    @logger.inject_lambda_context(log_event=False)
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        model, handle = load(event)
        return run(event, context, model, handle, ports)

    return lambda_handler
