"""Desired service -> the exact ECS and Application Auto Scaling inputs.

Everything here is a purely computational function with no side effects. Rendered
task definitions go through `normalize_task_definition`, the same function that
normalises what ECS reports, so that two definitions that mean the same thing
(lists in another order, defaults spelt out or left out, "0.25 vCPU" or "256")
compare equal and plan nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ecs_gitops.desired.model import Environment, Placement, Service, parse_cpu, parse_memory

MANAGED_BY_TAG = "ecs-gitops:managed-by"
ENVIRONMENT_TAG = "ecs-gitops:environment"
SCALABLE_DIMENSION = "ecs:service:DesiredCount"
CPU_METRIC = "ECSServiceAverageCPUUtilization"

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Refs:
    """What the desired state names and AWS identifies otherwise, resolved by observe."""

    registry: str  # "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    target_groups: Mapping[str, str] = field(default_factory=dict)  # name -> ARN

    def image_uri(self, repository: str, tag: str) -> str:
        return f"{self.registry}/{repository}:{tag}"

    def target_group_arn(self, name_or_arn: str) -> str | None:
        if name_or_arn.startswith("arn:"):
            return name_or_arn
        return self.target_groups.get(name_or_arn)


def target_group_name(arn: str) -> str:
    """`arn:...:targetgroup/api-production/6d0ecf831eec9f09` -> `api-production`."""
    match = re.search(r":targetgroup/([^/]+)/", arn)
    return match.group(1) if match else arn


def _units(value: Any, parse: Any) -> str | None:
    if value is None or value == "":
        return None
    parsed = parse(value)
    return str(parsed)


def _by_name(items: Sequence[Mapping[str, Any]] | None, value_key: str) -> list[JSON]:
    return sorted(
        ({"name": i["name"], value_key: i.get(value_key, "")} for i in items or ()),
        key=lambda i: i["name"],
    )


def _normalize_container(raw: Mapping[str, Any], network_mode: str) -> JSON:
    ports = []
    for p in raw.get("portMappings") or ():
        container_port = p.get("containerPort")
        default_host = container_port if network_mode in ("awsvpc", "host") else 0
        ports.append({
            "containerPort": container_port,
            "hostPort": p.get("hostPort", default_host),
            "protocol": p.get("protocol", "tcp"),
        })
    out: JSON = {
        "name": raw["name"],
        "image": raw.get("image"),
        "essential": raw.get("essential", True),
        "portMappings": sorted(ports, key=lambda p: (p["containerPort"], p["protocol"])),
        "environment": _by_name(raw.get("environment"), "value"),
        "secrets": _by_name(raw.get("secrets"), "valueFrom"),
    }
    log = raw.get("logConfiguration")
    if log:
        out["logConfiguration"] = {
            "logDriver": log["logDriver"],
            "options": dict(sorted((log.get("options") or {}).items())),
        }
    check = raw.get("healthCheck")
    if check:
        out["healthCheck"] = {
            "command": list(check["command"]),
            "interval": check.get("interval", 30),
            "timeout": check.get("timeout", 5),
            "retries": check.get("retries", 3),
            "startPeriod": check.get("startPeriod", 0),
        }
    return out


def normalize_task_definition(raw: Mapping[str, Any]) -> JSON:
    """The fields ecs-gitops manages, in one canonical form (ECS defaults filled)."""
    network_mode = raw.get("networkMode") or "bridge"
    out: JSON = {
        "family": raw["family"],
        "networkMode": network_mode,
        "requiresCompatibilities": sorted(raw.get("requiresCompatibilities") or ["EC2"]),
        "cpu": _units(raw.get("cpu"), parse_cpu),
        "memory": _units(raw.get("memory"), parse_memory),
        "taskRoleArn": raw.get("taskRoleArn"),
        "executionRoleArn": raw.get("executionRoleArn"),
        "containerDefinitions": sorted(
            (_normalize_container(c, network_mode) for c in raw.get("containerDefinitions") or ()),
            key=lambda c: c["name"],
        ),
    }
    return out


def render_task_definition(service: Service, env: Environment, refs: Refs) -> JSON:
    """RegisterTaskDefinition input for `service` (already in normalised form)."""
    network_mode = "awsvpc" if env.network is not None else "bridge"
    container: JSON = {
        "name": service.name,
        "image": refs.image_uri(service.image.repository, service.image.tag),
        "essential": True,
        "portMappings": [{"containerPort": service.port, "protocol": "tcp"}],
        "environment": [{"name": k, "value": v} for k, v in service.environment.items()],
        "secrets": [{"name": k, "valueFrom": v} for k, v in service.secrets.items()],
    }
    if service.log_group:
        container["logConfiguration"] = {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": service.log_group,
                "awslogs-region": env.region,
                "awslogs-stream-prefix": service.name,
                "awslogs-create-group": "true",
            },
        }
    if service.health_check:
        hc = service.health_check
        container["healthCheck"] = {
            "command": list(hc.command), "interval": hc.interval, "timeout": hc.timeout,
            "retries": hc.retries, "startPeriod": hc.start_period,
        }
    raw: JSON = {
        "family": service.ecs_name,
        "networkMode": network_mode,
        "requiresCompatibilities": [env.launch_type],
        "cpu": str(service.cpu),
        "memory": str(service.memory),
        "taskRoleArn": env.roles.task,
        "executionRoleArn": env.roles.execution,
        "containerDefinitions": [container],
    }
    return normalize_task_definition(raw)


def register_input(spec: Mapping[str, Any]) -> JSON:
    """The normalised spec as RegisterTaskDefinition kwargs (None values left out)."""
    return {k: v for k, v in spec.items() if v is not None}


PLACEMENT: Mapping[Placement, list[JSON]] = {
    Placement.SPREAD_AZ: [
        {"type": "spread", "field": "attribute:ecs.availability-zone"},
        {"type": "spread", "field": "instanceId"},
    ],
    Placement.SPREAD_INSTANCE: [{"type": "spread", "field": "instanceId"}],
    Placement.BINPACK_MEMORY: [{"type": "binpack", "field": "memory"}],
    Placement.BINPACK_CPU: [{"type": "binpack", "field": "cpu"}],
    Placement.RANDOM: [{"type": "random"}],
}


def render_service_fields(service: Service, env: Environment, refs: Refs) -> JSON:
    """The service fields ecs-gitops manages and UpdateService can change, normalised.

    `desiredCount` is present only when autoscaling does not own the count and the
    file sets one; `taskDefinition` is handled separately (by content, not by ARN).
    """
    d = service.deployment
    fields: JSON = {
        "deploymentConfiguration": {
            "maximumPercent": d.maximum_percent,
            "minimumHealthyPercent": d.minimum_healthy_percent,
            "deploymentCircuitBreaker": {"enable": d.circuit_breaker, "rollback": d.rollback},
        },
        "placementStrategy": [] if env.launch_type == "FARGATE" else PLACEMENT[service.placement],
        "loadBalancers": [],
    }
    if env.network is not None:
        fields["networkConfiguration"] = {"awsvpcConfiguration": {
            "subnets": sorted(env.network.subnets),
            "securityGroups": sorted(env.network.security_groups),
            "assignPublicIp": "ENABLED" if env.network.assign_public_ip else "DISABLED",
        }}
    if service.load_balancer:
        lb = service.load_balancer
        fields["loadBalancers"] = [{
            "targetGroupArn": refs.target_group_arn(lb.target_group) or lb.target_group,
            "containerName": service.name,
            "containerPort": lb.container_port or service.port,
        }]
        fields["healthCheckGracePeriodSeconds"] = lb.health_check_grace_period
    if service.scaling is None and service.desired_count is not None:
        fields["desiredCount"] = service.desired_count
    return fields


def normalize_service_fields(raw: Mapping[str, Any], *, manage_count: bool) -> JSON:
    """The same fields as `render_service_fields`, from a DescribeServices entry."""
    dc = raw.get("deploymentConfiguration") or {}
    breaker = dc.get("deploymentCircuitBreaker") or {}
    fields: JSON = {
        "deploymentConfiguration": {
            "maximumPercent": dc.get("maximumPercent", 200),
            "minimumHealthyPercent": dc.get("minimumHealthyPercent", 100),
            "deploymentCircuitBreaker": {
                "enable": breaker.get("enable", False),
                "rollback": breaker.get("rollback", False),
            },
        },
        "placementStrategy": [
            {k: v for k, v in s.items() if k in ("type", "field")}
            for s in raw.get("placementStrategy") or ()
        ],
        "loadBalancers": sorted(
            (
                {
                    "targetGroupArn": lb.get("targetGroupArn"),
                    "containerName": lb.get("containerName"),
                    "containerPort": lb.get("containerPort"),
                }
                for lb in raw.get("loadBalancers") or ()
            ),
            key=lambda lb: (str(lb["targetGroupArn"]), str(lb["containerName"])),
        ),
    }
    awsvpc = (raw.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    if awsvpc:
        fields["networkConfiguration"] = {"awsvpcConfiguration": {
            "subnets": sorted(awsvpc.get("subnets") or ()),
            "securityGroups": sorted(awsvpc.get("securityGroups") or ()),
            "assignPublicIp": awsvpc.get("assignPublicIp", "DISABLED"),
        }}
    if raw.get("loadBalancers"):
        fields["healthCheckGracePeriodSeconds"] = raw.get("healthCheckGracePeriodSeconds", 0)
    if manage_count:
        fields["desiredCount"] = raw.get("desiredCount", 0)
    return fields


def initial_count(service: Service) -> int:
    if service.scaling is not None:
        return service.scaling.min
    return service.desired_count if service.desired_count is not None else 1


def create_service_input(
    service: Service, env: Environment, refs: Refs, task_definition: str
) -> JSON:
    """CreateService kwargs. The tags mark the service as this environment's."""
    fields = render_service_fields(service, env, refs)
    fields.pop("desiredCount", None)
    out: JSON = {
        "cluster": env.cluster,
        "serviceName": service.ecs_name,
        "taskDefinition": task_definition,
        "desiredCount": initial_count(service),
        "launchType": env.launch_type,
        "schedulingStrategy": "REPLICA",
        "deploymentController": {"type": "ECS"},
        "propagateTags": "SERVICE",
        "enableECSManagedTags": True,
        "tags": [
            {"key": MANAGED_BY_TAG, "value": "ecs-gitops"},
            {"key": ENVIRONMENT_TAG, "value": env.environment},
        ],
        **fields,
    }
    if not out["placementStrategy"]:
        del out["placementStrategy"]
    if not out["loadBalancers"]:
        del out["loadBalancers"]
    return out


