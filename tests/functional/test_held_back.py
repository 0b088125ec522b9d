"""An image that failed a rollout is held back by every reconcile; `status`, `plan` and
`history` say which, since when, why and how to release it, and `release-image` releases
it with a commit (the record) so that the next reconcile deploys what git pins."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner
from world import World, load_event

from ecs_gitops.aws.dynamodb import DynamoStore
from ecs_gitops.desired.edit import set_image_tag
from ecs_gitops.store import BadImage, bad_image_key
from ecs_gitops_tools.cli.main import app

PINNED = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
BAD = "badbadbadbad0718293a4b5c6d7e8f9012345678"
runner = CliRunner()


@pytest.fixture
def held(world: World, moto_url: str, monkeypatch: pytest.MonkeyPatch) -> DynamoStore:
    """Production runs PINNED; a person pins BAD, an image that failed a rollout before."""
    world.invoke("ReconcileFunction", load_event("reconcile-requested-production.json"))
    world.put_image("api", BAD)
    path = "desired_state/production.yaml"
    world.commit("main", {path: set_image_tag(world.read("main", path), "api", BAD)},
                 "production: api back to bad")
    store = DynamoStore(world.clients, world.refs["StateTable"])
    store.mark_bad_image(bad_image_key("production", "api", BAD), BadImage(
        "ecs-svc/77", at="2026-11-30T10:00:00Z", reason="tasks failed container health checks"))
    # `--local` finds this embedded AWS and its state table as it finds `local up`'s
    cloud = world.repo / ".local-cloud"
    cloud.mkdir()
    (cloud / "state.json").write_text(json.dumps({
        "pid": os.getpid(), "endpoint": moto_url, "refs": world.refs,
        "remote": str(world.repo)}))
    (world.repo / ".git" / "info" / "exclude").write_text(".local-cloud/\n")
    monkeypatch.chdir(world.repo)
    for key, value in (("GIT_AUTHOR_NAME", "Ops"), ("GIT_AUTHOR_EMAIL", "ops@example.com"),
                       ("GIT_COMMITTER_NAME", "Ops"), ("GIT_COMMITTER_EMAIL", "ops@example.com")):
        monkeypatch.setenv(key, value)
    return store


HELD = (f"! held back api: {BAD[:12]} failed a rollout (deployment ecs-svc/77 at "
        f"2026-11-30T10:00:00Z: tasks failed container health checks); keeping {PINNED[:12]}; "
        "to deploy it again: ecs-gitops release-image production api --reason '...'")


def _text(output: str) -> str:
    return " ".join(output.split())


def test_status_and_plan_say_what_is_held_back_and_how_to_release_it(held: DynamoStore) -> None:
    status = runner.invoke(app, ["status", "production", "--local"])
    assert status.exit_code == 0, status.output
    assert HELD in _text(status.output)
    plan = runner.invoke(app, ["plan", "production", "--local"])
    assert plan.exit_code == 0, plan.output  # nothing to apply: the bad image is kept back
    assert HELD in _text(plan.output)
    as_json = runner.invoke(app, ["plan", "production", "--local", "--output", "json"])
    assert "failed a rollout" in json.loads(as_json.stdout)["held_back"][0]


def test_history_marks_the_failed_image_and_names_the_held_back_one(
        held: DynamoStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    from ecs_gitops_tools.cli import history

    monkeypatch.setattr(history, "console", Console(width=300))  # table cells unwrapped
    result = runner.invoke(app, ["history", "production", "--service", "api", "--local"])
    assert result.exit_code == 0, result.output
    text = _text(result.output)
    assert f"api={BAD[:12]} (failed a rollout)" in text
    assert (f"! held back api: the pinned {BAD[:12]} failed a rollout (deployment ecs-svc/77 "
            "at 2026-11-30T10:00:00Z: tasks failed container health checks); reconciles keep "
            "what runs; to deploy it again: ecs-gitops release-image production api "
            "--reason '...'") in text


def test_release_image_commits_the_decision_then_the_reconcile_deploys_it(
        held: DynamoStore, world: World) -> None:
    tip = world.tip("main")
    result = runner.invoke(app, ["release-image", "production", "api", "--reason",
                                 "the database parameter is fixed", "--local"])
    assert result.exit_code == 0, result.output
    assert world.git("rev-parse", "main~1") == tip
    message = world.git("log", "-1", "--format=%B", "main")
    assert message.startswith(f"release api {BAD[:12]} in production")
    assert "the database parameter is fixed" in message
    assert "Held back since deployment ecs-svc/77" in message
    assert world.git("diff", "--name-only", "main~1", "main") == ""  # a record, no edit
    assert held.bad_image(bad_image_key("production", "api", BAD)) is None
    plan = runner.invoke(app, ["plan", "production", "--local"])
    assert plan.exit_code == 2, plan.output  # now it deploys what git pins
    assert BAD[:12] in plan.output
    again = runner.invoke(app, ["release-image", "production", "api", "--reason", "x",
                                "--local"])
    assert again.exit_code == 0
    assert "nothing to release" in again.output
