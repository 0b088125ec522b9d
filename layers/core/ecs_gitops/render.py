"""Desired service -> the exact RegisterTaskDefinition and Create/UpdateService inputs,
and what ECS reports back, both in one canonical form.

Everything here is a purely computational function with no side effects. The
inputs are rendered as ECS takes them, values byte for byte; `canonical` (driven by
the managed-fields table) then gives the form in which rendered and reported
definitions compare, so that two things that mean the same (lists in another
order, ECS's defaults spelt out or left out, "0.25 vCPU" or "256", `memory` or
`MEMORY`) plan nothing. The few rules that depend on another field (the host port
per network mode, the platform version per launch type) are applied here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ecs_gitops.canonical import SERVICE, TASK_DEFINITION, canonical
from ecs_gitops.desired.model import (
    Canary,
    Environment,
    Linear,
    Placement,
    Service,
    Strategy,
    parse_cpu,
    parse_memory,
)

MANAGED_BY_TAG = "ecs-gitops:managed-by"
ENVIRONMENT_TAG = "ecs-gitops:environment"

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Refs:
    """What the desired state names and AWS identifies otherwise, resolved by observe."""

    registry: str  # "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    target_groups: Mapping[str, str] = field(default_factory=dict)  # name -> ARN
    target_types: Mapping[str, str] = field(default_factory=dict)  # ARN -> instance | ip

    def image_uri(self, repository: str, tag: str) -> str:
        """The ECR image URI of `repository:tag` in this account and region."""
        return f"{self.registry}/{repository}:{tag}"

    def target_group_arn(self, name_or_arn: str) -> str | None:
        """The ARN of a target group named in the file; None if observe did not find it."""
        if name_or_arn.startswith("arn:"):
            return name_or_arn
        return self.target_groups.get(name_or_arn)


def target_group_name(arn: str) -> str:
    """`arn:...:targetgroup/api-production/6d0ecf831eec9f09` -> `api-production`."""
    match = re.search(r":targetgroup/([^/]+)/", arn)
    return match.group(1) if match else arn


# --- task definition ------------------------------------------------------------------


def _dump(model: Any) -> JSON:
    return dict(model.model_dump(by_alias=True, exclude_none=True)) if model is not None else {}


def image_uri(service: Service, refs: Refs) -> str:
    """The app container's image: this account's ECR, or `image.registry`'s."""
    image = service.image
    if image.registry is None:
        return refs.image_uri(image.repository, image.tag)
    prefix = f"{image.registry}/" if image.registry else ""
    return f"{prefix}{image.repository}:{image.tag}"


def network_mode(service: Service, env: Environment) -> str:
    """awsvpc with the file's `network:` (or the service's networkConfiguration), else
    bridge; `taskDefinition.networkMode` says otherwise."""
    block = service.task_definition
    if block is not None and block.network_mode:
        return block.network_mode
    has_network = env.network is not None or bool(
        service.service_fields and service.service_fields.network_configuration)
    return "awsvpc" if has_network else "bridge"


def app_container(service: Service, env: Environment, refs: Refs) -> JSON:
    """The service's own container: the `container:` block plus the shorthand keys."""
    container: JSON = {"name": service.name, "image": image_uri(service, refs),
                       "essential": True}
    container.update(_dump(service.container))
    if service.port is not None:
        container["portMappings"] = [{"containerPort": service.port, "protocol": "tcp"}]
    if service.environment:
        container["environment"] = [{"name": k, "value": v}
                                    for k, v in service.environment.items()]
    if service.secrets:
        container["secrets"] = [{"name": k, "valueFrom": v} for k, v in service.secrets.items()]
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
    return container


def register_task_definition_input(service: Service, env: Environment, refs: Refs) -> JSON:
    """RegisterTaskDefinition kwargs for `service`, exactly as they are sent."""
    block = _dump(service.task_definition)
    out: JSON = {
        "family": service.family,
        "networkMode": network_mode(service, env),
        "requiresCompatibilities": [env.launch_type],
        "cpu": str(service.cpu),
        "memory": str(service.memory),
        "containerDefinitions": [app_container(service, env, refs),
                                 *(_dump(s) for s in service.sidecars)],
    }
    if env.roles.task:
        out["taskRoleArn"] = env.roles.task
    if env.roles.execution:
        out["executionRoleArn"] = env.roles.execution
    out.update(block)
    return out


