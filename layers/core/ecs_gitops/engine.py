"""One reconcile of one environment: the sequence every caller runs.

The reconcile Lambda (`controllers.reconcile`), `ecs-gitops apply`, the tests and the
benchmarks all call `reconcile_once`; nothing else strings these steps together. It
takes the desired state already read and validated (the Lambda reads the file at the
branch tip, the CLI from the working tree) and, through the `Cloud` port:

    observe -> plan -> hold back known-bad images -> gate -> preflight -> apply -> record

Every step between observe and apply is pure. Nothing is written before the preflight
has found everything the plan refers to (invariant 7); each release is recorded as its
service is updated, with the ECS deployment id that UpdateService/CreateService started
(invariant 13), in batches written at every safe point, so a run that dies half-way
leaves a record of what it did (or what `recover_interrupted` rebuilds).

A run with a `Budget` (the Lambda's remaining time) stops at the first safe point
(between two services) where the next service might not fit, and says which services
are left (status PAUSED, `remaining`); a continuation (`resume`) observes, plans and
applies only those, a chunk at a time (invariant 16). See `ecs_gitops.deadline`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from ecs_gitops.actual import EnvironmentSnapshot, ServiceSnapshot
from ecs_gitops.apply import ApplyResult, CloudPort, apply, refused_replacements
from ecs_gitops.deadline import Budget, Marks, ReleaseBook, Stopwatch
from ecs_gitops.desired.model import Canary, Environment, Linear, Service, Strategy
from ecs_gitops.errors import PreflightError
from ecs_gitops.events import Trigger
from ecs_gitops.plan import (
    Action,
    CreateService,
    PendingRevision,
    Plan,
    RegisterTaskDefinition,
    ReplaceService,
    UpdateService,
    plan,
)
from ecs_gitops.render import Refs
from ecs_gitops.store import (
    BadImage,
    Release,
    ReleaseState,
    Store,
    applied_key,
    attempted_key,
    bad_image_key,
    paused_key,
)
from ecs_gitops.verify import Requirements, requirements

# Rollout deadline (ours, not ECS's): a rolling deployment replaces the tasks in
# ceil(100 / (maximumPercent - minimumHealthyPercent)) batches; each batch gets the
# health-check grace period plus this long to start and pass its health checks.
BATCH_MINUTES = 10


class Cloud(CloudPort, Protocol):
    """What a reconcile needs from AWS: observe, check, change, and read what runs.

    `ecs_gitops.aws.cloud.AwsCloud` implements it on AWS (or the embedded AWS); unit
    tests use an in-memory fake."""

    def observe(self, env: Environment, *, only: Collection[str] | None = None,
                latest_revisions: bool = True) -> EnvironmentSnapshot:
        """A snapshot of the environment's cluster, services, definitions and scaling.

        `only`: just these ECS service names (no listing of the cluster); None: all.
        `latest_revisions`: look up the latest revision of each family whose running
        definition differs from the rendered one (`EnvironmentSnapshot.family_latest`).
        """

    def flush(self) -> None:
        """Write what the adapter buffered for later containers (task definitions it
        registered); called at every safe point."""

    def preflight(self, needs: Requirements) -> None:
        """Raise `PreflightError` naming everything `needs` lists that does not exist."""

    def running_image(self, cluster: str, service: str) -> str | None:
        """The image URI of the service's running task definition (None: no service)."""

    def running_task_definition(self, cluster: str, service: str) -> str | None:
        """The ARN of the service's current task definition (None: no such service)."""

    def describe_services(self, cluster: str, names: list[str]
                          ) -> Mapping[str, ServiceSnapshot]:
        """The ACTIVE services among `names` (DescribeServices, 10 a call)."""


