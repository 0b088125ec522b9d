"""The whole loop: the demo's story on the embedded cloud, each step's outcome asserted
(the steps check git and AWS themselves; this test also checks the final state)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from ecs_gitops.aws.ecs import EcsAdapter
from ecs_gitops_tools.local.cloud import EmbeddedCloud
from ecs_gitops_tools.local.demo import (
    DEMO_APP_REPOSITORIES,
    DEMO_TEST_ARGS,
    desired_at_tip,
    tell,
)

ROOT = Path(__file__).resolve().parents[2]

STEPS = [
    "The schedule reconciles both environments from git",
    "A change to apps/api pushed to development is built, written back and deployed",
    "Merged into main, it reaches production",
    "A pull request editing desired_state/production.yaml (max tasks 5 -> 8) is previewed on "
    "it, then merged and applied",
    "A build that fails its tests is not deployed",
    "An image that fails its health check rolls back, and git is reverted",
    "A manual change to a running service (drift) is healed by the schedule",
    "api moves to a 10 % canary watched by the alarm api-5xx (a git change)",
    "A change deployed as a 10 % canary: the alarm fires during the bake, ECS rolls back, "
    "git is reverted",
    "A good change waits for a manual approval; `ecs-gitops approve` lets it through",
    "The api in its own repository: a push to its development is built from it, written back "
    "and deployed",
]


@pytest.mark.e2e
def test_the_story(tmp_path: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, width=160)
    with EmbeddedCloud(tmp_path, source=ROOT, test_args=DEMO_TEST_ARGS,
                       app_repositories=DEMO_APP_REPOSITORIES) as cloud:
        work = cloud.remote.clone(tmp_path / "work")
        for key, value in (("user.name", "Test"), ("user.email", "test@example.com")):
            import subprocess

            subprocess.run(["git", "-C", str(work), "config", key, value], check=True)
        results = tell(cloud, work, console)
        assert [r.title for r in results] == STEPS
        for result in results:
            assert result.ok, f"{result.title}: {result.detail}\n{out.getvalue()}"
        # the end state, independently of the steps' own checks
        statuses = [b.status for b in cloud.builder.results]
        assert statuses == ["SUCCEEDED", "SUCCEEDED", "FAILED", "SUCCEEDED", "SUCCEEDED",
                            "SUCCEEDED", "SUCCEEDED"]
        rollbacks = [r for r in cloud.rollouts.rollouts if not r.healthy]
        assert [r.service for r in rollbacks] == ["api", "api"]
        assert "CloudWatch alarm api-5xx in ALARM" in rollbacks[1].cause
        ecs = EcsAdapter(cloud.clients)
        production = desired_at_tip(cloud, "main", "production")
        for service in production.services:
            running = ecs.describe_services("dbscluster", [service.ecs_name])[service.ecs_name]
            image = ecs.describe_task_definition(running.task_definition).image() or ""
            assert image.endswith(f":{service.image.tag}")
        dead_letters = cloud.clients.client("sqs").receive_message(
            QueueUrl=cloud.refs["DeadLetterQueue"]).get("Messages", [])
        assert dead_letters == []
    timeline = out.getvalue()
    assert "circuit breaker rolled back" in timeline
    assert "DeploymentEventsFunction: reverted (production, api)" in timeline
