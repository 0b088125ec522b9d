"""Lost, late, repeated and failing deliveries: the controllers still converge and never
go backwards (cases found in review)."""

from __future__ import annotations

from typing import Any

import pytest
from world import World, load_event

from ecs_gitops.errors import ConflictError
from ecs_gitops.source.localgit import LocalGitSource

PINNED = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"


def _deploy_bad(world: World, bad: str) -> str:
    """Production runs PINNED, then `bad` is written back and deployed; the circuit
    breaker rolls back. Returns the good task definition."""
    world.invoke("ReconcileFunction", load_event("reconcile-requested-production.json"))
    good_td = world.services()["api"]["taskDefinition"]
    world.put_image("api", bad)
    event = world.build_event("codebuild-succeeded-api-development.json", commit=bad)
    event["detail"]["project-name"] = "api-production"
    world.invoke("BuildFinishedFunction", event)
    world.invoke("ReconcileFunction", load_event("reconcile-requested-production.json"))
    world.clients.client("ecs").update_service(cluster="dbscluster", service="api",
                                               taskDefinition=good_td)
    return good_td


def test_a_revert_that_fails_is_retried_not_lost(world: World, monkeypatch: Any) -> None:
    bad = world.commit("main", {"apps/api/main.py": "print('bad')\n"})
    _deploy_bad(world, bad)

    def moved(self: LocalGitSource, **_: Any) -> str:
        raise ConflictError("the branch keeps moving")

    with monkeypatch.context() as m:
        m.setattr(LocalGitSource, "put_file", moved)
        with pytest.raises(ConflictError):  # transient: Lambda retries
            world.invoke("DeploymentEventsFunction",
                         world.deployment_event("ecs-deployment-failed-api-production.json"))
    assert world.pinned("main", "production", "api") == bad
    # meanwhile the schedule must not redeploy the image that failed
    held = world.invoke("ReconcileFunction", load_event("scheduled-reconcile.json"))
    assert held["outcomes"][0]["kind"] == "in sync", held
    assert "failed a rollout" in held["outcomes"][0]["held_back"][0]
    retried = world.invoke("DeploymentEventsFunction",
                           world.deployment_event("ecs-deployment-failed-api-production.json"))
    assert retried["kind"] == "reverted", retried
    assert world.pinned("main", "production", "api") == PINNED


def test_a_late_failure_never_reverts_a_newer_tag(world: World) -> None:
    bad = world.commit("main", {"apps/api/main.py": "print('bad')\n"})
    _deploy_bad(world, bad)
    fixed = world.commit("main", {"apps/api/main.py": "print('fixed')\n"})
    world.put_image("api", fixed)
    event = world.build_event("codebuild-succeeded-api-development.json", commit=fixed,
                              build_id="api-production:fixed")
    event["detail"]["project-name"] = "api-production"
    world.invoke("BuildFinishedFunction", event)
    assert world.pinned("main", "production", "api") == fixed
    result = world.invoke("DeploymentEventsFunction",
                          world.deployment_event("ecs-deployment-failed-api-production.json"))
    assert (result["kind"], result["reason"]) == ("release failed", "MOVED_ON"), result
    assert world.pinned("main", "production", "api") == fixed


def test_the_rollbacks_completion_does_not_mark_the_failed_release_healthy(world: World) -> None:
    bad = world.commit("main", {"apps/api/main.py": "print('bad')\n"})
    _deploy_bad(world, bad)
    # unordered: the rollback deployment's COMPLETED arrives before the FAILED event
    completed = load_event("ecs-deployment-completed-api-production.json")
    completed["detail"]["deploymentId"] = "ecs-svc/rollback"
    result = world.invoke("DeploymentEventsFunction", completed)
    assert (result["kind"], result["reason"]) == ("deployment noted", "NOT_THIS_RELEASE"), \
        result


def test_a_lost_push_is_built_by_the_next_one(world: World) -> None:
    first = world.tip("development")
    world.invoke("PushFunction", world.push_event(
        "codecommit-push-development.json", branch="development", before=None, after=first))
    lost = world.commit("development", {"apps/api/main.py": "print('v2')\n"})  # event lost
    readme = world.commit("development", {"README.md": "docs only\n"})
    result = world.invoke("PushFunction", world.push_event(
        "codecommit-push-development.json", branch="development", before=lost, after=readme))
    assert (result["kind"], result["count"]) == ("builds started", 1), result
    assert [b["sourceVersion"] for b in world.builds("api-development")][-1] == readme


