"""The planner, table-driven: each case is (desired, actual) -> golden plan text.

Set UPDATE_GOLDEN=1 to rewrite the golden files after an intended change, then
review the diff like any other code change.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from builders import ACCOUNT, REFS, applied, empty, environment, with_service

from ecs_gitops.actual import EnvironmentSnapshot, ServiceSnapshot, TaskDefinitionSnapshot
from ecs_gitops.desired import Environment
from ecs_gitops.plan import (
    CreateService,
    DeleteService,
    PendingRevision,
    RegisterScalableTarget,
    RegisterTaskDefinition,
    UpdateService,
    plan,
)
from ecs_gitops.render import render_task_definition

GOLDEN = Path(__file__).parent / "golden"

Case = Callable[[], tuple[Environment, EnvironmentSnapshot]]


def _create_from_nothing() -> tuple[Environment, EnvironmentSnapshot]:
    env = environment()
    return env, empty(env)


def _image_change_only() -> tuple[Environment, EnvironmentSnapshot]:
    before = environment()
    return with_service(before, "api", image={"repository": "api", "tag": "bbb222"}), applied(before)


def _count_without_autoscaling() -> tuple[Environment, EnvironmentSnapshot]:
    before = environment()
    return with_service(before, "api", desiredCount=4), applied(before)


def _range_with_autoscaling() -> tuple[Environment, EnvironmentSnapshot]:
    before = environment()
    return (with_service(before, "web", scaling={"min": 2, "max": 8, "targetCpu": 70}),
            applied(before))


def _placement_change() -> tuple[Environment, EnvironmentSnapshot]:
    before = environment()
    return with_service(before, "web", placement="binpack-memory"), applied(before)


def _environment_and_secret_change() -> tuple[Environment, EnvironmentSnapshot]:
    before = environment()
    after = with_service(before, "web", environment={"API_URL": "http://api:5000", "MODE": "canary"})
    after = with_service(after, "api", secrets={"DB_PASSWORD": "/simpleweb/db-password-v2",
                                                "DB_ENDPOINT": "/simpleweb/db-endpoint"})
    return after, applied(before)


def _unmanaged_service() -> tuple[Environment, EnvironmentSnapshot]:
    env = environment()
    stranger = ServiceSnapshot(
        name="legacy-worker", arn=f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/dbscluster/legacy",
        status="ACTIVE", task_definition="arn:aws:ecs:us-east-1:1:task-definition/legacy:9",
        desired_count=1, running_count=1, pending_count=0, raw_fields={}, tags={})
    return env, applied(env, extra={"legacy-worker": stranger})


def _orphan_pruned() -> tuple[Environment, EnvironmentSnapshot]:
    before = environment()
    data = before.model_dump(by_alias=True, exclude_none=True)
    data["services"] = [s for s in data["services"] if s["name"] == "web"]
    data["prune"] = True
    return Environment.model_validate(data), applied(before)


def _orphan_kept() -> tuple[Environment, EnvironmentSnapshot]:
    before = environment()
    data = before.model_dump(by_alias=True, exclude_none=True)
    data["services"] = [s for s in data["services"] if s["name"] == "web"]
    return Environment.model_validate(data), applied(before)


CASES: dict[str, Case] = {
    "create_from_nothing": _create_from_nothing,
    "image_change_only": _image_change_only,
    "count_without_autoscaling": _count_without_autoscaling,
    "range_with_autoscaling": _range_with_autoscaling,
    "placement_change": _placement_change,
    "environment_and_secret_change": _environment_and_secret_change,
    "unmanaged_service": _unmanaged_service,
    "orphan_pruned": _orphan_pruned,
    "orphan_kept": _orphan_kept,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_plan(name: str) -> None:
    desired, actual = CASES[name]()
    text = plan(desired, actual).describe() + "\n"
    golden = GOLDEN / f"{name}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def test_applied_state_plans_nothing() -> None:
    env = environment()
    assert plan(env, applied(env)).empty


def test_equal_but_for_order_plans_nothing() -> None:
    """ECS reports lists in its own order and fills defaults: still no change."""
    env = environment()
    raw = {}
    for service in env.services:
        spec = render_task_definition(service, env, REFS)
        container = dict(spec["containerDefinitions"][0])
        container["environment"] = list(reversed(container.get("environment", [])))
        container["secrets"] = list(reversed(container.get("secrets", [])))
        container.pop("essential")  # ECS's default is essential=true
        container["cpu"] = 0  # fields ECS adds that we do not manage
        container["mountPoints"] = []
        container["portMappings"] = [{"containerPort": p["containerPort"]}
                                     for p in container["portMappings"]]
        raw[service.ecs_name] = {
            **spec, "containerDefinitions": [container],
            "cpu": "0.25 vCPU" if spec["cpu"] == "256" else "0.5 vcpu",
            "memory": "0.5 GB" if spec["memory"] == "512" else "1GB",
            "revision": 3, "status": "ACTIVE", "compatibilities": ["EC2"],
            "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.ecr-auth"}],
        }
    assert plan(env, applied(env, raw_task_definitions=raw)).empty


def test_image_change_registers_one_revision_and_updates_only_the_definition() -> None:
    before = environment()
    after = with_service(before, "api", image={"repository": "api", "tag": "bbb222"})
    actions = plan(after, applied(before)).actions
    assert [type(a) for a in actions] == [RegisterTaskDefinition, UpdateService]
    update = actions[1]
    assert isinstance(update, UpdateService)
    assert update.task_definition == PendingRevision("api")
    assert update.fields == {}  # nothing but the definition changes


def test_autoscaling_owns_the_count() -> None:
    """With scaling, desiredCount is never sent, even when ECS runs another count."""
    env = environment()
    actual = applied(env)
    web = actual.services["web"]
    scaled = replace(web, desired_count=4, running_count=4,
                     raw_fields={**web.raw_fields, "desiredCount": 4})
    drifted = replace(actual, services={**actual.services, "web": scaled})
    assert plan(env, drifted).empty
    changed = with_service(env, "web", scaling={"min": 3, "max": 5, "targetCpu": 80})
    actions = plan(changed, drifted).actions
    assert [type(a) for a in actions] == [RegisterScalableTarget]


def test_create_sets_initial_count_from_scaling_min() -> None:
    env = environment()
    creates = [a for a in plan(env, empty(env)).actions if isinstance(a, CreateService)]
    assert {c.service: c.inputs["desiredCount"] for c in creates} == {"web": 2, "api": 2}
    assert all("ecs-gitops:environment" in str(c.inputs["tags"]) for c in creates)


def test_revision_registered_before_a_crash_is_reused() -> None:
    """RegisterTaskDefinition happened, UpdateService did not: no second revision."""
    before = environment()
    after = with_service(before, "api", image={"repository": "api", "tag": "bbb222"})
    spec = render_task_definition(after.service("api"), after, REFS)
    arn = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/api:4"
    actual = replace(applied(before),
                     family_latest={"api": TaskDefinitionSnapshot(arn, "api", 4, spec)})
    the_plan = plan(after, actual)
    assert [type(a) for a in the_plan.actions] == [UpdateService]
    update = the_plan.actions[0]
    assert isinstance(update, UpdateService)
    assert update.task_definition == arn
    assert "reusing api:4" in the_plan.describe()


def test_unmanaged_service_is_never_touched() -> None:
    desired, actual = _unmanaged_service()
    the_plan = plan(desired, actual)
    assert the_plan.unmanaged == ("legacy-worker",)
    assert all(a.service != "legacy-worker" for a in the_plan.actions)


def test_other_environments_services_are_ignored() -> None:
    prod = environment()
    dev_service = ServiceSnapshot(
        name="web-development", arn="arn:aws:ecs:us-east-1:1:service/dbscluster/web-development",
        status="ACTIVE", task_definition="td", desired_count=1, running_count=1,
        pending_count=0, raw_fields={}, tags={"ecs-gitops:environment": "development"})
    pruning = prod.model_copy(update={"prune": True})
    the_plan = plan(pruning, applied(prod, extra={"web-development": dev_service}))
    assert the_plan.empty
    assert not the_plan.unmanaged
    assert not any(isinstance(a, DeleteService) for a in the_plan.actions)


def test_plan_json_is_machine_readable() -> None:
    desired, actual = _image_change_only()
    data = plan(desired, actual).to_json()
    assert data["changes"] == 2
    assert [a["action"] for a in data["actions"]] == ["RegisterTaskDefinition", "UpdateService"]


def test_fargate_renders_awsvpc_networking() -> None:
    from ecs_gitops.render import create_service_input

    env = environment(launchType="FARGATE", network={
        "subnets": ["subnet-0b", "subnet-0a"], "securityGroups": ["sg-01"]})
    api = env.service("api")
    spec = render_task_definition(api, env, REFS)
    assert spec["networkMode"] == "awsvpc"
    assert spec["containerDefinitions"][0]["portMappings"][0]["hostPort"] == 5000
    inputs = create_service_input(api, env, REFS, "td")
    assert inputs["networkConfiguration"] == {"awsvpcConfiguration": {  # as written
        "subnets": ["subnet-0b", "subnet-0a"], "securityGroups": ["sg-01"],
        "assignPublicIp": "DISABLED"}}
    assert "placementStrategy" not in inputs  # Fargate takes no placement strategy
    assert plan(env, applied(env)).empty
