"""One canonical form for what ecs-gitops sends and what ECS echoes, from one table.

`TASK_DEFINITION` and `SERVICE` are descriptors of the managed fields of each
resource: their members come from the generated ECS models
(`ecs_gitops.desired.ecs_api`, i.e. botocore's service model) and from
`ecs_gitops.managed`; `RULES` adds, per member, what ECS does to it on the way back.
`canonical` applies them; render, normalise and diff all go through it, so that two
definitions that mean the same thing compare equal and a field that is not managed
is an error (`UnmanagedFieldError`) rather than dropped.

The canonical form: no `None`, no empty list or mapping (ECS echoes `[]` for lists it
was not sent: aws-cli register-task-definition example; terraform-provider-aws treats
them as absent), ECS's defaults filled in, lists ECS may reorder sorted, values ECS
re-cases in ECS's case. Strings are otherwise kept byte for byte.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from ecs_gitops.desired import ecs_api
from ecs_gitops.errors import UnmanagedFieldError

__all__ = ["SERVICE", "TASK_DEFINITION", "Node", "Order", "Rule", "UnmanagedFieldError",
           "Update", "canonical"]

class Order(StrEnum):
    """Whether a list member's order carries meaning, for the comparison of desired and actual."""
    KEEP = "keep"  # order is meaning (command, entryPoint, dnsServers, placementStrategy)
    SORT = "sort"  # ECS may report the items in another order


class Update(StrEnum):
    """How a change of a service member reaches ECS: in place, by replacing the service, or
    by tags (UpdateService's members are a subset of CreateService's: ECS API reference).
    """
    IN_PLACE = "in-place"  # UpdateService changes it
    REPLACE = "replace"  # UpdateService cannot: the service is deleted and created again
    TAGS = "tags"  # TagResource / UntagResource


@dataclass(frozen=True, slots=True)
class Rule:
    """What ECS does to one member, and how ecs-gitops compares it."""

    default: Any = None  # what ECS reports when the member was not sent
    order: Order = Order.SORT  # for lists
    key: str | None = None  # identity of list items: diff paths read `path[key]`
    value: str | None = None  # with `key`: items are name/value pairs (`path.key: value`)
    upper: bool = False  # ECS reports the value upper-cased
    unset_any: bool = False  # left out of the file: ECS decides, not compared
    update: Update = Update.IN_PLACE
    clear: Any = None  # what UpdateService takes to remove it (lists: [])
    from_deployment: bool = False  # DescribeServices reports it on the PRIMARY deployment
    blank_is_absent: bool = False  # ECS drops an empty string (role ARNs)


@dataclass(frozen=True, slots=True)
class Node:
    """A descriptor: a structure (members), a list (item), a map, or a scalar."""

    kind: str  # "struct" | "list" | "map" | "scalar"
    rule: Rule = field(default_factory=Rule)
    members: Mapping[str, Node] = field(default_factory=dict)
    item: Node | None = None


def _node_of(annotation: Any) -> Node:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _node_of(inner[0])
    if origin is tuple:
        return Node("list", item=_node_of(args[0]))
    if origin is dict:
        return Node("map")
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _struct(annotation)
    return Node("scalar")


def _struct(model: type[BaseModel]) -> Node:
    members = {}
    for name, info in model.model_fields.items():
        alias = info.alias or name
        node = _node_of(info.annotation)
        default = ecs_api.PRIMITIVE_DEFAULTS.get((model.__name__, alias))
        if default is not None:
            node = replace(node, rule=replace(node.rule, default=default))
        members[alias] = node
    return Node("struct", members=members)


