"""Each fault of the "nothing lost, nothing wrong" review, built from the input it
described, on the controllers with in-memory ports."""

from __future__ import annotations

from typing import Any

import pytest
from fakes import Fakes, build_detail
from scenes import (
    ACCOUNT,
    SCHEDULE,
    TAG,
    _envelope,
    deployment_event,
    push_event,
    reconcile_event,
    world,
)

from ecs_gitops.controllers import build, deployment, push, reconcile, sweep
from ecs_gitops.controllers.outcome import Kind, Outcome, Reason
from ecs_gitops.controllers.ports import Settings
from ecs_gitops.controllers.writeback import write_tag
from ecs_gitops.desired.edit import set_image_tag
from ecs_gitops.errors import ConflictError
from ecs_gitops.events import CodeBuildEvent, CodeCommitEvent, EcsDeploymentEvent
from ecs_gitops.store import ReleaseState, bad_image_key, tip_key

DEV = "desired_state/development.yaml"
PROD = "desired_state/production.yaml"


def check(outcome: Outcome, kind: Kind, reason: Reason | None = None) -> None:
    assert (outcome.kind, outcome.reason) == (kind, reason), outcome.text()


def _pin(fakes: Fakes, branch: str, path: str, service: str, tag: str, message: str) -> str:
    text = fakes.git.read_file(fakes.git.branches[branch], path)
    return fakes.git.commit(branch, {path: set_image_tag(text, service, tag)}, message)


# ------------------------------------------------------------------ write-back
def test_a_commit_conflict_is_retried_on_the_new_tip() -> None:
    fakes = world()
    ports = fakes.ports()
    original = fakes.git.put_file
    raced = []

    def racing(**kwargs: Any) -> str:
        if not raced:  # someone else commits first, once
            raced.append(fakes.git.commit("development", {"README.md": "raced"}))
        return original(**kwargs)

    fakes.git.put_file = racing  # type: ignore[method-assign]
    result = write_tag(ports, branch="development", environment="development", service="api",
                       tag="1" * 40, message="deploy")
    assert result.commit is not None
    assert fakes.git.commits[result.commit][0] == (raced[0],)  # on top of the racer


def test_a_branch_that_keeps_moving_is_a_transient_failure() -> None:
    fakes = world()

    def always(**_: Any) -> str:
        raise ConflictError("moved")

    fakes.git.put_file = always  # type: ignore[method-assign]
    with pytest.raises(ConflictError):
        write_tag(fakes.ports(), branch="development", environment="development",
                  service="api", tag="1" * 40, message="deploy")


def test_a_tag_already_pinned_is_not_committed_again() -> None:
    fakes = world()
    result = write_tag(fakes.ports(), branch="development", environment="development",
                       service="api", tag=TAG, message="deploy")
    assert (result.commit, result.reason) == (None, Reason.ALREADY_PINNED)
    assert fakes.git.writes == []


def test_a_build_whose_write_back_failed_is_redone_by_the_next_delivery() -> None:
    fakes = world()
    commit = fakes.git.commit("development", {"apps/api/main.py": "v2"})
    fakes.registry.images.add(("apidevelopment", commit))
    detail = build_detail("api-development", "api-development:1", status="SUCCEEDED",
                          commit=commit)
    original = fakes.git.put_file

    def moving(**_: Any) -> str:
        raise ConflictError("moved")

    fakes.git.put_file = moving  # type: ignore[method-assign]
    with pytest.raises(ConflictError):
        build.handle_build(detail, fakes.ports())
    fakes.git.put_file = original  # type: ignore[method-assign]
    check(build.handle_build(detail, fakes.ports()), Kind.WROTE_BACK)


# ---------------------------------------------------- builds named by a branch
def test_a_build_of_a_branch_name_is_judged_by_the_commit_it_built() -> None:
    fakes = world()
    older = fakes.git.commit("development", {"apps/api/main.py": "v2"})
    newer = fakes.git.commit("development", {"apps/api/main.py": "v3"})
    for commit in (older, newer):
        fakes.registry.images.add(("apidevelopment", commit))
    check(build.handle_build(build_detail("api-development", "b:new", status="SUCCEEDED",
                                          commit=newer), fakes.ports()), Kind.WROTE_BACK)
    # started by hand with the branch name as source version; it built the older commit
    fakes.builds.resolved["b:old"] = older
    late = build_detail("api-development", "b:old", status="SUCCEEDED", commit="development",
                        tag=older)
    check(build.handle_build(late, fakes.ports()), Kind.NOT_WRITTEN, Reason.NOT_NEWER)