def scalable_target_input(service: Service, env: Environment) -> JSON:
    assert service.scaling is not None
    return {
        "ServiceNamespace": "ecs",
        "ResourceId": resource_id(env.cluster, service.ecs_name),
        "ScalableDimension": SCALABLE_DIMENSION,
        "MinCapacity": service.scaling.min,
        "MaxCapacity": service.scaling.max,
    }


def policy_name(service: Service) -> str:
    return f"{service.ecs_name}-cpu-target-tracking"


def scaling_policy_config(service: Service) -> JSON:
    assert service.scaling is not None
    s = service.scaling
    return {
        "TargetValue": float(s.target_cpu),
        "PredefinedMetricSpecification": {"PredefinedMetricType": CPU_METRIC},
        "ScaleInCooldown": s.scale_in_cooldown,
        "ScaleOutCooldown": s.scale_out_cooldown,
        "DisableScaleIn": False,
    }


def normalize_policy_config(raw: Mapping[str, Any]) -> JSON:
    spec = raw.get("PredefinedMetricSpecification") or {}
    return {
        "TargetValue": float(raw.get("TargetValue", 0.0)),
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": spec.get("PredefinedMetricType")
        },
        "ScaleInCooldown": raw.get("ScaleInCooldown", 300),
        "ScaleOutCooldown": raw.get("ScaleOutCooldown", 300),
        "DisableScaleIn": raw.get("DisableScaleIn", False),
    }


def put_policy_input(service: Service, env: Environment) -> JSON:
    return {
        "PolicyName": policy_name(service),
        "ServiceNamespace": "ecs",
        "ResourceId": resource_id(env.cluster, service.ecs_name),
        "ScalableDimension": SCALABLE_DIMENSION,
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": scaling_policy_config(service),
    }


def resource_id(cluster: str, service_name: str) -> str:
    return f"service/{cluster}/{service_name}"
