"""`AwsCloud`: the engine's `Cloud` port on real AWS (or the embedded AWS).

It observes (ECS, Application Auto Scaling, ELBv2), runs the preflight (ECR, SSM,
target groups) and makes the mutating calls of a plan. The engine
(`ecs_gitops.engine`) decides the order; this class only talks to AWS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecs_gitops.actual import EnvironmentSnapshot, ServiceSnapshot, TaskDefinitionSnapshot
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
        self.embedded = clients.embedded
        self.ecs = EcsAdapter(clients)
        self.autoscaling = AutoscalingAdapter(clients)

    def observe(self, env: Environment) -> EnvironmentSnapshot:
        """A snapshot of `env`'s cluster (see `ecs_gitops.aws.observe.observe` for its cost)."""
        return observe(env, self.clients)

    def preflight(self, needs: Requirements) -> None:
        """Raise `PreflightError` naming everything missing (images, secrets, log groups,
        network, file systems, target groups) or refused (`needs.refused`)."""
        preflight.check(needs, self.clients)

    def register_task_definition(self, spec: Mapping[str, Any]) -> TaskDefinitionSnapshot:
        """RegisterTaskDefinition; the new revision (cached by ARN)."""
        return self.ecs.register_task_definition(spec)

    def create_service(self, inputs: Mapping[str, Any]) -> str | None:
        """CreateService; the deployment id it started."""
        return self.ecs.create_service(inputs)

    def update_service(self, cluster: str, service: str, fields: Mapping[str, Any]
                       ) -> str | None:
        """UpdateService with only `fields`; the PRIMARY deployment's id afterwards."""
        return self.ecs.update_service(cluster, service, fields)

    def delete_service(self, cluster: str, service: str) -> None:
        """DeleteService, forced (ECS stops its tasks)."""
        self.ecs.delete_service(cluster, service)

    def replace_service(self, cluster: str, service: str, inputs: Mapping[str, Any]
                        ) -> str | None:
        """DeleteService, wait until INACTIVE, CreateService; the new deployment's id."""
        return self.ecs.replace_service(cluster, service, inputs,
                                        delay=0.2 if self.embedded else 15.0)

    def tag_service(self, arn: str, set_tags: Mapping[str, str],
                    remove: tuple[str, ...]) -> None:
        """TagResource / UntagResource of the service's own tags."""
        self.ecs.tag_service(arn, set_tags, remove)

    def register_scalable_target(self, inputs: Mapping[str, Any]) -> None:
        """RegisterScalableTarget."""
        self.autoscaling.register_scalable_target(inputs)

    def put_scaling_policy(self, inputs: Mapping[str, Any]) -> None:
        """PutScalingPolicy."""
        self.autoscaling.put_scaling_policy(inputs)

    def deregister_scalable_target(self, resource_id: str) -> None:
        """DeregisterScalableTarget."""
        self.autoscaling.deregister_scalable_target(resource_id)

    def describe_services(self, cluster: str, names: list[str]
                          ) -> Mapping[str, ServiceSnapshot]:
        """DescribeServices of `names` (10 a call): the ACTIVE ones."""
        return self.ecs.describe_services(cluster, names)

    def running_task_definition(self, cluster: str, service: str) -> str | None:
        """The service's current task definition ARN (one DescribeServices), None if absent."""
        found = self.ecs.describe_services(cluster, [service]).get(service)
        return found.task_definition if found else None

    def running_image(self, cluster: str, service: str) -> str | None:
        """The image of the service's current task definition, None if there is none."""
        arn = self.running_task_definition(cluster, service)
        if arn is None:
            return None
        try:
            return self.ecs.describe_task_definition(arn).image()
        except NotFoundError:
            return None
