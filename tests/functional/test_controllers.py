"""Every sample in events/ through its handler, on the embedded AWS, with the effect
on the AWS side (and in git) asserted."""

from __future__ import annotations

import pytest
from world import World, load_event

DEV_TAG_BEFORE = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"


def test_push_to_development_builds_changed_app_and_nothing_else(world: World) -> None:
    before = world.tip("development")
    after = world.commit("development", {"apps/api/main.py": "print('api v2')\n"})
    result = world.invoke("PushFunction", world.push_event(
        "codecommit-push-development.json", branch="development", before=before, after=after))
    assert (result["kind"], result["count"]) == ("builds started", 1), result
    builds = world.builds("api-development")
    assert len(builds) == 1
    assert builds[0]["sourceVersion"] == after
    assert world.builds("simpleweb-development") == []
    assert world.reconcile_requests() == []


def test_push_of_desired_state_requests_a_reconcile(world: World) -> None:
    before = world.tip("main")
    text = world.read("main", "desired_state/production.yaml").replace("max: 5", "max: 8")
    after = world.commit("main", {"desired_state/production.yaml": text})
    result = world.invoke("PushFunction", world.push_event(
        "codecommit-push-main.json", branch="main", before=before, after=after))
    assert (result["kind"], result["reconcile_requested"]) == ("no build", True), result
    requests = world.reconcile_requests()
    assert [r["detail"]["environment"] for r in requests] == ["production"]
    assert requests[0]["detail"]["commit"] == after


def test_branch_created_builds_every_app(world: World) -> None:
    tip = world.tip("development")
    result = world.invoke("PushFunction", world.push_event(
        "codecommit-branch-created.json", branch="development", before=None, after=tip))
    assert (result["kind"], result["count"]) == ("builds started", 2), result
    assert len(world.builds("api-development")) == 1
    assert len(world.builds("simpleweb-development")) == 1


@pytest.mark.parametrize("sample", [
    "codecommit-tag-created.json", "codecommit-branch-deleted.json",
    "codecommit-push-untracked-branch.json",
])
def test_push_samples_that_start_nothing(world: World, sample: str) -> None:
    result = world.invoke("PushFunction", load_event(sample))
    assert result["ignored"] is True, result
    for project in ("api-development", "simpleweb-development", "api-production",
                    "simpleweb-production"):
        assert world.builds(project) == []
    assert world.reconcile_requests() == []


def test_build_succeeded_writes_the_tag_back_once(world: World) -> None:
    commit = world.commit("development", {"apps/api/main.py": "print('api v2')\n"})
    world.put_image("apidevelopment", commit)
    event = world.build_event("codebuild-succeeded-api-development.json", commit=commit)
    result = world.invoke("BuildFinishedFunction", event)
    assert result["kind"] == "wrote back", result
    assert world.pinned("development", "development", "api") == commit
    message = world.git("log", "-1", "--format=%B", "development")
    assert "[ecs-gitops write-back]" in message
    assert world.git("diff", "--name-only", "development~1", "development") == \
        "desired_state/development.yaml"
    # the same event again (at-least-once delivery): no second commit
    tip = world.tip("development")
    again = world.invoke("BuildFinishedFunction", event)
    assert again["ignored"] is True
    assert world.tip("development") == tip


def test_build_succeeded_for_production(world: World) -> None:
    commit = world.commit("main", {"apps/simpleweb/main.py": "print('web v2')\n"})
    world.put_image("simpleweb", commit)
    result = world.invoke("BuildFinishedFunction", world.build_event(
        "codebuild-succeeded-simpleweb-production.json", commit=commit))
    assert result["kind"] == "wrote back", result
    assert world.pinned("main", "production", "simpleweb") == commit
    assert world.pinned("main", "production", "api") == DEV_TAG_BEFORE


def test_build_succeeded_but_image_missing_writes_nothing(world: World) -> None:
    commit = world.commit("development", {"apps/api/main.py": "print('api v2')\n"})
    tip = world.tip("development")
    result = world.invoke("BuildFinishedFunction", world.build_event(
        "codebuild-succeeded-api-development.json", commit=commit))
    assert (result["kind"], result["reason"]) == ("not written", "IMAGE_MISSING"), result
    assert world.tip("development") == tip
    assert any("image missing" in str(n) for n in world.notifications())


@pytest.mark.parametrize("sample", ["codebuild-failed-api-development.json",
                                    "codebuild-stopped-simpleweb-development.json"])
def test_failed_builds_are_notified_and_deploy_nothing(world: World, sample: str) -> None:
    tip = world.tip("development")
    result = world.invoke("BuildFinishedFunction", load_event(sample))
    assert result["kind"] == "build failed", result
    assert world.tip("development") == tip
    notes = world.notifications()
    assert len(notes) == 1
    assert notes[0]["status"] in ("FAILED", "STOPPED")


@pytest.mark.parametrize("sample", ["codebuild-in-progress-api-development.json",
                                    "codebuild-succeeded-unmanaged-project.json"])
def test_build_samples_that_do_nothing(world: World, sample: str) -> None:
    tip = world.tip("development"), world.tip("main")
    result = world.invoke("BuildFinishedFunction", load_event(sample))
    assert result["ignored"] is True, result
    assert (world.tip("development"), world.tip("main")) == tip
    assert world.notifications() == []


@pytest.mark.parametrize("sample", ["reconcile-requested-production.json",
                                    "reconcile-requested-development.json"])
