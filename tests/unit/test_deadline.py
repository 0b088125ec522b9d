"""The engine against a deadline, on fakes: it stops at a safe point (between services)
before the budget runs out, records every release on the way (in batches), marks the
clean stop, and a continuation resumes from what was left without registering anything
twice. Time is fake: every mutating call of the cloud takes one second."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from builders import environment
from fakes import FakeCloud, FakeStore

from ecs_gitops.deadline import Budget, Marks, ReleaseBook, Stopwatch
from ecs_gitops.engine import Status, reconcile_once
from ecs_gitops.errors import AwsError
from ecs_gitops.events import Trigger
from ecs_gitops.store import ReleaseState, applied_key, attempted_key, paused_key

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


class FakeTime:
    """An invocation's deadline on fake time: each mutating call takes `per_call` s."""

    def __init__(self, seconds: float, per_call: float = 1.0) -> None:
        self.now = 0.0
        self.end = seconds
        self.per_call = per_call

    def remaining(self) -> float:
        return max(0.0, self.end - self.now)

    def tick(self) -> None:
        self.now += self.per_call

    def restart(self, seconds: float) -> None:
        """A new invocation with `seconds` to run."""
        self.end = self.now + seconds


def many(n: int, tag: str = "v1") -> Any:
    return environment(services=[
        {"name": f"svc{i:02d}", "image": {"repository": "app", "tag": tag}, "cpu": 256,
         "memory": 512, "port": 80, "desiredCount": 1} for i in range(n)])


def _run(env: Any, cloud: FakeCloud, store: Any, **kwargs: Any) -> Any:
    kwargs.setdefault("trigger", Trigger.PUSH)
    kwargs.setdefault("revision", "c1")
    return reconcile_once(env, cloud, store=store, clock=lambda: NOW, **kwargs)


def _registered(cloud: FakeCloud) -> list[str]:
    return [c[1] for c in cloud.calls if c[0] == "register_task_definition"]


def test_a_run_stops_at_a_safe_point_before_its_deadline() -> None:
    time, store = FakeTime(10), FakeStore()
    cloud = FakeCloud(tick=time.tick)
    done = _run(many(10), cloud, store, budget=Budget(time.remaining, margin=2))
    # 2 s a service (register + create): 10 - 2 margin leaves room for 3 (the 4th might
    # not fit: 4 s left, 2 of them the margin, and a service takes 2)
    assert done.status is Status.PAUSED
    assert done.remaining == tuple(f"svc{i:02d}" for i in range(3, 10))
    assert time.now == 6
    # no service half-changed: each one reached is registered and created
    assert [c[0] for c in cloud.writes()] == ["register_task_definition", "create_service"] * 3
    # every service reached has its release, written before the stop
    assert sorted(r.service for r in store.release_log) == ["svc00", "svc01", "svc02"]
    assert store.values[paused_key("production")] == "c1"
    assert store.values[attempted_key("production")] == "c1"
    assert applied_key("production") not in store.values


def test_a_continuation_resumes_what_was_left_and_registers_nothing_twice() -> None:
    time, store = FakeTime(10), FakeStore()
    cloud = FakeCloud(tick=time.tick)
    env = many(10)
    first = _run(env, cloud, store, budget=Budget(time.remaining, margin=2))
    time.restart(100)
    cloud.observed.clear()
    done = _run(env, cloud, store, trigger=Trigger.CONTINUATION, resume=first.remaining,
                budget=Budget(time.remaining, margin=2))
    assert done.status is Status.APPLIED
    assert done.remaining == ()
    # only the services left were observed, without looking up the families' latest
    # revisions (the first run stopped cleanly: nothing registered and not deployed)
    assert cloud.observed == [(first.remaining, False)]
    assert sorted(_registered(cloud)) == sorted(f"svc{i:02d}" for i in range(10))
    assert len({r.service for r in store.release_log}) == 10
    assert store.values[applied_key("production")] == "c1"
    assert _run(env, cloud, store).status is Status.IN_SYNC


