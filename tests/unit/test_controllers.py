"""Every controller on in-memory fake ports, table-driven: event in, effects and outcome
out. Ports a case must not touch are `MustNotBeCalled`.

The same controllers run on the embedded AWS in tests/functional; these cases are the
fast, exhaustive layer (every branch of every decision)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fakes import Fakes, MustNotBeCalled, build_detail
from scenes import (
    ACCOUNT,
    SCHEDULE,
    TAG,
    deployment_event,
    desired_yaml,
    push_event,
    reconcile_event,
    world,
)

from ecs_gitops.controllers import build, deployment, push, reconcile, sweep
from ecs_gitops.controllers.outcome import Kind, Outcome, Reason
from ecs_gitops.errors import ConflictError, LeaseHeldError
from ecs_gitops.events import (
    CodeCommitEvent,
    EcsDeploymentEvent,
    Trigger,
)
from ecs_gitops.source import WRITE_BACK_MARKER
from ecs_gitops.store import BadImage, ReleaseState, bad_image_key, lease_key, tip_key


def check(outcome: Outcome, kind: Kind, reason: Reason | None = None) -> None:
    assert (outcome.kind, outcome.reason) == (kind, reason), outcome.text()


# ----------------------------------------------------------------------- push
@dataclass
class PushCase:
    name: str
    files: dict[str, str | None]  # what the pushed commit changes on development
    kind: Kind
    reason: Reason | None = None
    builds: list[str] = field(default_factory=list)  # projects started
    reconcile: bool = False
    message: str = "change"


PUSH_CASES = [
    PushCase("app change builds that app", {"apps/api/main.py": "v2"}, Kind.BUILDS_STARTED,
             builds=["api-development"]),
    PushCase("both apps", {"apps/api/main.py": "v2", "apps/web/main.py": "v2"},
             Kind.BUILDS_STARTED, builds=["api-development", "web-development"]),
    PushCase("docs only", {"README.md": "more"}, Kind.NO_BUILD, Reason.NO_APP_CHANGED),
    PushCase("desired state edit", {"desired_state/development.yaml": desired_yaml(
        "development", "development", suffix="-development", selfHeal=False)},
        Kind.NO_BUILD, Reason.NO_APP_CHANGED, reconcile=True),
    PushCase("write-back commit", {"desired_state/development.yaml": desired_yaml(
        "development", "development", suffix="-development", tag="1" * 40)},
        Kind.NO_BUILD, Reason.WRITE_BACK_COMMIT, reconcile=True,
        message=f"deploy\n\n{WRITE_BACK_MARKER}"),
    PushCase("write-back marker with an app change still builds",
             {"apps/api/main.py": "v2"}, Kind.BUILDS_STARTED, builds=["api-development"],
             message=f"sneaky\n\n{WRITE_BACK_MARKER}"),
    PushCase("invalid file builds nothing",
             {"apps/api/main.py": "v2", "desired_state/development.yaml": "services: [\n"},
             Kind.INVALID_DESIRED_STATE, Reason.INVALID_FILE, reconcile=True),
]


@pytest.mark.parametrize("case", PUSH_CASES, ids=lambda c: c.name)
def test_push(case: PushCase) -> None:
    fakes = world()
    before = fakes.git.branches["development"]
    after = fakes.git.commit("development", case.files, case.message)
    outcome = push.handle(push_event("development", after, before),
                          fakes.ports(cloud=MustNotBeCalled("cloud")))
    check(outcome, case.kind, case.reason)
    assert [b["project"] for b in fakes.builds.started] == case.builds
    assert all(b["source_version"] == after for b in fakes.builds.started)
    assert [r[0] for r in fakes.bus.requests] == (["development"] if case.reconcile else [])
    assert fakes.git.writes == []  # a push never commits
    if case.kind is Kind.INVALID_DESIRED_STATE:
        assert fakes.notifier.subjects() == [
            "ecs-gitops: invalid desired_state/development.yaml on development"]
        assert fakes.store.get_value(tip_key("development")) is None  # range kept open
    else:
        assert fakes.store.get_value(tip_key("development")) == after


@pytest.mark.parametrize(("event", "reason"), [
    (push_event("v1.0", "a" * 40, reference_type="tag"), Reason.NOT_A_BRANCH),
    (push_event("development", None, "a" * 40, event="referenceDeleted"),
     Reason.REFERENCE_EVENT),
    (push_event("feature/x", "a" * 40), Reason.UNTRACKED_BRANCH),
    (push_event("development", None), Reason.NO_COMMIT_ID),
], ids=["tag", "deleted", "untracked", "no-commit"])
def test_push_events_that_are_not_for_us(event: CodeCommitEvent, reason: Reason) -> None:
    fakes = world()
    ports = fakes.ports(source=MustNotBeCalled("git"), store=MustNotBeCalled("store"),
                        builds=MustNotBeCalled("builds"), cloud=MustNotBeCalled("cloud"))
    check(push.handle(event, ports), Kind.IGNORED, reason)


def test_a_duplicate_push_starts_no_second_build() -> None:
    fakes = world()
    before = fakes.git.branches["development"]
    after = fakes.git.commit("development", {"apps/api/main.py": "v2"})
    event = push_event("development", after, before)
    check(push.handle(event, fakes.ports()), Kind.BUILDS_STARTED)
    check(push.handle(event, fakes.ports(builds=MustNotBeCalled("builds"))),
          Kind.IGNORED, Reason.ALREADY_PROCESSED)
    assert len(fakes.builds.started) == 1


def test_a_lost_push_is_built_by_the_next_one() -> None:
    fakes = world()
    first = fakes.git.branches["development"]
    push.handle(push_event("development", first), fakes.ports())
    fakes.builds.started.clear()
    lost = fakes.git.commit("development", {"apps/api/main.py": "v2"})
    docs = fakes.git.commit("development", {"README.md": "docs"})
    outcome = push.handle(push_event("development", docs, lost), fakes.ports())
    check(outcome, Kind.BUILDS_STARTED)
    assert [b["project"] for b in fakes.builds.started] == ["api-development"]


def test_dry_run_starts_no_build() -> None:
    fakes = world(dry_run=True)
    before = fakes.git.branches["development"]
    after = fakes.git.commit("development", {"apps/api/main.py": "v2"})
    outcome = push.handle(push_event("development", after, before),
                          fakes.ports(builds=MustNotBeCalled("builds")))
    assert outcome.get("builds")[0]["build"] == "dry run: not started"


def test_a_failed_start_build_is_retried_by_the_next_delivery() -> None:
    fakes = world()
    before = fakes.git.branches["development"]
    after = fakes.git.commit("development", {"apps/api/main.py": "v2"})
    event = push_event("development", after, before)

    class Throttled(MustNotBeCalled):
        def start_build(self, **_: Any) -> str:
            raise ConflictError("throttled")

    with pytest.raises(ConflictError):
        push.handle(event, fakes.ports(builds=Throttled("builds")))
    check(push.handle(event, fakes.ports()), Kind.BUILDS_STARTED)
    assert len(fakes.builds.started) == 1


# ---------------------------------------------------------------------- build
def _built(fakes: Fakes, *, branch: str = "development", image: bool = True) -> str:
    commit = fakes.git.commit(branch, {"apps/api/main.py": "v2"})
    if image:
        fakes.registry.images.add(("apidevelopment" if branch == "development" else "api", commit))
    return commit


@dataclass
class BuildCase:
    name: str
    status: str
    kind: Kind
    reason: Reason | None = None
    prepare: Callable[[Fakes, str], str] = lambda _f, commit: commit  # -> the built commit
    image: bool = True
    writes: int = 0
    notified: int = 0


def _older(fakes: Fakes, commit: str) -> str:
    newer = fakes.git.commit("development", {"apps/api/main.py": "v3"})
    fakes.registry.images.add(("apidevelopment", newer))
    build.handle_build(build_detail("api-development", "api-development:9", status="SUCCEEDED",
                                    commit=newer), fakes.ports())
    return commit


def _off_branch(fakes: Fakes, commit: str) -> str:
    stray = fakes.git.make({"apps/api/main.py": "experiment"}, "stray", (commit,))
    fakes.registry.images.add(("apidevelopment", stray))
    return stray


def _known_bad(fakes: Fakes, commit: str) -> str:
    fakes.store.mark_bad_image(bad_image_key("development", "api", commit), BadImage("d-1"))
    return commit


BUILD_CASES = [
    BuildCase("success writes the tag back", "SUCCEEDED", Kind.WROTE_BACK, writes=1),
    BuildCase("failure is notified", "FAILED", Kind.BUILD_FAILED, notified=1),
    BuildCase("fault is notified", "FAULT", Kind.BUILD_FAILED, notified=1),
    BuildCase("timeout is notified", "TIMED_OUT", Kind.BUILD_FAILED, notified=1),
    BuildCase("stopped is notified", "STOPPED", Kind.BUILD_FAILED, notified=1),
    BuildCase("in progress is ignored", "IN_PROGRESS", Kind.IGNORED, Reason.BUILD_NOT_FINISHED),
    BuildCase("missing image writes nothing", "SUCCEEDED", Kind.NOT_WRITTEN,
              Reason.IMAGE_MISSING, image=False, notified=1),
    BuildCase("an older commit never overwrites a newer one", "SUCCEEDED", Kind.NOT_WRITTEN,
              Reason.NOT_NEWER, prepare=_older),
    BuildCase("a commit off the branch is not written", "SUCCEEDED", Kind.NOT_WRITTEN,
              Reason.NOT_ON_BRANCH, prepare=_off_branch),
    BuildCase("an image that failed a rollout is not written", "SUCCEEDED", Kind.IGNORED,
              Reason.KNOWN_BAD_IMAGE, prepare=_known_bad),
]


@pytest.mark.parametrize("case", BUILD_CASES, ids=lambda c: c.name)
def test_build_finished(case: BuildCase) -> None:
    fakes = world()
    commit = case.prepare(fakes, _built(fakes, image=case.image))
    writes_before = len(fakes.git.writes)
    outcome = build.handle_build(build_detail("api-development", "api-development:1",
                                              status=case.status, commit=commit),
                                 fakes.ports(cloud=MustNotBeCalled("cloud"),
                                             builds=MustNotBeCalled("builds")))
    check(outcome, case.kind, case.reason)
    assert len(fakes.git.writes) - writes_before == case.writes
    assert len(fakes.notifier.sent) == case.notified
    if case.writes:
        text = fakes.git.read_file(fakes.git.branches["development"],
                                   "desired_state/development.yaml")
        assert f"tag: {commit}" in text or f"tag: '{commit}'" in text
        message = fakes.git.commits[fakes.git.writes[-1]][2]
        assert WRITE_BACK_MARKER in message


def test_a_build_is_handled_once_whatever_names_it() -> None:
    fakes = world()
    commit = _built(fakes)
    by_id = build_detail("api-development", "api-development:1", status="SUCCEEDED",
                         commit=commit)
    by_arn = build_detail("api-development", f"arn:aws:codebuild:us-east-1:{ACCOUNT}:build/"
                          "api-development:1", status="SUCCEEDED", commit=commit)
    check(build.handle_build(by_arn, fakes.ports()), Kind.WROTE_BACK)
    check(build.handle_build(by_id, fakes.ports(registry=MustNotBeCalled("ecr"))),
          Kind.IGNORED, Reason.ALREADY_PROCESSED)
    assert len(fakes.git.writes) == 1


def test_a_missing_image_leaves_the_build_to_a_later_delivery() -> None:
    fakes = world()
    commit = _built(fakes, image=False)
    detail = build_detail("api-development", "api-development:1", status="SUCCEEDED",
                          commit=commit)
    check(build.handle_build(detail, fakes.ports()), Kind.NOT_WRITTEN, Reason.IMAGE_MISSING)
    fakes.registry.images.add(("apidevelopment", commit))
    check(build.handle_build(detail, fakes.ports()), Kind.WROTE_BACK)


def test_unknown_projects_are_ignored() -> None:
    fakes = world()
    outcome = build.handle_build(build_detail("someone-elses", "someone-elses:1",
                                              status="SUCCEEDED", commit="a" * 40),
                                 fakes.ports(store=MustNotBeCalled("store")))
    check(outcome, Kind.IGNORED, Reason.UNKNOWN_PROJECT)


def test_dry_run_writes_nothing() -> None:
    fakes = world(dry_run=True)
    commit = _built(fakes)
    outcome = build.handle_build(build_detail("api-development", "b:1", status="SUCCEEDED",
                                              commit=commit), fakes.ports())
    check(outcome, Kind.NOT_WRITTEN, Reason.DRY_RUN)
    assert fakes.git.writes == []


# -------------------------------------------------------------------- reconcile
def test_reconcile_applies_the_tip_and_records_each_release() -> None:
    fakes = world()
    outcome = reconcile.handle(reconcile_event("production"), fakes.ports())
    check(outcome, Kind.APPLIED)
    assert set(fakes.cloud.services) == {"api", "web"}
    releases = [r for r in fakes.store.release_log]
    assert {(r.service, r.outcome, r.commit) for r in releases} == {
        ("api", ReleaseState.IN_PROGRESS, fakes.git.branches["main"]),
        ("web", ReleaseState.IN_PROGRESS, fakes.git.branches["main"])}
    assert all(r.deployment_id.startswith("ecs-svc/") for r in releases)
    assert lease_key("production") not in fakes.store.leases  # released
    again = reconcile.handle(reconcile_event("production"), fakes.ports())
    check(again, Kind.IN_SYNC)


def test_the_schedule_reconciles_every_environment() -> None:
    fakes = world()
    outcome = reconcile.handle(SCHEDULE, fakes.ports())
    assert outcome.kind is Kind.EACH
    assert [(p.kind, p.get("environment")) for p in outcome.parts] == [
        (Kind.APPLIED, "production"), (Kind.APPLIED, "development")]


@pytest.mark.parametrize(("event", "raises"), [(SCHEDULE, False),
                                               (reconcile_event("production"), True)],
                         ids=["schedule-skips", "request-retries"])
def test_a_held_lease(event: Any, raises: bool) -> None:
    fakes = world()
    fakes.store.acquire_lease(lease_key("production"), "someone", seconds=300)
    if raises:
        with pytest.raises(LeaseHeldError):
            reconcile.handle(event, fakes.ports())
        assert fakes.cloud.calls == []
    else:
        outcome = reconcile.handle(event, fakes.ports())
        check(outcome.parts[0], Kind.IGNORED, Reason.LEASE_HELD)
        check(outcome.parts[1], Kind.APPLIED)


def test_an_invalid_file_applies_nothing_and_is_notified() -> None:
    fakes = world()
    fakes.git.commit("main", {"desired_state/production.yaml": "services: 3\n"})
    outcome = reconcile.handle(reconcile_event("production"), fakes.ports(
        cloud=MustNotBeCalled("cloud")))
    check(outcome, Kind.INVALID_DESIRED_STATE, Reason.INVALID_FILE)
    assert fakes.notifier.subjects() == ["ecs-gitops: production desired state is invalid"]


def test_self_heal_off_reports_drift_on_the_schedule_only() -> None:
    fakes = world()
    text = desired_yaml("production", "main", selfHeal=False)
    fakes.git.commit("main", {"desired_state/production.yaml": text})
    scheduled = reconcile.handle(SCHEDULE, fakes.ports())
    check(scheduled.parts[0], Kind.DRIFT_REPORTED, Reason.SELF_HEAL_OFF)
    assert "api" not in fakes.cloud.services
    check(reconcile.handle(reconcile_event("production"), fakes.ports()), Kind.APPLIED)


def test_preflight_failure_writes_nothing() -> None:
    fakes = world()
    fakes.cloud.missing = ["image api:000 is not in ECR"]
    outcome = reconcile.handle(reconcile_event("production"), fakes.ports())
    check(outcome, Kind.PREFLIGHT_FAILED, Reason.MISSING)
    assert fakes.cloud.writes() == []
    assert fakes.notifier.subjects() == ["ecs-gitops: production not applied"]


def test_roles_the_stack_may_not_pass_are_refused() -> None:
    fakes = world(allowed_roles=frozenset({f"arn:aws:iam::{ACCOUNT}:role/ok"}))
    text = desired_yaml("production", "main", roles={"task": f"arn:aws:iam::{ACCOUNT}:role/x"})
    fakes.git.commit("main", {"desired_state/production.yaml": text})
    outcome = reconcile.handle(reconcile_event("production"), fakes.ports())
    check(outcome, Kind.REFUSED, Reason.ROLES_NOT_ALLOWED)
    assert fakes.cloud.writes() == []


def test_dry_run_applies_nothing() -> None:
    fakes = world(dry_run=True)
    check(reconcile.handle(reconcile_event("production"), fakes.ports()), Kind.DRY_RUN)
    assert fakes.cloud.writes() == []


def test_an_image_that_failed_is_held_back() -> None:
    fakes = world()
    reconcile.handle(reconcile_event("production"), fakes.ports())
    bad = "b" * 40
    text = desired_yaml("production", "main").replace(TAG, bad, 1)  # api's tag only
    fakes.git.commit("main", {"desired_state/production.yaml": text})
    fakes.store.mark_bad_image(bad_image_key("production", "api", bad),
                               BadImage("ecs-svc/9", at="2026-11-30T00:00:00Z", reason="boom"))
    outcome = reconcile.handle(reconcile_event("production"), fakes.ports())
    assert outcome.get("held_back")
    assert "ecs-svc/9" in outcome.get("held_back")[0]
    assert fakes.cloud.running_image("dbscluster", "api").endswith(TAG)
    check(outcome, Kind.IN_SYNC)
    assert fakes.notifier.subjects() == ["ecs-gitops: applied 4 change(s) to production",
                                         "ecs-gitops: production pins an image that failed"]


def test_one_failing_environment_does_not_stop_the_other() -> None:
    fakes = world()
    fakes.git.commit("main", {"desired_state/production.yaml": "services: 3\n"})
    outcome = reconcile.handle(SCHEDULE, fakes.ports())
    assert [p.kind for p in outcome.parts] == [Kind.INVALID_DESIRED_STATE, Kind.APPLIED]


def test_unknown_trigger_reasons_mean_requested() -> None:
    assert reconcile_event("production", "desired state changed").detail.trigger is \
        Trigger.REQUESTED


# -------------------------------------------------------------------- deployment
def _deployed(fakes: Fakes, tag: str = TAG) -> None:
    reconcile.handle(reconcile_event("production"), fakes.ports())


def test_completed_marks_the_release_healthy() -> None:
    fakes = world()
    _deployed(fakes)
    outcome = deployment.handle(deployment_event(deployment.COMPLETED, "api"), fakes.ports())
    check(outcome, Kind.RELEASE_HEALTHY)
    assert fakes.store.releases("production", "api")[0].outcome is ReleaseState.HEALTHY


def test_failed_reverts_git_to_the_running_image() -> None:
    fakes = world()
    _deployed(fakes)
    good_td = fakes.cloud.services["api"]["taskDefinition"]
    bad = "b" * 40
    fakes.registry.images.add(("api", bad))
    fakes.git.commit("main", {"desired_state/production.yaml": desired_yaml(
        "production", "main").replace(TAG, bad, 1)})
    reconcile.handle(reconcile_event("production"), fakes.ports())
    fakes.cloud.services["api"]["taskDefinition"] = good_td  # the circuit breaker rolled back
    outcome = deployment.handle(deployment_event(deployment.FAILED, "api", "ecs-svc/3", "boom"),
                                fakes.ports())
    check(outcome, Kind.REVERTED)
    text = fakes.git.read_file(fakes.git.branches["main"], "desired_state/production.yaml")
    assert bad not in text
    assert fakes.store.bad_image(bad_image_key("production", "api", bad)).reason == "boom"
    assert fakes.store.releases("production", "api")[0].outcome is ReleaseState.FAILED
    # a duplicate of the event does nothing more
    again = deployment.handle(deployment_event(deployment.FAILED, "api", "ecs-svc/3"),
                              fakes.ports(cloud=MustNotBeCalled("cloud")))
    check(again, Kind.IGNORED, Reason.ALREADY_PROCESSED)


def test_failed_with_nothing_to_revert() -> None:
    fakes = world()
    _deployed(fakes)
    outcome = deployment.handle(deployment_event(deployment.FAILED, "api"), fakes.ports())
    check(outcome, Kind.RELEASE_FAILED, Reason.NOTHING_TO_REVERT)
    assert fakes.git.writes == []


@pytest.mark.parametrize(("event", "reason"), [
    (deployment_event("SERVICE_DEPLOYMENT_IN_PROGRESS", "api"), Reason.EVENT_NOT_HANDLED),
    (deployment_event(deployment.COMPLETED, "not-ours"), Reason.UNKNOWN_SERVICE),
], ids=["in-progress", "unknown-service"])
def test_deployment_events_that_are_not_for_us(event: EcsDeploymentEvent, reason: Reason) -> None:
    fakes = world()
    outcome = deployment.handle(event, fakes.ports(store=MustNotBeCalled("store"),
                                                   cloud=MustNotBeCalled("cloud")))
    check(outcome, Kind.IGNORED, reason)


def test_the_completion_of_a_rollback_is_not_the_release() -> None:
    fakes = world()
    _deployed(fakes)
    fakes.cloud.services["api"]["taskDefinition"] = "arn:other:1"
    outcome = deployment.handle(deployment_event(deployment.COMPLETED, "api", "ecs-svc/r"),
                                fakes.ports())
    check(outcome, Kind.DEPLOYMENT_NOTED, Reason.NOT_THIS_RELEASE)


# ------------------------------------------------------------------------- sweep
def test_first_sweep_records_tips_and_requests_reconciles() -> None:
    fakes = world()
    outcome = sweep.handle(SCHEDULE, fakes.ports(builds=fakes.builds))
    assert [p.kind for p in outcome.parts] == [Kind.SWEPT, Kind.SWEPT]
    assert sorted(e for e, _, _ in fakes.bus.requests) == ["development", "production"]


def test_sweep_builds_a_lost_push_and_writes_a_lost_build() -> None:
    fakes = world()
    sweep.handle(SCHEDULE, fakes.ports())
    commit = fakes.git.commit("development", {"apps/api/main.py": "v2"})
    outcome = sweep.handle(SCHEDULE, fakes.ports())
    assert [p.kind for p in outcome.parts] == [Kind.BUILDS_STARTED]
    build_id = fakes.builds.started[0]["id"]
    fakes.registry.images.add(("apidevelopment", commit))
    fakes.builds.finish("api-development", build_id, status="SUCCEEDED", commit=commit)
    outcome = sweep.handle(SCHEDULE, fakes.ports())
    assert [p.kind for p in outcome.parts] == [Kind.WROTE_BACK]
    outcome = sweep.handle(SCHEDULE, fakes.ports())  # the write-back is the new tip
    assert [(p.kind, p.reason) for p in outcome.parts] == [(Kind.NO_BUILD,
                                                            Reason.WRITE_BACK_COMMIT)]
    assert sweep.handle(SCHEDULE, fakes.ports()).parts == ()
