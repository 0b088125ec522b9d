"""Application Auto Scaling adapter: ECS scalable targets and their policies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecs_gitops.actual import ScalingSnapshot
from ecs_gitops.aws.clients import Clients, translate
from ecs_gitops.scaling import SCALABLE_DIMENSION


class AutoscalingAdapter:
    """Application Auto Scaling for ECS services (namespace `ecs`, dimension DesiredCount)."""
    def __init__(self, clients: Clients) -> None:
        self.clients = clients

    @property
    def _aas(self) -> Any:
        return self.clients.autoscaling

    def describe(self, cluster: str) -> dict[str, ScalingSnapshot]:
        """Scalable targets and policies of the cluster's services, by service name."""
        prefix = f"service/{cluster}/"
        targets: dict[str, tuple[str, int, int]] = {}
        with translate("DescribeScalableTargets"):
            for page in self._aas.get_paginator("describe_scalable_targets").paginate(
                ServiceNamespace="ecs"
            ):
                for t in page.get("ScalableTargets", ()):
                    rid = t["ResourceId"]
                    if rid.startswith(prefix) and t["ScalableDimension"] == SCALABLE_DIMENSION:
                        targets[rid[len(prefix):]] = (rid, int(t["MinCapacity"]),
                                                      int(t["MaxCapacity"]))
        policies: dict[str, dict[str, Mapping[str, Any]]] = {}
        if targets:
            with translate("DescribeScalingPolicies"):
                for page in self._aas.get_paginator("describe_scaling_policies").paginate(
                    ServiceNamespace="ecs"
                ):
                    for p in page.get("ScalingPolicies", ()):
                        rid = p["ResourceId"]
                        if rid.startswith(prefix) and p.get("PolicyType") == "TargetTrackingScaling":
                            policies.setdefault(rid[len(prefix):], {})[p["PolicyName"]] = (
                                p.get("TargetTrackingScalingPolicyConfiguration") or {})
        return {
            name: ScalingSnapshot(resource_id=rid, min=lo, max=hi,
                                  policies=policies.get(name, {}))
            for name, (rid, lo, hi) in targets.items()
        }

    def register_scalable_target(self, inputs: Mapping[str, Any]) -> None:
        """RegisterScalableTarget (creates or updates min/max capacity)."""
        with translate("RegisterScalableTarget"):
            self._aas.register_scalable_target(**inputs)

    def put_scaling_policy(self, inputs: Mapping[str, Any]) -> None:
        """PutScalingPolicy (creates or replaces the named policy)."""
        with translate("PutScalingPolicy"):
            self._aas.put_scaling_policy(**inputs)

    def deregister_scalable_target(self, resource_id: str) -> None:
        """DeregisterScalableTarget of `service/CLUSTER/SERVICE`; its policies go with it."""
        with translate("DeregisterScalableTarget"):
            self._aas.deregister_scalable_target(
                ServiceNamespace="ecs", ResourceId=resource_id,
                ScalableDimension=SCALABLE_DIMENSION)
