"""Sweep (schedule): the backstop for what events miss. CodeCommit and CodeBuild
deliver events only on a best-effort basis, and a Lambda can be killed mid-work:

- branch tips never processed (lost pushes, force pushes) go through the push
  controller, those of the configuration repository and of every application
  repository's branch that feeds an environment;
- builds finished since the last sweep (every page, by start time) go through the
  build controller;
- releases still IN_PROGRESS are settled from what ECS shows (a lost deployment event:
  FAILED ones are reverted in git), and those past their deadline are reported STUCK.

Everything it calls is idempotent, so the sweep may see the same thing many times.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ecs_gitops.controllers import build, push
from ecs_gitops.controllers.deployment import act_on_settled
from ecs_gitops.controllers.lookup import desired_at
from ecs_gitops.controllers.outcome import Kind, Outcome, Reason, each
from ecs_gitops.controllers.ports import Ports
from ecs_gitops.desired import Environment
from ecs_gitops.engine import record_settled, settle_releases
from ecs_gitops.errors import ConfigurationError, DesiredStateError, SourceError
from ecs_gitops.events import ScheduledEvent, Trigger
from ecs_gitops.store import ReleaseState, sweep_key, tip_key

# A build that finished after the last sweep may have started well before it: CodeBuild
# projects of the stack run at most 30 minutes after up to 60 queued (template.yaml:
# TimeoutInMinutes, QueuedTimeoutInMinutes), so builds are read back this far before.
BUILD_LOOKBACK = timedelta(hours=2)
# With no earlier sweep: as far back as EventBridge keeps retrying an event (24 hours).
FIRST_LOOKBACK = timedelta(hours=24)


def handle(event: ScheduledEvent, ports: Ports) -> Outcome:
    """One sweep of every tracked branch, every project its file names, and every
    release still in progress. Returns `Kind.EACH` with what was done (ignored items
    left out)."""
    del event  # level-triggered: the schedule's payload says nothing
    outcomes: list[Outcome] = []
    feeding: set[tuple[str, str]] = set()  # (application repository, branch)
    for branch, environment in ports.settings.branches.items():
        try:
            tip = ports.source.branch_tip(branch)
        except SourceError:
            continue
        outcomes += _tip(ports, branch, environment, tip)
        try:
            desired = desired_at(ports, environment, tip)
        except DesiredStateError:
            continue
        outcomes += _builds(ports, desired)
        outcomes += _releases(ports, branch, tip, desired)
        feeding |= {(s.build.repository, push.app_branch(s, desired) or branch)
                    for s in desired.services if s.build is not None and s.build.repository}
    for repository, branch in sorted(feeding):
        outcomes += _app_tip(ports, repository, branch)
    return each(outcomes)


def _app_tip(ports: Ports, repository: str, branch: str) -> list[Outcome]:
    """An application repository's branch: its tip goes through the push controller when
    its push was never handled (a first sweep only remembers the tip)."""
    try:
        tip = ports.source_of(repository).branch_tip(branch)
    except (SourceError, ConfigurationError):
        return []  # not (yet) a repository of the stack: nothing can be built from it
    last = ports.store.get_value(push.app_tip_key(repository, branch))
    if last is None:
        ports.store.put_value(push.app_tip_key(repository, branch), tip)
        return [Outcome(Kind.SWEPT, Reason.FIRST_SWEEP, {
            "branch": f"{repository}:{branch}", "commit": tip})]
    if last == tip:
        return []
    outcome = push.process_app_commit(ports, repository=repository, branch=branch,
                                      before=last, after=tip, origin=Trigger.SWEEP)
    return [] if outcome.ignored else [outcome]


def _tip(ports: Ports, branch: str, environment: str, tip: str) -> list[Outcome]:
    last = ports.store.get_value(tip_key(branch))
    if last is None:
        # Never seen a push here: building every app would be a guess. Remember the
        # tip and let a (level-triggered) reconcile make ECS match it.
        ports.store.put_value(tip_key(branch), tip)
        ports.bus.request_reconcile(environment, reason=Trigger.SWEEP, commit=tip)
        return [Outcome(Kind.SWEPT, Reason.FIRST_SWEEP, {
            "environment": environment, "branch": branch, "commit": tip,
            "reconcile_requested": True})]
    if last == tip:
        return []
    # A lost push, or a force push (then `last` is not an ancestor: the range is the
    # difference between the two trees).
    outcome = push.process_commit(ports, branch=branch, environment=environment,
                                  before=last, after=tip, origin=Trigger.SWEEP)
    return [] if outcome.ignored else [outcome]


def _builds(ports: Ports, desired: Environment) -> list[Outcome]:
    outcomes: list[Outcome] = []
    projects = sorted({s.build.project for s in desired.services if s.build is not None})
    for project in projects:
        started = datetime.fromtimestamp(ports.clock.now(), UTC)
        mark = ports.store.get_value(sweep_key(project))
        since = (datetime.fromisoformat(mark) - BUILD_LOOKBACK) if mark else \
            started - FIRST_LOOKBACK
        for detail in ports.builds.finished_since(project, since):
            outcome = build.handle_build(detail, ports)
            if not outcome.ignored:
                outcomes.append(outcome)
        # Every build of the window was handled (or raised, and the mark stays).
        ports.store.put_value(sweep_key(project), started.isoformat())
    return outcomes


def _releases(ports: Ports, branch: str, tip: str, desired: Environment) -> list[Outcome]:
    names = [s.ecs_name for s in desired.services]
    latest = ports.store.latest_releases(desired.environment, names)
    in_progress = {n: r for n, r in latest.items() if r.outcome is ReleaseState.IN_PROGRESS}
    if not in_progress:
        return []
    services = ports.cloud.describe_services(desired.cluster, sorted(in_progress))
    now = datetime.fromtimestamp(ports.clock.now(), UTC)
    settled = settle_releases(in_progress, services, now=now)
    if not settled:
        return []
    if ports.settings.dry_run:
        return [Outcome(Kind.SWEPT, Reason.DRY_RUN_SETTLED, {
            "environment": desired.environment,
            "settled": [f"{s.release.service}: {s.state.value}" for s in settled]})]
    record_settled(ports.store, settled, at=now)
    lines = act_on_settled(ports, branch=branch, tip=tip, desired=desired, settled=settled)
    return [Outcome(Kind.SWEPT, Reason.RELEASES_SETTLED, {
        "environment": desired.environment, "settled": lines, "count": len(lines)})]
