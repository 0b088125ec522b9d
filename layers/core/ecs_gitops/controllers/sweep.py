"""Sweep (schedule): the backstop for events CodeCommit and CodeBuild deliver only on
a best-effort basis. Branch tips never processed go through the push controller;
finished builds never handled go through the build controller. Both are idempotent,
so the sweep may see the same thing many times.
"""

from __future__ import annotations

from ecs_gitops.controllers import build, push
from ecs_gitops.controllers.ports import Outcome, Ports, desired_at
from ecs_gitops.errors import DesiredStateError, SourceError
from ecs_gitops.events import BuildInformation, CodeBuildStateChange, ExportedVariable

RECENT_BUILDS = 10


def handle(ports: Ports) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for branch, environment in ports.settings.branches.items():
        try:
            tip = ports.source.branch_tip(branch)
        except SourceError:
            continue
        last = ports.store.get_value(f"tip#{branch}")
        if last is None:
            # Never seen a push here: building every app would be a guess. Remember the
            # tip and let a (level-triggered) reconcile make ECS match it.
            ports.store.put_value(f"tip#{branch}", tip)
            ports.bus.request_reconcile(environment, reason="sweep", commit=tip)
            outcomes.append(Outcome("first sweep of the branch: tip recorded, reconcile requested",
                                    {"branch": branch, "commit": tip}))
        elif last != tip:
            outcome = push.process_commit(ports, branch=branch, environment=environment,
                                          before=last, after=tip, origin="sweep")
            if not outcome.ignored:
                outcomes.append(outcome)
        try:
            desired = desired_at(ports, environment, tip)
        except DesiredStateError:
            continue
        for service in desired.services:
            if service.build is None:
                continue
            for info in ports.builds.recent_builds(service.build.project, limit=RECENT_BUILDS):
                if info.status not in build.FINISHED:
                    continue
                detail = CodeBuildStateChange.model_validate({
                    "build-status": info.status, "project-name": info.project,
                    "build-id": info.id,
                    "additional-information": BuildInformation(
                        **{"source-version": info.source_version,
                           "exported-environment-variables": [
                               ExportedVariable(name=k, value=v) for k, v in info.exported.items()
                           ]}),
                })
                outcome = build.handle(detail, ports)
                if not outcome.ignored:
                    outcomes.append(outcome)
    return outcomes