def test_a_build_started_by_hand_on_another_branch_is_not_written() -> None:
    fakes = world()
    feature = fakes.git.commit("feature/x", {"apps/api/main.py": "experiment"}, "try")
    fakes.registry.images.add(("apidevelopment", feature))
    fakes.builds.resolved["b:hand"] = feature
    detail = build_detail("api-development", "b:hand", status="SUCCEEDED",
                          commit="refs/heads/feature/x", tag=feature)
    check(build.handle_build(detail, fakes.ports()), Kind.NOT_WRITTEN, Reason.NOT_ON_BRANCH)
    assert fakes.git.writes == []


def test_a_build_whose_commit_cannot_be_resolved_is_not_written() -> None:
    fakes = world()
    detail = build_detail("api-development", "b:x", status="SUCCEEDED", commit="main",
                          tag="v1")
    check(build.handle_build(detail, fakes.ports()), Kind.NOT_WRITTEN, Reason.UNRESOLVED_COMMIT)


def test_a_persons_rollback_is_not_undone_after_the_record_expires() -> None:
    fakes = world()
    built = fakes.git.commit("development", {"apps/api/main.py": "v2"})
    fakes.registry.images.add(("apidevelopment", built))
    detail = build_detail("api-development", "api-development:1", status="SUCCEEDED",
                          commit=built)
    check(build.handle_build(detail, fakes.ports()), Kind.WROTE_BACK)
    # a person rolls back to the tag that ran before
    _pin(fakes, "development", DEV, "api", TAG, "rollback api")
    # fourteen days later the processed record is gone; the sweep sees the build again
    fakes.store.now += 15 * 24 * 3600
    outcome = build.handle_build(detail, fakes.ports())
    check(outcome, Kind.NOT_WRITTEN, Reason.PINNED_BY_PERSON)
    assert TAG in fakes.git.read_file(fakes.git.branches["development"], DEV)
    # a later commit (pushed after the rollback) is written as usual
    later = fakes.git.commit("development", {"apps/api/main.py": "v3"})
    fakes.registry.images.add(("apidevelopment", later))
    check(build.handle_build(build_detail("api-development", "api-development:2",
                                          status="SUCCEEDED", commit=later), fakes.ports()),
          Kind.WROTE_BACK)


# ---------------------------------------------------------- deployment ids
def _released(fakes: Fakes, tag: str) -> str:
    fakes.registry.images.add(("api", tag))
    _pin(fakes, "main", PROD, "api", tag, f"pin {tag[:4]}")
    reconcile.handle(reconcile_event("production"), fakes.ports())
    return str(fakes.cloud.services["api"]["deployments"][0].id)


def test_a_late_failure_of_a_superseded_deployment_never_touches_the_current_one() -> None:
    fakes = world()
    reconcile.handle(reconcile_event("production"), fakes.ports())
    first = _released(fakes, "1" * 40)
    current = _released(fakes, "2" * 40)
    releases = {r.deployment_id: r for r in fakes.store.releases("production", "api")}
    assert releases[first].outcome is ReleaseState.SUPERSEDED
    outcome = deployment.handle(deployment_event(deployment.FAILED, "api", first, "late"),
                                fakes.ports())
    assert outcome.kind in (Kind.RELEASE_FAILED, Kind.REVERTED)
    releases = {r.deployment_id: r for r in fakes.store.releases("production", "api")}
    assert releases[current].outcome is ReleaseState.IN_PROGRESS
    assert fakes.store.bad_image(bad_image_key("production", "api", "2" * 40)) is None
    assert "2" * 40 in fakes.git.read_file(fakes.git.branches["main"], PROD)  # not reverted
    assert fakes.cloud.running_image("dbscluster", "api").endswith("2" * 40)


