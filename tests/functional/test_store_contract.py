"""The Store port's contract, run against both implementations: `DynamoStore` on the
embedded DynamoDB (the table as template.yaml defines it) and the unit tests'
`FakeStore`. What the unit tests and the crash harness prove on the fake holds on the
adapter production runs because both pass these same cases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from fakes import FakeStore

from ecs_gitops.errors import ClaimInProgressError
from ecs_gitops.store import (
    BadImage,
    ClaimStatus,
    Release,
    ReleaseState,
    Store,
    claimed,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["dynamodb", "fake"])
def store(request: pytest.FixtureRequest, aws: Any) -> Iterator[tuple[Store, Callable[[float], None]]]:
    clock = Clock()
    if request.param == "fake":
        fake = FakeStore(now=clock.now)

        def advance_fake(seconds: float) -> None:
            fake.now += seconds

        yield fake, advance_fake
        return
    from ecs_gitops.aws.dynamodb import DynamoStore

    ddb = aws.client("dynamodb")
    ddb.create_table(TableName="state", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                {"AttributeName": "sk", "KeyType": "RANGE"}])

    def advance(seconds: float) -> None:
        clock.now += seconds

    yield DynamoStore(aws, "state", clock=clock), advance


def test_a_claim_is_taken_once(store: Any) -> None:
    s, _ = store
    assert s.begin("k", in_progress_seconds=60) == (True, None)
    taken, standing = s.begin("k", in_progress_seconds=60)
    assert taken is False
    assert standing.status is ClaimStatus.IN_PROGRESS


def test_a_completed_claim_stands_until_it_expires(store: Any) -> None:
    s, advance = store
    s.begin("k", in_progress_seconds=60)
    s.complete("k", "built", ttl=1000)
    advance(500)
    taken, standing = s.begin("k", in_progress_seconds=60)
    assert (taken, standing.status, standing.outcome) == (False, ClaimStatus.COMPLETED, "built")
    advance(600)
    assert s.begin("k", in_progress_seconds=60)[0] is True


def test_an_in_progress_claim_of_a_dead_worker_is_taken_over(store: Any) -> None:
    s, advance = store
    s.begin("k", in_progress_seconds=60)
    advance(30)
    assert s.begin("k", in_progress_seconds=60)[0] is False
    advance(31)
    taken, previous = s.begin("k", in_progress_seconds=60)
    assert taken is True
    assert previous.status is ClaimStatus.IN_PROGRESS  # the caller looks for its work


def test_claimed_semantics(store: Any) -> None:
    s, advance = store
    with pytest.raises(RuntimeError), claimed(s, "fails", seconds=60):
        raise RuntimeError("work failed")
    assert s.claim_record("fails") is None  # removed: a retry does the work

    class Killed(BaseException):
        pass

    with pytest.raises(Killed), claimed(s, "killed", seconds=60):
        raise Killed
    assert s.claim_record("killed").status is ClaimStatus.IN_PROGRESS
    with pytest.raises(ClaimInProgressError), claimed(s, "killed", seconds=60):
        pass
    advance(61)
    with claimed(s, "killed", seconds=60) as claim:
        assert claim.redo
        claim.outcome = "done at last"
    with claimed(s, "killed", seconds=60) as claim:
        assert claim.done_before
    with claimed(s, "later", seconds=60) as claim:
        claim.release()
    assert s.claim_record("later") is None


def _release(n: int, **kw: Any) -> Release:
    fields: dict[str, Any] = {
        "environment": "production", "service": "api", "commit": "c" * 40,
        "task_definition": f"arn:aws:ecs:us-east-1:1:task-definition/api:{n}",
        "image": f"api:{n}", "outcome": ReleaseState.IN_PROGRESS,
        "started_at": f"2026-11-30T10:00:0{n}.000000+00:00", "deployment_id": f"ecs-svc/{n}"}
    fields.update(kw)
    return Release(**fields)


def test_releases_history_and_latest(store: Any) -> None:
    s, _ = store
    first, second = _release(1), _release(2)
    s.record_releases([first])
    s.record_releases([second, _release(3, service="web")])
    assert [r.deployment_id for r in s.releases("production", "api")] == ["ecs-svc/2",
                                                                           "ecs-svc/1"]
    s.set_outcome(first, ReleaseState.SUPERSEDED, "newer")
    latest = s.latest_releases("production", ["api", "web", "none"])
    assert {k: (v.deployment_id, v.outcome) for k, v in latest.items()} == {
        "api": ("ecs-svc/2", ReleaseState.IN_PROGRESS),
        "web": ("ecs-svc/3", ReleaseState.IN_PROGRESS)}
    s.set_outcome(second, ReleaseState.HEALTHY, "ok")
    assert s.latest_releases("production", ["api"])["api"].outcome is ReleaseState.HEALTHY
    assert s.releases("production", "api")[1].outcome is ReleaseState.SUPERSEDED
    assert s.releases("production", "api")[0] == replace(second, outcome=ReleaseState.HEALTHY,
                                                         reason="ok")


def test_two_releases_in_one_clock_tick_are_both_kept(store: Any) -> None:
    s, _ = store
    s.record_releases([_release(1, started_at="2026-11-30T10:00:00.000000+00:00")])
    s.record_releases([_release(2, started_at="2026-11-30T10:00:00.000000+00:00")])
    assert len(s.releases("production", "api")) == 2


def test_values_bad_images_and_leases(store: Any) -> None:
    s, advance = store
    s.put_value("a", "1")
    assert s.get_values(["a", "b"]) == {"a": "1"}
    assert s.compare_and_set("a", "1", "2") is True
    assert s.compare_and_set("a", "1", "3") is False
    assert s.compare_and_set("new", None, "x") is True
    bad = BadImage("ecs-svc/9", at="2026-11-30T10:00:00+00:00", reason="boom")
    s.mark_bad_image("bad#1", bad)
    assert s.bad_image("bad#1") == bad
    assert s.bad_images(["bad#1", "bad#2"]) == {"bad#1": bad}
    assert s.acquire_lease("env#p", "me", seconds=60)
    assert not s.acquire_lease("env#p", "you", seconds=60)
    advance(61)
    assert s.acquire_lease("env#p", "you", seconds=60)
    s.release_lease("env#p", "me")  # not mine any more: nothing happens
    assert not s.acquire_lease("env#p", "me", seconds=60)
