"""moto at the scale of a real account: pages as AWS sizes them, lookups by key.

With a thousand services, moto 5 differs from AWS in ways that change what a reconcile
costs (calls) or where the time goes (moto's own scans), so a benchmark would measure
moto rather than ecs-gitops:

- ECS ListServices ignores `maxResults` and returns every service in one page. ECS
  returns at most `maxResults` (1 to 100; 10 when absent) and a `nextToken` (botocore's
  ECS model, ListServicesRequest.maxResults).
- Application Auto Scaling DescribeScalableTargets returns the same NextToken ("49")
  for every page after the first, so more than 100 targets loop forever; AWS pages by
  MaxResults (1 to 50, default 50). DescribeScalingPolicies pages by 100 and ignores
  `PolicyNames`; AWS pages by MaxResults (1 to 10, default 10) and returns only the
  policies named (botocore's application-autoscaling model).
- Every UpdateService, DeleteService and tag call finds its service by scanning all
  services (`EC2ContainerServiceBackend._get_service`, `_get_resource`): O(N) per
  call, O(N^2) per reconcile. Services are kept in a dict keyed "cluster:name"; these
  lookups now use it (same result: a service's ARN ends with its name).

`apply()` is called by `moto_patches.apply_patches` (idempotent; touches only moto).
"""

from __future__ import annotations

import json
from typing import Any

_applied = False


def _list_services(self: Any) -> Any:
    from moto.core.responses import ActionResult

    arns = self.ecs_backend.list_services(
        self._get_param("cluster", "default"), self._get_param("schedulingStrategy"),
        launch_type=self._get_param("launchType"))
    size = max(1, min(int(self._get_param("maxResults") or 10), 100))
    start = int(self._get_param("nextToken") or 0)
    page: dict[str, Any] = {"serviceArns": arns[start:start + size]}
    if start + size < len(arns):
        page["nextToken"] = str(start + size)
    return ActionResult(page)


def _describe_scalable_targets(self: Any) -> str:
    from moto.applicationautoscaling import responses

    self._validate_params()
    targets = self.applicationautoscaling_backend.describe_scalable_targets(
        self._get_param("ServiceNamespace"), self._get_param("ResourceIds"),
        self._get_param("ScalableDimension"))
    size = max(1, min(self._get_int_param("MaxResults") or 50, 50))
    start = int(self._get_param("NextToken") or 0)
    more = start + size < len(targets)
    return json.dumps({
        "ScalableTargets": [responses._build_target(t) for t in targets[start:start + size]],
        "NextToken": str(start + size) if more else None})


def _describe_scaling_policies(self: Any) -> str:
    from moto.applicationautoscaling import responses

    backend = self.applicationautoscaling_backend
    namespace = self._get_param("ServiceNamespace")
    resource_id = self._get_param("ResourceId")
    dimension = self._get_param("ScalableDimension")
    names = set(self._get_param("PolicyNames") or ())
    policies = [p for p in backend.policies.values()
                if p.service_namespace == namespace
                and (not resource_id or p.resource_id == resource_id)
                and (not dimension or p.scalable_dimension == dimension)
                and (not names or p.policy_name in names)]
    size = max(1, min(self._get_int_param("MaxResults") or 10, 10))
    start = int(self._get_param("NextToken") or 0)
    more = start + size < len(policies)
    return json.dumps({
        "ScalingPolicies": [responses._build_policy(p) for p in policies[start:start + size]],
        "NextToken": str(start + size) if more else None})


def _get_service(original: Any) -> Any:
    def get_service(self: Any, cluster_str: str, service_str: str) -> Any:
        cluster = self._get_cluster(cluster_str)
        found = self.services.get(f"{cluster.name}:{str(service_str).rsplit('/', 1)[-1]}")
        if found is not None and service_str in (found.name, found.arn):
            return found
        return original(self, cluster_str, service_str)
    return get_service


def _get_resource(original: Any) -> Any:
    def get_resource(self: Any, resource_arn: str, parsed_arn: dict[str, str]) -> Any:
        if parsed_arn.get("service") == "service":
            parts = parsed_arn.get("id", "").split("/")
            if len(parts) == 2:  # cluster/name (the long ARN format)
                found = self.services.get(f"{parts[0]}:{parts[1]}")
                if found is not None and found.arn == resource_arn:
                    return found
        return original(self, resource_arn, parsed_arn)
    return get_resource


def apply() -> None:
    """Patch moto's classes once (the caller holds `moto_patches`' lock)."""
    global _applied
    if _applied:
        return
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
    from moto.ecs.models import EC2ContainerServiceBackend
    from moto.ecs.responses import EC2ContainerServiceResponse

    ecs: Any = EC2ContainerServiceResponse
    ecs.list_services = _list_services
    aas: Any = ApplicationAutoScalingResponse
    aas.describe_scalable_targets = _describe_scalable_targets
    aas.describe_scaling_policies = _describe_scaling_policies
    backend: Any = EC2ContainerServiceBackend
    backend._get_service = _get_service(backend._get_service)
    backend._get_resource = _get_resource(backend._get_resource)
    _applied = True
