"""Application Auto Scaling adapter: ECS scalable targets and their policies."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from ecs_gitops.actual import ScalingSnapshot
from ecs_gitops.aws.clients import Clients, translate
from ecs_gitops.scaling import SCALABLE_DIMENSION

BATCH = 50  # ResourceIds / PolicyNames: at most 50 (botocore's model, ResourceIdsMaxLen1600)


class AutoscalingAdapter:
    """Application Auto Scaling for ECS services (namespace `ecs`, dimension DesiredCount)."""
    def __init__(self, clients: Clients) -> None:
        self.clients = clients

    @property
    def _aas(self) -> Any:
        return self.clients.autoscaling

    def describe(self, cluster: str, *, only: Collection[str] | None = None,
                 policy_names: Collection[str] = ()) -> dict[str, ScalingSnapshot]:
        """Scalable targets and policies of the cluster's services, by service name.

        Args:
            cluster: the ECS cluster.
            only: just these services (their targets read by resource id, 50 a call,
                the limit of DescribeScalableTargets' ResourceIds) and the policies named
                `policy_names` (50 names a call, DescribeScalingPolicies' PolicyNames
                limit; pages of 10); None: every ECS target and policy of the Region,
                filtered by cluster.
            policy_names: with `only`, the names of the policies to read.
        """
        prefix = f"service/{cluster}/"
        targets: dict[str, tuple[str, int, int]] = {}
        if only is None:
            selections: list[dict[str, Any]] = [{}]
        else:
            ids = sorted(f"{prefix}{name}" for name in only)
            selections = [{"ResourceIds": ids[i:i + BATCH]} for i in range(0, len(ids), BATCH)]
        with translate("DescribeScalableTargets"):
            for page in (page for selection in selections
                         for page in self._aas.get_paginator("describe_scalable_targets")
                         .paginate(ServiceNamespace="ecs", **selection)):
                for t in page.get("ScalableTargets", ()):
                    rid = t["ResourceId"]
                    if rid.startswith(prefix) and t["ScalableDimension"] == SCALABLE_DIMENSION:
                        targets[rid[len(prefix):]] = (rid, int(t["MinCapacity"]),
                                                      int(t["MaxCapacity"]))
        policies: dict[str, dict[str, Mapping[str, Any]]] = {}
        if only is None:
            named: list[dict[str, Any]] = [{}]
        else:
            names = sorted(policy_names)
            named = [{"PolicyNames": names[i:i + BATCH]} for i in range(0, len(names), BATCH)]
        if targets:
            with translate("DescribeScalingPolicies"):
                for page in (page for selection in named
                             for page in self._aas.get_paginator("describe_scaling_policies")
                             .paginate(ServiceNamespace="ecs", **selection)):
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
