"""One reconcile of one environment: the sequence every caller runs.

The reconcile Lambda (`controllers.reconcile`), `ecs-gitops apply`, the tests and the
benchmarks all call `reconcile_once`; nothing else strings these steps together. It
takes the desired state already read and validated (the Lambda reads the file at the
branch tip, the CLI from the working tree) and, through the `Cloud` port:

    observe -> plan -> hold back known-bad images -> gate -> preflight -> apply -> record

Every step between observe and apply is pure. Nothing is written before the preflight
has found everything the plan refers to (invariant 7); each release is recorded as its
service is updated, with the ECS deployment id that UpdateService/CreateService started
(invariant 13), so a run that dies half-way leaves a record of what it did.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from ecs_gitops.actual import EnvironmentSnapshot
from ecs_gitops.apply import ApplyResult, CloudPort, apply
from ecs_gitops.desired.model import Environment, Service
from ecs_gitops.errors import PreflightError
from ecs_gitops.events import Trigger
from ecs_gitops.plan import Action, CreateService, Plan, RegisterTaskDefinition, UpdateService, plan
from ecs_gitops.store import (
    BadImage,
    Release,
    ReleaseState,
    Store,
    applied_key,
    attempted_key,
    bad_image_key,
)
from ecs_gitops.verify import Requirements, requirements


class Cloud(CloudPort, Protocol):
    """What a reconcile needs from AWS: observe, check, change, and read what runs.

    `ecs_gitops.aws.cloud.AwsCloud` implements it on AWS (or the embedded AWS); unit
    tests use an in-memory fake."""

    def observe(self, env: Environment) -> EnvironmentSnapshot:
        """A snapshot of the environment's cluster, services, definitions and scaling."""

    def preflight(self, needs: Requirements) -> None:
        """Raise `PreflightError` naming everything `needs` lists that does not exist."""

    def running_image(self, cluster: str, service: str) -> str | None:
        """The image URI of the service's running task definition (None: no service)."""

    def running_task_definition(self, cluster: str, service: str) -> str | None:
        """The ARN of the service's current task definition (None: no such service)."""


class Status(StrEnum):
    """How a reconcile ended."""

    IN_SYNC = "in sync"  # nothing to change
    PLANNED = "planned"  # changes found, not (yet) applied: what `preview` returns
    APPLIED = "applied"  # the plan was applied
    DRY_RUN = "dry run"  # planned and checked, nothing changed on purpose
    DRIFT_REPORTED = "drift reported"  # selfHeal is off and the schedule found drift
    DECLINED = "declined"  # the operator said no
    PREFLIGHT_FAILED = "preflight failed"  # something the plan refers to is missing
    REFUSED = "refused"  # the file names roles the stack may not pass


@dataclass(frozen=True, slots=True)
class HeldBack:
    """A service kept on its running image because the pinned one failed a rollout."""

    service: str
    pinned: str  # the tag git pins, which failed
    running: str  # the tag kept
    bad: BadImage  # when and why it failed

    def describe(self) -> str:
        """`api: 0a1b2c3d4e5f failed a rollout (deployment ecs-svc/1 at ...); keeping 9f8e...`"""
        return (f"{self.service}: {self.pinned[:12]} failed a rollout ({self.bad.describe()}); "
                f"keeping {self.running[:12]}")