# Rules by path inside a resource ("a.b" for members, "a[].b" for members of list items).
# Sources: see tests/corpus/README.md, one line per rule.
TASK_RULES: dict[str, Rule] = {
    # botocore's RegisterTaskDefinition example sends taskRoleArn "" and gets none back.
    "taskRoleArn": Rule(blank_is_absent=True),
    "executionRoleArn": Rule(blank_is_absent=True),
    "networkMode": Rule(default="bridge"),  # Linux EC2's default mode (register docs)
    "requiresCompatibilities": Rule(default=("EC2",)),
    "containerDefinitions": Rule(key="name"),
    "containerDefinitions[].essential": Rule(default=True),  # ECS default: true
    "containerDefinitions[].portMappings[].protocol": Rule(default="tcp"),
    "containerDefinitions[].environment": Rule(key="name", value="value"),
    "containerDefinitions[].secrets": Rule(key="name", value="valueFrom"),
    "containerDefinitions[].mountPoints[].readOnly": Rule(default=False),
    "containerDefinitions[].volumesFrom[].readOnly": Rule(default=False),
    "containerDefinitions[].healthCheck.interval": Rule(default=30),
    "containerDefinitions[].healthCheck.timeout": Rule(default=5),
    "containerDefinitions[].healthCheck.retries": Rule(default=3),
    "containerDefinitions[].healthCheck.startPeriod": Rule(default=0),
    "containerDefinitions[].healthCheck.command": Rule(order=Order.KEEP),
    "containerDefinitions[].command": Rule(order=Order.KEEP),
    "containerDefinitions[].entryPoint": Rule(order=Order.KEEP),
    "containerDefinitions[].links": Rule(order=Order.KEEP),
    "containerDefinitions[].dnsServers": Rule(order=Order.KEEP),
    "containerDefinitions[].dnsSearchDomains": Rule(order=Order.KEEP),
    "containerDefinitions[].dockerSecurityOptions": Rule(order=Order.KEEP),
    "containerDefinitions[].environmentFiles": Rule(order=Order.KEEP),  # later files win
    "containerDefinitions[].credentialSpecs": Rule(order=Order.KEEP),
    "containerDefinitions[].ulimits": Rule(key="name"),
    "containerDefinitions[].dependsOn": Rule(key="containerName"),
    "containerDefinitions[].resourceRequirements": Rule(key="type"),
    "containerDefinitions[].versionConsistency": Rule(default="enabled"),
    "containerDefinitions[].logConfiguration.secretOptions": Rule(key="name", value="valueFrom"),
    "volumes": Rule(key="name"),
    "volumes[].efsVolumeConfiguration.rootDirectory": Rule(default="/"),
    "volumes[].efsVolumeConfiguration.transitEncryption": Rule(default="DISABLED"),
    "volumes[].efsVolumeConfiguration.authorizationConfig.iam": Rule(default="DISABLED"),
    "volumes[].dockerVolumeConfiguration.scope": Rule(default="task"),
    "tags": Rule(key="key", value="value"),
    "proxyConfiguration.type": Rule(default="APPMESH"),
    "proxyConfiguration.properties": Rule(key="name", value="value"),
    "enableFaultInjection": Rule(default=False),
}

SERVICE_RULES: dict[str, Rule] = {
    "deploymentConfiguration": Rule(default={}),
    "deploymentConfiguration.maximumPercent": Rule(default=200),
    "deploymentConfiguration.minimumHealthyPercent": Rule(default=100),
    "deploymentConfiguration.deploymentCircuitBreaker": Rule(
        default={"enable": False, "rollback": False}),
    "deploymentConfiguration.alarms.alarmNames": Rule(order=Order.SORT),
    "placementStrategy": Rule(order=Order.KEEP, clear=[]),  # evaluated in order
    "placementConstraints": Rule(clear=[]),
    "loadBalancers": Rule(clear=[]),
    "serviceRegistries": Rule(clear=[]),
    "capacityProviderStrategy": Rule(key="capacityProvider", clear=[]),
    "capacityProviderStrategy[].base": Rule(default=0),
    "capacityProviderStrategy[].weight": Rule(default=0),
    "networkConfiguration.awsvpcConfiguration.assignPublicIp": Rule(default="DISABLED"),
    "healthCheckGracePeriodSeconds": Rule(default=0),
    "propagateTags": Rule(default="NONE"),
    "schedulingStrategy": Rule(default="REPLICA", update=Update.REPLACE),
    "deploymentController": Rule(default={"type": "ECS"}, update=Update.REPLACE),
    "launchType": Rule(update=Update.REPLACE),
    "availabilityZoneRebalancing": Rule(unset_any=True),
    "tags": Rule(key="key", value="value", update=Update.TAGS),
    "serviceConnectConfiguration": Rule(from_deployment=True, clear={"enabled": False}),
    "serviceConnectConfiguration.services": Rule(key="portName"),
    "volumeConfigurations": Rule(from_deployment=True, key="name", clear=[]),
    "vpcLatticeConfigurations": Rule(from_deployment=True, clear=[]),
}