class Status(StrEnum):
    """How a reconcile ended."""

    IN_SYNC = "in sync"  # nothing to change
    PLANNED = "planned"  # changes found, not (yet) applied: what `preview` returns
    APPLIED = "applied"  # the plan was applied
    PAUSED = "paused"  # stopped at a safe point before the deadline: `remaining` is left
    DRY_RUN = "dry run"  # planned and checked, nothing changed on purpose
    DRIFT_REPORTED = "drift reported"  # selfHeal is off and the schedule found drift
    DECLINED = "declined"  # the operator said no
    # Something the plan refers to is missing, ECS would refuse it (size, target type), or
    # it replaces a service nobody allowed to be replaced.
    PREFLIGHT_FAILED = "preflight failed"
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
class Settled:
    """An earlier release whose end the cluster shows (its ECS event may have been lost).

    Attributes:
        release: the release as recorded (IN_PROGRESS).
        state: what the cluster says: HEALTHY, FAILED (rolled back) or STUCK (past its
            deadline and still rolling out).
        why: one line for people.
    """

    release: Release
    state: ReleaseState
    why: str


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
        settled: earlier releases the observed cluster showed to have ended (recorded
            by `reconcile_once`; only reported by `preview`).
        in_progress: the latest releases of the changing services still rolling out.
        remaining: with status PAUSED, the services a continuation must still reconcile.
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
    settled: tuple[Settled, ...] = ()
    in_progress: Mapping[str, Release] = field(default_factory=dict)  # still rolling out
    remaining: tuple[str, ...] = ()  # PAUSED: ECS names of the services not reached yet


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
    allow_replace: bool = False,
    on_action: Callable[[Action], None] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    budget: Budget | None = None,
    resume: Sequence[str] | None = None,
) -> Reconciled:
    """Make the environment's services equal to `desired`, once (or as far as `budget`
    allows).

    Args:
        desired: the validated desired state.
        cloud: the AWS side (observe, preflight, the mutating calls).
        store: release history, known-bad images and the attempted/applied marks;
            None when there is no controllers' stack (a plain `ecs-gitops apply`):
            then nothing is held back or recorded.
        revision: the commit the desired state was read at (recorded with releases).
        trigger: why this reconcile runs; `Trigger.SCHEDULE` with `selfHeal: false`
            only reports drift (unless it finishes an apply of `revision` that stopped).
        dry_run: plan, hold back and preflight, but change nothing.
        allowed_roles: task/execution role ARNs the stack may pass (empty: any).
        confirm: asked with the plan before anything is changed; False declines.
        allow_replace: replace services whose change UpdateService cannot make even when
            the file does not say `replace: true` for them (`ecs-gitops apply
            --allow-replace`).
        on_action: called before each action is applied (progress output).
        clock: the current time (UTC), for release records and deadlines.
        budget: the invocation's remaining time; the run stops at the first safe point
            (between services) where the next service might not fit, with status
            PAUSED and the services left in `remaining`. None: no deadline (the CLI).
        resume: continue an earlier run of the same `revision` that paused: only these
            ECS service names are observed, planned and applied, in chunks of
            `RESUME_CHUNK` (`FIRST_CHUNK` first; each observed just before it is
            changed). The caller checks
            that `revision` is still the branch tip (level-triggered: a continuation
            never applies an older plan).

    Returns:
        A `Reconciled`. Refusals, drift reports, a declined confirmation and a failed
        preflight are statuses, not exceptions: none of them changed anything.

    Raises:
        AwsError: an AWS call failed (transient ones, e.g. throttling, are marked so);
            what was applied before it is recorded.
    """
    marks = Marks.read(store, desired.environment) if store is not None else Marks()
    run = _Run(cloud=cloud, store=store, revision=revision, trigger=trigger, marks=marks,
               clock=clock, watch=Stopwatch(budget), on_action=on_action,
               allow_replace=allow_replace)
    if resume is not None and not dry_run:
        return _resume(desired, run, list(dict.fromkeys(resume)), allowed_roles=allowed_roles)
    # 1-5. Observe, plan, refuse roles, settle earlier releases, hold back known-bad
    #      images: the read-only start every caller shares. The families' latest
    #      revisions are looked up only when a killed run may have left one unused.
    seen = preview(desired, cloud, store=store, allowed_roles=allowed_roles, clock=clock,
                   latest_revisions=store is None or marks.killed)
    # 6. Record what the cluster showed of earlier releases (lost ECS events), and the
    #    releases of a run that died between UpdateService and its record.
    if store is not None and not dry_run and seen.status is not Status.REFUSED:
        _record_what_ended(seen, run)
        if seen.plan.empty and marks.interrupted:  # nothing left to apply: what runs is this
            store.put_values({attempted_key(desired.environment): revision,
                              applied_key(desired.environment): revision})
    if seen.status is not Status.PLANNED:
        return seen
    # 7. Gate: drift found by the schedule is only reported when selfHeal is off (an
    #    apply of this revision that stopped half-way is finished, not drift).
    if trigger is Trigger.SCHEDULE and not seen.desired.self_heal \
            and not marks.resuming(revision):
        return replace(seen, status=Status.DRIFT_REPORTED)
    # 8. Preflight: everything the plan refers to exists, before the first write.
    try:
        _preflight(seen.plan, run, dry_run=dry_run)
    except PreflightError as exc:
        return replace(seen, status=Status.PREFLIGHT_FAILED, missing=exc.missing)
    # 9. An operator may decline; a dry run stops here, having checked everything.
    if confirm is not None and not confirm(seen.plan):
        return replace(seen, status=Status.DECLINED)
    if dry_run:
        result = apply(seen.plan, cloud, dry_run=True, on_action=on_action)
        return replace(seen, status=Status.DRY_RUN, result=result)
    # 10-11. Apply, recording each release as its service changes, until done or the
    #        budget's next safe point; then the revision applied, or where it stopped.
    result = _apply(seen, run)
    if result.stopped:
        return replace(seen, status=Status.PAUSED, releases=tuple(run.book.recorded),
                       result=result, remaining=result.remaining)
    _finish(run, desired.environment)
    return replace(seen, status=Status.APPLIED, releases=tuple(run.book.recorded),
                   result=result)


