"""The reconcile engine and the plan executor on the in-memory cloud: the order of the
steps, what each status leaves behind, and what is recorded."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from builders import environment, with_service
from fakes import FakeCloud, FakeStore, MustNotBeCalled

from ecs_gitops.apply import apply
from ecs_gitops.engine import Status, preview, reconcile_once
from ecs_gitops.errors import AwsError
from ecs_gitops.events import Trigger
from ecs_gitops.plan import CreateService, PendingRevision, RegisterTaskDefinition, UpdateService
from ecs_gitops.store import BadImage, ReleaseState, applied_key, attempted_key, bad_image_key

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _run(env: Any, cloud: FakeCloud, store: Any = None, **kwargs: Any) -> Any:
    kwargs.setdefault("trigger", Trigger.PUSH)
    return reconcile_once(env, cloud, store=store, revision="c1", clock=lambda: NOW, **kwargs)


def test_first_apply_creates_everything_and_records_each_release() -> None:
    cloud, store = FakeCloud(), FakeStore()
    done = _run(environment(), cloud, store)
    assert done.status is Status.APPLIED
    assert [c[0] for c in cloud.writes()][:2] == ["register_task_definition", "create_service"]
    assert {r.service: r.deployment_id for r in done.releases} == {
        "web": "ecs-svc/1", "api": "ecs-svc/2"}
    assert {r.outcome for r in store.release_log} == {ReleaseState.IN_PROGRESS}
    assert store.values[attempted_key("production")] == "c1"
    assert store.values[applied_key("production")] == "c1"
    assert _run(environment(), cloud, store).status is Status.IN_SYNC


def test_the_preflight_runs_before_the_first_write() -> None:
    cloud = FakeCloud(missing=["image web:aaa111 is not in ECR"])
    done = _run(environment(), cloud, FakeStore())
    assert done.status is Status.PREFLIGHT_FAILED
    assert done.missing == ("image web:aaa111 is not in ECR",)
    assert cloud.writes() == []


@pytest.mark.parametrize("answer", [True, False])
def test_the_operator_is_asked_after_the_preflight(answer: bool) -> None:
    cloud = FakeCloud()
    asked: list[int] = []

    def confirm(plan: Any) -> bool:
        assert [c[0] for c in cloud.calls] == ["observe", "preflight"]
        asked.append(len(plan.actions))
        return answer

    done = _run(environment(), cloud, confirm=confirm, trigger=Trigger.OPERATOR)
    assert asked == [6]
    assert done.status is (Status.APPLIED if answer else Status.DECLINED)
    assert bool(cloud.writes()) is answer


def test_dry_run_checks_everything_and_calls_nothing_that_writes() -> None:
    cloud = FakeCloud()
    seen: list[str] = []
    done = _run(environment(), cloud, FakeStore(), dry_run=True,
                on_action=lambda a: seen.append(type(a).__name__))
    assert done.status is Status.DRY_RUN
    assert cloud.writes() == []
    assert [c[0] for c in cloud.calls] == ["observe", "preflight"]
    assert len(seen) == 6


def test_without_a_store_nothing_is_held_back_or_recorded() -> None:
    done = _run(environment(), FakeCloud(), None)
    assert done.status is Status.APPLIED
    assert len(done.releases) == 2  # still reported to the caller


def test_the_schedule_only_reports_drift_when_self_heal_is_off() -> None:
    cloud = FakeCloud()
    env = environment(selfHeal=False)
    assert _run(env, cloud, trigger=Trigger.SCHEDULE).status is Status.DRIFT_REPORTED
    assert cloud.writes() == []
    assert _run(env, cloud, trigger=Trigger.PUSH).status is Status.APPLIED


def test_a_known_bad_image_is_held_back_and_said_so() -> None:
    cloud, store = FakeCloud(), FakeStore()
    _run(environment(), cloud, store)
    env = with_service(environment(), "api", image={"repository": "api", "tag": "bad222"})
    store.mark_bad_image(bad_image_key("production", "api", "bad222"),
                         BadImage("ecs-svc/7", at="2026-11-30T01:00:00+00:00", reason="boom"))
    seen = preview(env, cloud, store=store)
    assert seen.status is Status.IN_SYNC
    assert [(h.service, h.pinned, h.running) for h in seen.held_back] == [
        ("api", "bad222", "aaa111")]
    assert "ecs-svc/7 at 2026-11-30T01:00:00+00:00: boom" in seen.held_back[0].describe()
    assert preview(env, cloud, store=None).status is Status.PLANNED  # no store: no memory


def test_refused_roles_change_nothing() -> None:
    cloud = FakeCloud()
    done = _run(environment(), cloud, allowed_roles=frozenset({"arn:aws:iam::1:role/other"}))
    assert done.status is Status.REFUSED
    assert len(done.refused_roles) == 2
    assert cloud.writes() == []


def test_a_failure_half_way_keeps_the_releases_already_recorded() -> None:
    cloud, store = FakeCloud(), FakeStore()
    calls = {"n": 0}
    original = cloud.create_service

    def second_fails(inputs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise AwsError("CreateService", "ThrottlingException", "slow down", transient=True)
        return original(inputs)

    cloud.create_service = second_fails  # type: ignore[method-assign]
    with pytest.raises(AwsError):
        _run(environment(), cloud, store)
    assert [r.service for r in store.release_log] == ["web"]
    assert applied_key("production") not in store.values
    assert store.values[attempted_key("production")] == "c1"


def test_apply_substitutes_the_revision_registered_earlier_in_the_plan() -> None:
    cloud = FakeCloud()
    plan = preview(environment(), cloud, store=None).plan
    creates = [a for a in plan.actions if isinstance(a, CreateService)]
    assert all(isinstance(a.task_definition, PendingRevision) for a in creates)
    seen: list[tuple[str, str | None]] = []
    result = apply(plan, cloud, on_applied=lambda a, d, _r: seen.append((type(a).__name__, d)))
    assert cloud.services["web"]["taskDefinition"].endswith("task-definition/web:1")
    assert result.registered == {"web": cloud.services["web"]["taskDefinition"],
                                 "api": cloud.services["api"]["taskDefinition"]}
    assert ("CreateService", "ecs-svc/1") in seen
    assert result.deployments == {"web": "ecs-svc/1", "api": "ecs-svc/2"}


def test_apply_dry_run_calls_nothing() -> None:
    plan = preview(environment(), FakeCloud(), store=None).plan
    result = apply(plan, MustNotBeCalled("cloud"), dry_run=True)  # type: ignore[arg-type]
    assert result.dry_run
    assert len(result.applied) == len(plan.actions)


def test_an_update_carries_only_what_differs() -> None:
    cloud = FakeCloud()
    _run(environment(), cloud)
    changed = with_service(environment(), "api", image={"repository": "api", "tag": "new333"})
    plan = preview(changed, cloud, store=None).plan
    kinds = [type(a) for a in plan.actions]
    assert kinds == [RegisterTaskDefinition, UpdateService]
    update = plan.actions[1]
    assert isinstance(update, UpdateService)
    assert update.fields == {}
    assert update.task_definition == PendingRevision("api")


def test_a_service_not_marked_as_ours_is_refused_before_the_first_write() -> None:
    cloud = FakeCloud()
    _run(environment(), cloud)
    cloud.services["api"]["tags"] = {}  # created or re-tagged outside ecs-gitops
    changed = with_service(environment(), "api", image={"repository": "api", "tag": "n3"})
    writes = len(cloud.writes())
    done = _run(changed, cloud, FakeStore())
    assert done.status is Status.PREFLIGHT_FAILED
    assert done.plan.unmarked == ("api",)
    assert any("import --cluster dbscluster -s api --environment production --mark" in m
               for m in done.missing), done.missing
    assert len(cloud.writes()) == writes