def test_reconcile_request_applies_the_branch_tip(world: World, sample: str) -> None:
    result = world.invoke("ReconcileFunction", load_event(sample))
    environment = load_event(sample)["detail"]["environment"]
    assert (result["kind"], result["count"]) == ("applied", 8), result
    names = {"production": {"simpleweb", "api"},
             "development": {"simpleweb-development", "api-development"}}[environment]
    assert set(world.services()) == names
    again = world.invoke("ReconcileFunction", load_event(sample))
    assert again["kind"] == "in sync", again


def test_scheduled_reconcile_covers_every_environment(world: World) -> None:
    result = world.invoke("ReconcileFunction", load_event("scheduled-reconcile.json"))
    assert [o["environment"] for o in result["outcomes"]] == ["production", "development"]
    assert len(world.services()) == 4


def _deployed(world: World) -> None:
    world.invoke("ReconcileFunction", load_event("reconcile-requested-production.json"))


def test_deployment_completed_marks_the_release_healthy(world: World) -> None:
    _deployed(world)
    result = world.invoke("DeploymentEventsFunction",
                          world.deployment_event("ecs-deployment-completed-api-production.json"))
    assert result["kind"] == "release healthy", result
    ddb = world.clients.client("dynamodb")
    items = ddb.query(TableName=world.refs["StateTable"], KeyConditionExpression="pk = :p",
                      ExpressionAttributeValues={":p": {"S": "release#production#api"}})["Items"]
    assert [i["outcome"]["S"] for i in items] == ["HEALTHY"]


def test_deployment_failed_reverts_git_and_does_not_loop(world: World) -> None:
    _deployed(world)
    bad = world.commit("main", {"apps/api/main.py": "print('api broken')\n"})
    world.put_image("api", bad)
    world.invoke("BuildFinishedFunction", world.build_event(
        "codebuild-succeeded-api-development.json", commit=bad) | {"detail": {
            **world.build_event("codebuild-succeeded-api-development.json",
                                commit=bad)["detail"], "project-name": "api-production"}})
    assert world.pinned("main", "production", "api") == bad
    good_td = world.services()["api"]["taskDefinition"]
    deployed = world.invoke("ReconcileFunction",
                            load_event("reconcile-requested-production.json"))
    assert (deployed["kind"], deployed["count"]) == ("applied", 2), deployed
    # the circuit breaker rolls the service back to the previous definition, and the
    # failure event arrives
    world.clients.client("ecs").update_service(cluster="dbscluster", service="api",
                                               taskDefinition=good_td)
    result = world.invoke("DeploymentEventsFunction",
                          world.deployment_event("ecs-deployment-failed-api-production.json"))
    assert result["kind"] == "reverted", result
    assert world.pinned("main", "production", "api") == DEV_TAG_BEFORE
    assert "revert api" in world.git("log", "-1", "--format=%B", "main")
    assert any("FAILED" in str(n) for n in world.notifications())
    # no loop: the reverted file plans nothing, and the bad image is not written again
    again = world.invoke("ReconcileFunction", load_event("reconcile-requested-production.json"))
    assert again["kind"] == "in sync", again
    tip = world.tip("main")
    rerun = world.invoke("BuildFinishedFunction", world.build_event(
        "codebuild-succeeded-api-development.json", commit=bad, build_id="api-production:again")
        | {"detail": {**world.build_event("codebuild-succeeded-api-development.json",
                                          commit=bad, build_id="api-production:again")["detail"],
                      "project-name": "api-production"}})
    assert rerun["ignored"] is True, rerun
    assert world.tip("main") == tip


@pytest.mark.parametrize("sample", ["ecs-deployment-in-progress-api-production.json",
                                    "ecs-deployment-completed-other-cluster.json"])
def test_deployment_samples_that_do_nothing(world: World, sample: str) -> None:
    result = world.invoke("DeploymentEventsFunction", load_event(sample))
    assert result["ignored"] is True, result


def test_sweep_first_run_records_tips_and_requests_reconciles(world: World) -> None:
    result = world.invoke("SweepFunction", load_event("scheduled-sweep.json"))
    assert [(o["kind"], o["reconcile_requested"]) for o in result["outcomes"]] == [
        ("swept", True)] * 2
    assert sorted(r["detail"]["environment"] for r in world.reconcile_requests()) == [
        "development", "production"]


def test_sweep_catches_a_lost_push_and_a_lost_build_event(world: World) -> None:
    from ecs_gitops_tools.local.moto_patches import set_build_result

    world.invoke("SweepFunction", load_event("scheduled-sweep.json"))
    world.reconcile_requests()
    commit = world.commit("development", {"apps/api/main.py": "print('api v3')\n"})
    # the push event is lost: the sweep starts the build
    result = world.invoke("SweepFunction", load_event("scheduled-sweep.json"))
    assert [(o["kind"], o["count"]) for o in result["outcomes"]] == [("builds started", 1)], \
        result
    builds = world.builds("api-development")
    assert len(builds) == 1
    # the build succeeds (as the local builder would report it) and its event is lost
    world.put_image("apidevelopment", commit)
    set_build_result(builds[0]["id"], status="SUCCEEDED", exported={"IMAGE_TAG": commit})
    result = world.invoke("SweepFunction", load_event("scheduled-sweep.json"))
    assert [o["kind"] for o in result["outcomes"]] == ["wrote back"], result
    assert world.pinned("development", "development", "api") == commit
    # and again: the write-back commit is a new tip (no build, a reconcile); nothing twice
    again = world.invoke("SweepFunction", load_event("scheduled-sweep.json"))
    assert [(o["kind"], o["reason"], o["reconcile_requested"]) for o in again["outcomes"]] == [
        ("no build", "WRITE_BACK_COMMIT", True)]
    third = world.invoke("SweepFunction", load_event("scheduled-sweep.json"))
    assert third["outcomes"] == []
    assert len(world.builds("api-development")) == 1
