"""The embedded cloud's ECS service deployments (ecs_gitops_tools.local.progressive), on
their own: traffic steps per strategy, bake times, PAUSE hooks (continue, roll back,
time-out with either action), alarms, and what ECS refuses."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecs_gitops_tools.local.progressive import (
    DeploymentError,
    ServiceDeployment,
    production_steps,
)


def machine(config: dict[str, Any]) -> ServiceDeployment:
    return ServiceDeployment(arn="arn:sd", deployment_id="ecs-svc/1", service_arn="arn:svc",
                             cluster_arn="arn:cluster", target_revision="td:2",
                             source_revision="td:1", config=config, minute=1.0, started=0.0)


def never(_names: Any) -> set[str]:
    return set()


@given(st.integers(min_value=30, max_value=1000), st.integers(min_value=0, max_value=1440))
def test_linear_steps_move_step_percent_each_and_end_at_100(tenths: int, bake: int) -> None:
    step = tenths / 10
    steps = production_steps({"strategy": "LINEAR", "linearConfiguration": {
        "stepPercent": step, "stepBakeTimeInMinutes": bake}})
    weights = [w for w, _ in steps]
    assert weights[-1] == 100.0
    assert weights == sorted(weights)
    before = [0.0, *weights[:-1]]
    assert all(abs(b - a - step) < 1e-6 for a, b in zip(before[:-1], weights[:-1],
                                                          strict=True))
    assert 0 < 100.0 - (weights[-2] if len(weights) > 1 else 0.0) <= step + 1e-6
    assert [b for _, b in steps] == [bake] * (len(steps) - 1) + [0]  # no bake after 100 %


def test_canary_and_blue_green_steps() -> None:
    assert production_steps({"strategy": "CANARY", "canaryConfiguration": {
        "canaryPercent": 10.0, "canaryBakeTimeInMinutes": 5}}) == [(10.0, 5), (100.0, 0)]
    assert production_steps({"strategy": "CANARY"}) == [(5.0, 10), (100.0, 0)]  # ECS defaults
    assert production_steps({"strategy": "BLUE_GREEN"}) == [(100.0, 0)]


def test_a_canary_bakes_then_moves_the_rest_then_bakes_again() -> None:
    d = machine({"strategy": "CANARY", "bakeTimeInMinutes": 2, "canaryConfiguration": {
        "canaryPercent": 10.0, "canaryBakeTimeInMinutes": 3}})
    d.advance(0.0, never)
    assert (d.stage, d.weights, d.status) == ("PRODUCTION_TRAFFIC_SHIFT", (90.0, 10.0),
                                              "IN_PROGRESS")
    d.advance(2.9, never)
    assert d.weights == (90.0, 10.0)
    d.advance(3.0, never)
    assert (d.stage, d.weights) == ("BAKE_TIME", (0.0, 100.0))
    d.advance(4.9, never)
    assert d.status == "IN_PROGRESS"
    d.advance(5.0, never)
    assert (d.status, d.stage) == ("SUCCESSFUL", "CLEAN_UP")
    assert [kind for kind, _ in d.events] == ["completed"]


def pause(action: str = "ROLLBACK", minutes: int = 5) -> dict[str, Any]:
    return {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0, "lifecycleHooks": [{
        "targetType": "PAUSE", "lifecycleStages": ["POST_SCALE_UP"],
        "timeoutConfiguration": {"timeoutInMinutes": minutes, "action": action}}]}


def test_a_pause_waits_and_continue_goes_on() -> None:
    d = machine(pause())
    d.advance(0.0, never)
    (hook,) = d.describe()["lifecycleHookDetails"]
    assert (d.stage, hook["status"], d.weights) == ("POST_SCALE_UP", "AWAITING_ACTION",
                                                    (100.0, 0.0))
    assert d.events[0][1]["eventName"] == "HOOK_AWAITING_ACTION"
    d.advance(4.0, never)
    assert d.status == "IN_PROGRESS"
    d.continue_hook(hook["hookId"], "CONTINUE", 4.0)
    d.advance(4.0, never)
    assert d.status == "SUCCESSFUL"
    with pytest.raises(DeploymentError):
        d.continue_hook(hook["hookId"], "CONTINUE", 5.0)  # no longer awaiting


@pytest.mark.parametrize(("action", "status"), [("ROLLBACK", "ROLLBACK_SUCCESSFUL"),
                                                ("CONTINUE", "SUCCESSFUL")])
def test_a_pause_times_out_with_its_action(action: str, status: str) -> None:
    d = machine(pause(action, minutes=5))
    d.advance(0.0, never)
    d.advance(4.99, never)
    assert d.status == "IN_PROGRESS"
    d.advance(5.0, never)
    assert d.status == status


def test_continue_with_rollback_and_an_unknown_hook() -> None:
    d = machine(pause())
    d.advance(0.0, never)
    with pytest.raises(DeploymentError, match="no lifecycle hook"):
        d.continue_hook("ecs-pause-nope", "CONTINUE", 0.0)
    d.continue_hook(d.hooks[0].hook_id, "ROLLBACK", 1.0)
    d.advance(1.0, never)
    assert d.status == "ROLLBACK_SUCCESSFUL"
    assert d.weights == (100.0, 0.0)
    with pytest.raises(DeploymentError, match="nothing to roll back"):
        d.request_rollback("again", 2.0)


def test_an_alarm_rolls_back_only_with_enable_and_rollback() -> None:
    config = {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 50.0,
                                                            "stepBakeTimeInMinutes": 1},
              "alarms": {"alarmNames": ["a", "b"], "enable": True, "rollback": True}}
    d = machine(config)
    d.advance(0.0, never)
    d.advance(0.5, lambda names: {"b"} & set(names))
    assert d.status == "ROLLBACK_SUCCESSFUL"
    assert d.describe()["alarms"]["triggeredAlarmNames"] == ["b"]
    watched = machine({**config, "alarms": {**config["alarms"], "rollback": False}})
    watched.advance(0.0, never)
    watched.advance(2.0, lambda names: {"b"})
    assert watched.status == "SUCCESSFUL"  # alarms without rollback only report


def test_lambda_hooks_are_recorded_not_invoked() -> None:
    d = machine({"strategy": "BLUE_GREEN", "lifecycleHooks": [{
        "targetType": "AWS_LAMBDA", "hookTargetArn": "arn:fn", "lifecycleStages": [
            "POST_SCALE_UP"]}]})
    d.advance(0.0, never)
    assert d.status == "SUCCESSFUL"
    assert "not invoked" in d.hooks[0].reason


def test_the_timeline_names_a_deployment_waiting_for_approval() -> None:
    from ecs_gitops_tools.local.timeline import describe_event

    event = {"source": "aws.ecs", "detail-type": "ECS Hook State Change",
             "resources": ["arn:aws:ecs:us-east-1:123456789012:service/dbscluster/api"],
             "detail": {"eventName": "HOOK_AWAITING_ACTION", "lifecycleStage": "POST_SCALE_UP"}}
    assert describe_event(event) == "deployment waits for approval at POST_SCALE_UP (api)"


def test_operations_are_appended_and_kept_newest() -> None:
    from fakes import FakeStore

    from ecs_gitops.store import Operation
    from ecs_gitops_tools import operations

    store = FakeStore()
    for n in range(operations.KEPT + 2):
        operations.remember(store, Operation("approve", "production", "api", f"arn:{n}",
                                             "alice@laptop", f"2026-11-30T21:{n // 60:02d}:"
                                             f"{n % 60:02d}+00:00", "hook"))
    operations.remember(store, Operation("abort", "production", "web", "arn:w", "bob@desk",
                                         "2026-11-30T22:00:00+00:00"))
    api = operations.recorded(store, "production", ["api"])
    assert len(api) == operations.KEPT
    assert api[-1].deployment == f"arn:{operations.KEPT + 1}"  # the oldest went first
    both = operations.recorded(store, "production", ["api", "web"])
    assert both[-1].describe() == "abort by bob@desk at 2026-11-30T22:00:00+00:00"
