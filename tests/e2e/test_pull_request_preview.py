"""A pull request on the embedded cloud, with CodeCommit's events: opened, previewed (one
comment, the plan of its merge), pushed to again (the same comment updated, by the event
the push itself brings), merged (the push of main reconciles production)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ecs_gitops.aws.cloud import AwsCloud
from ecs_gitops.desired import load_environment_text
from ecs_gitops.engine import preview
from ecs_gitops_tools.local import pull_requests
from ecs_gitops_tools.local.cloud import EmbeddedCloud

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = "desired_state/production.yaml"


def _git(work: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(work), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.mark.e2e
def test_open_push_merge(tmp_path: Path) -> None:
    with EmbeddedCloud(tmp_path, source=ROOT, test_args=("-x", "-q")) as cloud:
        cloud.schedule("ReconcileFunction")  # the services exist first
        cloud.run()
        work = cloud.remote.clone(tmp_path / "work")
        for key, value in (("user.name", "Reviewer"), ("user.email", "r@example.com")):
            _git(work, "config", key, value)
        _git(work, "checkout", "-qb", "api-max-8", "origin/main")
        text = (work / PRODUCTION).read_text()
        (work / PRODUCTION).write_text(text.replace("max: 5", "max: 8", 1))
        _git(work, "commit", "-qam", "api: max 8")
        _git(work, "push", "-q", "origin", "api-max-8")
        remote = cloud.remote.path
        pull_request, event = pull_requests.create(remote, source="api-max-8",
                                                   destination="main")
        cloud.remote.spool_event(event)
        cloud.run()
        (first,) = pull_requests.comments(remote, pull_request.id)
        assert "5 -> 8" in first, first

        (work / PRODUCTION).write_text(text.replace("max: 5", "max: 6", 1))
        _git(work, "commit", "-qam", "api: max 6 after review")
        _git(work, "push", "-q", "origin", "api-max-8")
        cloud.run()  # the push brings pullRequestSourceBranchUpdated by itself
        (second,) = pull_requests.comments(remote, pull_request.id)
        assert "5 -> 6" in second, second

        _, tip, merged = pull_requests.merge(remote, pull_request.id)
        cloud.remote.spool_event(merged)
        cloud.run()
        assert cloud.remote.tip("main") == tip
        desired = load_environment_text(cloud.remote.show(tip, PRODUCTION) or "", PRODUCTION)
        assert preview(desired, AwsCloud(cloud.clients), store=None).plan.empty
        assert len(pull_requests.comments(remote, pull_request.id)) == 1
