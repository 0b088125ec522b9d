"""`AwsCloud`: the engine's `Cloud` port on real AWS (or the embedded AWS).

It observes (ECS, Application Auto Scaling, ELBv2), runs the preflight (ECR, SSM,
target groups) and makes the mutating calls of a plan. The engine
(`ecs_gitops.engine`) decides the order; this class only talks to AWS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecs_gitops.actual import EnvironmentSnapshot, TaskDefinitionSnapshot
from ecs_gitops.aws import preflight
from ecs_gitops.aws.autoscaling import AutoscalingAdapter
from ecs_gitops.aws.clients import Clients
from ecs_gitops.aws.ecs import EcsAdapter
from ecs_gitops.aws.observe import observe
from ecs_gitops.desired.model import Environment
from ecs_gitops.errors import NotFoundError
from ecs_gitops.verify import Requirements


class AwsCloud:
    """The `ecs_gitops.engine.Cloud` port on AWS, through one set of `Clients`."""

    def __init__(self, clients: Clients) -> None:
        self.clients = clients
        self.ecs = EcsAdapter(clients)
        self.autoscaling = AutoscalingAdapter(clients)

    def observe(self, env: Environment) -> EnvironmentSnapshot:
        return observe(env, self.clients)

    def preflight(self, needs: Requirements) -> None:
        preflight.check(needs, self.clients)

    def register_task_definition(self, spec: Mapping[str, Any]) -> TaskDefinitionSnapshot:
        return self.ecs.register_task_definition(spec)

    def create_service(self, inputs: Mapping[str, Any]) -> str | None:
        return self.ecs.create_service(inputs)

    def update_service(self, cluster: str, service: str, fields: Mapping[str, Any]
                       ) -> str | None:
        return self.ecs.update_service(cluster, service, fields)

    def delete_service(self, cluster: str, service: str) -> None:
        self.ecs.delete_service(cluster, service)

    def register_scalable_target(self, inputs: Mapping[str, Any]) -> None:
        self.autoscaling.register_scalable_target(inputs)

    def put_scaling_policy(self, inputs: Mapping[str, Any]) -> None:
        self.autoscaling.put_scaling_policy(inputs)

    def deregister_scalable_target(self, resource_id: str) -> None:
        self.autoscaling.deregister_scalable_target(resource_id)

    def running_task_definition(self, cluster: str, service: str) -> str | None:
        found = self.ecs.describe_services(cluster, [service]).get(service)
        return found.task_definition if found else None

    def running_image(self, cluster: str, service: str) -> str | None:
        arn = self.running_task_definition(cluster, service)
        if arn is None:
            return None
        try:
            return self.ecs.describe_task_definition(arn).image()
        except NotFoundError:
            return None
