"""Reconcile: make one environment equal to its desired-state file at the branch tip.

Level-triggered (invariant 1): whatever the trigger, the file is read at the tip,
never taken from the event. One writer per environment: a lease with expiry
(invariant 8). A file with an error applies nothing and is reported. With
`selfHeal: false`, drift found by the schedule is reported, not corrected.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from ecs_gitops.controllers.ports import Outcome, Ports, desired_at, ignore
from ecs_gitops.errors import DesiredStateError, LeaseHeldError, PreflightError
from ecs_gitops.plan import CreateService, RegisterTaskDefinition, UpdateService
from ecs_gitops.store import Release


def handle(ports: Ports, *, environment: str | None, reason: str) -> list[Outcome]:
    environments = [environment] if environment else list(ports.settings.branches.values())
    return [reconcile(ports, environment=e, reason=reason) for e in environments]


def reconcile(ports: Ports, *, environment: str, reason: str) -> Outcome:
    branch = ports.settings.branch_of(environment)
    if branch is None:
        return ignore(f"environment {environment} is not tracked")
    owner = str(uuid.uuid4())
    lease = f"env#{environment}"
    if not ports.store.acquire_lease(lease, owner, seconds=ports.settings.lease_seconds):
        if reason == "schedule":
            return ignore(f"another reconcile of {environment} holds the lease")
        raise LeaseHeldError(f"another reconcile of {environment} holds the lease")
    try:
        return _reconcile(ports, environment=environment, branch=branch, reason=reason)
    finally:
        ports.store.release_lease(lease, owner)


def _reconcile(ports: Ports, *, environment: str, branch: str, reason: str) -> Outcome:
    tip = ports.source.branch_tip(branch)
    facts: dict[str, object] = {"environment": environment, "commit": tip, "reason": reason}
    try:
        desired = desired_at(ports, environment, tip)
    except DesiredStateError as exc:
        problems = [str(p) for p in exc.problems]
        ports.notifier.notify(f"ecs-gitops: {environment} desired state is invalid",
                              {**facts, "problems": problems})
        return Outcome("invalid desired state: nothing applied", {**facts, "problems": problems})
    plan = ports.deployer.plan(desired)
    facts["plan"] = plan.describe()
    if plan.empty:
        return Outcome("in sync: nothing to do", facts)
    if reason == "schedule" and not desired.self_heal:
        ports.notifier.notify(f"ecs-gitops: drift in {environment} (selfHeal is off)", facts)
        return Outcome("drift reported, not corrected (selfHeal: false)", facts)
    if ports.settings.dry_run:
        return Outcome("dry run: plan not applied", facts)
    ports.store.put_value(f"attempted#{environment}", tip)
    try:
        result = ports.deployer.apply(desired, plan)
    except PreflightError as exc:
        ports.notifier.notify(f"ecs-gitops: {environment} not applied",
                              {**facts, "missing": list(exc.missing)})
        return Outcome("preflight failed: nothing applied", {**facts, "missing": list(exc.missing)})
    ports.store.put_value(f"applied#{environment}", tip)
    now = datetime.now(UTC).isoformat(timespec="microseconds")
    deployed = []
    for action in plan.actions:
        if isinstance(action, CreateService) or (
                isinstance(action, UpdateService) and action.task_definition is not None):
            service = desired.service(action.service)
            arn = result.registered.get(action.service) or str(action.task_definition)
            image = f"{service.image.repository}:{service.image.tag}"
            ports.store.record_release(Release(
                environment=environment, service=action.service, commit=tip, task_definition=arn,
                image=image, outcome="IN_PROGRESS", started_at=now, reason=reason))
            deployed.append({"service": action.service, "image": image, "task_definition": arn})
    registered = sum(isinstance(a, RegisterTaskDefinition) for a in plan.actions)
    ports.notifier.notify(f"ecs-gitops: applied {len(plan.actions)} change(s) to {environment}",
                          {**facts, "deployed": deployed})
    return Outcome(f"applied {len(plan.actions)} change(s)",
                   {**facts, "deployed": deployed, "registered": registered})
