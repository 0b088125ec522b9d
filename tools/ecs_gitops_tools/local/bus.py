"""The embedded cloud's EventBridge: routes each event to the functions whose rules
in `template.yaml` match it, and invokes their handlers as Lambda would.

Delivery follows the template: asynchronous invocation with the Globals'
`MaximumRetryAttempts` retries on error, then the event and the error go to the
dead-letter queue. Events are delivered one at a time, in the order they arrive;
tests shuffle and duplicate them to prove the handlers do not care.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecs_gitops.aws.clients import Clients
from ecs_gitops_tools.local import timeline
from ecs_gitops_tools.local.invoke import function_environment, invoke
from ecs_gitops_tools.local.patterns import matches, validate
from ecs_gitops_tools.local.template import FunctionSpec, Template, resolve


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event delivered to one function: the function's result (its outcome dict) or the
    last error text, how many attempts it took (Lambda's asynchronous retries) and how many
    seconds."""

    event: Mapping[str, Any]
    function: str
    result: Any
    error: str | None
    attempts: int
    seconds: float

    @property
    def summary(self) -> str:
        """The outcome's text (Outcome.text: kind, reason, environment, service)."""
        return timeline.summary(self.result, self.error, self.attempts)


@dataclass
class Bus:
    """The embedded EventBridge: the template's rules (their event patterns matched as
    EventBridge matches them), a queue of events, and delivery to the functions in process
    with Lambda's asynchronous retries (EventInvokeConfig.MaximumRetryAttempts, default 2)."""

    template: Template
    refs: Mapping[str, str]
    clients: Clients
    extra_env: Mapping[str, str]
    on_delivery: Callable[[Delivery], None] | None = None
    log_path: Path | None = None  # the functions' log lines (CloudWatch Logs, locally)
    queue: deque[dict[str, Any]] = field(default_factory=deque)
    delivered: int = 0

    def __post_init__(self) -> None:
        self.functions: dict[str, FunctionSpec] = self.template.functions()
        self.routes: list[tuple[str, Mapping[str, Any]]] = []
        for logical_id, spec in self.functions.items():
            for rule in spec.rules:
                pattern = resolve(rule.pattern, self.refs, region=self.clients.region)
                validate(pattern)  # an operator we cannot match exactly is refused up front
                self.routes.append((logical_id, pattern))
        glob = self.template.data.get("Globals", {}).get("Function", {})
        self.retries = int(glob.get("EventInvokeConfig", {}).get("MaximumRetryAttempts", 2))
        self.environments = {
            logical_id: function_environment(spec, self.refs, region=self.clients.region,
                                             extra=self.extra_env)
            for logical_id, spec in self.functions.items()}

    def put(self, event: dict[str, Any]) -> None:
        """Queue `event` (PutEvents): it is delivered by the next `deliver`/`run`."""
        self.queue.append(event)

    def targets(self, event: Mapping[str, Any]) -> list[str]:
        """The functions whose rules match `event`, in template order, each once."""
        return list(dict.fromkeys(fn for fn, pattern in self.routes if matches(pattern, event)))

    def deliver(self, event: dict[str, Any]) -> list[Delivery]:
        """Deliver `event` to every matching function, retrying a failed one as Lambda
        retries an asynchronous invocation; one `Delivery` per function."""
        out = []
        for logical_id in self.targets(event):
            started = time.monotonic()
            error: str | None = None
            result: Any = None
            attempts = 0
            for attempts in range(1, self.retries + 2):  # noqa: B007 - read after the loop
                try:
                    with self._logs():
                        result = invoke(self.functions[logical_id], event,
                                        self.environments[logical_id])
                    error = None
                    break
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
            if error is not None:
                self._dead_letter(logical_id, event, error)
            delivery = Delivery(event, logical_id, result, error, attempts,
                                time.monotonic() - started)
            self.delivered += 1
            if self.on_delivery:
                self.on_delivery(delivery)
            out.append(delivery)
        return out

    @contextmanager
    def _logs(self) -> Iterator[None]:
        if self.log_path is None:
            yield
            return
        with self.log_path.open("a", encoding="utf-8") as log, redirect_stdout(log):
            yield

    def _dead_letter(self, function: str, event: Mapping[str, Any], error: str) -> None:
        url = self.refs.get("DeadLetterQueue")
        if url:
            self.clients.client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps({
                "requestContext": {"functionArn": self.refs.get(f"{function}.Arn", function),
                                   "condition": "RetriesExhausted"},
                "responsePayload": {"errorMessage": error}, "requestPayload": event}))

    def run(self, pump: Callable[[], int] = lambda: 0, *, limit: int = 100_000) -> int:
        """Deliver until nothing is queued and `pump` (the stand-ins) adds nothing more."""
        count = 0
        while count < limit:
            if not self.queue and pump() == 0 and not self.queue:
                return count
            while self.queue and count < limit:
                self.deliver(self.queue.popleft())
                count += 1
        return count
