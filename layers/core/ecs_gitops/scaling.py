"""Desired scaling -> the exact Application Auto Scaling inputs (target tracking on CPU).

A purely computational module: the scalable target (min/max) and the one target
tracking policy a service with `scaling:` gets, and the policy as AWS reports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecs_gitops.desired.model import Environment, Service

SCALABLE_DIMENSION = "ecs:service:DesiredCount"
CPU_METRIC = "ECSServiceAverageCPUUtilization"

JSON = dict[str, Any]


def scalable_target_input(service: Service, env: Environment) -> JSON:
    """RegisterScalableTarget input: the ECS service's desired count between min and max."""
    assert service.scaling is not None
    return {
        "ServiceNamespace": "ecs",
        "ResourceId": resource_id(env.cluster, service.ecs_name),
        "ScalableDimension": SCALABLE_DIMENSION,
        "MinCapacity": service.scaling.min,
        "MaxCapacity": service.scaling.max,
    }


def policy_name(service: Service) -> str:
    """The name of the service's target tracking policy."""
    return f"{service.ecs_name}-cpu-target-tracking"


def scaling_policy_config(service: Service) -> JSON:
    """TargetTrackingScalingPolicyConfiguration: keep average CPU near target_cpu %."""
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
    """The same configuration as AWS reports it, defaults filled (cooldowns 300 s)."""
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
    """PutScalingPolicy input."""
    return {
        "PolicyName": policy_name(service),
        "ServiceNamespace": "ecs",
        "ResourceId": resource_id(env.cluster, service.ecs_name),
        "ScalableDimension": SCALABLE_DIMENSION,
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": scaling_policy_config(service),
    }


def resource_id(cluster: str, service_name: str) -> str:
    """Application Auto Scaling's id of an ECS service: service/CLUSTER/SERVICE."""
    return f"service/{cluster}/{service_name}"