def test_a_continuation_can_pause_again_and_another_finishes() -> None:
    time, store = FakeTime(10), FakeStore()
    cloud = FakeCloud(tick=time.tick)
    env = many(12)
    done = _run(env, cloud, store, budget=Budget(time.remaining, margin=2))
    runs = 1
    while done.status is Status.PAUSED:
        time.restart(10)
        done = _run(env, cloud, store, trigger=Trigger.CONTINUATION, resume=done.remaining,
                    budget=Budget(time.remaining, margin=2))
        runs += 1
    assert done.status is Status.APPLIED
    assert runs == 4  # 3 services an invocation
    assert sorted(_registered(cloud)) == sorted(f"svc{i:02d}" for i in range(12))
    assert {r.outcome for r in store.release_log} == {ReleaseState.IN_PROGRESS}
    assert len(store.release_log) == 12


def test_a_continuation_replans_from_what_runs_now() -> None:
    """Level-triggered: a service changed (or fixed) by someone else in between is
    planned from what ECS shows, not from the first run's plan."""
    time, store = FakeTime(10), FakeStore()
    cloud = FakeCloud(tick=time.tick)
    env = many(6)
    first = _run(env, cloud, store, budget=Budget(time.remaining, margin=2))
    assert first.remaining == ("svc03", "svc04", "svc05")
    # Someone else created svc04 exactly as the file says meanwhile.
    other = FakeCloud()
    _run(environment(services=[s.model_dump(by_alias=True, exclude_none=True)
                               for s in env.services if s.name == "svc04"]), other, None)
    cloud.services["svc04"] = other.services["svc04"]
    cloud.task_definitions.update(other.task_definitions)
    time.restart(100)
    done = _run(env, cloud, store, resume=first.remaining, budget=Budget(time.remaining, 2))
    assert done.status is Status.APPLIED
    assert {a.service for a in done.plan.actions} == {"svc03", "svc05"}


def test_without_a_budget_nothing_stops() -> None:
    time = FakeTime(1)
    cloud = FakeCloud(tick=time.tick)
    done = _run(many(5), cloud, FakeStore())  # the CLI: no deadline
    assert done.status is Status.APPLIED
    assert time.now == 10


def test_releases_are_written_in_batches() -> None:
    store = FakeStore()
    writes: list[int] = []
    original = store.record_releases

    def counted(releases: list[Any]) -> None:
        writes.append(len(releases))
        original(releases)

    store.record_releases = counted  # type: ignore[method-assign]
    _run(many(30), FakeCloud(), store)
    assert writes == [12, 12, 6]  # one BatchWriteItem of 24 items each (2 per release)


