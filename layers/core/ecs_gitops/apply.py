"""Execute a plan through a port; `dry_run` is checked here and nowhere else.

The executor is the only place that turns actions into calls. A task definition
registered by an earlier action is substituted into the later CreateService or
UpdateService of the same service (`PendingRevision`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ecs_gitops.actual import TaskDefinitionSnapshot
from ecs_gitops.errors import ReplacementRefusedError
from ecs_gitops.plan import (
    Action,
    CreateService,
    DeleteService,
    DeregisterScalableTarget,
    PendingRevision,
    Plan,
    PutScalingPolicy,
    RegisterScalableTarget,
    RegisterTaskDefinition,
    ReplaceService,
    TaskDefinitionRef,
    UpdateService,
)


class CloudPort(Protocol):
    """The mutating calls `apply` needs; `ecs_gitops.aws.cloud.AwsCloud` implements them.

    Inputs are the exact API inputs the plan rendered (ECS's camelCase, Application
    Auto Scaling's PascalCase). Failures raise `ecs_gitops.errors.AwsError`."""

    def register_task_definition(self, spec: Mapping[str, Any]) -> TaskDefinitionSnapshot:
        """RegisterTaskDefinition; the new revision's snapshot."""

    def create_service(self, inputs: Mapping[str, Any]) -> str | None:
        """CreateService; the id of the deployment ECS started (None if not reported)."""

    def update_service(self, cluster: str, service: str, fields: Mapping[str, Any]
                       ) -> str | None:
        """UpdateService with only `fields`; the id of the PRIMARY deployment after it."""

    def delete_service(self, cluster: str, service: str) -> None:
        """DeleteService (forced: its tasks are stopped)."""

    def replace_service(self, cluster: str, service: str, inputs: Mapping[str, Any]
                        ) -> str | None:
        """DeleteService, wait until ECS reports it INACTIVE, CreateService with `inputs`;
        the new deployment's id."""

    def tag_service(self, arn: str, set_tags: Mapping[str, str],
                    remove: tuple[str, ...]) -> None:
        """TagResource for `set_tags`, UntagResource for `remove`, on the service `arn`."""

    def register_scalable_target(self, inputs: Mapping[str, Any]) -> None:
        """RegisterScalableTarget (creates or updates min/max)."""

    def put_scaling_policy(self, inputs: Mapping[str, Any]) -> None:
        """PutScalingPolicy (creates or updates)."""

    def deregister_scalable_target(self, resource_id: str) -> None:
        """DeregisterScalableTarget of an ECS service's DesiredCount."""


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What `apply` did.

    Attributes:
        plan: the plan applied.
        applied: the actions carried out (all of them, unless a call raised).
        registered: family -> ARN of each task definition registered on the way.
        deployments: ECS service name -> deployment id started by Create/UpdateService.
        dry_run: True when nothing was called.
    """

    plan: Plan
    applied: tuple[Action, ...]
    registered: Mapping[str, str] = field(default_factory=dict)
    deployments: Mapping[str, str] = field(default_factory=dict)
    dry_run: bool = False


def _resolve(ref: TaskDefinitionRef, registered: Mapping[str, str]) -> str:
    if isinstance(ref, PendingRevision):
        return registered.get(ref.family, str(ref))
    return ref


def refused_replacements(plan: Plan, *, allow_replace: bool) -> list[str]:
    """The replacements of `plan` that nobody allowed, as messages (empty: none)."""
    return [f"service {a.service} would be replaced ({'; '.join(a.reasons)}): set "
            "`replace: true` for it in the file or apply with --allow-replace"
            for a in plan.actions
            if isinstance(a, ReplaceService) and not (a.allowed or allow_replace)]


def apply(
    plan: Plan,
    cloud: CloudPort,
    *,
    dry_run: bool = False,
    allow_replace: bool = False,
    on_action: Callable[[Action], None] | None = None,
    on_applied: Callable[[Action, str | None, Mapping[str, str]], None] | None = None,
) -> ApplyResult:
    """Run the plan's actions in order; with `dry_run`, report them and call nothing.

    Args:
        plan: the plan to carry out.
        cloud: the mutating calls.
        dry_run: call nothing (the one place where dry run is decided).
        allow_replace: the operator allows every replacement in the plan (otherwise
            only those whose service says `replace: true`).
        on_action: called before each action (progress output).
        on_applied: called after each action with the deployment id it started (or
            None) and the task definitions registered so far (family -> ARN).

    Raises:
        ReplacementRefusedError: before the first call, when the plan replaces a service
            that neither the file nor `allow_replace` allows to be replaced.
        AwsError: from the first call that fails; later actions are not attempted.
    """
    refused = refused_replacements(plan, allow_replace=allow_replace)
    if refused and not dry_run:
        raise ReplacementRefusedError(refused)
    registered: dict[str, str] = {}
    deployments: dict[str, str] = {}
    applied: list[Action] = []
    for action in plan.actions:
        if on_action:
            on_action(action)
        if dry_run:
            applied.append(action)
            continue
        deployment: str | None = None
        if isinstance(action, RegisterTaskDefinition):
            inputs = action.inputs if action.inputs is not None else action.spec
            registered[action.family] = cloud.register_task_definition(inputs).arn
        elif isinstance(action, CreateService):
            inputs = dict(action.inputs)
            inputs["taskDefinition"] = _resolve(action.task_definition, registered)
            deployment = cloud.create_service(inputs)
        elif isinstance(action, UpdateService):
            fields = dict(action.fields)
            if action.task_definition is not None:
                fields["taskDefinition"] = _resolve(action.task_definition, registered)
            if fields:
                deployment = cloud.update_service(action.cluster, action.service, fields)
            if action.tags_set or action.tags_removed:
                cloud.tag_service(action.arn, action.tags_set, action.tags_removed)
        elif isinstance(action, ReplaceService):
            inputs = dict(action.inputs)
            inputs["taskDefinition"] = _resolve(action.task_definition, registered)
            deployment = cloud.replace_service(action.cluster, action.service, inputs)
        elif isinstance(action, RegisterScalableTarget):
            cloud.register_scalable_target(action.inputs)
        elif isinstance(action, PutScalingPolicy):
            cloud.put_scaling_policy(action.inputs)
        elif isinstance(action, DeregisterScalableTarget):
            cloud.deregister_scalable_target(action.resource_id)
        elif isinstance(action, DeleteService):
            cloud.delete_service(action.cluster, action.service)
        if deployment:
            deployments[action.service] = deployment
        applied.append(action)
        if on_applied:
            on_applied(action, deployment, registered)
    return ApplyResult(plan=plan, applied=tuple(applied), registered=registered,
                       deployments=deployments, dry_run=dry_run)
