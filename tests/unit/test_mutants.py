"""Tests written for mutants that survived scripts/mutation.sh (docs/mutation.md lists
them): each asserts a behaviour the suite did not pin down before."""

from __future__ import annotations

import pytest
from fakes import Fakes, build_detail
from scenes import ACCOUNT, TAG, deployment_event, desired_yaml, push_event, reconcile_event, world

from ecs_gitops.controllers import build, deployment, push, reconcile
from ecs_gitops.controllers.lookup import notify_once
from ecs_gitops.controllers.outcome import Kind, Outcome, Reason
from ecs_gitops.controllers.writeback import pinned_tag, tag_setter
from ecs_gitops.desired.edit import set_image_tag
from ecs_gitops.events import EcsDeploymentEvent
from ecs_gitops.store import BadImage, tip_key

PROD = "desired_state/production.yaml"
DEV = "desired_state/development.yaml"


def _pin(fakes: Fakes, branch: str, path: str, tag: str, message: str = "pin") -> str:
    text = fakes.git.read_file(fakes.git.branches[branch], path)
    return fakes.git.commit(branch, {path: set_image_tag(text, "api", tag)}, message)


def _release(fakes: Fakes, tag: str) -> str:
    fakes.registry.images.add(("api", tag))
    _pin(fakes, "main", PROD, tag)
    reconcile.handle(reconcile_event("production"), fakes.ports())
    return str(fakes.cloud.services["api"]["deployments"][0].id)


# ---------------------------------------------------------------- deployment events
def test_a_failed_rollout_is_not_reverted_over_a_tag_pinned_since() -> None:
    fakes = world()
    reconcile.handle(reconcile_event("production"), fakes.ports())
    good_td = fakes.cloud.services["api"]["taskDefinition"]
    failed = _release(fakes, "b" * 40)
    fakes.cloud.services["api"]["taskDefinition"] = good_td  # ECS rolled back
    newer = _pin(fakes, "main", PROD, "c" * 40, "a person pins a fix meanwhile")
    outcome = deployment.handle(deployment_event(deployment.FAILED, "api", failed, "boom"),
                                fakes.ports())
    assert (outcome.kind, outcome.reason) == (Kind.RELEASE_FAILED, Reason.MOVED_ON)
    assert outcome.facts["failed"] == "b" * 40
    assert outcome.facts["pinned"] == "c" * 40
    assert fakes.git.branches["main"] == newer  # nothing committed over the person's pin


def _arn_event(name: str, resource: str, deployment_id: str) -> EcsDeploymentEvent:
    raw = deployment_event(name, "api", deployment_id).model_dump(by_alias=True)
    raw["resources"] = [resource]
    return EcsDeploymentEvent.model_validate(raw)


def test_an_event_naming_the_service_by_an_old_format_arn_is_handled() -> None:
    """Services created before ECS's long ARN format have ARNs without the cluster
    (`arn:aws:ecs:REGION:ACCOUNT:service/NAME`, ECS developer guide, "Amazon Resource
    Names (ARNs) and IDs")."""
    fakes = world()
    reconcile.handle(reconcile_event("production"), fakes.ports())
    current = _release(fakes, "b" * 40)
    event = _arn_event(deployment.COMPLETED, f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/api",
                       current)
    outcome = deployment.handle(event, fakes.ports())
    assert outcome.kind is Kind.RELEASE_HEALTHY, outcome.text()