def test_an_invalid_file_does_not_swallow_the_app_change(world: World) -> None:
    start = world.tip("development")
    world.invoke("PushFunction", world.push_event(
        "codecommit-push-development.json", branch="development", before=None, after=start))
    before_builds = len(world.builds("api-development"))
    text = world.read("development", "desired_state/development.yaml")
    broken = world.commit("development", {"apps/api/main.py": "print('v2')\n",
                                          "desired_state/development.yaml":
                                          text.replace("port: 5000", "port: 0")})
    result = world.invoke("PushFunction", world.push_event(
        "codecommit-push-development.json", branch="development", before=start, after=broken))
    assert result["kind"] == "invalid desired state", result
    fixed = world.commit("development", {"desired_state/development.yaml": text})
    result = world.invoke("PushFunction", world.push_event(
        "codecommit-push-development.json", branch="development", before=broken, after=fixed))
    assert (result["kind"], result["count"], result["reconcile_requested"]) == (
        "builds started", 1, True), result
    assert len(world.builds("api-development")) == before_builds + 1


def test_the_sweep_and_the_event_share_one_record_per_build(world: World) -> None:
    from ecs_gitops_tools.local.moto_patches import set_build_result

    world.invoke("SweepFunction", load_event("scheduled-sweep.json"))
    commit = world.commit("development", {"apps/api/main.py": "print('v2')\n"})
    world.invoke("SweepFunction", load_event("scheduled-sweep.json"))  # starts the build
    build = world.builds("api-development")[0]
    world.put_image("apidevelopment", commit)
    set_build_result(build["id"], status="SUCCEEDED", exported={"IMAGE_TAG": commit})
    event = world.build_event("codebuild-succeeded-api-development.json", commit=commit,
                              build_id=build["arn"])  # events name builds by ARN
    assert world.invoke("BuildFinishedFunction", event)["kind"] == "wrote back"
    again = world.invoke("SweepFunction", load_event("scheduled-sweep.json"))
    assert all(o["kind"] != "wrote back" for o in again["outcomes"]), again


def test_a_build_of_a_commit_not_on_the_branch_is_not_written(world: World) -> None:
    world.git("checkout", "-q", "-b", "feature/x", "development")
    stray = world.commit("feature/x", {"apps/api/main.py": "print('experiment')\n"})
    world.put_image("apidevelopment", stray)
    result = world.invoke("BuildFinishedFunction", world.build_event(
        "codebuild-succeeded-api-development.json", commit=stray))
    assert (result["kind"], result["reason"]) == ("not written", "NOT_ON_BRANCH"), result
    assert world.pinned("development", "development", "api") == PINNED


def test_dry_run_starts_nothing_and_writes_nothing(world: World) -> None:
    world.extra["DRY_RUN"] = "true"
    before = world.tip("development")
    after = world.commit("development", {"apps/api/main.py": "print('v2')\n"})
    world.invoke("PushFunction", world.push_event(
        "codecommit-push-development.json", branch="development", before=before, after=after))
    assert world.builds("api-development") == []
    world.put_image("apidevelopment", after)
    result = world.invoke("BuildFinishedFunction", world.build_event(
        "codebuild-succeeded-api-development.json", commit=after))
    assert (result["kind"], result["reason"]) == ("not written", "DRY_RUN"), result
    assert world.tip("development") == after
    outcome = world.invoke("ReconcileFunction",
                           load_event("reconcile-requested-development.json"))
    assert outcome["kind"] == "dry run", outcome
    assert world.services() == {}


def test_roles_the_stack_may_not_pass_are_refused(world: World) -> None:
    world.extra["TASK_ROLE_ARN"] = "arn:aws:iam::123456789012:role/only-this-task-role"
    world.extra["EXECUTION_ROLE_ARN"] = "arn:aws:iam::123456789012:role/ecs-gitops-execution"
    result = world.invoke("ReconcileFunction", load_event("reconcile-requested-production.json"))
    outcome = result
    assert (outcome["kind"], outcome["reason"]) == ("refused", "ROLES_NOT_ALLOWED"), outcome
    assert outcome["roles"] == ["arn:aws:iam::123456789012:role/ecs-gitops-task"]
    assert world.services() == {}


def test_one_broken_environment_does_not_stop_the_other(world: World) -> None:
    text = world.read("main", "desired_state/production.yaml").replace(
        "cluster: dbscluster", "cluster: no-such-cluster")
    world.commit("main", {"desired_state/production.yaml": text})
    result = world.invoke("ReconcileFunction", load_event("scheduled-reconcile.json"))
    outcomes = result["outcomes"]
    assert outcomes[0]["kind"] == "failed", outcomes
    assert outcomes[0]["error"].startswith("ListServices: ClusterNotFoundException"), outcomes
    assert (outcomes[1]["kind"], outcomes[1]["count"]) == ("applied", 8)
    assert set(world.services()) == {"simpleweb-development", "api-development"}
    assert any("reconcile of production failed" in n["subject"] for n in world.notifications())