@dataclass(frozen=True, slots=True)
class Reconciled:
    """What `reconcile_once` observed, planned and did.

    Attributes:
        status: how it ended.
        plan: the plan after known-bad images were held back (what was, or would be,
            applied).
        snapshot: what was observed before any change.
        desired: the desired state as planned (known-bad images held back).
        held_back: services kept on their running image (see `HeldBack`).
        releases: one per service whose task definition changed, recorded as applied.
        result: the apply result; None unless something was applied or dry-run.
        missing: what the preflight did not find (status PREFLIGHT_FAILED).
        refused_roles: roles named by the file that the stack may not pass (REFUSED).
    """

    status: Status
    plan: Plan
    snapshot: EnvironmentSnapshot
    desired: Environment
    held_back: tuple[HeldBack, ...] = ()
    releases: tuple[Release, ...] = ()
    result: ApplyResult | None = None
    missing: tuple[str, ...] = ()
    refused_roles: tuple[str, ...] = field(default=())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def reconcile_once(
    desired: Environment,
    cloud: Cloud,
    *,
    store: Store | None,
    revision: str,
    trigger: Trigger,
    dry_run: bool = False,
    allowed_roles: frozenset[str] = frozenset(),
    confirm: Callable[[Plan], bool] | None = None,
    on_action: Callable[[Action], None] | None = None,
    clock: Callable[[], str] = _now,
) -> Reconciled:
    """Make the environment's services equal to `desired`, once.

    Args:
        desired: the validated desired state.
        cloud: the AWS side (observe, preflight, the mutating calls).
        store: release history, known-bad images and the attempted/applied marks;
            None when there is no controllers' stack (a plain `ecs-gitops apply`):
            then nothing is held back or recorded.
        revision: the commit the desired state was read at (recorded with releases).
        trigger: why this reconcile runs; `Trigger.SCHEDULE` with `selfHeal: false`
            only reports drift.
        dry_run: plan, hold back and preflight, but change nothing.
        allowed_roles: task/execution role ARNs the stack may pass (empty: any).
        confirm: asked with the plan before anything is changed; False declines.
        on_action: called before each action is applied (progress output).
        clock: ISO-8601 timestamps for release records.

    Returns:
        A `Reconciled`. Refusals, drift reports, a declined confirmation and a failed
        preflight are statuses, not exceptions: none of them changed anything.

    Raises:
        AwsError: an AWS call failed (transient ones, e.g. throttling, are marked so);
            what was applied before it is recorded.
    """
    # 1-4. Observe, plan, refuse roles, hold back known-bad images (read-only).
    seen = preview(desired, cloud, store=store, allowed_roles=allowed_roles)
    if seen.status is not Status.PLANNED:
        return seen
    desired, the_plan, snapshot, held_back = (seen.desired, seen.plan, seen.snapshot,
                                              seen.held_back)
    # 5. Gate: drift found by the schedule is only reported when selfHeal is off; an
    #    operator may decline.
    if trigger is Trigger.SCHEDULE and not desired.self_heal:
        return Reconciled(Status.DRIFT_REPORTED, the_plan, snapshot, desired, held_back)
    # 6. Preflight: everything the plan refers to exists, before the first write.
    try:
        cloud.preflight(requirements(the_plan))
    except PreflightError as exc:
        return Reconciled(Status.PREFLIGHT_FAILED, the_plan, snapshot, desired, held_back,
                          missing=exc.missing)
    if confirm is not None and not confirm(the_plan):
        return Reconciled(Status.DECLINED, the_plan, snapshot, desired, held_back)
    # 7. A dry run stops here, having checked everything.
    if dry_run:
        result = apply(the_plan, cloud, dry_run=True, on_action=on_action)
        return Reconciled(Status.DRY_RUN, the_plan, snapshot, desired, held_back,
                          result=result)
    # 8. Apply, recording each release (with its deployment id) as its service changes.
    if store is not None:
        store.put_value(attempted_key(desired.environment), revision)
    releases: list[Release] = []

    def record(action: Action, deployment_id: str | None, registered: Mapping[str, str]) -> None:
        release = release_of(action, desired, revision=revision, trigger=trigger,
                             deployment_id=deployment_id, registered=registered,
                             started_at=clock())
        if release is not None:
            releases.append(release)
            if store is not None:
                store.record_release(release)

    result = apply(the_plan, cloud, on_action=on_action, on_applied=record)
    # 9. Record the revision now applied.
    if store is not None:
        store.put_value(applied_key(desired.environment), revision)
    return Reconciled(Status.APPLIED, the_plan, snapshot, desired, held_back,
                      tuple(releases), result)