def test_a_deployment_event_is_matched_to_the_environment_on_its_cluster() -> None:
    fakes = world()
    main = fakes.git.branches["main"]
    dev = desired_yaml("development", "development").replace("cluster: dbscluster",
                                                             "cluster: devcluster")
    fakes.git.branches["development"] = main
    fakes.git.commit("development", {DEV: dev})  # same service names, another cluster
    event = _arn_event(deployment.FAILED,
                       f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/devcluster/api", "ecs-svc/9")
    outcome = deployment.handle(event, fakes.ports())
    assert outcome.facts["environment"] == "development", outcome.text()


# --------------------------------------------------------------------- builds
def test_the_exported_image_tag_is_written_not_the_commit() -> None:
    fakes = world()
    commit = fakes.git.commit("development", {"apps/api/main.py": "v2"})
    fakes.registry.images.add(("apidevelopment", "v2-build-7"))
    outcome = build.handle_build(build_detail("api-development", "api-development:7",
                                              status="SUCCEEDED", commit=commit,
                                              tag="v2-build-7"), fakes.ports())
    assert outcome.kind is Kind.WROTE_BACK, outcome.text()
    text = fakes.git.read_file(fakes.git.branches["development"], DEV)
    assert pinned_tag(text, "api") == "v2-build-7"


# ------------------------------------------------------------ pinned tag, setter
@pytest.mark.parametrize("text", [None, "", ": : :", "- a list\n", "services: {api: 1}\n",
                                  "services:\n  - just a string\n",
                                  "services:\n  - name: api\n    image: repo:tag\n",
                                  "services:\n  - name: api\n    image: {repository: r}\n"])
def test_a_tag_read_from_an_old_or_broken_file_is_none(text: str | None) -> None:
    assert pinned_tag(text, "api") is None


def test_a_tag_is_found_by_name_or_by_ecs_service_name() -> None:
    text = ("services:\n  - name: other\n    image: {tag: x}\n"
            "  - name: api\n    serviceName: api-svc\n    image: {tag: 123}\n")
    assert pinned_tag(text, "api") == "123"
    assert pinned_tag(text, "api-svc") == "123"
    assert pinned_tag(text, "missing") is None


def test_no_setter_when_the_file_never_pinned_the_tag() -> None:
    fakes = world()
    tip = fakes.git.branches["main"]
    assert tag_setter(fakes.ports(), tip=tip, environment="production", service="api",
                      tag="f" * 40) is None
    setter = tag_setter(fakes.ports(), tip=tip, environment="production", service="api",
                        tag=TAG)
    assert setter is not None
    assert setter.id == tip


# ------------------------------------------------------------------ the store
def test_a_bad_image_record_round_trips_and_older_forms_are_read() -> None:
    bad = BadImage("ecs-svc/1", at="2026-11-30T10:00:00+00:00", reason="boom")
    assert BadImage.decode(bad.encode()) == bad
    assert BadImage.decode("ecs-svc/7") == BadImage("ecs-svc/7")  # a bare id (older records)
    assert BadImage.decode('"ecs-svc/8"') == BadImage('"ecs-svc/8"')  # JSON, not a mapping
    assert BadImage.decode("{}") == BadImage("")


def test_a_notice_is_sent_once_and_says_so() -> None:
    fakes = world()
    assert notify_once(fakes.ports(), "k", "subject", {}) is True
    assert notify_once(fakes.ports(), "k", "subject", {}) is False
    assert len(fakes.notifier.sent) == 1


# ---------------------------------------------------------------------- pushes
def _pushed(fakes: Fakes, branch: str, files: dict[str, str | None]) -> Outcome:
    before = fakes.git.branches[branch]
    after = fakes.git.commit(branch, files)
    return push.handle(push_event(branch, after, before), fakes.ports())


def test_only_the_second_app_changed_is_built() -> None:
    fakes = world()
    _pushed(fakes, "development", {"apps/web/main.py": "v2"})
    assert [b["project"] for b in fakes.builds.started] == ["web-development"]


def test_a_deleted_first_app_does_not_stop_the_build_of_the_second() -> None:
    fakes = world()
    outcome = _pushed(fakes, "development", {"apps/api/main.py": None,
                                             "apps/api/buildspec.yml": None,
                                             "apps/web/main.py": "v2"})
    assert [b["project"] for b in fakes.builds.started] == ["web-development"]
    assert outcome.facts["skipped"] == [
        {"service": "api", "missing": "apps/api/buildspec.yml"}]


def test_a_service_without_a_build_does_not_stop_the_next_one() -> None:
    fakes = world()
    text = fakes.git.read_file(fakes.git.branches["development"], DEV)
    no_build = text.replace("  build:\n    project: api-development\n    source: apps/api\n",
                            "", 1)
    assert no_build != text
    fakes.git.commit("development", {DEV: no_build})
    _pushed(fakes, "development", {"apps/api/main.py": "v2", "apps/web/main.py": "v2"})
    assert [b["project"] for b in fakes.builds.started] == ["web-development"]


def test_a_dry_run_lists_every_build_it_would_start() -> None:
    fakes = world(dry_run=True)
    outcome = _pushed(fakes, "development", {"apps/api/main.py": "v2", "apps/web/main.py": "v2"})
    assert [b["service"] for b in outcome.facts["builds"]] == ["api", "web"]
    assert fakes.builds.started == []


def test_each_build_carries_its_image_repository_and_the_reconcile_its_commit() -> None:
    fakes = world()
    text = fakes.git.read_file(fakes.git.branches["development"], DEV)
    _pushed(fakes, "development", {"apps/api/main.py": "v2", DEV: text + "# edited\n"})
    tip = fakes.git.branches["development"]
    assert fakes.builds.started[0]["environment"] == {"IMAGE_REPO_NAME": "apidevelopment"}
    assert fakes.builds.started[0]["source_version"] == tip
    assert [(e, c) for e, _, c in fakes.bus.requests] == [("development", tip)]


def test_one_commit_on_both_branches_is_built_for_each_environment() -> None:
    fakes = world()
    before = fakes.git.branches["development"]
    commit = fakes.git.commit("development", {"apps/api/main.py": "v2"})
    fakes.git.branches["main"] = commit  # fast-forwarded: the same commit on main
    push.handle(push_event("development", commit, before), fakes.ports())
    push.handle(push_event("main", commit, before), fakes.ports())
    assert sorted(b["project"] for b in fakes.builds.started) == ["api-development",
                                                                  "api-production"]


def test_two_commits_in_a_row_are_two_builds() -> None:
    fakes = world()
    _pushed(fakes, "development", {"apps/api/main.py": "v2"})
    _pushed(fakes, "development", {"apps/api/main.py": "v3"})  # within StartBuild's 5 min
    assert len({b["id"] for b in fakes.builds.started}) == 2


@pytest.mark.parametrize("recorded", [None, "base"])
def test_the_recorded_tip_moves_forward_to_a_commit_behind_the_branch_tip(
        recorded: str | None) -> None:
    fakes = world()
    base = fakes.git.branches["development"]
    if recorded:
        fakes.store.put_value(tip_key("development"), base)
    middle = fakes.git.commit("development", {"apps/api/main.py": "v2"})
    fakes.git.commit("development", {"apps/api/main.py": "v3"})  # its event comes later
    push.handle(push_event("development", middle, base), fakes.ports())
    assert fakes.store.get_value(tip_key("development")) == middle


def test_a_failed_rollout_with_no_image_running_has_nothing_to_revert() -> None:
    fakes = world()
    reconcile.handle(reconcile_event("production"), fakes.ports())
    failed = _release(fakes, "b" * 40)
    fakes.cloud.services["api"]["taskDefinition"] = "arn:aws:ecs:us-east-1:1:task-definition/x:9"
    outcome = deployment.handle(deployment_event(deployment.FAILED, "api", failed, "boom"),
                                fakes.ports())
    assert (outcome.kind, outcome.reason) == (Kind.RELEASE_FAILED, Reason.NOTHING_TO_REVERT)
    assert outcome.facts["running"] is None


def test_events_of_two_deployments_are_each_handled() -> None:
    fakes = world()
    reconcile.handle(reconcile_event("production"), fakes.ports())
    first = str(fakes.cloud.services["api"]["deployments"][0].id)
    done = deployment.handle(deployment_event(deployment.COMPLETED, "api", first), fakes.ports())
    assert done.kind is Kind.RELEASE_HEALTHY
    second = _release(fakes, "b" * 40)
    assert second != first
    for name in (deployment.COMPLETED, deployment.FAILED):  # each event of the deployment
        outcome = deployment.handle(deployment_event(name, "api", second), fakes.ports())
        assert outcome.reason is not Reason.ALREADY_PROCESSED, outcome.text()
