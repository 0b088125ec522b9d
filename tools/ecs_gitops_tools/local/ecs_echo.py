"""What real ECS stores and reports for what it was sent, for the embedded AWS.

moto stores what it is sent; ECS does not. These pure functions turn a request into
what DescribeTaskDefinition / DescribeServices report for it, following the
documented behaviour and the real responses in tests/corpus (README.md there cites
each source). `moto_patches` applies them to moto's objects, so that the embedded
AWS answers like ECS and a plan that settles here settles on AWS.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

JSON = dict[str, Any]

_GB = 1024


def _units(value: Any, per_unit: int, units: tuple[str, ...]) -> Any:
    """ECS converts '0.25 vCPU' / '1 GB' to units ('256' / '1024') when it registers."""
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    for unit in units:
        if text.endswith(unit):
            return str(int(float(text[: -len(unit)].strip()) * per_unit))
    return value


def task_definition(params: Mapping[str, Any]) -> JSON:
    """The members ECS adds to or changes in a registered task definition:
    - task `cpu`/`memory` in units (RegisterTaskDefinition docs: "converted to an integer
      indicating the CPU units / MiB when the task definition is registered");
    - each container: `cpu` 0, `essential` true, `portMappings`, `environment`,
      `mountPoints`, `volumesFrom`, `systemControls` as [] when not sent (aws-cli
      register-task-definition example output; corpus);
    - port mappings: `protocol` tcp; in awsvpc and host mode `hostPort` = `containerPort`
      (task definition parameters, portMappings);
    - health checks: `interval` 30, `timeout` 5, `retries` 3 (HealthCheck docs);
    - `enableFaultInjection` false when not sent (TaskDefinition shape, corpus).
    """
    out: JSON = {}
    out["cpu"] = _units(params.get("cpu"), 1024, ("vcpu", "cpu"))
    out["memory"] = _units(params.get("memory"), _GB, ("gib", "gb"))
    mode = params.get("networkMode")
    containers = []
    for raw in params.get("containerDefinitions") or ():
        c = copy.deepcopy(dict(raw))
        c.setdefault("cpu", 0)
        c.setdefault("essential", True)
        for key in ("portMappings", "environment", "mountPoints", "volumesFrom",
                    "systemControls"):
            c.setdefault(key, [])
        for mapping in c["portMappings"]:
            mapping.setdefault("protocol", "tcp")
            if mode in ("awsvpc", "host") and "containerPort" in mapping:
                mapping.setdefault("hostPort", mapping["containerPort"])
        check = c.get("healthCheck")
        if isinstance(check, dict):
            check.setdefault("interval", 30)
            check.setdefault("timeout", 5)
            check.setdefault("retries", 3)
        containers.append(c)
    out["containerDefinitions"] = containers
    out["enableFaultInjection"] = bool(params.get("enableFaultInjection", False))
    if params.get("trustedExecutionConfiguration"):
        out["trustedExecutionConfiguration"] = params["trustedExecutionConfiguration"]
    return out


# Members DescribeServices reports for a service, as ECS fills them when not sent.
def _service_defaults(params: Mapping[str, Any]) -> JSON:
    fargate = params.get("launchType") == "FARGATE" or any(
        str(c.get("capacityProvider", "")).startswith("FARGATE")
        for c in params.get("capacityProviderStrategy") or ())
    out: JSON = {
        "loadBalancers": [],
        "serviceRegistries": [],
        "placementConstraints": [],
        "placementStrategy": [],
        "schedulingStrategy": "REPLICA",
        "deploymentController": {"type": "ECS"},
        "propagateTags": "NONE",
        "enableECSManagedTags": False,
        "enableExecuteCommand": False,
        # CreateService docs: "when no value is specified ... defaults the value to ENABLED".
        "availabilityZoneRebalancing": "ENABLED",
    }
    if fargate:
        out["platformVersion"] = "LATEST"
    if not params.get("capacityProviderStrategy"):
        out["launchType"] = "EC2"  # create-service example 2: neither sent, EC2 reported
    return out


def _deployment_configuration(value: Mapping[str, Any] | None) -> JSON:
    out: JSON = {
        "deploymentCircuitBreaker": {"enable": False, "rollback": False},
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
        # Since July 2025 ECS reports the deployment strategy; ROLLING when none was asked.
        "strategy": "ROLLING",
    }
    out.update(copy.deepcopy(dict(value or {})))
    return out


# Members of Create/UpdateService that DescribeServices reports on the service itself,
# and those it reports on the deployment the change started (botocore's Deployment shape).
SERVICE_MEMBERS = (
    "loadBalancers", "serviceRegistries", "placementConstraints", "placementStrategy",
    "schedulingStrategy", "deploymentController", "propagateTags", "enableECSManagedTags",
    "enableExecuteCommand", "availabilityZoneRebalancing", "platformVersion",
    "capacityProviderStrategy", "networkConfiguration", "healthCheckGracePeriodSeconds",
    "deploymentConfiguration", "launchType",
)
DEPLOYMENT_MEMBERS = ("serviceConnectConfiguration", "volumeConfigurations",
                      "vpcLatticeConfigurations")


def service(params: Mapping[str, Any], previous: Mapping[str, Any] | None = None) -> JSON:
    """What DescribeServices reports after CreateService (`previous` None) or an
    UpdateService of `params` over the `previous` report:
    - a binpack placement `field` upper-cased: sent `memory`, reported `MEMORY`
      (aws/amazon-ecs-cli#586, corpus/describe-services-binpack.json);
    - defaults: propagateTags NONE, enableECSManagedTags false, schedulingStrategy REPLICA,
      empty lists (aws-cli create-service examples), the circuit breaker off, 200/100 %
      (ecspresso's diff defaults), platformVersion LATEST on Fargate (create-service
      example 1), assignPublicIp DISABLED, capacity provider base/weight 0;
    - with a capacity provider strategy, no launchType (CreateService docs).
    An UpdateService member left out keeps its value; an empty list clears it."""
    out: JSON = copy.deepcopy(dict(previous)) if previous is not None else \
        _service_defaults(params)
    for key in (*SERVICE_MEMBERS, *DEPLOYMENT_MEMBERS):
        if key in params and params[key] is not None:
            out[key] = copy.deepcopy(params[key])
    out["deploymentConfiguration"] = _deployment_configuration(out.get("deploymentConfiguration"))
    for strategy in out.get("placementStrategy") or ():
        if strategy.get("type") == "binpack" and isinstance(strategy.get("field"), str):
            strategy["field"] = strategy["field"].upper()
    awsvpc = (out.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    if isinstance(awsvpc, dict):
        awsvpc.setdefault("assignPublicIp", "DISABLED")
    for item in out.get("capacityProviderStrategy") or ():
        item.setdefault("base", 0)
        item.setdefault("weight", 0)
    if out.get("capacityProviderStrategy"):
        out.pop("launchType", None)
    connect = out.get("serviceConnectConfiguration")
    if isinstance(connect, dict):
        for svc in connect.get("services") or ():
            if svc.get("portName"):
                svc.setdefault("discoveryName", svc["portName"])
    return out
