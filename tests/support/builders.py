"""Builders for pure tests: an environment as a file would say, and the snapshot of
an environment where exactly that has been applied (so tests change one thing)."""

from __future__ import annotations

from typing import Any

from ecs_gitops.actual import (
    DeploymentSnapshot,
    EnvironmentSnapshot,
    ScalingSnapshot,
    ServiceSnapshot,
    TaskDefinitionSnapshot,
)
from ecs_gitops.desired import Environment
from ecs_gitops.render import (
    Refs,
    normalize_task_definition,
    render_task_definition,
    service_input,
)
from ecs_gitops.scaling import policy_name, resource_id, scaling_policy_config

ACCOUNT = "123456789012"
REFS = Refs(
    registry=f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com",
    target_groups={
        "web-tg": f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/web-tg/1a2b3c",
        "api-tg": f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/api-tg/4d5e6f",
    },
)


def environment(**overrides: Any) -> Environment:
    data: dict[str, Any] = {
        "schemaVersion": 1,
        "environment": "production",
        "branch": "main",
        "region": "us-east-1",
        "cluster": "dbscluster",
        "roles": {"task": f"arn:aws:iam::{ACCOUNT}:role/task",
                  "execution": f"arn:aws:iam::{ACCOUNT}:role/exec"},
        "services": [
            {
                "name": "web", "image": {"repository": "web", "tag": "aaa111"},
                "cpu": 256, "memory": 512, "port": 80,
                "environment": {"API_URL": "http://api:5000", "MODE": "prod"},
                "scaling": {"min": 2, "max": 5, "targetCpu": 80},
                "placement": "spread-az",
                "loadBalancer": {"targetGroup": "web-tg"},
            },
            {
                "name": "api", "image": {"repository": "api", "tag": "aaa111"},
                "cpu": 512, "memory": 1024, "port": 5000,
                "secrets": {"DB_PASSWORD": "/simpleweb/db-password",
                            "DB_ENDPOINT": "/simpleweb/db-endpoint"},
                "desiredCount": 2,
                "placement": "spread-az",
                "loadBalancer": {"targetGroup": "api-tg"},
            },
        ],
    }
    data.update(overrides)
    return Environment.model_validate(data)


def with_service(env: Environment, name: str, **changes: Any) -> Environment:
    """A copy of `env` whose service `name` has `changes` (camelCase keys) applied."""
    data = env.model_dump(by_alias=True, exclude_none=True)
    for service in data["services"]:
        if service["name"] == name:
            service.update(changes)
    return Environment.model_validate(data)


def applied(env: Environment, *, revision: int = 3, extra: dict[str, ServiceSnapshot] | None = None,
            raw_task_definitions: dict[str, dict[str, Any]] | None = None) -> EnvironmentSnapshot:
    """The snapshot of a cluster where `env` has been applied exactly."""
    services: dict[str, ServiceSnapshot] = {}
    tds: dict[str, TaskDefinitionSnapshot] = {}
    scaling: dict[str, ScalingSnapshot] = {}
    for service in env.services:
        arn = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/{service.family}:{revision}"
        raw = (raw_task_definitions or {}).get(service.ecs_name)
        spec = normalize_task_definition(raw) if raw else render_task_definition(
            service, env, REFS)
        tds[arn] = TaskDefinitionSnapshot(arn, service.family, revision, spec)
        fields = service_input(service, env, REFS)
        count = service.scaling.min if service.scaling else (service.desired_count or 1)
        fields["desiredCount"] = count
        tags = {t["key"]: t["value"] for t in fields["tags"]}
        services[service.ecs_name] = ServiceSnapshot(
            name=service.ecs_name,
            arn=f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/{env.cluster}/{service.ecs_name}",
            status="ACTIVE", task_definition=arn, desired_count=count, running_count=count,
            pending_count=0, raw_fields=fields, tags=tags,
            deployments=(DeploymentSnapshot("ecs-svc/1", "PRIMARY", arn, "COMPLETED",
                                            count, count),),
        )
        if service.scaling:
            scaling[service.ecs_name] = ScalingSnapshot(
                resource_id=resource_id(env.cluster, service.ecs_name),
                min=service.scaling.min, max=service.scaling.max,
                policies={policy_name(service): scaling_policy_config(service)},
            )
    services.update(extra or {})
    return EnvironmentSnapshot(cluster=env.cluster, refs=REFS, services=services,
                               task_definitions=tds, scaling=scaling)


def empty(env: Environment) -> EnvironmentSnapshot:
    return EnvironmentSnapshot(cluster=env.cluster, refs=REFS, services={},
                               task_definitions={}, scaling={})


def echoed(env: Environment, *, refs: Refs = REFS, revision: int = 3) -> EnvironmentSnapshot:
    """The snapshot of a cluster where `env` was applied to real ECS: each rendered
    input passed through what ECS stores and reports (`ecs_echo`), then read back the
    way the adapters read DescribeTaskDefinition and DescribeServices."""
    from ecs_gitops.aws.ecs import service_fields
    from ecs_gitops.render import create_service_input, register_task_definition_input
    from ecs_gitops_tools.local import ecs_echo

    base = applied(env, revision=revision)
    services: dict[str, ServiceSnapshot] = {}
    tds: dict[str, TaskDefinitionSnapshot] = {}
    for service in env.services:
        inputs = register_task_definition_input(service, env, refs)
        reported = {**inputs, **ecs_echo.task_definition(inputs), "revision": revision,
                    "status": "ACTIVE", "compatibilities": ["EC2", "FARGATE"],
                    "requiresAttributes": [{"name": "ecs.capability.execution-role-awslogs"}]}
        arn = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/{service.family}:{revision}"
        tds[arn] = TaskDefinitionSnapshot(arn, service.family, revision,
                                          normalize_task_definition(reported), reported)
        create = create_service_input(service, env, refs, arn)
        echo = ecs_echo.service(create)
        raw = {**echo, "desiredCount": create.get("desiredCount", 0), "tags": create["tags"],
               "deployments": [{"status": "PRIMARY", **{k: v for k, v in echo.items()
                                                        if k in ecs_echo.DEPLOYMENT_MEMBERS}}]}
        old = base.services[service.ecs_name]
        services[service.ecs_name] = ServiceSnapshot(
            name=old.name, arn=old.arn, status="ACTIVE", task_definition=arn,
            desired_count=old.desired_count, running_count=old.running_count,
            pending_count=0, raw_fields=service_fields(raw), tags=old.tags,
            deployments=old.deployments)
    return EnvironmentSnapshot(cluster=env.cluster, refs=refs, services=services,
                               task_definitions=tds, scaling=base.scaling)