def _overlay(node: Node, rules: Mapping[str, Rule], path: str = "") -> Node:
    own = rules.get(path)
    rule = node.rule
    if own is not None:
        rule = replace(own, default=own.default if own.default is not None else rule.default)
    members = {name: _overlay(child, rules, f"{path}.{name}" if path else name)
               for name, child in node.members.items()}
    item = _overlay(node.item, rules, f"{path}[]") if node.item is not None else None
    return Node(node.kind, rule, members, item)


def _resource(extra: Mapping[str, Node], block: type[BaseModel], rules: Mapping[str, Rule]) -> Node:
    members = {**_struct(block).members, **extra}
    return _overlay(Node("struct", members=dict(sorted(members.items()))), rules)


TASK_DEFINITION = _resource({
    "containerDefinitions": Node("list", item=_struct(ecs_api.ContainerDefinition)),
    "cpu": Node("scalar"),
    "memory": Node("scalar"),
}, ecs_api.TaskDefinitionFields, TASK_RULES)

SERVICE = _resource({
    "desiredCount": Node("scalar"),
    "launchType": Node("scalar"),
    "loadBalancers": Node("list", item=_struct(ecs_api.LoadBalancer)),
    "deploymentConfiguration": _struct(ecs_api.DeploymentConfiguration),
    "deploymentController": _struct(ecs_api.DeploymentController),
}, ecs_api.ServiceFields, SERVICE_RULES)


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, (list, tuple, dict)) and not value)


def _sort_key(item: Any, key: str | None) -> Any:
    if key is not None and isinstance(item, Mapping):
        return (str(item.get(key, "")), json.dumps(item, sort_keys=True, default=str))
    return json.dumps(item, sort_keys=True, default=str)


def canonical(node: Node, value: Any, *, strict: bool, path: str = "", fill: bool = False) -> Any:
    """`value` (a rendered input or an ECS response part) in canonical form.

    strict: a member the descriptor does not know raises `UnmanagedFieldError` (what
    we render must be managed); otherwise it is dropped (ECS reports more than it
    was sent: ARNs, timestamps, members we do not manage). Returns None for absent.
    fill: an empty structure still gets its members' defaults (a default of `{}`)."""
    if _absent(value) and not (fill and isinstance(value, Mapping)):
        return None
    if node.rule.blank_is_absent and value == "":
        return None
    if node.kind == "struct":
        if not isinstance(value, Mapping):
            return value
        out: dict[str, Any] = {}
        for name in value:
            if name not in node.members and strict and not _absent(value[name]):
                raise UnmanagedFieldError(
                    f"{path + '.' if path else ''}{name} is not a managed field: it would "
                    "be dropped; add it to ecs_gitops.managed")
        for name, child in node.members.items():
            item = canonical(child, value.get(name), strict=strict,
                             path=f"{path}.{name}" if path else name)
            if item is None and child.rule.default is not None:
                item = canonical(child, child.rule.default, strict=False, path=name, fill=True)
            if item is not None:
                out[name] = item
        return out or None
    if node.kind == "list":
        if not isinstance(value, (list, tuple)):
            return value
        item_node = node.item or Node("scalar")
        items = [canonical(item_node, i, strict=strict, path=f"{path}[]") for i in value]
        items = [i for i in items if i is not None]
        if not items:
            return None
        if node.rule.order == Order.SORT:
            items.sort(key=lambda i: _sort_key(i, node.rule.key))
        return items
    if node.kind == "map":
        if not isinstance(value, Mapping):
            return value
        return dict(sorted(value.items()))
    if node.rule.upper and isinstance(value, str):
        return value.upper()
    if isinstance(value, tuple):
        return list(value)
    return value
