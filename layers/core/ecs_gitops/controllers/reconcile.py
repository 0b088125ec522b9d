"""Reconcile: make one environment equal to its desired-state file at the branch tip.

Level-triggered (invariant 1): whatever the trigger, the file is read at the tip,
never taken from the event. One writer per environment: a lease with expiry
(invariant 8). The sequence after reading the file is the engine's
(`ecs_gitops.engine.reconcile_once`), the same one `ecs-gitops apply` runs. A file
with an error applies nothing and is reported. With `selfHeal: false`, drift found by
the schedule is reported, not corrected.

Deadline (invariant 16): the engine stops at a safe point before the invocation's
remaining time runs out; the controller then releases the lease and puts a
"Reconcile Requested" event with reason `continuation`, the revision, the services
left and the pacing buckets' levels. Why an event to ourselves on EventBridge rather
than an SQS queue or Step Functions: the ReconcileRequested rule, its retry policy and
dead-letter queue already exist and are what the embedded cloud routes; a continuation
is one more Reconcile Requested, handled (and deduplicated by the lease and the
level-triggered plan) like any other; Lambda's recursive loop detection stops chains
through SQS (and SNS, S3, Lambda) after about 16 invocations but not through
EventBridge, and our own bound (`Settings.max_continuations`) is below that; Step
Functions would add a state machine, its role and its own failure handling for a loop
of a few invocations. A continuation goes on only while its revision is the tip, and
re-observes and re-plans the services it resumes (never a stale plan).
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ecs_gitops.controllers.deployment import act_on_settled
from ecs_gitops.controllers.lookup import desired_at, not_ours, notify_once
from ecs_gitops.controllers.outcome import Kind, Outcome, Reason, each, ignore
from ecs_gitops.controllers.ports import Ports
from ecs_gitops.deadline import Budget
from ecs_gitops.engine import Reconciled, Status, reconcile_once
from ecs_gitops.errors import DesiredStateError, EcsGitopsError, LeaseHeldError
from ecs_gitops.events import ReconcileEvent, ReconcileRequest, ScheduledEvent, Trigger
from ecs_gitops.plan import RegisterTaskDefinition
from ecs_gitops.store import lease

# EventBridge takes entries of at most 256 KB; a continuation's list of services is
# left out (the continuation then observes the whole cluster) above this size.
MAX_SERVICES_BYTES = 200_000


@dataclass(frozen=True, slots=True)
class FollowUp:
    """The continuation a paused reconcile asks for, once its lease is released."""

    commit: str
    services: list[str] | None
    continuation: int


def handle(event: ReconcileEvent | ScheduledEvent, ports: Ports) -> Outcome:
    """"Reconcile Requested" (one environment, or all; a continuation) or the schedule
    (all).

    Each environment on its own: one that fails does not stop the others; a transient
    failure is raised after all were tried, so that Lambda retries.

    Raises:
        EcsGitopsError: the first transient failure (after every environment ran).
    """
    foreign = not_ours(ports, event)
    if foreign is not None:
        return foreign
    request: ReconcileRequest | None = None
    if isinstance(event, ScheduledEvent):
        environment, trigger = None, Trigger.SCHEDULE
    else:
        environment, trigger = event.detail.environment, event.detail.trigger
        if trigger is Trigger.CONTINUATION and environment:
            request = event.detail
    names = [environment] if environment else list(ports.settings.branches.values())
    outcomes: list[Outcome] = []
    retry: EcsGitopsError | None = None
    for name in names:
        try:
            outcomes.append(reconcile(ports, environment=name, trigger=trigger,
                                      continuation=request))
        except EcsGitopsError as exc:
            if exc.transient and retry is None:
                retry = exc
            outcomes.append(Outcome(Kind.FAILED, Reason.ERROR, {
                "environment": name, "error": str(exc), "error_type": type(exc).__name__}))
            if not exc.transient:
                ports.notifier.notify(f"ecs-gitops: reconcile of {name} failed",
                                      {"environment": name, "error": str(exc)})
    if retry is not None:
        raise retry
    return outcomes[0] if len(outcomes) == 1 else each(outcomes)


def reconcile(ports: Ports, *, environment: str, trigger: Trigger,
              continuation: ReconcileRequest | None = None) -> Outcome:
    """Reconcile one environment under its lease; when it pauses at its deadline, ask
    for a continuation after the lease is released.

    The lease lasts no longer than this invocation may run (the function's timeout at
    most): a killed run's lease expires when the run would have ended.

    Raises:
        LeaseHeldError: another reconcile holds the lease (not raised for the schedule,
            whose next tick comes anyway).
        AwsError, SourceError: AWS or git failed.
    """
    branch = ports.settings.branch_of(environment)
    if branch is None:
        return ignore(Reason.UNTRACKED_ENVIRONMENT, environment=environment)
    if continuation is not None and continuation.pacing and ports.pacing is not None:
        ports.pacing.restore(continuation.pacing)
    seconds = max(1, min(ports.settings.lease_seconds, math.ceil(ports.clock.remaining())))
    try:
        with lease(ports.store, environment, str(uuid.uuid4()), seconds=seconds):
            outcome, follow_up = _reconcile(ports, environment=environment, branch=branch,
                                            trigger=trigger, continuation=continuation)
    except LeaseHeldError:
        if trigger is Trigger.SCHEDULE:
            return ignore(Reason.LEASE_HELD, environment=environment)
        raise
    if follow_up is not None:
        # After the lease is released: the continuation must find it free. A kill
        # between the two loses the continuation; the scheduled reconcile goes on.
        ports.bus.request_reconcile(
            environment, reason=Trigger.CONTINUATION, commit=follow_up.commit,
            services=follow_up.services, continuation=follow_up.continuation,
            pacing=ports.pacing.state() if ports.pacing is not None else None)
    return outcome


def _reconcile(ports: Ports, *, environment: str, branch: str, trigger: Trigger,
               continuation: ReconcileRequest | None) -> tuple[Outcome, FollowUp | None]:
    # Read the file at the branch tip (never the event's payload) and validate it.
    tip = ports.source.branch_tip(branch)
    facts: dict[str, Any] = {"environment": environment, "commit": tip, "trigger": trigger.value}
    # A continuation goes on only while its revision is the tip; if git moved on, this
    # is a whole reconcile of the new tip (level-triggered: never an older plan).
    resume: list[str] | None = None
    depth = 0
    if continuation is not None:
        if continuation.commit == tip:
            resume, depth = continuation.services, continuation.continuation
        else:
            facts["superseded"] = continuation.commit
    try:
        desired = desired_at(ports, environment, tip)
    except DesiredStateError as exc:
        problems = [str(p) for p in exc.problems]
        notify_once(ports, f"invalid#{environment}#{tip}",
                    f"ecs-gitops: {environment} desired state is invalid",
                    {**facts, "problems": problems})
        return Outcome(Kind.INVALID_DESIRED_STATE, Reason.INVALID_FILE,
                       {**facts, "path": ports.settings.path(environment), "problems": problems}
                       ), None
    # Observe, settle, plan, hold back, preflight, apply, record: the engine's sequence,
    # until done or the invocation's deadline (less a margin) comes near.
    done = reconcile_once(desired, ports.cloud, store=ports.store, revision=tip,
                          trigger=trigger, dry_run=ports.settings.dry_run,
                          allowed_roles=ports.settings.allowed_roles,
                          clock=lambda: datetime.fromtimestamp(ports.clock.now(), UTC),
                          budget=Budget(ports.clock.remaining, ports.settings.deadline_margin),
                          resume=resume)
    # Releases the cluster showed ended without their ECS event: revert, or report.
    if done.settled and not ports.settings.dry_run:
        facts["settled"] = act_on_settled(ports, branch=branch, tip=tip, desired=desired,
                                          settled=done.settled)
    if done.status is Status.PAUSED:
        return _paused(ports, environment, done, facts, tip=tip, depth=depth,
                       resumed=continuation is not None and resume is not None)
    return _report(ports, environment, done, facts), None


def _paused(ports: Ports, environment: str, done: Reconciled, facts: dict[str, Any], *,
            tip: str, depth: int, resumed: bool) -> tuple[Outcome, FollowUp | None]:
    """A run that stopped at its deadline: hand the rest to a continuation, unless the
    chain is too long or a continuation made no progress (then the schedule goes on)."""
    applied = len(done.result.applied) if done.result is not None else 0
    left = list(done.remaining)
    facts = {**facts, "plan": done.plan.describe(), "count": applied, "left": len(left),
             "continuation": depth + 1,
             "deployed": [{"service": r.service, "image": r.image,
                           "task_definition": r.task_definition, "deployment": r.deployment_id}
                          for r in done.releases]}
    if depth + 1 > ports.settings.max_continuations or (resumed and applied == 0):
        why = (f"{depth} continuations" if depth + 1 > ports.settings.max_continuations
               else "a continuation that changed nothing")
        ports.notifier.notify(f"ecs-gitops: reconcile of {environment} stopped after {why}",
                              {**facts, "why": why})
        return Outcome(Kind.PAUSED, Reason.NOT_CONTINUED, {**facts, "why": why}), None
    services: list[str] | None = left
    if len(json.dumps(left)) > MAX_SERVICES_BYTES:
        services = None  # too long for one event: the continuation observes everything
    return (Outcome(Kind.PAUSED, Reason.DEADLINE, facts),
            FollowUp(commit=tip, services=services, continuation=depth + 1))


def _report(ports: Ports, environment: str, done: Reconciled, facts: dict[str, Any]
            ) -> Outcome:
    """The outcome of the engine's run, and the notifications people need."""
    facts = {**facts, "plan": done.plan.describe()}
    if done.held_back:
        facts["held_back"] = [h.describe() for h in done.held_back]
        ports.notifier.notify(f"ecs-gitops: {environment} pins an image that failed",
                              {"environment": environment, "held_back": facts["held_back"]})
    status = done.status
    if status is Status.IN_SYNC:
        return Outcome(Kind.IN_SYNC, None, facts)
    if status is Status.REFUSED:
        roles = list(done.refused_roles)
        ports.notifier.notify(f"ecs-gitops: {environment} names roles it may not pass",
                              {**facts, "roles": roles})
        return Outcome(Kind.REFUSED, Reason.ROLES_NOT_ALLOWED, {**facts, "roles": roles})
    if status is Status.DRIFT_REPORTED:
        ports.notifier.notify(f"ecs-gitops: drift in {environment} (selfHeal is off)", facts)
        return Outcome(Kind.DRIFT_REPORTED, Reason.SELF_HEAL_OFF, facts)
    if status is Status.PREFLIGHT_FAILED:
        missing = list(done.missing)
        ports.notifier.notify(f"ecs-gitops: {environment} not applied",
                              {**facts, "missing": missing})
        return Outcome(Kind.PREFLIGHT_FAILED, Reason.MISSING, {**facts, "missing": missing})
    if status is Status.DRY_RUN:
        return Outcome(Kind.DRY_RUN, None, facts)
    deployed = [{"service": r.service, "image": r.image, "task_definition": r.task_definition,
                 "deployment": r.deployment_id} for r in done.releases]
    registered = sum(isinstance(a, RegisterTaskDefinition) for a in done.plan.actions)
    ports.notifier.notify(f"ecs-gitops: applied {len(done.plan.actions)} change(s) to "
                          f"{environment}", {**facts, "deployed": deployed})
    return Outcome(Kind.APPLIED, None, {**facts, "count": len(done.plan.actions),
                                        "deployed": deployed, "registered": registered})