def test_an_aws_error_half_way_still_writes_what_was_recorded() -> None:
    cloud, store = FakeCloud(), FakeStore()
    original = cloud.create_service
    calls = {"n": 0}

    def fifth_fails(inputs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 5:
            raise AwsError("CreateService", "ThrottlingException", "slow down", transient=True)
        return original(inputs)

    cloud.create_service = fifth_fails  # type: ignore[method-assign]
    with pytest.raises(AwsError):
        _run(many(8), cloud, store)
    assert len(store.release_log) == 4
    assert paused_key("production") not in store.values  # not a clean stop


@pytest.mark.parametrize(("marks", "looked_up"), [
    ({}, False),  # first run
    ({"attempted": "c0", "applied": "c0"}, False),  # the last run finished
    ({"attempted": "c1", "applied": "c0", "paused": "c1"}, False),  # it stopped cleanly
    ({"attempted": "c1", "applied": "c0"}, True),  # it was killed
    ({"attempted": "c1", "applied": "c0", "paused": ""}, True),  # killed after a resume
])
def test_latest_revisions_are_looked_up_only_after_a_kill(marks: dict[str, str],
                                                          looked_up: bool) -> None:
    cloud, store = FakeCloud(), FakeStore()
    keys = {"attempted": attempted_key, "applied": applied_key, "paused": paused_key}
    store.put_values({keys[k]("production"): v for k, v in marks.items()})
    _run(many(2), cloud, store)
    assert cloud.observed[0][1] is looked_up
    assert not store.values.get(paused_key("production"))  # this run is not a clean stop


def test_without_a_store_latest_revisions_are_always_looked_up() -> None:
    cloud = FakeCloud()
    _run(many(2), cloud, None)
    assert cloud.observed == [(None, True)]


def test_a_kill_between_register_and_update_is_repaired_without_a_second_revision() -> None:
    cloud, store = FakeCloud(), FakeStore()
    env = many(3)
    _run(env, cloud, store, revision="c0")
    changed = many(3, tag="v2")
    store.put_value(attempted_key("production"), "c1")  # a run of c1 started ...
    cloud.register_task_definition({**_spec_of(cloud, "svc01"), "containerDefinitions": [
        {**_spec_of(cloud, "svc01")["containerDefinitions"][0],
         "image": _spec_of(cloud, "svc01")["containerDefinitions"][0]["image"].replace(
             ":v1", ":v2")}]})  # ... registered svc01's new revision and died
    before = len(_registered(cloud))
    done = _run(changed, cloud, store)
    assert done.status is Status.APPLIED
    assert "svc01: reusing svc01:2" in " ".join(done.plan.notes)
    assert sorted(_registered(cloud)[before:]) == ["svc00", "svc02"]


def _spec_of(cloud: FakeCloud, service: str) -> dict[str, Any]:
    arn = cloud.services[service]["taskDefinition"]
    return dict(cloud.task_definitions[arn].spec)


def test_the_schedule_finishes_an_apply_that_stopped_even_without_self_heal() -> None:
    time, store = FakeTime(10), FakeStore()
    cloud = FakeCloud(tick=time.tick)
    env = many(6, tag="v1").model_copy(update={"self_heal": False})
    first = _run(env, cloud, store, budget=Budget(time.remaining, margin=2))
    assert first.status is Status.PAUSED
    # the continuation was lost; the scheduled reconcile of the same revision finishes
    done = _run(env, cloud, store, trigger=Trigger.SCHEDULE)
    assert done.status is Status.APPLIED
    # while drift (another revision, nothing interrupted) is only reported
    cloud.services["svc00"]["desiredCount"] = 3
    assert _run(env, cloud, store, trigger=Trigger.SCHEDULE).status is Status.DRIFT_REPORTED


def test_the_stopwatch_estimates_from_the_slowest_step() -> None:
    time = FakeTime(100)
    watch = Stopwatch(Budget(time.remaining, margin=10))
    assert watch.fits("service")
    for seconds in (1, 30, 2):
        watch.start("service")
        time.now += seconds
        watch.stop("service")
    assert watch.slowest["service"] == 30
    assert time.remaining() == 67
    assert watch.fits("service")  # 67 - 10 > 30
    time.now += 28
    assert not watch.fits("service")  # 39 - 10 < 30
    assert Stopwatch(None).fits("service")


def test_marks_say_what_the_last_run_left() -> None:
    assert not Marks().interrupted
    assert Marks("c1", "c0").killed
    assert not Marks("c1", "c0", "c1").killed
    assert Marks("c1", "c0", "c1").resuming("c1")
    assert not Marks("c1", "c0", "c1").resuming("c2")
    assert Marks("c1", "c0", "c1").begin("production", "c1") == {paused_key("production"): ""}
    assert Marks().begin("production", "c1") == {attempted_key("production"): "c1"}


def test_the_release_book_flushes_the_cloud_with_it() -> None:
    flushed: list[int] = []
    book = ReleaseBook(FakeStore(), on_flush=lambda: flushed.append(1), every=2)
    book.flush()
    assert flushed == [1]


def test_an_interrupted_apply_with_nothing_left_clears_the_marks() -> None:
    """A run of c1 killed, then the tip (c2) is what runs: nothing to apply, and the
    marks say so, so that later runs do not look for what a killed run left."""
    cloud, store = FakeCloud(), FakeStore()
    _run(many(2), cloud, store, revision="c0")
    store.put_value(attempted_key("production"), "c1")
    done = _run(many(2), cloud, store, revision="c2")
    assert done.status is Status.IN_SYNC
    assert Marks.read(store, "production") == Marks("c2", "c2", None)
    cloud.observed.clear()
    _run(many(2), cloud, store, revision="c2")
    assert cloud.observed == [(None, False)]