# A continuation observes, plans and applies this many services at a time, so that it
# observes only what it has time to change (and each just before changing it); its first
# chunk is smaller, so that the first change is sent soon after it starts (ECS's buckets
# refilled while it was starting: that burst is used, not capped).
RESUME_CHUNK = 100
FIRST_CHUNK = 20


@dataclass
class _Run:
    """What one invocation's run carries from step to step."""

    cloud: Cloud
    store: Store | None
    revision: str
    trigger: Trigger
    marks: Marks
    clock: Callable[[], datetime]
    watch: Stopwatch
    on_action: Callable[[Action], None] | None
    allow_replace: bool = False
    began: bool = False
    book: ReleaseBook = field(init=False)

    def __post_init__(self) -> None:
        self.book = ReleaseBook(self.store, on_flush=self.cloud.flush)


def _preflight(the_plan: Plan, run: _Run, *, dry_run: bool = False) -> None:
    """Step 8: raise `PreflightError` for anything missing, and for a replacement nobody
    allowed (refused before the first write too)."""
    run.cloud.preflight(requirements(the_plan))
    refused = refused_replacements(the_plan, allow_replace=run.allow_replace)
    if refused and not dry_run:
        raise PreflightError(refused)


def _record_what_ended(seen: Reconciled, run: _Run) -> None:
    """Step 6: settled releases, and those a killed run left unrecorded."""
    assert run.store is not None
    record_settled(run.store, seen.settled, at=run.clock())
    if run.marks.killed:
        recover_interrupted(seen, run.store, revision=run.revision, now=run.clock(),
                            marks=run.marks)


def _apply(seen: Reconciled, run: _Run) -> ApplyResult:
    """Apply `seen.plan` until done or a safe point where the budget runs out; every
    release is recorded (batched) before returning, and a stop is marked as clean."""
    desired, store = seen.desired, run.store
    if store is not None and not run.began:
        begin = run.marks.begin(desired.environment, run.revision)
        if begin:
            store.put_values(begin)
        run.began = True
    previous = {s.release.service for s in seen.settled}

    def record(action: Action, deployment_id: str | None, registered: Mapping[str, str]) -> None:
        release = release_of(action, desired, revision=run.revision, trigger=run.trigger,
                             deployment_id=deployment_id, registered=registered,
                             started=run.clock())
        if release is not None:
            superseded = seen.in_progress.get(release.service)
            run.book.add(release, supersedes=None if release.service in previous
                         else superseded)

    def should_stop() -> bool:
        run.watch.stop("service")
        if not run.watch.fits("service"):
            return True
        run.watch.start("service")
        return False

    try:
        result = apply(seen.plan, run.cloud, allow_replace=run.allow_replace,
                       on_action=run.on_action, on_applied=record, should_stop=should_stop)
    finally:  # an AWS error: what was applied before it is recorded all the same
        run.watch.stop("service")
        run.book.flush()
    if result.stopped and store is not None:
        store.put_value(paused_key(desired.environment), run.revision)
    return result