def _units(value: Any, parse: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(parse(value))


def normalize_task_definition(raw: Mapping[str, Any], *, strict: bool = False) -> JSON:
    """A task definition (rendered, or as DescribeTaskDefinition reports it) in canonical
    form: managed fields only, ECS's defaults filled. `strict`: an unmanaged member raises
    `UnmanagedFieldError` (for what we render)."""
    data = dict(raw)
    if strict is False:
        data = {k: v for k, v in data.items() if k in TASK_DEFINITION.members}
    mode = data.get("networkMode") or "bridge"
    data["cpu"] = _units(data.get("cpu"), parse_cpu)
    data["memory"] = _units(data.get("memory"), parse_memory)
    containers = []
    for container in data.get("containerDefinitions") or ():
        c = dict(container)
        ports = []
        for mapping in c.get("portMappings") or ():
            p = dict(mapping)
            # awsvpc and host: ECS sets the host port to the container port; bridge: 0 (or
            # left out) is a dynamic host port (terraform-provider-aws, ecspresso).
            if mode in ("awsvpc", "host") and p.get("hostPort") is None \
                    and p.get("containerPort") is not None:
                p["hostPort"] = p["containerPort"]
            if mode == "bridge" and p.get("hostPort") == 0:
                p.pop("hostPort")
            ports.append(p)
        c["portMappings"] = ports
        containers.append(c)
    data["containerDefinitions"] = containers
    out: JSON = canonical(TASK_DEFINITION, data, strict=strict) or {}
    return out


def render_task_definition(service: Service, env: Environment, refs: Refs) -> JSON:
    """The task definition `service` asks for, in canonical form (see the module doc)."""
    return normalize_task_definition(register_task_definition_input(service, env, refs),
                                     strict=True)


def register_input(spec: Mapping[str, Any]) -> JSON:
    """RegisterTaskDefinition kwargs from a rendered input (None values left out)."""
    return {k: v for k, v in spec.items() if v is not None}


# --- service --------------------------------------------------------------------------

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


def lifecycle_hooks(service: Service, env: Environment) -> list[JSON]:
    """`deployment.hooks` and `deployment.approval` as ECS DeploymentLifecycleHook items:
    AWS_LAMBDA hooks (role: the hook's, else roles.infrastructure) and, for an approval,
    one PAUSE hook (no target, no role: ECS waits for ContinueServiceDeployment) whose
    timeoutConfiguration says how long and what then (ROLLBACK or CONTINUE)."""
    d = service.deployment
    out: list[JSON] = []
    for hook in d.hooks:
        item: JSON = {"targetType": "AWS_LAMBDA", "hookTargetArn": hook.lambda_,
                      "lifecycleStages": list(hook.stages)}
        role = hook.role or env.roles.infrastructure
        if role:
            item["roleArn"] = role
        out.append(item)
    if d.approval is not None:
        out.append({"targetType": "PAUSE", "lifecycleStages": [d.approval.stage],
                    "timeoutConfiguration": {"timeoutInMinutes": d.approval.timeout_minutes,
                                             "action": d.approval.on_timeout.upper()}})
    return out


def deployment_configuration(service: Service, env: Environment) -> JSON:
    """The service's `deployment:` as ECS's DeploymentConfiguration.

    A rolling service keeps the circuit breaker; blue-green, canary and linear get
    `strategy`, `bakeTimeInMinutes` (0 when the file leaves it out), their step
    configuration with ECS's defaults spelt out (botocore: canary 5 % / 10 min, linear
    10 % / 6 min) and lifecycle hooks, and the circuit breaker off (ECS: rolling only)."""
    d = service.deployment
    rolling = d.strategy is Strategy.ROLLING
    breaker = d.circuit_breaker and rolling
    out: JSON = {
        "maximumPercent": d.maximum_percent,
        "minimumHealthyPercent": d.minimum_healthy_percent,
        "deploymentCircuitBreaker": {"enable": breaker, "rollback": d.rollback and breaker},
        "strategy": d.strategy.ecs,
    }
    if d.alarms is not None:
        out["alarms"] = _dump(d.alarms)
    if rolling:
        return out
    out["bakeTimeInMinutes"] = d.bake_minutes if d.bake_minutes is not None else 0
    if d.strategy is Strategy.CANARY:
        canary = d.canary or Canary()
        out["canaryConfiguration"] = {"canaryPercent": canary.percent,
                                      "canaryBakeTimeInMinutes": canary.bake_minutes}
    if d.strategy is Strategy.LINEAR:
        linear = d.linear or Linear()
        out["linearConfiguration"] = {"stepPercent": linear.step_percent,
                                      "stepBakeTimeInMinutes": linear.step_bake_minutes}
    hooks = lifecycle_hooks(service, env)
    if hooks:
        out["lifecycleHooks"] = hooks
    return out


def _load_balancers(service: Service, env: Environment, refs: Refs) -> list[JSON]:
    rolling = service.deployment.strategy is Strategy.ROLLING
    out: list[JSON] = []
    for t in service.targets():
        item: JSON = {
            "targetGroupArn": refs.target_group_arn(t.target_group) or t.target_group,
            "containerName": t.container_name or service.name,
            "containerPort": t.container_port or service.port,
        }
        if not rolling and t.alternate_target_group:
            advanced: JSON = {
                "alternateTargetGroupArn": refs.target_group_arn(t.alternate_target_group)
                or t.alternate_target_group,
                "productionListenerRule": t.production_listener_rule,
                "roleArn": t.role or env.roles.infrastructure,
            }
            if t.test_listener_rule:
                advanced["testListenerRule"] = t.test_listener_rule
            item["advancedConfiguration"] = advanced
        out.append(item)
    return out


def service_input(service: Service, env: Environment, refs: Refs) -> JSON:
    """Every managed CreateService member for `service`, exactly as it is sent (but
    cluster, serviceName, taskDefinition and desiredCount)."""
    block = _dump(service.service_fields)
    out: JSON = {
        "launchType": env.launch_type,
        "deploymentController": {"type": "ECS"},
        "schedulingStrategy": "REPLICA",
        "propagateTags": "SERVICE",
        "enableECSManagedTags": True,
        "deploymentConfiguration": deployment_configuration(service, env),
    }
    if env.launch_type != "FARGATE" and "placementStrategy" not in block:
        out["placementStrategy"] = PLACEMENT[service.placement]
    if env.network is not None:
        out["networkConfiguration"] = {"awsvpcConfiguration": {
            "subnets": list(env.network.subnets),
            "securityGroups": list(env.network.security_groups),
            "assignPublicIp": "ENABLED" if env.network.assign_public_ip else "DISABLED",
        }}
    balancers = _load_balancers(service, env, refs)
    if balancers:
        out["loadBalancers"] = balancers
        grace = service.load_balancer.health_check_grace_period if service.load_balancer else 60
        out["healthCheckGracePeriodSeconds"] = grace
    tags = [{"key": MANAGED_BY_TAG, "value": "ecs-gitops"},
            {"key": ENVIRONMENT_TAG, "value": env.environment}]
    out.update(block)
    out["tags"] = [*block.get("tags", ()), *tags]
    if out.get("capacityProviderStrategy"):
        out.pop("launchType")  # ECS: a launch type or a capacity provider strategy
    return out


def reported_service_fields(raw: Mapping[str, Any]) -> JSON:
    """The managed members of a DescribeServices entry, those ECS reports on its PRIMARY
    deployment merged in (serviceConnectConfiguration, volumeConfigurations,
    vpcLatticeConfigurations: botocore's Service shape has no such member, its Deployment
    shape has)."""
    fields = {k: v for k, v in raw.items()
              if k in SERVICE.members and not SERVICE.members[k].rule.from_deployment}
    primary = next((d for d in raw.get("deployments") or () if d.get("status") == "PRIMARY"),
                   None)
    for key, node in SERVICE.members.items():
        if node.rule.from_deployment and primary is not None and key in primary:
            fields[key] = primary[key]
    return fields


def normalize_service_fields(raw: Mapping[str, Any], *, manage_count: bool) -> JSON:
    """A service (rendered, or a DescribeServices entry with its PRIMARY deployment's
    fields merged in) in canonical form. `desiredCount` only when `manage_count`."""
    data = {k: v for k, v in raw.items() if k in SERVICE.members}
    if not manage_count:
        data.pop("desiredCount", None)
    strategies = []
    for s in data.get("placementStrategy") or ():
        s = dict(s)
        # ECS reports a binpack field upper-cased: sent "memory", DescribeServices says
        # "MEMORY" (aws/amazon-ecs-cli#586; tests/corpus).
        if s.get("type") == "binpack" and isinstance(s.get("field"), str):
            s["field"] = s["field"].upper()
        strategies.append(s)
    data["placementStrategy"] = strategies
    if data.get("capacityProviderStrategy"):
        data.pop("launchType", None)
    elif not data.get("launchType"):
        data["launchType"] = "EC2"  # ECS's default without a capacity provider strategy
    fargate = data.get("launchType") == "FARGATE" or any(
        str(c.get("capacityProvider", "")).startswith("FARGATE")
        for c in data.get("capacityProviderStrategy") or ())
    if fargate and not data.get("platformVersion"):
        data["platformVersion"] = "LATEST"  # what ECS reports when none was sent
    dc = data.get("deploymentConfiguration")
    if isinstance(dc, Mapping) and dc.get("strategy") in (None, "ROLLING"):
        # A rolling update has no bake time and no traffic steps (botocore: they are
        # BLUE_GREEN, LINEAR and CANARY settings): what ECS keeps of them after a service
        # went back to ROLLING does nothing, and is not compared.
        data["deploymentConfiguration"] = {k: v for k, v in dc.items() if k not in (
            "bakeTimeInMinutes", "canaryConfiguration", "linearConfiguration")}
    if data.get("schedulingStrategy") == "DAEMON":
        dc = dict(data.get("deploymentConfiguration") or {})
        dc.setdefault("maximumPercent", 100)
        dc.setdefault("minimumHealthyPercent", 0)
        data["deploymentConfiguration"] = dc
    # aws: tags are AWS's own (CloudFormation's, ...): no one may edit them. ecs-gitops'
    # own markers are set when it creates a service and never compared: a service it
    # adopted (`ecs-gitops import`) stays unmarked, so prune never deletes it.
    data["tags"] = [t for t in data.get("tags") or ()
                    if not str(t.get("key", "")).lower().startswith(("aws:", "ecs-gitops:"))]
    connect = data.get("serviceConnectConfiguration")
    if isinstance(connect, Mapping) and connect.get("services"):
        # ECS: "If the discoveryName isn't specified, the port mapping name is used".
        data["serviceConnectConfiguration"] = {**connect, "services": [
            {"discoveryName": s.get("portName"), **s} for s in connect["services"]]}
    out: JSON = canonical(SERVICE, data, strict=False) or {}
    return out


def render_service_fields(service: Service, env: Environment, refs: Refs) -> JSON:
    """The managed service fields `service` asks for, canonical. `desiredCount` is present
    only when autoscaling does not own the count and the file sets one."""
    data = service_input(service, env, refs)
    manage = service.scaling is None and service.desired_count is not None
    if manage:
        data["desiredCount"] = service.desired_count
    canonical(SERVICE, data, strict=True)  # refuses a field the table does not manage
    return normalize_service_fields(data, manage_count=manage)


def initial_count(service: Service) -> int:
    """desiredCount at creation: scaling's min, else desiredCount, else 1."""
    if service.scaling is not None:
        return service.scaling.min
    return service.desired_count if service.desired_count is not None else 1


def create_service_input(
    service: Service, env: Environment, refs: Refs, task_definition: str
) -> JSON:
    """CreateService kwargs. The tags mark the service as this environment's."""
    out: JSON = {
        "cluster": env.cluster,
        "serviceName": service.ecs_name,
        "taskDefinition": task_definition,
        "desiredCount": initial_count(service),
        **service_input(service, env, refs),
    }
    if out.get("schedulingStrategy") == "DAEMON":
        out.pop("desiredCount")
    return out
