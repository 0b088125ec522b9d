"""Reconcile: make one environment equal to its desired-state file at the branch tip.

Level-triggered (invariant 1): whatever the trigger, the file is read at the tip,
never taken from the event. One writer per environment: a lease with expiry
(invariant 8). The sequence after reading the file is the engine's
(`ecs_gitops.engine.reconcile_once`), the same one `ecs-gitops apply` runs. A file
with an error applies nothing and is reported. With `selfHeal: false`, drift found by
the schedule is reported, not corrected.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from ecs_gitops.controllers.deployment import act_on_settled
from ecs_gitops.controllers.lookup import desired_at, not_ours, notify_once
from ecs_gitops.controllers.outcome import Kind, Outcome, Reason, each, ignore
from ecs_gitops.controllers.ports import Ports
from ecs_gitops.engine import Reconciled, Status, reconcile_once
from ecs_gitops.errors import DesiredStateError, EcsGitopsError, LeaseHeldError
from ecs_gitops.events import ReconcileEvent, ScheduledEvent, Trigger
from ecs_gitops.plan import RegisterTaskDefinition
from ecs_gitops.store import lease


def handle(event: ReconcileEvent | ScheduledEvent, ports: Ports) -> Outcome:
    """"Reconcile Requested" (one environment, or all) or the schedule (all).

    Each environment on its own: one that fails does not stop the others; a transient
    failure is raised after all were tried, so that Lambda retries.

    Raises:
        EcsGitopsError: the first transient failure (after every environment ran).
    """
    foreign = not_ours(ports, event)
    if foreign is not None:
        return foreign
    if isinstance(event, ScheduledEvent):
        environment, trigger = None, Trigger.SCHEDULE
    else:
        environment, trigger = event.detail.environment, event.detail.trigger
    names = [environment] if environment else list(ports.settings.branches.values())
    outcomes: list[Outcome] = []
    retry: EcsGitopsError | None = None
    for name in names:
        try:
            outcomes.append(reconcile(ports, environment=name, trigger=trigger))
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


def reconcile(ports: Ports, *, environment: str, trigger: Trigger) -> Outcome:
    """Reconcile one environment under its lease.

    Raises:
        LeaseHeldError: another reconcile holds the lease (not raised for the schedule,
            whose next tick comes anyway).
        AwsError, SourceError: AWS or git failed.
    """
    branch = ports.settings.branch_of(environment)
    if branch is None:
        return ignore(Reason.UNTRACKED_ENVIRONMENT, environment=environment)
    try:
        with lease(ports.store, environment, str(uuid.uuid4()),
                   seconds=ports.settings.lease_seconds):
            return _reconcile(ports, environment=environment, branch=branch, trigger=trigger)
    except LeaseHeldError:
        if trigger is Trigger.SCHEDULE:
            return ignore(Reason.LEASE_HELD, environment=environment)
        raise


def _reconcile(ports: Ports, *, environment: str, branch: str, trigger: Trigger) -> Outcome:
    # Read the file at the branch tip (never the event's payload) and validate it.
    tip = ports.source.branch_tip(branch)
    facts: dict[str, Any] = {"environment": environment, "commit": tip, "trigger": trigger.value}
    try:
        desired = desired_at(ports, environment, tip)
    except DesiredStateError as exc:
        problems = [str(p) for p in exc.problems]
        notify_once(ports, f"invalid#{environment}#{tip}",
                    f"ecs-gitops: {environment} desired state is invalid",
                    {**facts, "problems": problems})
        return Outcome(Kind.INVALID_DESIRED_STATE, Reason.INVALID_FILE,
                       {**facts, "path": ports.settings.path(environment), "problems": problems})
    # Observe, settle, plan, hold back, preflight, apply, record: the engine's sequence.
    done = reconcile_once(desired, ports.cloud, store=ports.store, revision=tip,
                          trigger=trigger, dry_run=ports.settings.dry_run,
                          allowed_roles=ports.settings.allowed_roles,
                          clock=lambda: datetime.fromtimestamp(ports.clock.now(), UTC))
    # Releases the cluster showed ended without their ECS event: revert, or report.
    if done.settled and not ports.settings.dry_run:
        facts["settled"] = act_on_settled(ports, branch=branch, tip=tip, desired=desired,
                                          settled=done.settled)
    return _report(ports, environment, done, facts)


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
