"""Reconcile: make one environment equal to its desired-state file at the branch tip.

Level-triggered (invariant 1): whatever the trigger, the file is read at the tip,
never taken from the event. One writer per environment: a lease with expiry
(invariant 8). A file with an error applies nothing and is reported. With
`selfHeal: false`, drift found by the schedule is reported, not corrected.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from ecs_gitops.controllers.build import bad_image_key
from ecs_gitops.controllers.ports import Outcome, Ports, desired_at, ignore
from ecs_gitops.desired import Environment
from ecs_gitops.errors import DesiredStateError, EcsGitopsError, LeaseHeldError, PreflightError
from ecs_gitops.plan import (
    CreateService,
    PendingRevision,
    Plan,
    RegisterTaskDefinition,
    ReplaceService,
    UpdateService,
)
from ecs_gitops.store import Release


def handle(ports: Ports, *, environment: str | None, reason: str) -> list[Outcome]:
    """Each environment on its own: one that fails does not stop the others; a
    transient failure is raised after all were tried, so that Lambda retries."""
    environments = [environment] if environment else list(ports.settings.branches.values())
    outcomes: list[Outcome] = []
    retry: EcsGitopsError | None = None
    for name in environments:
        try:
            outcomes.append(reconcile(ports, environment=name, reason=reason))
        except EcsGitopsError as exc:
            if exc.transient and retry is None:
                retry = exc
            outcomes.append(Outcome(f"failed: {exc}", {"environment": name,
                                                       "error": type(exc).__name__}))
            if not exc.transient:
                ports.notifier.notify(f"ecs-gitops: reconcile of {name} failed",
                                      {"environment": name, "error": str(exc)})
    if retry is not None:
        raise retry
    return outcomes


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
    outside = sorted(r for r in (desired.roles.task, desired.roles.execution)
                     if r and ports.settings.allowed_roles and r not in ports.settings.allowed_roles)
    if outside:
        ports.notifier.notify(f"ecs-gitops: {environment} names roles it may not pass",
                              {**facts, "roles": outside})
        return Outcome("refused: the file names roles the stack may not pass; nothing applied",
                       {**facts, "roles": outside})
    plan = ports.deployer.plan(desired)
    desired, held_back = _without_bad_images(ports, desired, environment, plan)
    if held_back:
        plan = ports.deployer.plan(desired)
    facts["plan"] = plan.describe()
    if held_back:
        facts["held_back"] = held_back
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
        if isinstance(action, CreateService | ReplaceService) or (
                isinstance(action, UpdateService) and action.task_definition is not None):
            service = desired.service(action.service)
            ref = action.task_definition
            arn = (result.registered.get(ref.family) if isinstance(ref, PendingRevision)
                   else None) or str(ref)
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


def _without_bad_images(ports: Ports, desired: Environment, environment: str, plan: Plan
                        ) -> tuple[Environment, list[str]]:
    """`desired` with every image that already failed a rollout replaced by the one that
    runs: the revert commit may not have landed yet (or could not be written), and a
    known-bad image must not be deployed again. Reads one record per service that is
    about to change, nothing on a no-op."""
    changing = {a.service for a in plan.actions
                if isinstance(a, RegisterTaskDefinition | CreateService | UpdateService
                              | ReplaceService)}
    held_back: list[str] = []
    services = []
    for service in desired.services:
        if service.ecs_name in changing and ports.store.get_value(
                bad_image_key(environment, service.name, service.image.tag)):
            running = ports.deployer.running_image(desired.cluster, service.ecs_name)
            tag = running.rsplit(":", 1)[-1] if running and ":" in running else None
            if tag and tag != service.image.tag:
                held_back.append(f"{service.name}: {service.image.tag[:12]} failed a rollout; "
                                 f"keeping {tag[:12]}")
                service = service.model_copy(update={
                    "image": service.image.model_copy(update={"tag": tag})})
        services.append(service)
    if not held_back:
        return desired, []
    ports.notifier.notify(f"ecs-gitops: {environment} pins an image that failed",
                          {"environment": environment, "held_back": held_back})
    return desired.model_copy(update={"services": tuple(services)}), held_back