def preview(desired: Environment, cloud: Cloud, *, store: Store | None,
            allowed_roles: frozenset[str] = frozenset()) -> Reconciled:
    """The read-only start of every reconcile: what `reconcile_once` would apply.

    `ecs-gitops plan` and `status` show this; `reconcile_once` continues from it.

    Returns:
        A `Reconciled` with status IN_SYNC, PLANNED or REFUSED (roles the stack may not
        pass); its plan already keeps known-bad images back (listed in `held_back`).
    """
    # 1. Observe what runs.
    snapshot = cloud.observe(desired)
    # 2. Plan: a pure diff of the desired state against the snapshot.
    the_plan = plan(desired, snapshot)
    # 3. Refuse roles the stack may not pass (iam:PassRole is scoped to them anyway).
    refused = tuple(sorted(r for r in (desired.roles.task, desired.roles.execution)
                           if r and allowed_roles and r not in allowed_roles))
    if refused:
        return Reconciled(Status.REFUSED, the_plan, snapshot, desired, refused_roles=refused)
    # 4. Hold back images that already failed a rollout: keep what runs instead.
    held_back: tuple[HeldBack, ...] = ()
    if store is not None and not the_plan.empty:
        desired, held_back = hold_back_bad_images(desired, the_plan, cloud, store)
        if held_back:
            the_plan = plan(desired, snapshot)
    status = Status.IN_SYNC if the_plan.empty else Status.PLANNED
    return Reconciled(status, the_plan, snapshot, desired, held_back)


def release_of(action: Action, desired: Environment, *, revision: str, trigger: Trigger,
               deployment_id: str | None, registered: Mapping[str, str], started_at: str
               ) -> Release | None:
    """The release an applied action starts: a CreateService, or an UpdateService that
    changes the task definition; None for any other action."""
    if not (isinstance(action, CreateService) or (
            isinstance(action, UpdateService) and action.task_definition is not None)):
        return None
    service = desired.service(action.service)
    arn = registered.get(action.service) or str(action.task_definition)
    return Release(
        environment=desired.environment, service=action.service, commit=revision,
        task_definition=arn, image=f"{service.image.repository}:{service.image.tag}",
        outcome=ReleaseState.IN_PROGRESS, started_at=started_at, reason=trigger.value,
        deployment_id=deployment_id or "")


def changing_services(the_plan: Plan) -> set[str]:
    """ECS names of the services a plan registers, creates or updates."""
    return {a.service for a in the_plan.actions
            if isinstance(a, RegisterTaskDefinition | CreateService | UpdateService)}


def hold_back_bad_images(desired: Environment, the_plan: Plan, cloud: Cloud, store: Store
                         ) -> tuple[Environment, tuple[HeldBack, ...]]:
    """`desired` with every image that already failed a rollout replaced by the one
    that runs, and what was held back.

    The revert commit may not have landed yet (or could not be written), and a
    known-bad image must not be deployed again. Reads one record per service the
    plan changes; nothing on a no-op.
    """
    changing = changing_services(the_plan)
    held: list[HeldBack] = []
    services: list[Service] = []
    for service in desired.services:
        bad = (store.bad_image(bad_image_key(desired.environment, service.name,
                                             service.image.tag))
               if service.ecs_name in changing else None)
        if bad is not None:
            running = cloud.running_image(desired.cluster, service.ecs_name)
            tag = running.rsplit(":", 1)[-1] if running and ":" in running else None
            if tag and tag != service.image.tag:
                held.append(HeldBack(service.name, service.image.tag, tag, bad))
                service = service.model_copy(update={
                    "image": service.image.model_copy(update={"tag": tag})})
        services.append(service)
    if not held:
        return desired, ()
    return desired.model_copy(update={"services": tuple(services)}), tuple(held)