def _finish(run: _Run, environment: str) -> None:
    """The revision is applied (step 11)."""
    if run.store is not None:
        run.store.put_value(applied_key(environment), run.revision)


def _resume(desired: Environment, run: _Run, services: list[str], *,
            allowed_roles: frozenset[str]) -> Reconciled:
    """A continuation: the same steps, chunk by chunk, over `services` only."""
    actions: list[Action] = []
    settled: list[Settled] = []
    held: list[HeldBack] = []
    snapshot: EnvironmentSnapshot | None = None
    remaining = services
    status = Status.APPLIED
    chunks = 0
    while remaining:
        # Room to observe and plan a chunk (the slowest so far); each service in it is
        # then checked on its own.
        if not run.watch.fits("chunk"):
            status = Status.PAUSED
            break
        run.watch.start("chunk")
        size = RESUME_CHUNK if chunks else FIRST_CHUNK
        chunks += 1
        chunk, rest = remaining[:size], remaining[size:]
        seen = preview(only(desired, chunk), run.cloud, store=run.store,
                       allowed_roles=allowed_roles, clock=run.clock, only=chunk,
                       latest_revisions=run.store is None or run.marks.killed)
        snapshot = seen.snapshot if snapshot is None else _merged(snapshot, seen.snapshot)
        settled += seen.settled
        held += seen.held_back
        if run.store is not None and seen.status is not Status.REFUSED:
            _record_what_ended(seen, run)
        if seen.status is Status.REFUSED:
            return _combined(desired, seen.status, actions, snapshot, settled, held, run,
                             remaining, refused=seen.refused_roles)
        if seen.status is Status.PLANNED:
            try:
                _preflight(seen.plan, run)
            except PreflightError as exc:
                return replace(_combined(desired, Status.PREFLIGHT_FAILED, actions, snapshot,
                                         settled, held, run, remaining), missing=exc.missing)
            run.watch.stop("chunk")
            result = _apply(seen, run)
            actions += result.applied
            if result.stopped:
                remaining = [*result.remaining, *rest]
                status = Status.PAUSED
                break
        remaining = rest
        run.watch.stop("chunk")  # a chunk with nothing to apply: its reads were the step
    if status is Status.APPLIED:
        _finish(run, desired.environment)
        if not actions:
            status = Status.IN_SYNC
    return _combined(desired, status, actions, snapshot, settled, held, run,
                     remaining if status is Status.PAUSED else [])


def only(desired: Environment, names: Collection[str]) -> Environment:
    """`desired` with only the services whose ECS names are in `names`."""
    wanted = set(names)
    return desired.model_copy(update={"services": tuple(
        s for s in desired.services if s.ecs_name in wanted)})


def _merged(a: EnvironmentSnapshot, b: EnvironmentSnapshot) -> EnvironmentSnapshot:
    return replace(a, services={**a.services, **b.services},
                   task_definitions={**a.task_definitions, **b.task_definitions},
                   scaling={**a.scaling, **b.scaling},
                   family_latest={**a.family_latest, **b.family_latest})


def _combined(desired: Environment, status: Status, actions: list[Action],
              snapshot: EnvironmentSnapshot | None, settled: list[Settled],
              held: list[HeldBack], run: _Run, remaining: list[str],
              refused: tuple[str, ...] = ()) -> Reconciled:
    """One `Reconciled` for the chunks of a continuation: what was applied in all."""
    the_plan = Plan(environment=desired.environment, cluster=desired.cluster,
                    actions=tuple(actions))
    empty = EnvironmentSnapshot(cluster=desired.cluster, refs=Refs(registry=""), services={},
                                task_definitions={}, scaling={})
    return Reconciled(status, the_plan, snapshot or empty, desired, tuple(held),
                      releases=tuple(run.book.recorded),
                      result=ApplyResult(plan=the_plan, applied=tuple(actions),
                                         remaining=tuple(remaining)),
                      refused_roles=refused, settled=tuple(settled), remaining=tuple(remaining))


