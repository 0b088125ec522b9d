"""ECS's blue/green, canary and linear deployments, played by the embedded cloud.

moto has no service deployments. Here one `ServiceDeployment` per started deployment of
a service whose `deploymentConfiguration.strategy` is BLUE_GREEN, CANARY or LINEAR walks
the lifecycle stages ECS documents (developer guide, "Lifecycle hooks for Amazon ECS
service deployments"; botocore 1.44.8 `ServiceDeploymentLifecycleStage`):

    PRE_SCALE_UP -> SCALE_UP -> POST_SCALE_UP -> TEST_TRAFFIC_SHIFT ->
    POST_TEST_TRAFFIC_SHIFT -> PRODUCTION_TRAFFIC_SHIFT (the strategy's steps; the
    PRE_PRODUCTION_TRAFFIC_SHIFT hooks run before every step) ->
    POST_PRODUCTION_TRAFFIC_SHIFT -> BAKE_TIME -> CLEAN_UP

Production traffic moves in the strategy's steps: BLUE_GREEN 100 % at once, CANARY
`canaryPercent` then the rest after `canaryBakeTimeInMinutes`, LINEAR `stepPercent` per
step `stepBakeTimeInMinutes` apart (no bake after the last step). After all traffic
moved, `bakeTimeInMinutes` passes before the old revision goes. Minutes are scaled:
one ECS minute lasts `minute` seconds of the injected clock.

A PAUSE hook stops the walk at its stage with status AWAITING_ACTION (and the event
"ECS Hook State Change" / HOOK_AWAITING_ACTION) until ContinueServiceDeployment
(CONTINUE goes on, ROLLBACK rolls back) or its timeout, whose action decides. A
CloudWatch alarm of `deploymentConfiguration.alarms` in state ALARM (with `enable`
and `rollback`) rolls the deployment back at any stage once tasks run, as does
StopServiceDeployment with stopType ROLLBACK. AWS_LAMBDA hooks are not invoked here
(no Lambda runtime in the embedded cloud): they are recorded SUCCEEDED with that
reason, which a test of a hook's own logic must not rely on.

Everything here is driven by `advance(now, alarms_in_alarm)`; `RolloutSimulator`
calls it on each poll and turns the result into what moto reports and the events.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]

PROGRESSIVE = ("BLUE_GREEN", "CANARY", "LINEAR")

# ECS's documented defaults (botocore 1.44.8 CanaryConfiguration / LinearConfiguration).
CANARY_DEFAULT = (5.0, 10)
LINEAR_DEFAULT = (10.0, 6)


class DeploymentError(Exception):
    """A request ECS would refuse; `code` is the ECS error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def production_steps(config: Mapping[str, Any]) -> list[tuple[float, int]]:
    """(production weight % after the step, bake minutes after it) for a strategy.

    BLUE_GREEN: [(100, 0)]; CANARY p, bake b: [(p, b), (100, 0)]; LINEAR s, bake b:
    [(s, b), (2s, b), ..., (100, 0)] (the last step moves what is left)."""
    strategy = config.get("strategy")
    if strategy == "CANARY":
        canary = config.get("canaryConfiguration") or {}
        percent = float(canary.get("canaryPercent", CANARY_DEFAULT[0]))
        bake = int(canary.get("canaryBakeTimeInMinutes", CANARY_DEFAULT[1]))
        return [(percent, bake), (100.0, 0)] if percent < 100 else [(100.0, 0)]
    if strategy == "LINEAR":
        linear = config.get("linearConfiguration") or {}
        step = float(linear.get("stepPercent", LINEAR_DEFAULT[0]))
        bake = int(linear.get("stepBakeTimeInMinutes", LINEAR_DEFAULT[1]))
        out: list[tuple[float, int]] = []
        weight = 0.0
        while True:
            weight = min(100.0, round(weight + step, 1))
            if weight >= 100.0:
                out.append((100.0, 0))
                return out
            out.append((weight, bake))
    return [(100.0, 0)]


@dataclass
class Hook:
    """One lifecycle hook run (DescribeServiceDeployments' lifecycleHookDetails item)."""

    hook_id: str
    target_type: str
    stage: str
    target_arn: str | None = None
    status: str = "IN_PROGRESS"
    expires_at: float | None = None
    timeout_action: str | None = None
    reason: str = ""
    visit: str = ""  # "<stage>#<step>": a stage visited again (linear) runs its hooks again

    def detail(self) -> JSON:
        """This hook as DescribeServiceDeployments' lifecycleHookDetails item."""
        out: JSON = {"hookId": self.hook_id, "targetType": self.target_type,
                     "status": self.status}
        if self.target_arn:
            out["targetArn"] = self.target_arn
        if self.expires_at is not None:
            out["expiresAt"] = datetime.fromtimestamp(self.expires_at, UTC)
        if self.timeout_action:
            out["timeoutAction"] = self.timeout_action
        return out


