"""The original team's layout on the embedded AWS: the api's code in its own repository
(`api`, a real git repository beside the configuration one), the desired state in the
configuration repository. A push to the api's `development` is built from that
repository and written back to the configuration repository, then deployed."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
import yaml
from world import GIT_ENV, World, load_event


def git(where: Any, *args: str) -> str:
    return subprocess.run(["git", "-C", str(where), *args], check=True, text=True,
                          capture_output=True, env={**GIT_ENV, "PATH": "/usr/bin:/bin"}
                          ).stdout.strip()


@pytest.fixture
def api(world: World) -> Any:
    """The `api` application repository, and the configuration repository's files
    naming it (api built from it; simpleweb still from apps/simpleweb)."""
    repo = world.repo.parent / "api"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "buildspec.yml").write_text("version: 0.2\n")
    (repo / "app.py").write_text("print('api v1')\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "api v1")
    git(repo, "branch", "development")
    for branch, environment in (("main", "production"), ("development", "development")):
        path = f"desired_state/{environment}.yaml"
        data = yaml.safe_load(world.read(branch, path))
        (service,) = [s for s in data["services"] if s["name"] == "api"]
        service["build"] = {"project": service["build"]["project"], "source": ".",
                            "repository": "api"}
        world.commit(branch, {path: yaml.safe_dump(data, sort_keys=False)}, "api: own repository")
    world.extra["APPLICATION_REPOSITORIES"] = "api"
    return repo


def app_push(before: str, after: str, branch: str = "development") -> dict[str, Any]:
    event = load_event("codecommit-push-development.json")
    event["resources"] = ["arn:aws:codecommit:us-east-1:123456789012:api"]
    event["detail"].update(repositoryName="api", referenceName=branch,
                           referenceFullName=f"refs/heads/{branch}", commitId=after,
                           oldCommitId=before)
    return event


def test_a_push_to_the_api_repository_is_built_written_back_and_deployed(
        world: World, api: Any) -> None:
    before = git(api, "rev-parse", "development")
    git(api, "checkout", "-q", "development")
    (api / "app.py").write_text("print('api v2')\n")
    git(api, "commit", "-qam", "api v2")
    after = git(api, "rev-parse", "HEAD")
    config_before = world.tip("development")

    pushed = world.invoke("PushFunction", app_push(before, after))
    assert (pushed["kind"], pushed["count"]) == ("builds started", 1), pushed
    (built,) = world.builds("api-development")
    assert built["sourceVersion"] == after
    # StartBuild named the application repository as the source, with its buildspec
    assert built["source"] == {
        "type": "CODECOMMIT", "buildspec": "buildspec.yml",
        "location": "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/api"}
    assert world.builds("simpleweb-development") == []
    assert world.tip("development") == config_before  # nothing written yet

    world.put_image("apidevelopment", after)
    finished = world.invoke("BuildFinishedFunction", world.build_event(
        "codebuild-succeeded-api-development.json", commit=after))
    assert finished["kind"] == "wrote back", finished
    assert world.pinned("development", "development", "api") == after
    tip = world.tip("development")
    assert world.git("diff", "--name-only", f"{tip}~1", tip) == "desired_state/development.yaml"

    # the write-back's push builds nothing (no loop) and asks for a reconcile
    looped = world.invoke("PushFunction", world.push_event(
        "codecommit-push-development.json", branch="development", before=config_before,
        after=tip))
    assert looped["reconcile_requested"] is True, looped
    assert len(world.builds("api-development")) == 1
    applied = world.invoke("ReconcileFunction",
                           load_event("reconcile-requested-development.json"))
    assert applied["kind"] == "applied", applied
    assert world.plan("development").empty


def test_an_older_api_build_is_not_written_back(world: World, api: Any) -> None:
    git(api, "checkout", "-q", "development")
    commits = []
    for version in ("v2", "v3"):
        (api / "app.py").write_text(f"print('api {version}')\n")
        git(api, "commit", "-qam", version)
        commits.append(git(api, "rev-parse", "HEAD"))
    older, newer = commits
    for commit, build_id in ((newer, "2"), (older, "1")):
        world.put_image("apidevelopment", commit)
        event = world.build_event("codebuild-succeeded-api-development.json", commit=commit,
                                  build_id=f"arn:aws:codebuild:us-east-1:123456789012:build/"
                                           f"api-development:{build_id}")
        result = world.invoke("BuildFinishedFunction", event)
        assert result["kind"] == ("wrote back" if commit == newer else "not written"), result
    assert world.pinned("development", "development", "api") == newer