def test_an_event_of_a_deployment_ecs_gitops_did_not_start_changes_nothing() -> None:
    fakes = world()
    reconcile.handle(reconcile_event("production"), fakes.ports())
    outcome = deployment.handle(deployment_event(deployment.FAILED, "api", "ecs-svc/manual"),
                                fakes.ports())
    check(outcome, Kind.DEPLOYMENT_NOTED, Reason.NOT_THIS_RELEASE)
    assert fakes.store.values == {k: v for k, v in fakes.store.values.items()
                                  if not k.startswith("bad-image")}


def test_a_lost_failed_event_is_found_by_the_reconcile_which_reverts_git() -> None:
    fakes = world()
    reconcile.handle(reconcile_event("production"), fakes.ports())
    good_td = fakes.cloud.services["api"]["taskDefinition"]
    bad = "b" * 40
    _released(fakes, bad)
    # the circuit breaker rolls back; its FAILED event is lost
    fakes.cloud.services["api"]["taskDefinition"] = good_td
    fakes.cloud.services["api"]["deployments"] = []
    writes = len(fakes.cloud.writes())
    outcome = reconcile.handle(reconcile_event("production"), fakes.ports())
    check(outcome, Kind.IN_SYNC)  # the failed image is not deployed again
    assert len(fakes.cloud.writes()) == writes
    assert any("FAILED" in line for line in outcome.get("settled"))
    assert bad not in fakes.git.read_file(fakes.git.branches["main"], PROD)  # reverted
    assert fakes.store.releases("production", "api")[0].outcome is ReleaseState.FAILED


def test_a_rollout_that_never_finishes_is_reported_stuck_by_the_sweep() -> None:
    fakes = world()
    reconcile.handle(reconcile_event("production"), fakes.ports())
    sweep.handle(SCHEDULE, fakes.ports())
    fakes.notifier.sent.clear()
    fakes.store.now += 3600  # the deployments stay IN_PROGRESS (no event, no end)
    outcome = sweep.handle(SCHEDULE, fakes.ports())
    assert any(p.reason is Reason.RELEASES_SETTLED for p in outcome.parts)
    assert {r.outcome for r in fakes.store.release_log} == {ReleaseState.STUCK}
    assert sorted(fakes.notifier.subjects()) == [
        "ecs-gitops: api rollout STUCK in production",
        "ecs-gitops: web rollout STUCK in production"]
    # reported once, not at every sweep
    fakes.notifier.sent.clear()
    sweep.handle(SCHEDULE, fakes.ports())
    assert fakes.notifier.sent == []


# -------------------------------------------------------------- not ours
def _ours(**settings: Any) -> Fakes:
    return world(account=ACCOUNT, region="us-east-1", repository="ecs-gitops",
                 cluster="dbscluster", **settings)


@pytest.mark.parametrize(("field", "value"), [("account", "999999999999"),
                                              ("region", "eu-west-1")])
def test_events_of_another_account_or_region_are_ignored(field: str, value: str) -> None:
    fakes = _ours()
    commit = fakes.git.commit("development", {"apps/api/main.py": "v2"})
    fakes.registry.images.add(("apidevelopment", commit))
    raw = _envelope("aws.codebuild", "CodeBuild Build State Change", build_detail(
        "api-development", "b:1", status="SUCCEEDED", commit=commit).model_dump(by_alias=True))
    raw[field] = value
    check(build.handle(CodeBuildEvent.model_validate(raw), fakes.ports()), Kind.IGNORED,
          Reason.NOT_OURS)
    assert fakes.git.writes == []
    event = deployment_event(deployment.FAILED, "api").model_dump(by_alias=True)
    event[field] = value
    check(deployment.handle(EcsDeploymentEvent.model_validate(event), fakes.ports()),
          Kind.IGNORED, Reason.NOT_OURS)
    assert fakes.store.values == {}


