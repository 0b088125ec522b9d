"""1,000 push events through the bus, duplicated and shuffled: exactly one build per
(commit, app) — never two — for every commit that changed the app, and each
environment ends on its newest commit (level-triggered)."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ecs_gitops.aws.cloud import AwsCloud
from ecs_gitops.aws.ecs import EcsAdapter
from ecs_gitops.engine import preview
from ecs_gitops_tools.local import emit
from ecs_gitops_tools.local.cloud import EmbeddedCloud
from ecs_gitops_tools.local.demo import desired_at_tip

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 1000
COMMITS = 60
ENVIRONMENTS = {"main": "production", "development": "development"}


def _git(work: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(work), *args], capture_output=True, text=True,
                          check=True).stdout.strip()


def _set_release(text: str, value: int) -> str:
    """Set simpleweb's RELEASE variable in a desired-state file (added on first use)."""
    marker = "      API_BASE_URL:"
    lines = text.splitlines(keepends=True)
    lines = [ln for ln in lines if not ln.startswith("      RELEASE:")]
    index = next(i for i, ln in enumerate(lines) if ln.startswith(marker))
    lines.insert(index + 1, f'      RELEASE: "{value}"\n')
    return "".join(lines)


@pytest.mark.e2e
def test_a_thousand_shuffled_duplicated_pushes(tmp_path: Path) -> None:
    rng = random.Random(20261126)
    with EmbeddedCloud(tmp_path, source=ROOT) as cloud:
        work = cloud.remote.clone(tmp_path / "work")
        for key, value in (("user.name", "Load"), ("user.email", "load@example.com")):
            _git(work, "config", key, value)
        expected_builds: dict[str, set[str]] = {}
        newest_release: dict[str, int] = {}
        for i in range(COMMITS):
            branch = "main" if i % 2 == 0 else "development"
            environment = ENVIRONMENTS[branch]
            _git(work, "checkout", "-q", branch)
            kind = (i // 2) % 3
            if kind == 0:
                path = work / "apps/api/api_service/web.py"
                app = "api"
            elif kind == 1:
                path = work / "apps/simpleweb/simpleweb/__init__.py"
                app = "simpleweb"
            else:
                path = work / f"desired_state/{environment}.yaml"
                app = ""
            if app:
                path.write_text(path.read_text() + f"\n# load test change {i}\n")
            else:
                path.write_text(_set_release(path.read_text(), i))
                newest_release[environment] = i
            _git(work, "commit", "-q", "-am", f"change {i}")
            _git(work, "push", "-q", "origin", branch)
            commit = _git(work, "rev-parse", "HEAD")
            if app:
                expected_builds.setdefault(f"{app}-{environment}", set()).add(commit)

        pushes = [emit.codecommit(c, cloud.repository) for c in cloud.remote.take_changes()]
        assert len(pushes) == COMMITS
        events: list[dict[str, Any]] = []
        while len(events) < EVENTS:  # every push at least once, the rest duplicates
            for push in pushes:
                if len(events) < EVENTS:
                    events.append({**push, "id": f"delivery-{len(events)}"})
            pushes = rng.sample(pushes, k=len(pushes))
        rng.shuffle(events)
        for event in events:
            assert all(d.error is None for d in cloud.bus.deliver(event))
        assert cloud.bus.delivered == EVENTS

        # the reconcile requests the pushes made, also shuffled (no builder: builds stay
        # started; no rollouts needed to compare what ECS was told to run)
        requests = cloud.take_custom_events()
        # at least one per desired-state commit, and never two for one commit (a push whose
        # range starts at the last tip seen may cover an earlier desired-state change too)
        commits = [r["detail"]["commit"] for r in requests]
        assert len(commits) == len(set(commits)) >= COMMITS // 3
        rng.shuffle(requests)
        for request in requests:
            assert all(d.error is None for d in cloud.bus.deliver(request))

        cb = cloud.clients.client("codebuild")
        for project in ("api-production", "api-development", "simpleweb-production",
                        "simpleweb-development"):
            ids = cb.list_builds_for_project(projectName=project)["ids"]
            versions = [b["sourceVersion"] for b in cb.batch_get_builds(ids=ids)["builds"]] \
                if ids else []
            # one build per (commit, app), never two; every commit that changed the app is
            # built (a later push whose range covered the change may build it at its tip)
            assert len(versions) == len(set(versions)), project
            assert expected_builds.get(project, set()) <= set(versions), project

        ecs = EcsAdapter(cloud.clients)
        for branch, environment in ENVIRONMENTS.items():
            desired = desired_at_tip(cloud, branch, environment)
            assert preview(desired, AwsCloud(cloud.clients), store=None).plan.empty, environment
            web = desired.service("simpleweb").ecs_name
            running = ecs.describe_services("dbscluster", [web])[web]
            spec = ecs.describe_task_definition(running.task_definition).spec
            env_vars = {e["name"]: e["value"]
                        for e in spec["containerDefinitions"][0]["environment"]}
            assert env_vars["RELEASE"] == str(newest_release[environment])