def preview(desired: Environment, cloud: Cloud, *, store: Store | None,
            allowed_roles: frozenset[str] = frozenset(),
            clock: Callable[[], datetime] = lambda: datetime.now(UTC),
            only: Collection[str] | None = None, latest_revisions: bool = True
            ) -> Reconciled:
    """The read-only start of every reconcile: what `reconcile_once` would apply.

    `ecs-gitops plan` and `status` show this; `reconcile_once` continues from it.
    With a store, it reads (in batches) the latest release and the known-bad records of
    the services the plan changes, nothing on a no-op.

    Args:
        only: observe just these ECS service names (a continuation's chunk; `desired`
            already holds only them); None: the whole cluster.
        latest_revisions: look up each changing family's latest revision (so that one
            registered by a run killed before its UpdateService is reused).

    Returns:
        A `Reconciled` with status IN_SYNC, PLANNED or REFUSED (roles the stack may not
        pass); its plan keeps known-bad images back (listed in `held_back`), and
        `settled` lists earlier releases whose end the cluster shows.
    """
    # 1. Observe what runs.
    snapshot = cloud.observe(desired, only=only, latest_revisions=latest_revisions)
    # 2. Plan: a pure diff of the desired state against the snapshot.
    the_plan = plan(desired, snapshot)
    # 3. Refuse roles the stack may not pass (iam:PassRole is scoped to them anyway).
    refused = tuple(sorted(r for r in desired.passed_roles()
                           if allowed_roles and r not in allowed_roles))
    if refused:
        return Reconciled(Status.REFUSED, the_plan, snapshot, desired, refused_roles=refused)
    if store is None or the_plan.empty:
        status = Status.IN_SYNC if the_plan.empty else Status.PLANNED
        return Reconciled(status, the_plan, snapshot, desired)
    # 4. Settle the earlier releases of the services about to change from what the
    #    cluster shows: an ECS event may have been lost (a failed image must not be
    #    deployed again because its FAILED event never arrived).
    changing = sorted(changing_services(the_plan))
    latest = store.latest_releases(desired.environment, changing)
    in_progress = {s: r for s, r in latest.items() if r.outcome is ReleaseState.IN_PROGRESS}
    settled = settle_releases(in_progress, snapshot.services, now=clock())
    # 5. Hold back images that failed a rollout: keep what runs instead.
    bad = store.bad_images([bad_image_key(desired.environment, s.name, s.image.tag)
                            for s in desired.services if s.ecs_name in changing])
    for done in settled:
        if done.state is ReleaseState.FAILED:
            bad[bad_image_key(desired.environment, _name(desired, done.release.service),
                              done.release.tag)] = BadImage(done.release.deployment_id,
                                                            reason=done.why)
    desired, held_back = hold_back_bad_images(desired, the_plan, snapshot, bad)
    if held_back:
        the_plan = plan(desired, snapshot)
    status = Status.IN_SYNC if the_plan.empty else Status.PLANNED
    return Reconciled(status, the_plan, snapshot, desired, held_back, settled=settled,
                      in_progress={s: r for s, r in in_progress.items()
                                   if s not in {d.release.service for d in settled}})


def _name(desired: Environment, ecs_name: str) -> str:
    return desired.service(ecs_name).name


def release_deadline(service: Service, started: datetime) -> datetime:
    """When a rollout of `service` started at `started` should have ended (see
    `BATCH_MINUTES`): grace + batches x 10 minutes, plus, for blue-green, canary and
    linear deployments, the minutes ECS waits on purpose (`waiting_minutes`)."""
    grace = service.load_balancer.health_check_grace_period if service.load_balancer else 0
    surge = service.deployment.maximum_percent - service.deployment.minimum_healthy_percent
    batches = min(20, math.ceil(100 / max(1, surge)))
    return started + timedelta(seconds=batches * (grace + BATCH_MINUTES * 60)
                               + waiting_minutes(service) * 60)