def test_pushes_to_another_repository_and_events_of_another_cluster_are_ignored() -> None:
    fakes = _ours()
    event = push_event("development", "a" * 40).model_dump(by_alias=True)
    event["detail"]["repositoryName"] = "someone-else"
    check(push.handle(CodeCommitEvent.model_validate(event), fakes.ports()), Kind.IGNORED,
          Reason.NOT_OURS)
    other = deployment_event(deployment.FAILED, "api").model_dump(by_alias=True)
    other["resources"] = [f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/other/api"]
    check(deployment.handle(EcsDeploymentEvent.model_validate(other), fakes.ports()),
          Kind.IGNORED, Reason.NOT_OURS)


# ------------------------------------------------------------------ sweep
def test_the_sweep_finds_a_lost_success_behind_many_newer_builds() -> None:
    fakes = world()
    sweep.handle(SCHEDULE, fakes.ports())
    commit = fakes.git.commit("development", {"apps/api/main.py": "v2"})
    fakes.store.put_value(tip_key("development"), commit)
    fakes.registry.images.add(("apidevelopment", commit))
    fakes.builds.resolved["api-development:lost"] = commit
    fakes.builds.finish("api-development", "api-development:lost", status="SUCCEEDED",
                        commit=commit)
    for n in range(12):  # twelve newer builds, all failing
        fakes.builds.finish("api-development", f"api-development:{n}", status="FAILED",
                            commit=commit)
    sweep.handle(SCHEDULE, fakes.ports())
    assert commit in fakes.git.read_file(fakes.git.branches["development"], DEV)


def test_after_a_force_push_the_recorded_tip_follows_the_branch() -> None:
    fakes = world()
    sweep.handle(SCHEDULE, fakes.ports())
    base = fakes.git.branches["development"]
    old = fakes.git.commit("development", {"apps/api/main.py": "v2"})
    push.handle(push_event("development", old, base), fakes.ports())
    # force push: development now ends in a commit that does not contain `old`
    fakes.git.branches["development"] = base
    forced = fakes.git.commit("development", {"apps/web/main.py": "rewritten"})
    fakes.builds.started.clear()
    outcome = sweep.handle(SCHEDULE, fakes.ports())
    assert [p.kind for p in outcome.parts] == [Kind.BUILDS_STARTED]
    assert fakes.store.get_value(tip_key("development")) == forced
    assert {b["project"] for b in fakes.builds.started} >= {"web-development"}
    assert sweep.handle(SCHEDULE, fakes.ports()).parts == ()  # nothing left behind


# -------------------------------------------------------------- deletions
def test_deleting_an_apps_folder_builds_nothing() -> None:
    fakes = world()
    before = fakes.git.branches["development"]
    after = fakes.git.commit("development", {"apps/api/main.py": None,
                                             "apps/api/buildspec.yml": None})
    outcome = push.handle(push_event("development", after, before), fakes.ports())
    check(outcome, Kind.NO_BUILD, Reason.NO_BUILDSPEC)
    assert fakes.builds.started == []


def test_settings_default_to_checking_nothing() -> None:
    assert Settings(branches={}).account is None


def test_a_broken_file_is_notified_once_per_commit_and_stops_no_other_environment() -> None:
    fakes = world()
    sweep.handle(SCHEDULE, fakes.ports())
    before = fakes.git.branches["main"]
    broken = fakes.git.commit("main", {PROD: "services: [\n", "apps/api/main.py": "v2"})
    push.handle(push_event("main", broken, before), fakes.ports())
    for _ in range(3):  # schedule ticks and sweeps
        outcome = reconcile.handle(SCHEDULE, fakes.ports())
        assert [p.kind for p in outcome.parts] == [Kind.INVALID_DESIRED_STATE, Kind.APPLIED
                                                   if _ == 0 else Kind.IN_SYNC]
        sweep.handle(SCHEDULE, fakes.ports())
    invalid = [s for s in fakes.notifier.subjects() if "invalid" in s]
    assert len(invalid) == 1, invalid
    fixed = fakes.git.commit("main", {PROD: fakes.git.read_file(before, PROD)})
    broken_again = fakes.git.commit("main", {PROD: "services: 3\n"})
    reconcile.handle(reconcile_event("production"), fakes.ports())
    assert len([s for s in fakes.notifier.subjects() if "invalid" in s]) == 2
    assert fixed != broken_again
