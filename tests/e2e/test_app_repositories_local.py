"""The original team's layout on the embedded cloud: `api` is its own repository (split
off the checkout's apps/api), the desired state stays in the configuration repository.
A push to the api repository's development is built from it by the local CodeBuild (the
app's own tests run), written back to the configuration repository and rolled out; a pull
request on the api repository is previewed (the builds and environments its merge
reaches), then merged, built and written back."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from ecs_gitops.aws.ecs import EcsAdapter
from ecs_gitops_tools.local import pull_requests
from ecs_gitops_tools.local.cloud import EmbeddedCloud
from ecs_gitops_tools.local.demo import DEMO_TEST_ARGS, desired_at_tip

ROOT = Path(__file__).resolve().parents[2]


def _git(work: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(work), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def _identity(work: Path) -> None:
    for key, value in (("user.name", "Dev"), ("user.email", "dev@example.com")):
        _git(work, "config", key, value)


@pytest.mark.e2e
def test_a_push_to_the_api_repository_is_built_written_back_and_rolled_out(
        tmp_path: Path) -> None:
    with EmbeddedCloud(tmp_path, source=ROOT, test_args=DEMO_TEST_ARGS,
                       app_repositories={"api": "apps/api"}) as cloud:
        cloud.schedule("ReconcileFunction")
        cloud.run()
        # the configuration repository says where the api's code is now
        config = cloud.remote.clone(tmp_path / "config")
        _identity(config)
        for branch, environment in (("main", "production"), ("development", "development")):
            _git(config, "checkout", "-q", branch)
            path = config / "desired_state" / f"{environment}.yaml"
            data = yaml.safe_load(path.read_text())
            (api,) = [s for s in data["services"] if s["name"] == "api"]
            api["build"]["repository"] = "api"
            path.write_text(yaml.safe_dump(data, sort_keys=False))
            _git(config, "commit", "-qam", "api: built from its own repository")
            _git(config, "push", "-q", "origin", branch)
        cloud.run()
        seen: list[str] = []
        cloud.observers.delivery.append(lambda d: seen.append(f"{d.function}: {d.summary}"))
        before_builds = len(cloud.builder.results)

        work = cloud.app_remotes["api"].clone(tmp_path / "api")
        _identity(work)
        _git(work, "checkout", "-q", "development")
        web = work / "apps/api/api_service/web.py"
        web.write_text(web.read_text() + "\n# a change in the api repository\n")
        _git(work, "commit", "-qam", "api: a change")
        _git(work, "push", "-q", "origin", "development")
        commit = _git(work, "rev-parse", "HEAD")
        cloud.run()

        assert len(cloud.builder.results) == before_builds + 1, seen
        (result,) = cloud.builder.results[before_builds:]
        assert (result.project, result.commit, result.status) == (
            "api-development", commit, "SUCCEEDED"), result.log.read_text()[-3000:]
        assert desired_at_tip(cloud, "development", "development").service("api").image.tag \
            == commit
        ecs = EcsAdapter(cloud.clients)
        service = ecs.describe_services("dbscluster", ["api-development"])["api-development"]
        image = ecs.describe_task_definition(service.task_definition).image() or ""
        assert image.endswith(f":{commit}")
        # production is fed by the api repository's main: untouched
        assert desired_at_tip(cloud, "main", "production").service("api").image.tag != commit

        # a pull request on the api repository, into development: previewed, merged, built
        _git(work, "checkout", "-qb", "feature")
        web.write_text(web.read_text() + "\n# reviewed first\n")
        _git(work, "commit", "-qam", "api: reviewed first")
        _git(work, "push", "-q", "origin", "feature")
        api = cloud.app_remotes["api"]
        opened, event = pull_requests.create(api.path, source="feature",
                                             destination="development", repository="api")
        api.spool_event(event)
        cloud.run()
        (comment,) = pull_requests.comments(api.path, opened.id, repository="api")
        assert "into `development` of `api`" in comment, comment
        assert "build api-development, then written back to `desired_state/development.yaml`" \
               " and deployed to development" in comment, comment
        assert "api-production" not in comment  # main feeds production, not this merge
        builds = len(cloud.builder.results)
        _, tip, merged = pull_requests.merge(api.path, opened.id, repository="api")
        api.spool_event(merged)
        cloud.run()
        (result,) = cloud.builder.results[builds:]
        assert (result.project, result.commit, result.status) == (
            "api-development", tip, "SUCCEEDED"), result.log.read_text()[-3000:]
        assert desired_at_tip(cloud, "development", "development").service("api").image.tag \
            == tip
