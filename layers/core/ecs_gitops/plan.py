"""(desired, actual) -> Plan: a purely computational function with no side effects.

A plan is an ordered tuple of frozen actions. For each service, in file order:
register a task definition (only when the rendered one differs from both the
running one and the family's latest revision), create or update the service
(UpdateService carries only the fields that differ), then the scalable target and
the scaling policy. Where autoscaling is configured it owns `desiredCount`, so the
plan manages min/max and the policy and never the count. Services found in the
cluster but absent from the file are reported; only those tagged as this
environment's are deleted, and only when the file says `prune: true`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ecs_gitops.actual import EnvironmentSnapshot, ServiceSnapshot, TaskDefinitionSnapshot
from ecs_gitops.canonical import SERVICE, TASK_DEFINITION, Update
from ecs_gitops.desired.model import Environment, Service
from ecs_gitops.diff import DiffItem, diff
from ecs_gitops.render import (
    ENVIRONMENT_TAG,
    MANAGED_BY_TAG,
    create_service_input,
    normalize_service_fields,
    register_task_definition_input,
    render_service_fields,
    render_task_definition,
)
from ecs_gitops.scaling import (
    normalize_policy_config,
    policy_name,
    put_policy_input,
    resource_id,
    scalable_target_input,
)

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class PendingRevision:
    """The revision of `family` that an earlier action of the same plan registers."""

    family: str

    def __str__(self) -> str:
        return f"{self.family}:(new)"


TaskDefinitionRef = str | PendingRevision


def _short(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class RegisterTaskDefinition:
    """Register a new revision of `family` (RegisterTaskDefinition with `inputs`)."""

    service: str
    family: str
    spec: Mapping[str, Any]  # canonical, what the changes are computed on
    changes: tuple[DiffItem, ...]
    previous: str | None = None  # label of the running revision, None on first deploy
    inputs: Mapping[str, Any] | None = None  # the exact kwargs; None: send `spec`

    def describe(self) -> list[str]:
        """The plan lines of this action: a summary when new, else field changes."""
        if self.previous is None:
            containers = self.spec.get("containerDefinitions") or [{}]
            main = next((c for c in containers if c.get("name") == self.service), containers[0])
            ports = ", ".join(str(p.get("containerPort")) for c in containers
                              for p in c.get("portMappings", ()))
            lines = [
                f"+ register task definition {self.family} (first revision)",
                f"    image {main.get('image')}",
                f"    cpu {self.spec.get('cpu')}, memory {self.spec.get('memory')} MiB, "
                f"port {ports or 'none'}, {len(main.get('environment', ()))} environment "
                f"variables, {len(main.get('secrets', ()))} secrets",
            ]
            lines += [f"    container {c.get('name')}: {c.get('image')}"
                      for c in containers if c is not main]
            return lines
        lines = [f"+ register task definition {self.family} (replaces {self.previous})"]
        lines += [f"    {c.describe()}" for c in self.changes]
        return lines


@dataclass(frozen=True, slots=True)
class CreateService:
    """CreateService of a service the file has and the cluster does not.

    `inputs` are CreateService's keyword arguments (ECS API names) without the task
    definition, which is registered first (`task_definition`).
    """
    service: str
    inputs: Mapping[str, Any]
    task_definition: TaskDefinitionRef

    def describe(self) -> list[str]:
        """`+ create service NAME` and its task definition, count and placement."""
        i = self.inputs
        placement = ", ".join(
            f"{p['type']}({p['field']})" if "field" in p else p["type"]
            for p in i.get("placementStrategy", ())
        ) or "none"
        return [
            f"+ create service {self.service}",
            f"    task definition {_short(str(self.task_definition))}, desired count "
            f"{i['desiredCount']}, placement {placement}",
        ]


@dataclass(frozen=True, slots=True)
class UpdateService:
    """UpdateService with the fields that differ; tag changes by Tag/UntagResource."""

    service: str
    cluster: str
    changes: tuple[DiffItem, ...]
    task_definition: TaskDefinitionRef | None  # None: the definition does not change
    fields: Mapping[str, Any]  # the UpdateService fields that differ, besides taskDefinition
    arn: str = ""  # the service's ARN, for TagResource/UntagResource
    tags_set: Mapping[str, str] = field(default_factory=dict)  # key -> new value
    tags_removed: tuple[str, ...] = ()

    def describe(self) -> list[str]:
        """`~ update service NAME` and one line per changed field."""
        lines = [f"~ update service {self.service}"]
        lines += [f"    {c.describe()}" for c in self.changes]
        return lines


@dataclass(frozen=True, slots=True)
class ReplaceService:
    """Delete the service and create it again: a change UpdateService cannot make.

    Applied only when `allowed` (the file says `replace: true` for the service) or the
    operator passes `--allow-replace`; otherwise apply refuses before its first write."""

    service: str
    cluster: str
    reasons: tuple[str, ...]  # the fields UpdateService cannot change, with old -> new
    inputs: Mapping[str, Any]  # CreateService kwargs of the new service
    task_definition: TaskDefinitionRef
    running: int  # tasks that stop
    allowed: bool = False

    def describe(self) -> list[str]:
        """`-/+ replace service NAME`, why, and the interruption it causes."""
        lines = [f"-/+ replace service {self.service} (delete, then create again)"]
        lines += [f"    {r}: UpdateService cannot change it" for r in self.reasons]
        lines.append(f"    interruption: its {self.running} running task(s) stop and the "
                     "service is unavailable until the new service's tasks are running")
        if not self.allowed:
            lines.append("    not applied unless the service says `replace: true` or apply "
                         "runs with --allow-replace")
        return lines


@dataclass(frozen=True, slots=True)
class RegisterScalableTarget:
    """Application Auto Scaling RegisterScalableTarget of the service's desired count.

    `inputs` are its keyword arguments (MinCapacity, MaxCapacity, ...); `old` the
    registered (min, max), None when there is no scalable target yet.
    """
    service: str
    inputs: Mapping[str, Any]
    old: tuple[int, int] | None

    def describe(self) -> list[str]:
        """`+ autoscaling` for a new target, `~ autoscaling` with what changed otherwise."""
        new = (self.inputs["MinCapacity"], self.inputs["MaxCapacity"])
        if self.old is None:
            return [f"+ autoscaling {self.service}: min {new[0]}, max {new[1]}"]
        changed = [f"{name} {was} -> {now}" for name, was, now in
                   (("min", self.old[0], new[0]), ("max", self.old[1], new[1])) if was != now]
        return [f"~ autoscaling {self.service}: {', '.join(changed) or 'unchanged range'}"]


@dataclass(frozen=True, slots=True)
class PutScalingPolicy:
    """Application Auto Scaling PutScalingPolicy: a target-tracking policy on average CPU.

    `inputs` are its keyword arguments; `changes` the fields that differ from the
    policy in place (all with `old` None for a new policy).
    """
    service: str
    inputs: Mapping[str, Any]
    changes: tuple[DiffItem, ...]

    def describe(self) -> list[str]:
        """`+ scaling policy` for a new policy, `~ scaling policy` and its changes otherwise."""
        config = self.inputs["TargetTrackingScalingPolicyConfiguration"]
        if all(c.old is None for c in self.changes):
            return [f"+ scaling policy {self.inputs['PolicyName']}: keep average CPU near "
                    f"{config['TargetValue']:g}%"]
        lines = [f"~ scaling policy {self.inputs['PolicyName']}"]
        lines += [f"    {c.describe()}" for c in self.changes]
        return lines


@dataclass(frozen=True, slots=True)
class DeregisterScalableTarget:
    """DeregisterScalableTarget: the file no longer sets `scaling` for the service."""
    service: str
    resource_id: str

    def describe(self) -> list[str]:
        """`- autoscaling NAME: removed ...`."""
        return [f"- autoscaling {self.service}: removed (the file no longer sets scaling)"]


@dataclass(frozen=True, slots=True)
class DeleteService:
    """DeleteService of one of this environment's services no longer in the file
    (only with `prune: true`).
    """
    service: str
    cluster: str

    def describe(self) -> list[str]:
        """`- delete service NAME (prune ...)`."""
        return [f"- delete service {self.service} (prune: not in the desired state)"]


Action = (
    RegisterTaskDefinition
    | CreateService
    | UpdateService
    | ReplaceService
    | RegisterScalableTarget
    | PutScalingPolicy
    | DeregisterScalableTarget
    | DeleteService
)


@dataclass(frozen=True, slots=True)
class Plan:
    """What one reconcile would do to one environment's cluster, in apply order.

    `actions` are applied in order by `ecs_gitops.apply`; the other members are reported
    and never acted on. Made by `ecs_gitops.plan.plan`; printed by `describe`
    (the text of `ecs-gitops plan`) or `to_json` (`--output json`).
    """
    environment: str
    cluster: str
    actions: tuple[Action, ...]
    unmanaged: tuple[str, ...] = ()  # in the cluster, not ours: reported, never touched
    orphaned: tuple[str, ...] = ()  # ours, no longer in the file, kept (prune is off)
    notes: tuple[str, ...] = field(default=())
    # Target group ARN -> target type (instance, ip), as observe found them.
    target_types: Mapping[str, str] = field(default_factory=dict)
    # Services the plan changes that do not carry the tag marking them as ecs-gitops's
    # (`ecs-gitops:managed-by`): the controllers' role may not change them.
    unmarked: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """True when there is nothing to do (notes and warnings may remain)."""
        return not self.actions

    def describe(self) -> str:
        """The plan as text: a head line, each action's lines, notes, then warnings
        about unmanaged and orphaned services.
        """
        count = len(self.actions)
        head = (f"Plan for {self.environment} (cluster {self.cluster}): "
                + ("no changes" if not count else f"{count} change{'s' if count > 1 else ''}"))
        lines = [head]
        for action in self.actions:
            lines += action.describe()
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"! unmanaged service {n}: not in the desired state, left alone"
                  for n in self.unmanaged]
        lines += [f"! orphaned service {n}: this environment's, no longer in the file; "
                  "kept because prune is off" for n in self.orphaned]
        return "\n".join(lines)

    def to_json(self) -> JSON:
        """The plan as JSON-able data: environment, cluster, number of changes, and each
        action's type, service and text lines.
        """
        return {
            "environment": self.environment,
            "cluster": self.cluster,
            "changes": len(self.actions),
            "actions": [
                {"action": type(a).__name__, "service": a.service, "lines": a.describe()}
                for a in self.actions
            ],
            "unmanaged": list(self.unmanaged),
            "orphaned": list(self.orphaned),
            "notes": list(self.notes),
        }


def _task_definition(
    service: Service, env: Environment, actual: EnvironmentSnapshot,
    running: TaskDefinitionSnapshot | None, actions: list[Action], notes: list[str],
) -> TaskDefinitionRef:
    spec = render_task_definition(service, env, actual.refs)
    if running is not None and running.spec == spec:
        return running.arn
    family = service.family
    latest = actual.family_latest.get(family)
    if latest is not None and latest.spec == spec:
        if running is None or latest.arn != running.arn:
            notes.append(f"{service.ecs_name}: reusing {latest.label}, registered earlier "
                         "but not yet deployed")
        return latest.arn
    actions.append(RegisterTaskDefinition(
        service=service.ecs_name, family=family, spec=spec,
        changes=diff(running.spec if running else None, spec, TASK_DEFINITION),
        previous=running.label if running else None,
        inputs=register_task_definition_input(service, env, actual.refs),
    ))
    return PendingRevision(family)


def _service_update(
    service: Service, env: Environment, actual: EnvironmentSnapshot,
    current: ServiceSnapshot, td: TaskDefinitionRef,
) -> UpdateService | ReplaceService | None:
    wanted = render_service_fields(service, env, actual.refs)
    have = normalize_service_fields(current.raw_fields, manage_count="desiredCount" in wanted)
    for name, node in SERVICE.members.items():
        if node.rule.unset_any and name not in wanted:
            have.pop(name, None)  # left out of the file: ECS decides
    fields: dict[str, Any] = {}
    reasons: list[str] = []
    for name in sorted(wanted.keys() | have.keys()):
        new, old = wanted.get(name), have.get(name)
        if new == old:
            continue
        rule = SERVICE.members[name].rule
        if rule.update == Update.REPLACE:
            reasons.append(f"{name} {_brief(old)} -> {_brief(new)}")
        elif rule.update == Update.IN_PLACE:
            if new is None and rule.clear is None:
                reasons.append(f"{name} {_brief(old)} -> (none)")
            else:
                fields[name] = new if new is not None else rule.clear
    if reasons:
        return ReplaceService(
            service=service.ecs_name, cluster=env.cluster, reasons=tuple(reasons),
            inputs=create_service_input(service, env, actual.refs, str(td)),
            task_definition=td, running=current.running_count, allowed=service.replace)
    changes = [c for c in diff(have, wanted, SERVICE)]
    old_tags = {str(t.get("key")): t.get("value", "") for t in have.get("tags", ())}
    new_tags = {str(t.get("key")): t.get("value", "") for t in wanted.get("tags", ())}
    new_td: TaskDefinitionRef | None = None
    if td != current.task_definition:
        new_td = td
        changes.insert(0, DiffItem("taskDefinition", _short(current.task_definition),
                                   _short(str(td))))
    if not changes:
        return None
    return UpdateService(
        service=service.ecs_name, cluster=env.cluster, changes=tuple(changes),
        task_definition=new_td, fields=fields, arn=current.arn,
        tags_set={k: v for k, v in new_tags.items() if old_tags.get(k) != v},
        tags_removed=tuple(sorted(old_tags.keys() - new_tags.keys())))


def _brief(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, Mapping) and set(value) == {"type"}:
        return str(value["type"])
    return str(value) if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _scaling(service: Service, env: Environment, actual: EnvironmentSnapshot) -> list[Action]:
    current = actual.scaling.get(service.ecs_name)
    if service.scaling is None:
        if current is None:
            return []
        return [DeregisterScalableTarget(service.ecs_name, current.resource_id)]
    out: list[Action] = []
    target = scalable_target_input(service, env)
    old = (current.min, current.max) if current else None
    if old != (target["MinCapacity"], target["MaxCapacity"]):
        out.append(RegisterScalableTarget(service.ecs_name, target, old))
    policy = put_policy_input(service, env)
    wanted = policy["TargetTrackingScalingPolicyConfiguration"]
    have_raw = current.policies.get(policy_name(service)) if current else None
    have = normalize_policy_config(have_raw) if have_raw is not None else None
    if have != wanted:
        out.append(PutScalingPolicy(service.ecs_name, policy, diff(have, wanted)))
    return out


def plan(desired: Environment, actual: EnvironmentSnapshot) -> Plan:
    """The actions that make `actual` equal to `desired`. Pure: no I/O."""
    actions: list[Action] = []
    notes: list[str] = []
    for service in desired.services:
        current = actual.services.get(service.ecs_name)
        running = actual.task_definitions.get(current.task_definition) if current else None
        td = _task_definition(service, desired, actual, running, actions, notes)
        if current is None:
            actions.append(CreateService(
                service=service.ecs_name,
                inputs=create_service_input(service, desired, actual.refs, str(td)),
                task_definition=td,
            ))
        else:
            update = _service_update(service, desired, actual, current, td)
            if update is not None:
                actions.append(update)
        actions.extend(_scaling(service, desired, actual))

    wanted = {s.ecs_name for s in desired.services}
    unmanaged: list[str] = []
    orphaned: list[str] = []
    for name, svc in sorted(actual.services.items()):
        if name in wanted:
            continue
        owner = svc.tags.get(ENVIRONMENT_TAG)
        if owner is None:
            unmanaged.append(name)
        elif owner == desired.environment:
            if desired.prune:
                if name in actual.scaling:
                    actions.append(DeregisterScalableTarget(
                        name, resource_id(desired.cluster, name)))
                actions.append(DeleteService(name, desired.cluster))
            else:
                orphaned.append(name)
        # else: another environment's service sharing the cluster; not ours to report.
    changed = {a.service for a in actions if not isinstance(a, RegisterTaskDefinition
                                                            | CreateService)}
    unmarked = tuple(sorted(name for name in changed if name in actual.services
                            and MANAGED_BY_TAG not in actual.services[name].tags))
    return Plan(environment=desired.environment, cluster=desired.cluster,
                actions=tuple(actions), unmanaged=tuple(unmanaged),
                orphaned=tuple(orphaned), notes=tuple(notes),
                target_types=dict(actual.refs.target_types), unmarked=unmarked)