@dataclass
class ServiceDeployment:
    """One ECS service deployment of a progressive strategy (botocore `ServiceDeployment`).

    Attributes: `arn` (service-deployment/cluster/service/ID, ID the ECS deployment id's
    suffix), `deployment_id` (`ecs-svc/...`), `config` (the deploymentConfiguration it
    runs with), `status` (ServiceDeploymentStatus), `stage` (lifecycleStage),
    `weights` ((old, new) production traffic %), `events` (what ECS emitted so far,
    as (detail-type, detail) pairs, drained by the simulator)."""

    arn: str
    deployment_id: str
    service_arn: str
    cluster_arn: str
    target_revision: str
    source_revision: str
    config: Mapping[str, Any]
    minute: float
    started: float
    status: str = "IN_PROGRESS"
    status_reason: str = ""
    stage: str = "PRE_SCALE_UP"
    weights: tuple[float, float] = (100.0, 0.0)
    hooks: list[Hook] = field(default_factory=list)
    plan: list[tuple[str, Any]] = field(default_factory=list)
    position: int = 0
    waiting_since: float | None = None
    finished: float | None = None
    rollback_reason: str = ""
    triggered_alarms: tuple[str, ...] = ()
    events: list[tuple[str, JSON]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.plan:
            self.plan = self._plan()

    # --- the walk --------------------------------------------------------------------
    def _plan(self) -> list[tuple[str, Any]]:
        test = any((lb.get("advancedConfiguration") or {}).get("testListenerRule")
                   for lb in self.config.get("_loadBalancers") or ())
        plan: list[tuple[str, Any]] = [("hooks", "PRE_SCALE_UP"), ("stage", "SCALE_UP"),
                                       ("hooks", "POST_SCALE_UP")]
        if test:
            plan += [("stage", "TEST_TRAFFIC_SHIFT"), ("hooks", "TEST_TRAFFIC_SHIFT")]
        plan.append(("hooks", "POST_TEST_TRAFFIC_SHIFT"))
        for weight, bake in production_steps(self.config):
            plan += [("hooks", "PRE_PRODUCTION_TRAFFIC_SHIFT"), ("shift", weight),
                     ("hooks", "PRODUCTION_TRAFFIC_SHIFT")]
            if bake and weight < 100:
                plan.append(("wait", bake))
        plan += [("hooks", "POST_PRODUCTION_TRAFFIC_SHIFT"), ("stage", "BAKE_TIME"),
                 ("wait", int(self.config.get("bakeTimeInMinutes") or 0)),
                 ("stage", "CLEAN_UP")]
        return plan

    @property
    def active(self) -> bool:
        """Whether ECS still works on it (not SUCCESSFUL, STOPPED or rolled back)."""
        return self.status in ("PENDING", "IN_PROGRESS", "ROLLBACK_REQUESTED",
                               "STOP_REQUESTED")

    def _hooks_at(self, stage: str) -> list[Mapping[str, Any]]:
        return [h for h in self.config.get("lifecycleHooks") or ()
                if stage in (h.get("lifecycleStages") or ())]

    def advance(self, now: float, in_alarm: Callable[[Iterable[str]], set[str]]) -> None:
        """Walk as far as `now` allows; stop at a pause, a bake, or the end."""
        while self.active:
            if self.status == "ROLLBACK_REQUESTED":
                self._roll_back(now)
                return
            alarms = self.config.get("alarms") or {}
            if alarms.get("enable") and self.stage != "PRE_SCALE_UP":
                fired = in_alarm(alarms.get("alarmNames") or ())
                if fired:
                    self.triggered_alarms = tuple(sorted(fired))
                    if alarms.get("rollback"):
                        self.request_rollback(
                            f"CloudWatch alarm {', '.join(sorted(fired))} in ALARM", now)
                        continue
            if self.position >= len(self.plan):
                self._succeed(now)
                return
            kind, arg = self.plan[self.position]
            if kind == "stage":
                self.stage = str(arg)
            elif kind == "shift":
                self.stage = "PRODUCTION_TRAFFIC_SHIFT"
                self.weights = (round(100.0 - float(arg), 1), float(arg))
            elif kind == "wait":
                self.waiting_since = self.waiting_since if self.waiting_since is not None \
                    else now
                if now - self.waiting_since < float(arg) * self.minute:
                    return
                self.waiting_since = None
            elif kind == "hooks" and not self._run_hooks(str(arg), now):
                if self.status == "ROLLBACK_REQUESTED":
                    continue  # a hook timed out with ROLLBACK: roll back now
                return
            self.position += 1

    def _run_hooks(self, stage: str, now: float) -> bool:
        """True when every hook at `stage` (this visit) is done; False while one waits."""
        if stage != "PRE_PRODUCTION_TRAFFIC_SHIFT":  # a hook stage, not a lifecycleStage
            self.stage = stage
        visit = f"{stage}#{self.position}"
        for spec in self._hooks_at(stage):
            kind = str(spec.get("targetType", "AWS_LAMBDA"))
            hook = next((h for h in self.hooks if h.visit == visit and h.target_type == kind
                         and h.target_arn == spec.get("hookTargetArn")), None)
            if hook is None:
                hook = self._start_hook(spec, stage, visit, now)
            if hook.status == "AWAITING_ACTION" and hook.expires_at is not None \
                    and now >= hook.expires_at:
                hook.status = "TIMED_OUT"
                if hook.timeout_action == "CONTINUE":
                    continue
                self.request_rollback(f"lifecycle hook {hook.hook_id} timed out", now)
                return False
            if hook.status in ("AWAITING_ACTION", "IN_PROGRESS"):
                return False
        return True

    def _start_hook(self, spec: Mapping[str, Any], stage: str, visit: str, now: float
                    ) -> Hook:
        kind = str(spec.get("targetType", "AWS_LAMBDA"))
        timeout = spec.get("timeoutConfiguration") or {}
        if kind == "PAUSE":
            minutes = int(timeout.get("timeoutInMinutes") or 0)
            hook = Hook(f"ecs-pause-{uuid.uuid4().hex}", kind, stage, status="AWAITING_ACTION",
                        expires_at=now + minutes * self.minute if minutes else None,
                        timeout_action=timeout.get("action") or "ROLLBACK",
                        reason="paused", visit=visit)
            self.hooks.append(hook)
            self.events.append(("ECS Hook State Change", {
                "eventType": "INFO", "eventName": "HOOK_AWAITING_ACTION",
                "serviceDeploymentArn": self.arn, "deploymentId": self.deployment_id,
                "hookId": hook.hook_id, "targetType": kind, "lifecycleStage": stage,
                "timeoutAction": hook.timeout_action,
                "expiresAt": (datetime.fromtimestamp(hook.expires_at, UTC).isoformat()
                              if hook.expires_at is not None else None),
                "updatedAt": datetime.now(UTC).isoformat()}))
            return hook
        hook = Hook(f"ecs-lambda-{uuid.uuid4().hex}", kind, stage,
                    target_arn=spec.get("hookTargetArn"), status="SUCCEEDED",
                    reason="not invoked: the embedded cloud runs no Lambda functions",
                    visit=visit)
        self.hooks.append(hook)
        return hook

    # --- requests ----------------------------------------------------------------------
    def continue_hook(self, hook_id: str, action: str, now: float) -> None:
        """ContinueServiceDeployment. Raises DeploymentError as ECS refuses: an unknown
        hook, one not AWAITING_ACTION, a deployment not IN_PROGRESS."""
        hook = next((h for h in self.hooks if h.hook_id == hook_id), None)
        if hook is None:
            raise DeploymentError("InvalidParameterException", f"no lifecycle hook {hook_id}")
        if self.status != "IN_PROGRESS" or hook.status != "AWAITING_ACTION":
            raise DeploymentError("InvalidParameterException",
                                  f"hook {hook_id} is {hook.status}, deployment {self.status}:"
                                  " only an AWAITING_ACTION hook of an IN_PROGRESS deployment "
                                  "can be continued")
        if action == "ROLLBACK":
            hook.status = "FAILED"
            self.request_rollback(f"rolled back at lifecycle hook {hook_id}", now)
        else:
            hook.status = "SUCCEEDED"

    def request_rollback(self, reason: str, now: float) -> None:
        """Roll back (alarm, StopServiceDeployment ROLLBACK, a hook)."""
        if self.status not in ("PENDING", "IN_PROGRESS"):
            raise DeploymentError("InvalidParameterException",
                                  f"the deployment is {self.status}: nothing to roll back")
        self.status = "ROLLBACK_REQUESTED"
        self.rollback_reason = reason
        self.status_reason = reason
        for hook in self.hooks:
            if hook.status == "AWAITING_ACTION":
                hook.status = "FAILED"

    def _roll_back(self, now: float) -> None:
        self.status = "ROLLBACK_SUCCESSFUL"
        self.weights = (100.0, 0.0)
        self.finished = now
        self.events.append(("rollback", {"reason": self.rollback_reason}))

    def _succeed(self, now: float) -> None:
        self.status = "SUCCESSFUL"
        self.status_reason = "Service deployment completed"
        self.weights = (0.0, 100.0)
        self.finished = now
        self.events.append(("completed", {}))

    def describe(self) -> JSON:
        """This deployment as DescribeServiceDeployments reports it (botocore shape)."""
        out: JSON = {
            "serviceDeploymentArn": self.arn, "serviceArn": self.service_arn,
            "clusterArn": self.cluster_arn,
            "createdAt": datetime.fromtimestamp(self.started, UTC),
            "startedAt": datetime.fromtimestamp(self.started, UTC),
            "status": self.status, "statusReason": self.status_reason,
            "lifecycleStage": self.stage,
            "targetServiceRevision": {"arn": self.target_revision,
                                      "requestedProductionTrafficWeight": self.weights[1]},
            "sourceServiceRevisions": [{"arn": self.source_revision,
                                        "requestedProductionTrafficWeight": self.weights[0]}],
            "deploymentConfiguration": {k: v for k, v in self.config.items()
                                        if not k.startswith("_")},
            "lifecycleHookDetails": [h.detail() for h in self.hooks
                                     if h.status in ("AWAITING_ACTION", "IN_PROGRESS")],
        }
        if self.finished is not None:
            out["finishedAt"] = datetime.fromtimestamp(self.finished, UTC)
        if self.rollback_reason:
            out["rollback"] = {"reason": self.rollback_reason,
                               "serviceRevisionArn": self.source_revision}
        alarms = self.config.get("alarms") or {}
        if alarms:
            out["alarms"] = {
                "status": "TRIGGERED" if self.triggered_alarms else (
                    "MONITORING" if self.active else "MONITORING_COMPLETE"),
                "alarmNames": list(alarms.get("alarmNames") or ()),
                "triggeredAlarmNames": list(self.triggered_alarms)}
        return out

    def brief(self) -> JSON:
        """ListServiceDeployments' ServiceDeploymentBrief."""
        out = {k: v for k, v in self.describe().items() if k in (
            "serviceDeploymentArn", "serviceArn", "clusterArn", "startedAt", "createdAt",
            "finishedAt", "status", "statusReason")}
        out["targetServiceRevisionArn"] = self.target_revision
        return out


class Registry:
    """The embedded account's service deployments, by ARN (thread-safe: moto's server
    thread answers the API, the simulator advances them)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.by_arn: dict[str, ServiceDeployment] = {}

    def add(self, deployment: ServiceDeployment) -> None:
        """Keep `deployment` (by its ARN)."""
        with self.lock:
            self.by_arn[deployment.arn] = deployment

    def get(self, arn: str) -> ServiceDeployment:
        """The deployment of `arn`; DeploymentError (ServiceDeploymentNotFoundException)."""
        with self.lock:
            found = self.by_arn.get(arn)
        if found is None:
            raise DeploymentError("ServiceDeploymentNotFoundException",
                                  f"service deployment {arn} not found")
        return found

    def of_service(self, service_arn: str, statuses: Iterable[str] = ()) -> list[
            ServiceDeployment]:
        """A service's deployments, newest first, only those in `statuses` if given."""
        wanted = set(statuses)
        with self.lock:
            found = [d for d in self.by_arn.values() if d.service_arn == service_arn
                     and (not wanted or d.status in wanted)]
        return sorted(found, key=lambda d: d.started, reverse=True)

    def active(self) -> list[ServiceDeployment]:
        """The deployments ECS still works on."""
        with self.lock:
            return [d for d in self.by_arn.values() if d.active]

    def clear(self) -> None:
        """Forget every deployment (a reset of the embedded AWS)."""
        with self.lock:
            self.by_arn.clear()


REGISTRY = Registry()
