"""`AwsCloud`: the CloudPort of `ecs_gitops.apply`, on real (or moto's) AWS, and the
one-call `reconcile_environment` used by the CLI and the reconcile controller."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ecs_gitops.actual import EnvironmentSnapshot, TaskDefinitionSnapshot
from ecs_gitops.apply import ApplyResult, apply
from ecs_gitops.aws import preflight
from ecs_gitops.aws.autoscaling import AutoscalingAdapter
from ecs_gitops.aws.clients import Clients
from ecs_gitops.aws.ecs import EcsAdapter
from ecs_gitops.aws.observe import observe
from ecs_gitops.desired.model import Environment
from ecs_gitops.plan import Action, Plan, plan


class AwsCloud:
    def __init__(self, clients: Clients) -> None:
        self.embedded = clients.embedded
        self.ecs = EcsAdapter(clients)
        self.autoscaling = AutoscalingAdapter(clients)

    def register_task_definition(self, spec: Mapping[str, Any]) -> TaskDefinitionSnapshot:
        return self.ecs.register_task_definition(spec)

    def create_service(self, inputs: Mapping[str, Any]) -> None:
        self.ecs.create_service(inputs)

    def update_service(self, cluster: str, service: str, fields: Mapping[str, Any]) -> None:
        self.ecs.update_service(cluster, service, fields)

    def delete_service(self, cluster: str, service: str) -> None:
        self.ecs.delete_service(cluster, service)

    def replace_service(self, cluster: str, service: str, inputs: Mapping[str, Any]) -> None:
        self.ecs.replace_service(cluster, service, inputs,
                                 delay=0.2 if self.embedded else 15.0)

    def tag_service(self, arn: str, set_tags: Mapping[str, str],
                    remove: tuple[str, ...]) -> None:
        self.ecs.tag_service(arn, set_tags, remove)

    def register_scalable_target(self, inputs: Mapping[str, Any]) -> None:
        self.autoscaling.register_scalable_target(inputs)

    def put_scaling_policy(self, inputs: Mapping[str, Any]) -> None:
        self.autoscaling.put_scaling_policy(inputs)

    def deregister_scalable_target(self, resource_id: str) -> None:
        self.autoscaling.deregister_scalable_target(resource_id)


@dataclass(frozen=True, slots=True)
class Reconciled:
    snapshot: EnvironmentSnapshot
    plan: Plan
    result: ApplyResult | None


def plan_environment(env: Environment, clients: Clients) -> tuple[EnvironmentSnapshot, Plan]:
    snapshot = observe(env, clients)
    return snapshot, plan(env, snapshot)


def reconcile_environment(
    env: Environment,
    clients: Clients,
    *,
    dry_run: bool = False,
    allow_replace: bool = False,
    on_action: Callable[[Action], None] | None = None,
) -> Reconciled:
    """observe -> plan -> preflight (only when something changes) -> apply."""
    snapshot, the_plan = plan_environment(env, clients)
    if the_plan.empty:
        return Reconciled(snapshot, the_plan, None)
    preflight.check_plan(the_plan, clients)
    result = apply(the_plan, AwsCloud(clients), dry_run=dry_run, allow_replace=allow_replace,
                   on_action=on_action)
    return Reconciled(snapshot, the_plan, result)
