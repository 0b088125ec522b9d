"""Every field of the model, perturbed in turn, changes the rendered input and the plan.

ecspresso's diff_test idea, over the whole model: a field that render drops, or that
normalise erases, shows up here as a perturbation that changes nothing. The fields
are walked from the generated ECS models (botocore's), so a new ECS field is covered
by this test the day it is generated.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from typing import Any

import pytest
from builders import ACCOUNT, REFS, echoed
from pydantic import BaseModel

from ecs_gitops.canonical import SERVICE, TASK_DEFINITION, Node
from ecs_gitops.desired import Environment, ecs_api
from ecs_gitops.plan import plan
from ecs_gitops.render import render_service_fields, render_task_definition

BASE_SERVICE: dict[str, Any] = {
    "name": "app", "image": {"repository": "app", "tag": "abc1234"},
    "cpu": 1024, "memory": 2048, "port": 8080,
    "sidecars": [{"name": "side", "image": "public.ecr.aws/x/side:1"}],
}
# Values that a generic sample would get wrong because another rule constrains them.
OVERRIDES: dict[str, Any] = {
    "sidecars[0].dependsOn[].containerName": "app",
    "sidecars[0].name": "other",
    "sidecars[0].essential": False,
    "sidecars[0].portMappings[].containerPort": 9090,
    "sidecars[0].cpu": 1,
    "sidecars[0].memory": 64,
    "sidecars[0].memoryReservation": 32,
    "taskDefinition.networkMode": "host",
    "taskDefinition.requiresCompatibilities": ["EXTERNAL"],
    "service.serviceConnectConfiguration.namespace":
        f"arn:aws:servicediscovery:us-east-1:{ACCOUNT}:namespace/ns-0123",
    "service.schedulingStrategy": "DAEMON",
    "service.enableECSManagedTags": False,  # ecs-gitops sends true unless told otherwise
    "service.propagateTags": "NONE",  # ecs-gitops sends SERVICE unless told otherwise
    "service.availabilityZoneRebalancing": "DISABLED",  # ECS: ENABLED when not sent
    "service.networkConfiguration.awsvpcConfiguration.subnets": ["subnet-0a"],
}
# Leaves whose perturbation ECS refuses before anything could change (left out).
SKIP = {
    "sidecars[0].image": "required: set in every case",
    "taskDefinition.proxyConfiguration.type": "one value only (APPMESH), ECS's default",
}


def _args(annotation: Any) -> tuple[Any, ...]:
    return typing.get_args(annotation)


def _inner(annotation: Any) -> Any:
    args = [a for a in _args(annotation) if a is not type(None)]
    return args[0] if typing.get_origin(annotation) in (typing.Union, __import__("types").UnionType) \
        else annotation


def sample(annotation: Any, path: str, *, avoid: Any = None) -> Any:
    """A valid value of `annotation`, different from `avoid` (ECS's default)."""
    if path in OVERRIDES:
        return OVERRIDES[path]
    annotation = _inner(annotation)
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return next(c for c in _args(annotation) if c != avoid)
    if origin is tuple:
        return [sample(_args(annotation)[0], f"{path}[]")]
    if origin is dict:
        return {"k": "v"}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        value = minimal(annotation, path)
        if not value:  # no required member: set the first one, or it means nothing
            name, info = next(iter(annotation.model_fields.items()))
            value[info.alias or name] = sample(info.annotation, f"{path}.{info.alias or name}")
        return value
    if annotation is bool:
        return not avoid if isinstance(avoid, bool) else True
    if annotation is int:
        return (avoid + 1) if isinstance(avoid, int) else 7
    if annotation is float:
        return 1.5
    return "x-perturbed"


def minimal(model: type[BaseModel], path: str) -> dict[str, Any]:
    """The smallest valid mapping of `model`: its required members only."""
    return {info.alias or name: sample(info.annotation, f"{path}.{info.alias or name}")
            for name, info in model.model_fields.items() if info.is_required()}


def leaves(model: type[BaseModel], path: str, node: Node | None) -> Iterator[tuple[str, Any, Any]]:
    """(path, annotation, ECS default) of every member, depth first."""
    for name, info in model.model_fields.items():
        alias = info.alias or name
        child = node.members.get(alias) if node is not None else None
        default = child.rule.default if child is not None else None
        yield f"{path}.{alias}", info.annotation, default
        inner = _inner(info.annotation)
        if typing.get_origin(inner) is tuple:
            inner = _args(inner)[0]
            child = child.item if child is not None else None
            sub = f"{path}.{alias}[]"
        else:
            sub = f"{path}.{alias}"
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            yield from leaves(inner, sub, child)


def _model_field(model: type[BaseModel], alias: str) -> Any:
    return next(i.annotation for n, i in model.model_fields.items() if (i.alias or n) == alias)


def put(root: dict[str, Any], model: type[BaseModel], path: list[str], value: Any,
        at: str = "") -> None:
    """Set `value` at `path` under `root` (a mapping of `model`), creating each structure
    on the way with its required members (so that it validates)."""
    head, rest = path[0], path[1:]
    is_list = head.endswith("[]")
    alias = head.removesuffix("[]")
    if not rest:
        root[alias] = value
        return
    inner = _inner(_model_field(model, alias))
    if typing.get_origin(inner) is tuple:
        inner = _args(inner)[0]
    prefix = f"{at}.{alias}" if at else alias
    if is_list:
        prefix += "[]"
    if is_list:
        items = root.setdefault(alias, [minimal(inner, prefix)])
        target = items[0]
    else:
        target = root.setdefault(alias, minimal(inner, prefix))
    put(target, inner, rest, value, prefix)


CONTAINER = TASK_DEFINITION.members["containerDefinitions"].item
CASES = sorted(
    [*leaves(ecs_api.ContainerDefinition, "sidecars[0]", CONTAINER),
     *leaves(ecs_api.TaskDefinitionFields, "taskDefinition", TASK_DEFINITION),
     *leaves(ecs_api.ServiceFields, "service", SERVICE)],
    key=lambda c: c[0])


def env_with(service: dict[str, Any]) -> Environment:
    return Environment.model_validate({
        "schemaVersion": 1, "environment": "production", "branch": "main",
        "region": "us-east-1", "cluster": "dbscluster", "services": [service]})


@pytest.mark.parametrize(("path", "annotation", "default"), CASES, ids=[c[0] for c in CASES])
def test_perturbing_a_field_changes_the_input_and_the_plan(path: str, annotation: Any,
                                                           default: Any) -> None:
    if path in SKIP:
        pytest.skip(SKIP[path])
    data: dict[str, Any] = {**BASE_SERVICE, "sidecars": [dict(BASE_SERVICE["sidecars"][0])]}
    base = env_with(data)
    data = {**BASE_SERVICE, "sidecars": [dict(BASE_SERVICE["sidecars"][0])]}
    block, *rest = path.split(".")
    if block == "sidecars[0]":
        put(data["sidecars"][0], ecs_api.ContainerDefinition, rest,
            sample(annotation, path, avoid=default), block)
    else:
        model = ecs_api.TaskDefinitionFields if block == "taskDefinition" else ecs_api.ServiceFields
        put(data.setdefault(block, {}), model, rest, sample(annotation, path, avoid=default),
            block)
    changed = env_with(data)
    service, was = changed.services[0], base.services[0]
    td_changed = render_task_definition(service, changed, REFS) != \
        render_task_definition(was, base, REFS)
    svc_changed = render_service_fields(service, changed, REFS) != \
        render_service_fields(was, base, REFS)
    assert td_changed or svc_changed, f"{path}: the rendered input did not change"
    the_plan = plan(changed, echoed(base))
    assert not the_plan.empty, f"{path}: the plan did not change"
    member = path.split(".")[1].split("[")[0]
    text = the_plan.describe()
    assert member in text or "replace service" in text or (
        path == "sidecars[0].name" and "containers[other]" in text), text