def waiting_minutes(service: Service) -> int:
    """The longest a blue-green, canary or linear deployment of `service` waits on
    purpose: the bake times between traffic steps (canary: one; linear: one per step but
    the last, ECS's defaults when the file gives none), `bakeMinutes` after the last
    step, and an approval's time-out. 0 for a rolling update."""
    d = service.deployment
    if d.strategy is Strategy.ROLLING:
        return 0
    minutes = d.bake_minutes or 0
    if d.strategy is Strategy.CANARY:
        minutes += (d.canary or Canary()).bake_minutes
    if d.strategy is Strategy.LINEAR:
        linear = d.linear or Linear()
        minutes += (math.ceil(100 / linear.step_percent) - 1) * linear.step_bake_minutes
    if d.approval is not None:
        minutes += d.approval.timeout_minutes
    return minutes


def release_of(action: Action, desired: Environment, *, revision: str, trigger: Trigger,
               deployment_id: str | None, registered: Mapping[str, str], started: datetime
               ) -> Release | None:
    """The release an applied action starts: a CreateService, a ReplaceService, or an
    UpdateService that changes the task definition; None for any other action."""
    if not (isinstance(action, CreateService | ReplaceService) or (
            isinstance(action, UpdateService) and action.task_definition is not None)):
        return None
    service = desired.service(action.service)
    ref = action.task_definition
    arn = (registered.get(ref.family) if isinstance(ref, PendingRevision) else None) or str(ref)
    return Release(
        environment=desired.environment, service=action.service, commit=revision,
        task_definition=arn, image=f"{service.image.repository}:{service.image.tag}",
        outcome=ReleaseState.IN_PROGRESS, started_at=_iso(started), reason=trigger.value,
        deployment_id=deployment_id or "",
        deadline=_iso(release_deadline(service, started)))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def changing_services(the_plan: Plan) -> set[str]:
    """ECS names of the services a plan registers, creates or updates."""
    return {a.service for a in the_plan.actions
            if isinstance(a, RegisterTaskDefinition | CreateService | UpdateService
                          | ReplaceService)}


_REVISION = re.compile(r":(\d+)$")


def _revision(arn: str) -> int:
    match = _REVISION.search(arn)
    return int(match.group(1)) if match else 0


def settle_releases(in_progress: Mapping[str, Release],
                    services: Mapping[str, ServiceSnapshot], *, now: datetime
                    ) -> tuple[Settled, ...]:
    """Which IN_PROGRESS releases the observed cluster shows to have ended. Pure.

    A release's deployment (by id) that ECS reports COMPLETED is HEALTHY, FAILED is
    FAILED. A deployment ECS no longer lists has ended: HEALTHY when the service runs
    the release's task definition; FAILED when it runs an *older* revision of the family
    (the circuit breaker rolled back to the last completed deployment); otherwise the
    service was changed outside ecs-gitops, which says nothing about the release. A
    deployment still rolling out past the release's deadline is STUCK.
    """
    out: list[Settled] = []
    for name, release in sorted(in_progress.items()):
        service = services.get(name)
        if service is None:
            continue
        settled = _settle(release, service, now)
        if settled is not None:
            out.append(settled)
    return tuple(out)


def _settle(release: Release, service: ServiceSnapshot, now: datetime) -> Settled | None:
    deployment = next((d for d in service.deployments
                       if release.deployment_id and d.id == release.deployment_id), None)
    if deployment is not None:
        if deployment.rollout_state == "COMPLETED":
            return Settled(release, ReleaseState.HEALTHY,
                           f"ECS reports deployment {deployment.id} completed")
        if deployment.rollout_state == "FAILED":
            return Settled(release, ReleaseState.FAILED,
                           f"ECS reports deployment {deployment.id} failed")
        if release.deadline and now.isoformat() > release.deadline:
            return Settled(release, ReleaseState.STUCK,
                           f"deployment {deployment.id} still rolling out after its deadline "
                           f"{release.deadline}")
        return None
    if service.task_definition == release.task_definition:
        return Settled(release, ReleaseState.HEALTHY,
                       "the service runs the release's task definition")
    if _revision(service.task_definition) < _revision(release.task_definition):
        return Settled(release, ReleaseState.FAILED,
                       f"ECS rolled the service back to {service.task_definition.rsplit('/', 1)[-1]}")
    return None


