"""Sweep (schedule): the backstop for events CodeCommit and CodeBuild deliver only on
a best-effort basis. Branch tips never processed go through the push controller;
finished builds never handled go through the build controller. Both are idempotent,
so the sweep may see the same thing many times.
"""

from __future__ import annotations

from ecs_gitops.controllers import build, push
from ecs_gitops.controllers.lookup import desired_at
from ecs_gitops.controllers.outcome import Kind, Outcome, each
from ecs_gitops.controllers.ports import Ports
from ecs_gitops.errors import DesiredStateError, SourceError
from ecs_gitops.events import ScheduledEvent, Trigger
from ecs_gitops.store import tip_key

RECENT_BUILDS = 10


def handle(event: ScheduledEvent, ports: Ports) -> Outcome:
    """One sweep of every tracked branch and every project its file names.

    Returns `Kind.EACH` with what was done (ignored items left out)."""
    del event  # level-triggered: the schedule's payload says nothing
    outcomes: list[Outcome] = []
    for branch, environment in ports.settings.branches.items():
        try:
            tip = ports.source.branch_tip(branch)
        except SourceError:
            continue
        last = ports.store.get_value(tip_key(branch))
        if last is None:
            # Never seen a push here: building every app would be a guess. Remember the
            # tip and let a (level-triggered) reconcile make ECS match it.
            ports.store.put_value(tip_key(branch), tip)
            ports.bus.request_reconcile(environment, reason=Trigger.SWEEP, commit=tip)
            outcomes.append(Outcome(Kind.SWEPT, None, {
                "environment": environment, "branch": branch, "commit": tip,
                "reconcile_requested": True}))
        elif last != tip:
            outcome = push.process_commit(ports, branch=branch, environment=environment,
                                          before=last, after=tip, origin=Trigger.SWEEP)
            if not outcome.ignored:
                outcomes.append(outcome)
        try:
            desired = desired_at(ports, environment, tip)
        except DesiredStateError:
            continue
        for service in desired.services:
            if service.build is None:
                continue
            for detail in ports.builds.recent_builds(service.build.project, limit=RECENT_BUILDS):
                if detail.build_status not in build.FINISHED:
                    continue
                outcome = build.handle_build(detail, ports)
                if not outcome.ignored:
                    outcomes.append(outcome)
    return each(outcomes)
