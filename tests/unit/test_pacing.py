"""ECS's token buckets on our side (`ecs_gitops.aws.pacing`), on a fake clock: the
documented figures, the rate a category is paced to, and that one category waiting
or throttled never makes another wait."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecs_gitops.aws.pacing import ECS_CATEGORIES, Pacer, Rate, TokenBucket, ecs_category


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _pacer(t: FakeTime, rates: dict[str, Rate] | None = None) -> Pacer:
    return Pacer(rates, reserve=0, clock=t.clock, sleep=t.sleep, wall=t.clock)


def test_the_documented_buckets_of_the_actions_we_call() -> None:
    # "Request throttling for the Amazon ECS API", Request Token Bucket Sizes and Refill Rates
    expected = {"RegisterTaskDefinition": (20, 1), "DescribeTaskDefinition": (50, 20),
                "UpdateService": (50, 5), "CreateService": (50, 5), "DeleteService": (50, 5),
                "DescribeServices": (100, 20), "ListServices": (100, 20)}
    for action, (burst, rate) in expected.items():
        category = ecs_category(action)
        assert category is not None, action
        assert ECS_CATEGORIES[category][0] == Rate(burst, rate), action
    assert ecs_category("DescribeScalableTargets") is None  # not ECS: not paced here


def test_a_category_is_paced_to_its_burst_then_its_rate() -> None:
    t = FakeTime()
    pacer = _pacer(t)
    start = t.now
    for _ in range(120):
        pacer.wait("RegisterTaskDefinition")
    # 20 at once (the burst), then one a second: the 120th goes out 100 s later
    assert t.now - start == pytest.approx(100.0)
    assert pacer.stats["task-definition-modify"].requests == 120
    assert pacer.stats["task-definition-modify"].waited == pytest.approx(100.0)


def test_a_waiting_category_never_delays_another() -> None:
    t = FakeTime()
    pacer = _pacer(t)
    for _ in range(20):
        pacer.wait("RegisterTaskDefinition")  # the burst used up
    assert pacer.wait_time("RegisterTaskDefinition") == pytest.approx(1.0)
    for _ in range(100):  # service reads have a bucket of their own
        assert pacer.wait("DescribeServices") == 0.0
    for _ in range(50):
        assert pacer.wait("UpdateService") == 0.0
    assert t.slept == []


def test_a_throttle_empties_only_its_category() -> None:
    t = FakeTime()
    pacer = _pacer(t)
    pacer.throttled("UpdateService")
    assert pacer.wait_time("UpdateService") == pytest.approx(0.2)  # 5 a second
    assert pacer.wait_time("RegisterTaskDefinition") == 0.0
    assert pacer.wait_time("DescribeServices") == 0.0
    assert pacer.stats["service-modify"].throttled == 1


def test_a_reserve_keeps_a_token_for_jitter() -> None:
    t = FakeTime()
    pacer = Pacer(reserve=1, clock=t.clock, sleep=t.sleep, wall=t.clock)
    for _ in range(19):
        assert pacer.wait("RegisterTaskDefinition") == 0.0
    assert pacer.wait("RegisterTaskDefinition") == pytest.approx(1.0)


def test_unpaced_operations_never_wait() -> None:
    t = FakeTime()
    pacer = _pacer(t)
    for _ in range(1000):
        assert pacer.wait("BatchWriteItem") == 0.0


def test_the_state_travels_to_the_next_invocation_refilled_since() -> None:
    t = FakeTime()
    first = _pacer(t)
    for _ in range(20):
        first.wait("RegisterTaskDefinition")
    state = json.loads(json.dumps(first.state()))  # as it travels in an event
    t.now += 5  # the continuation starts 5 s later, in another container
    second = _pacer(t)
    assert second.buckets["task-definition-modify"].tokens == 20  # a fresh one starts full
    second.restore(state)
    assert second.buckets["task-definition-modify"].tokens == pytest.approx(5.0)
    fresh = _pacer(t)
    fresh.restore({"task-definition-modify": [0.0, t.now]})
    assert fresh.wait_time("RegisterTaskDefinition") == pytest.approx(1.0)


@pytest.mark.parametrize("state", [
    {"task-definition-modify": "x"}, {"task-definition-modify": [1]}, {"nope": [1, 2]},
    {"task-definition-modify": [0, 10**12]},  # from the future
])
def test_a_malformed_state_is_ignored(state: dict[str, Any]) -> None:
    t = FakeTime()
    pacer = _pacer(t)
    pacer.restore(state)
    assert pacer.buckets["task-definition-modify"].tokens == 20


def test_rates_are_configurable() -> None:
    pacer = Pacer.from_environment({"PACING": '{"task-definition-modify": [40, 2]}',
                                    "PACING_SCALE": "10"})
    assert pacer.rates["task-definition-modify"] == Rate(40, 20)
    assert pacer.rates["service-modify"] == Rate(50, 50)
    with pytest.raises(ValueError, match="PACING"):
        Pacer.from_environment({"PACING": '{"nope": [1, 1]}'})
    with pytest.raises(ValueError, match="PACING_SCALE"):
        Pacer.from_environment({"PACING_SCALE": "0"})
    with pytest.raises(ValueError, match="JSON object"):
        Pacer.from_environment({"PACING": "[1, 2]"})


@given(st.lists(st.floats(min_value=0, max_value=3, allow_nan=False), min_size=1, max_size=200),
       st.integers(min_value=1, max_value=60), st.floats(min_value=0.5, max_value=30))
def test_no_window_ever_exceeds_what_the_bucket_allows(gaps: list[float], burst: int,
                                                       rate: float) -> None:
    """Property: requests sent when the bucket says so never take more than
    burst + rate * T tokens in any window of T seconds (what ECS admits)."""
    t = FakeTime()
    bucket = TokenBucket(Rate(burst, rate), clock=t.clock)
    sent: list[float] = []
    for gap in gaps:
        t.now += gap
        delay = bucket.reserve()
        t.now += delay
        sent.append(t.now)
    for i, begin in enumerate(sent):
        for j in range(i, len(sent)):
            window = sent[j] - begin
            assert j - i + 1 <= burst + rate * window + 1e-6