def recover_interrupted(seen: Reconciled, store: Store, *, revision: str, now: datetime,
                        marks: Marks | None = None) -> tuple[Release, ...]:
    """Record the releases a run killed mid-apply started but never recorded.

    A run marks the revision it attempts before its first write and the one it applied
    after its last (as Flux's kustomize-controller does): when the two differ, the last
    run was interrupted; when it stopped cleanly at a deadline (`Marks.paused`), it
    recorded everything first. Every service that now runs what the file renders, on a
    task definition its latest release does not name, was updated by a killed run:
    its PRIMARY deployment becomes a release (so that its ECS events are matched and it
    is settled). Costs one batched read of the marks per reconcile (none when `marks`
    are given); the releases are read only after a kill.
    """
    environment = seen.desired.environment
    marks = marks or Marks.read(store, environment)
    if not marks.killed or marks.attempted is None:
        return ()
    attempted = marks.attempted
    changing = changing_services(seen.plan)
    candidates = [s for s in seen.desired.services
                  if s.ecs_name in seen.snapshot.services and s.ecs_name not in changing]
    latest = store.latest_releases(environment, [s.ecs_name for s in candidates])
    recovered: list[Release] = []
    for service in candidates:
        running = seen.snapshot.services[service.ecs_name]
        primary = next((d for d in running.deployments if d.status == "PRIMARY"), None)
        known = latest.get(service.ecs_name)
        if primary is None or (known is not None
                               and known.task_definition == running.task_definition):
            continue
        state = {"COMPLETED": ReleaseState.HEALTHY, "FAILED": ReleaseState.FAILED}.get(
            primary.rollout_state or "", ReleaseState.IN_PROGRESS)
        recovered.append(Release(
            environment=environment, service=service.ecs_name, commit=attempted,
            task_definition=running.task_definition,
            image=f"{service.image.repository}:{service.image.tag}", outcome=state,
            started_at=_iso(now), reason="recovered: the run that started it was interrupted",
            deployment_id=primary.id, deadline=_iso(release_deadline(service, now))))
    if recovered:
        store.record_releases(recovered)
    return tuple(recovered)


def record_settled(store: Store, settled: tuple[Settled, ...], *, at: datetime) -> None:
    """Write what `settle_releases` found: outcomes, and failed images as known-bad."""
    for done in settled:
        store.set_outcome(done.release, done.state, done.why)
        if done.state is ReleaseState.FAILED:
            store.mark_bad_image(
                bad_image_key(done.release.environment, done.release.service, done.release.tag),
                BadImage(done.release.deployment_id, at=_iso(at), reason=done.why))


def hold_back_bad_images(desired: Environment, the_plan: Plan, snapshot: EnvironmentSnapshot,
                         bad: Mapping[str, BadImage]) -> tuple[Environment, tuple[HeldBack, ...]]:
    """`desired` with every image that already failed a rollout replaced by the one
    that runs, and what was held back. Pure.

    The revert commit may not have landed yet (or could not be written), and a
    known-bad image must not be deployed again. `bad` holds the known-bad records
    (by `bad_image_key`) of the services the plan changes.
    """
    changing = changing_services(the_plan)
    held: list[HeldBack] = []
    services: list[Service] = []
    for service in desired.services:
        record = bad.get(bad_image_key(desired.environment, service.name, service.image.tag))
        current = snapshot.services.get(service.ecs_name)
        running = snapshot.task_definitions.get(current.task_definition) if current else None
        image = running.image() if running else None
        tag = image.rsplit(":", 1)[-1] if image and ":" in image else None
        if record is not None and service.ecs_name in changing and tag \
                and tag != service.image.tag:
            held.append(HeldBack(service.name, service.image.tag, tag, record))
            service = service.model_copy(update={
                "image": service.image.model_copy(update={"tag": tag})})
        services.append(service)
    if not held:
        return desired, ()
    return desired.model_copy(update={"services": tuple(services)}), tuple(held)
