"""Pydantic models of a desired-state file (one file per environment).

The YAML uses camelCase keys (like the ECS API), Python uses snake_case. Models are
frozen and reject unknown keys, so a typo is an error rather than a silently
ignored setting. Every field carries a description: it becomes the JSON Schema
that editors use to complete and check the files (`ecs-gitops schema`).
"""

from __future__ import annotations

import math
import re
from enum import StrEnum
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from ecs_gitops.desired import checks, limits
from ecs_gitops.desired.ecs_api import (
    ContainerDefinition,
    DeploymentAlarms,
    ServiceFields,
    TaskDefinitionFields,
)
from ecs_gitops.errors import UnknownServiceError


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
    )


def _raise_first(problems: list[tuple[checks.Loc, str]]) -> None:
    if problems:
        loc, message = problems[0]
        raise PydanticCustomError("ecs_gitops", message, {"field": ".".join(map(str, loc))})


# At most 9 digits before and after the point: enough for any size ECS offers, and
# exact arithmetic (Fraction) on them is instant; longer strings do not match.
_CPU = re.compile(r"^\s*(\d{1,9}(?:\.\d{1,9})?)\s*(vcpu|cpu)?\s*$", re.IGNORECASE)
_MEM = re.compile(r"^\s*(\d{1,9}(?:\.\d{1,9})?)\s*(mib|mb|gib|gb)?\s*$", re.IGNORECASE)


def _shown(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}..."


def _whole(amount: Fraction, what: str, value: object, unit: str) -> int:
    if amount.denominator != 1:
        raise PydanticCustomError(what, f"{what} {_shown(value)} is {float(amount):g} {unit}, "
                                  f"not a whole number of {unit}")
    return int(amount)


def _finite(value: float, what: str) -> None:
    if not math.isfinite(value):
        raise PydanticCustomError(what, f"{what} must be a finite number, not {value}")


def parse_cpu(value: Any) -> Any:
    """Task CPU in CPU units (1024 per vCPU), from any of its notations.

    `256`, `"256"`, `"0.25 vCPU"`, `"0.25vcpu"` and `0.25` (a number below 128 is
    vCPU) all mean 256 units. Returns an int for those; other types are returned
    as they are, for pydantic to report. Raises `PydanticCustomError` for a string
    in no known notation, a value that is not a whole number of units (0.1 vCPU is
    102.4) and infinities or NaN. Arithmetic is exact, so it never overflows.
    """
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        _finite(value, "cpu")
        return _whole(Fraction(value) * 1024, "cpu", value, "units") if value < 128 else value
    if isinstance(value, str):
        match = _CPU.match(value)
        if not match:
            raise PydanticCustomError(
                "cpu", f"cpu must be CPU units (256) or vCPU ('0.25 vCPU'), not {_shown(value)}"
            )
        number, unit = Fraction(match.group(1)), match.group(2)
        return _whole(number * 1024 if unit else number, "cpu", value, "units")
    return value


def parse_memory(value: Any) -> Any:
    """Task memory in MiB, from any of its notations.

    `512`, `"512"`, `"512 MiB"` and `"0.5 GB"` all mean 512 MiB (GB and GiB are read
    as 1024 MiB, as the ECS console does). Returns an int for those; other types are
    returned as they are, for pydantic to report. Raises `PydanticCustomError` for a
    string in no known notation, a value that is not a whole number of MiB, and
    infinities or NaN. Arithmetic is exact, so it never overflows.
    """
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        _finite(value, "memory")
        return value
    if isinstance(value, str):
        match = _MEM.match(value)
        if not match:
            raise PydanticCustomError(
                "memory", f"memory must be MiB (512) or '0.5 GB', not {_shown(value)}"
            )
        number, unit = Fraction(match.group(1)), (match.group(2) or "").lower()
        return _whole(number * 1024 if unit in ("gb", "gib") else number, "memory", value, "MiB")
    return value


def _not_latest(tag: str) -> str:
    if tag.lower() == "latest":
        raise PydanticCustomError(
            "image_tag",
            "the tag 'latest' is not allowed: pin an immutable tag (the commit id) so that "
            "git says exactly what runs",
        )
    return tag


Cpu = Annotated[int, BeforeValidator(parse_cpu), Field(gt=0)]
Memory = Annotated[int, BeforeValidator(parse_memory), Field(gt=0)]
Port = Annotated[int, Field(ge=1, le=65535)]
ImageTag = Annotated[
    str,
    Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"),
    AfterValidator(_not_latest),
]
ServiceName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,254}$")]
SsmReference = Annotated[
    str,
    Field(pattern=r"^(/[A-Za-z0-9_.\-/]+|arn:aws[a-z-]*:(ssm|secretsmanager):.+)$"),
]


class Placement(StrEnum):
    """How ECS places a service's tasks on the cluster's instances."""

    SPREAD_AZ = "spread-az"
    SPREAD_INSTANCE = "spread-instance"
    BINPACK_MEMORY = "binpack-memory"
    BINPACK_CPU = "binpack-cpu"
    RANDOM = "random"


class Image(_Model):
    """The service's container image: an ECR repository of the stack's account (or another
    registry) and an immutable tag.
    """
    registry: str | None = Field(
        default=None,
        description="Registry host (and path) of an image outside this account's ECR, e.g. "
        "'public.ecr.aws/nginx'; '' for Docker Hub short names ('nginx:1.27'). Default: the "
        "stack's account and region's ECR.",
        pattern=r"^([A-Za-z0-9][A-Za-z0-9.-]*(:[0-9]+)?(/[a-z0-9._-]+)*)?$",
    )
    repository: str = Field(
        description="ECR repository name (in the stack's account and region), e.g. 'api'.",
        pattern=r"^[a-z0-9]+(?:[._/-][a-z0-9]+)*$",
    )
    tag: ImageTag = Field(
        description="Immutable image tag, normally the git commit id the build wrote back. "
        "'latest' is refused."
    )


class Build(_Model):
    """How the service's image is built: a CodeBuild project, from a folder of this
    repository or of an application repository (`repository`)."""
    project: str = Field(description="CodeBuild project that builds this service's image.")
    source: str = Field(
        description="Repository folder holding the app's source; a push that changes a file "
        "under it starts the build (`.`: the whole repository).",
        pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/?$",
    )
    repository: str | None = Field(
        default=None, pattern=r"^[\w.-]{1,100}$",
        description="CodeCommit repository holding the app's code when it is not this "
        "configuration repository (an application repository, one of the stack's "
        "ApplicationRepositories): a push to `branch` of it that changes `source` builds "
        "the service from that repository; the tag is written back here.")
    branch: str | None = Field(
        default=None, min_length=1, max_length=256,
        description="The branch of `repository` that feeds this environment (default: the "
        "environment's own branch). Only with `repository`.")

    @model_validator(mode="after")
    def _branch_needs_repository(self) -> Build:
        if self.branch is not None and self.repository is None:
            _raise_first([(("branch",), "branch names a branch of `repository`: set it too")])
        return self


class Scaling(_Model):
    """Target tracking autoscaling of the service's desired count (Application Auto Scaling)."""
    min: int = Field(ge=0, le=10_000, description="Fewest tasks autoscaling may run.")
    max: int = Field(ge=1, le=10_000, description="Most tasks autoscaling may run.")
    target_cpu: int = Field(
        default=80, ge=1, le=100,
        description="Target tracking: keep average CPU utilisation of the service near this %.",
    )
    scale_in_cooldown: int = Field(default=300, ge=0, le=3600,
                                   description="Seconds between scale-in steps.")
    scale_out_cooldown: int = Field(default=60, ge=0, le=3600,
                                    description="Seconds between scale-out steps.")

    @model_validator(mode="after")
    def _min_le_max(self) -> Scaling:
        _raise_first(checks.check_scaling(self.min, self.max))
        return self


# botocore 1.44.8, ECS DeploymentLifecycleHookStageList's enum: the stages of a
# blue/green, linear or canary deployment at which ECS calls a lifecycle hook.
HookStage = Literal["RECONCILE_SERVICE", "PRE_SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT",
                    "POST_TEST_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT",
                    "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"]
RoleArn = Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")]
LambdaArn = Annotated[str, Field(
    pattern=r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]+)?$")]
ListenerArn = Annotated[str, Field(
    pattern=r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:listener(-rule)?/.+$")]
# ECS API reference (botocore DeploymentConfiguration, LinearConfiguration,
# CanaryConfiguration docs): bake times are 0 to 1440 minutes (24 hours).
BakeMinutes = Annotated[int, Field(ge=0, le=1440)]


class Strategy(StrEnum):
    """How ECS replaces a service's tasks (ECS `deploymentConfiguration.strategy`)."""

    ROLLING = "rolling"
    BLUE_GREEN = "blue-green"
    CANARY = "canary"
    LINEAR = "linear"

    @property
    def ecs(self) -> str:
        """The ECS API value: ROLLING, BLUE_GREEN, CANARY or LINEAR."""
        return self.value.upper().replace("-", "_")


def tenths_in(value: float, low: float, high: float, what: str) -> float:
    """`value` if it is a multiple of 0.1 within [low, high], else `PydanticCustomError`.

    ECS API reference (botocore 1.44.8): canaryPercent "Valid values are multiples of 0.1
    from 0.1 to 100.0", stepPercent "multiples of 0.1 from 3.0 to 100.0". The check is
    exact on the decimal the file wrote (`repr` of the float), so 10.3 passes and
    10.35 or 1e-9 do not. Returns the value as a float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError(what, f"{what} must be a number, not {_shown(value)}")
    if not math.isfinite(value):
        raise PydanticCustomError(what, f"{what} must be a finite number, not {value}")
    tenths = Fraction(repr(float(value))) * 10
    if tenths.denominator != 1 or not (Fraction(repr(low)) * 10 <= tenths
                                       <= Fraction(repr(high)) * 10):
        raise PydanticCustomError(
            what, f"{what} {value!r}: ECS takes multiples of 0.1 from {low} to {high}")
    return float(value)


def _canary_percent(value: Any) -> float:
    return tenths_in(value, 0.1, 100.0, "percent")


def _step_percent(value: Any) -> float:
    return tenths_in(value, 3.0, 100.0, "stepPercent")


class Canary(_Model):
    """ECS `canaryConfiguration`: a first step of `percent` of production traffic, then
    the rest after `bakeMinutes`."""

    percent: Annotated[float, AfterValidator(_canary_percent)] = Field(
        default=5.0, description="Production traffic (%) the canary step moves to the new "
        "tasks: a multiple of 0.1 from 0.1 to 100 (ECS canaryPercent; ECS's default 5).")
    bake_minutes: BakeMinutes = Field(
        default=10, description="Minutes ECS waits after the canary step before moving the "
        "rest (ECS canaryBakeTimeInMinutes, 0 to 1440; ECS's default 10).")


class Linear(_Model):
    """ECS `linearConfiguration`: equal steps of `stepPercent`, `stepBakeMinutes` apart."""

    step_percent: Annotated[float, AfterValidator(_step_percent)] = Field(
        default=10.0, description="Production traffic (%) each step moves: a multiple of 0.1 "
        "from 3 to 100 (ECS stepPercent; ECS's default 10).")
    step_bake_minutes: BakeMinutes = Field(
        default=6, description="Minutes between steps (ECS stepBakeTimeInMinutes, 0 to 1440; "
        "ECS's default 6; not applied after the last step).")


class Hook(_Model):
    """A Lambda function ECS calls at deployment stages (an AWS_LAMBDA lifecycle hook)."""

    lambda_: LambdaArn = Field(alias="lambda", description="The function's ARN "
                               "(ECS hookTargetArn).")
    stages: tuple[HookStage, ...] = Field(
        min_length=1, description="Lifecycle stages at which ECS calls it, e.g. "
        "[POST_TEST_TRAFFIC_SHIFT] (ECS lifecycleStages).")
    role: RoleArn | None = Field(
        default=None, description="Role ECS assumes to invoke the function (ECS roleArn); "
        "default: roles.infrastructure.")


def _approval(value: Any) -> Any:
    if value == "manual":
        return {}
    if isinstance(value, str):
        raise PydanticCustomError("approval", f"approval must be 'manual' or a mapping "
                                  f"{{stage, timeoutMinutes, onTimeout}}, not {_shown(value)}")
    return value


def _manual_in_schema(schema: dict[str, Any]) -> None:
    """The schema says what the file may write: the string 'manual' too."""
    options = schema.get("anyOf")
    if isinstance(options, list):
        options.insert(0, {"const": "manual", "type": "string"})


class Approval(_Model):
    """A manual approval: a PAUSE lifecycle hook that holds the deployment until
    `ecs-gitops approve` (ContinueServiceDeployment) or the time-out."""

    stage: HookStage = Field(
        default="POST_SCALE_UP", description="Stage at which the deployment waits. Default "
        "POST_SCALE_UP: the new tasks run and production traffic has not moved yet.")
    timeout_minutes: int = Field(
        default=60, ge=1, le=20160, description="Minutes to wait for an approval "
        "(ECS timeoutInMinutes, 1 to 20160).")
    on_timeout: Literal["rollback", "continue"] = Field(
        default="rollback", description="What ECS does when nobody approved in time.")

    @field_validator("stage")
    @classmethod
    def _pause_stage(cls, value: str) -> str:
        # ECS developer guide, "Pause hooks for Amazon ECS service deployments": a PAUSE
        # hook's lifecycleStages are RECONCILE_SERVICE, PRE_SCALE_UP, POST_SCALE_UP,
        # POST_TEST_TRAFFIC_SHIFT, PRE_PRODUCTION_TRAFFIC_SHIFT, POST_PRODUCTION_TRAFFIC_SHIFT.
        if value in ("TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"):
            raise PydanticCustomError(
                "stage", f"ECS does not pause during {value}: pause before or after it")
        return value


class Deployment(_Model):
    """How a service's tasks are replaced (`deployment:`), as ECS's DeploymentConfiguration:
    a rolling update with the circuit breaker (the default), or ECS's blue-green, canary or
    linear strategy with bake times, steps, lifecycle hooks and a manual approval
    (`ecs_gitops.render.deployment_configuration`). Rules: `deployment_problems`."""

    minimum_healthy_percent: int = Field(
        default=100, ge=0, le=100,
        description="Rolling update floor: never fewer healthy tasks than this % of desired.",
    )
    maximum_percent: int = Field(
        default=200, ge=100, le=400,
        description="Rolling update ceiling: at most this % of desired tasks during a deploy.",
    )
    circuit_breaker: bool = Field(
        default=True, description="Stop a deployment whose tasks keep failing to start "
        "(rolling only: ECS's circuit breaker applies to the rolling update strategy; "
        "off by default with the other strategies).")
    rollback: bool = Field(
        default=True,
        description="With the circuit breaker: roll back to the last completed deployment.",
    )
    alarms: DeploymentAlarms | None = Field(
        default=None, description="CloudWatch alarms that fail (and with rollback, roll back) "
        "a deployment, as ECS's deploymentConfiguration.alarms.")
    strategy: Strategy = Field(
        default=Strategy.ROLLING, description="rolling, blue-green, canary or linear (ECS "
        "deploymentConfiguration.strategy). The last three move traffic between target "
        "groups: they need loadBalancer.alternateTargetGroup and productionListenerRule.")
    bake_minutes: BakeMinutes | None = Field(
        default=None, description="Minutes both revisions keep running after all production "
        "traffic moved, for a quick rollback (ECS bakeTimeInMinutes, 0 to 1440). Required "
        "for blue-green; canary and linear send 0 when it is left out.")
    canary: Canary | None = Field(default=None, description="With strategy canary: the "
                                  "canary step (default 5 %, 10 minutes).")
    linear: Linear | None = Field(default=None, description="With strategy linear: the steps "
                                  "(default 10 %, 6 minutes apart).")
    hooks: tuple[Hook, ...] = Field(default=(), description="Lambda functions ECS calls at "
                                    "deployment stages (lifecycle hooks).")
    approval: Annotated[Approval | None, BeforeValidator(_approval)] = Field(
        default=None, description="'manual' (or {stage, timeoutMinutes, onTimeout}): the "
        "deployment waits for `ecs-gitops approve` before traffic moves.",
        json_schema_extra=_manual_in_schema)

    @model_validator(mode="after")
    def _strategy_rules(self) -> Deployment:
        _raise_first(deployment_problems(self))
        return self


def deployment_problems(d: Deployment) -> list[tuple[checks.Loc, str]]:
    """The rules of `deployment:` alone, as (location, message) pairs.

    Sources: botocore 1.44.8's ECS model docs: bakeTimeInMinutes "You must provide this
    parameter when you use the BLUE_GREEN deployment strategy"; DeploymentCircuitBreaker
    "can only be used for services using the rolling update (ECS) deployment type";
    lifecycle hooks are stages of BLUE_GREEN, LINEAR and CANARY deployments."""
    out: list[tuple[checks.Loc, str]] = []
    rolling = d.strategy is Strategy.ROLLING
    if d.canary is not None and d.strategy is not Strategy.CANARY:
        out.append((("canary",), "canary settings need strategy: canary"))
    if d.linear is not None and d.strategy is not Strategy.LINEAR:
        out.append((("linear",), "linear settings need strategy: linear"))
    if rolling:
        for key, given in (("bakeMinutes", d.bake_minutes is not None),
                           ("hooks", bool(d.hooks)), ("approval", d.approval is not None)):
            if given:
                out.append(((key,), f"{key} needs strategy blue-green, canary or linear: a "
                             "rolling update has no bake time or lifecycle hooks"))
    else:
        if "circuit_breaker" in d.model_fields_set and d.circuit_breaker:
            out.append((("circuitBreaker",), f"ECS's circuit breaker works with the rolling "
                        f"strategy only, not {d.strategy.value}: use alarms to roll back"))
        if d.strategy is Strategy.BLUE_GREEN and d.bake_minutes is None:
            out.append((("bakeMinutes",), "ECS requires a bake time with blue-green: add "
                        "bakeMinutes (0 to 1440)"))
    return out


class AppContainer(ContainerDefinition):
    """More fields of the service's own container, as ECS's ContainerDefinition names them.

    Its name is the service's `name` and its image the service's `image`."""

    @model_validator(mode="after")
    def _no_name_or_image(self) -> AppContainer:
        for alias, value in (("name", self.name), ("image", self.image)):
            if value is not None:
                raise PydanticCustomError(
                    "ecs_gitops", "{alias}: the app container's name is the service's `name` "
                    "and its image the service's `image`", {"field": alias, "alias": alias})
        return self


class Sidecar(ContainerDefinition):
    """Another container of the task (log router, proxy, agent), as ECS's ContainerDefinition."""

    name: str = Field(alias="name", pattern=r"^[A-Za-z0-9_-]{1,255}$",
                      description="The container's name, unique in the task.")
    image: str = Field(alias="image", min_length=1, max_length=2048,
                       description="Full image reference, e.g. "
                       "'public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0'.")


class _TargetGroupFields(_Model):
    """The fields of ECS's LoadBalancer (a target group the service's tasks register in)
    and of its advancedConfiguration (blue-green, canary and linear deployments), shared by
    `loadBalancer:` and each of `loadBalancers:`. Source: botocore's ECS model,
    LoadBalancer and AdvancedConfiguration."""

    target_group: str = Field(
        description="Target group name (resolved to its ARN before apply) or full ARN.",
        min_length=1)
    container_name: str | None = Field(
        default=None, description="Container registered with the target group; defaults to "
        "the app container (the service's `name`).")
    container_port: Port | None = Field(
        default=None, description="Container port registered with the target group; "
        "defaults to the service's port.")
    alternate_target_group: str | None = Field(
        default=None, min_length=1, description="blue-green, canary, linear: the second "
        "target group ECS registers the new tasks in (name or ARN; ECS "
        "advancedConfiguration.alternateTargetGroupArn).")
    production_listener_rule: ListenerArn | None = Field(
        default=None, description="blue-green, canary, linear: ARN of the listener rule "
        "(ALB) or listener (NLB) whose production traffic ECS shifts.")
    test_listener_rule: ListenerArn | None = Field(
        default=None, description="Optional: ARN of the listener rule that sends test "
        "traffic to the new tasks before production traffic moves.")
    role: RoleArn | None = Field(
        default=None, description="Role ECS assumes to change the listener rules (ECS "
        "advancedConfiguration.roleArn); default: roles.infrastructure.")


class LoadBalancer(_TargetGroupFields):
    """The service's target group (`loadBalancer:`), with the service's health check grace
    period (ECS healthCheckGracePeriodSeconds: 0 to 2,147,483,647 seconds, botocore's ECS
    model)."""

    health_check_grace_period: int = Field(
        default=60, ge=0, le=2_147_483_647,
        description="Seconds ECS ignores failing load balancer health checks after a task starts.",
    )


class TargetGroup(_TargetGroupFields):
    """One of several target groups (`loadBalancers:`), as ECS's LoadBalancer takes it."""


class HealthCheck(_Model):
    """The app container's health check, as ECS's HealthCheck (seconds; ECS's ranges)."""
    command: tuple[str, ...] = Field(
        description="Container health check, as ECS takes it: ['CMD-SHELL', 'curl -f ...'].",
        min_length=2,
    )
    interval: int = Field(default=30, ge=5, le=300, description="Seconds between checks.")
    timeout: int = Field(default=5, ge=2, le=120, description="Seconds before a check fails.")
    retries: int = Field(default=3, ge=1, le=10, description="Failures before 'unhealthy'.")
    start_period: int = Field(default=0, ge=0, le=300,
                              description="Grace seconds after start before failures count.")


class Service(_Model):
    """One ECS service of the environment: its task definition and its service settings."""
    name: ServiceName = Field(description="The app's name, unique in this file, e.g. 'api'.")
    service_name: ServiceName | None = Field(
        default=None,
        description="ECS service name (and task definition family). Defaults to `name`; "
        "set it when environments share a cluster, e.g. 'api-development'.",
    )
    image: Image = Field(description="The container image to run.")
    build: Build | None = Field(default=None, description="How the image is built from git.")
    cpu: Cpu = Field(description="Task CPU: units (256) or vCPU ('0.25 vCPU').")
    memory: Memory = Field(description="Task memory: MiB (512) or '0.5 GB'.")
    port: Port | None = Field(
        default=None, description="Container port the app listens on (one tcp port mapping; "
        "`container.portMappings` for more).")
    environment: dict[str, str] = Field(
        default_factory=dict,
        description="Plain environment variables. Names that look secret are refused here.",
    )
    secrets: dict[str, SsmReference] = Field(
        default_factory=dict,
        description="Environment variables filled by ECS from SSM Parameter Store "
        "(name like '/simpleweb/db-password', or an ARN). Values never appear in git.",
    )
    desired_count: int | None = Field(
        default=None, ge=0, le=10_000,
        description="Task count when `scaling` is not set. With `scaling`, autoscaling owns "
        "the count and this must be left out.",
    )
    scaling: Scaling | None = Field(default=None, description="Target tracking autoscaling.")
    placement: Placement = Field(
        default=Placement.SPREAD_AZ,
        description="Task placement: spread-az, spread-instance, binpack-memory, binpack-cpu, "
        "random.",
    )
    deployment: Deployment = Field(default_factory=Deployment,
                                   description="Rolling update settings.")
    load_balancer: LoadBalancer | None = Field(default=None,
                                               description="Target group to register tasks in.")
    health_check: HealthCheck | None = Field(default=None,
                                             description="Container health check.")
    log_group: str | None = Field(
        default=None, description="CloudWatch Logs group for the awslogs driver.",
        pattern=r"^[\.\-_/#A-Za-z0-9]+$",
    )
    load_balancers: tuple[TargetGroup, ...] = Field(
        default=(), description="Several target groups (instead of `loadBalancer`).")
    container: AppContainer | None = Field(
        default=None, description="More fields of the app container (ECS ContainerDefinition "
        "names): command, entryPoint, ulimits, linuxParameters, mountPoints, dependsOn, ...")
    sidecars: tuple[Sidecar, ...] = Field(
        default=(), description="More containers of the task, each a whole ECS "
        "ContainerDefinition.")
    task_definition: TaskDefinitionFields | None = Field(
        default=None, alias="taskDefinition",
        description="More RegisterTaskDefinition fields: family, volumes, runtimePlatform, "
        "ephemeralStorage, proxyConfiguration, tags, ...")
    service_fields: ServiceFields | None = Field(
        default=None, alias="service",
        description="More CreateService/UpdateService fields: capacityProviderStrategy, "
        "serviceRegistries, serviceConnectConfiguration, enableExecuteCommand, tags, ...")
    replace: bool = Field(
        default=False, description="Allow ecs-gitops to delete and re-create this service "
        "when a change cannot be made by UpdateService (e.g. launchType). Its tasks stop.")

    @property
    def ecs_name(self) -> str:
        """The ECS service name: `serviceName`, else `name`."""
        return self.service_name or self.name

    @field_validator("environment")
    @classmethod
    def _no_secret_in_environment(cls, value: dict[str, str]) -> dict[str, str]:
        _raise_first(checks.check_environment_names(value))
        return value

    @model_validator(mode="after")
    def _count_or_scaling(self) -> Service:
        if self.build is not None and self.image.registry is not None:
            raise PydanticCustomError(
                "ecs_gitops", "a service built by CodeBuild runs from this account's ECR: "
                "leave out image.registry", {"field": "image.registry"})
        if self.scaling is not None and self.desired_count is not None:
            raise PydanticCustomError(
                "ecs_gitops",
                "desiredCount and scaling exclude each other: autoscaling owns the count",
                {"field": "desiredCount"},
            )
        _raise_first(limits.check_service(self.model_dump(by_alias=True, exclude_none=True),
                                          explicit=self.model_fields_set))
        _raise_first(traffic_problems(self))
        return self

    def targets(self) -> tuple[LoadBalancer | TargetGroup, ...]:
        """The service's target groups: `loadBalancers`, then `loadBalancer`."""
        return (*self.load_balancers, *((self.load_balancer,) if self.load_balancer else ()))

    @property
    def family(self) -> str:
        """The task definition family: `taskDefinition.family`, else the ECS service name."""
        block = self.task_definition
        return block.family if block is not None and block.family else self.ecs_name


def traffic_problems(service: Service) -> list[tuple[checks.Loc, str]]:
    """The load balancer a strategy needs, as (location, message) pairs.

    ECS developer guide, "Required resources for Amazon ECS blue/green / linear / canary
    deployments": traffic shifting needs Elastic Load Balancing (an alternate target group
    and a production listener rule, AdvancedConfiguration) or Service Connect; linear and
    canary have nothing to shift without one. A rolling service takes no
    advancedConfiguration."""
    out: list[tuple[checks.Loc, str]] = []
    strategy = service.deployment.strategy
    block = service.service_fields
    connect = bool(block is not None and block.service_connect_configuration is not None)
    targets = service.targets()
    where = [("loadBalancers", n) for n in range(len(service.load_balancers))] + (
        [("loadBalancer",)] if service.load_balancer else [])
    advanced = [(loc, t) for loc, t in zip(where, targets, strict=True)
                if t.alternate_target_group or t.production_listener_rule
                or t.test_listener_rule or t.role]
    if strategy is Strategy.ROLLING:
        for loc, t in advanced:
            key = next(k for k, v in (("alternateTargetGroup", t.alternate_target_group),
                                      ("productionListenerRule", t.production_listener_rule),
                                      ("testListenerRule", t.test_listener_rule),
                                      ("role", t.role)) if v)
            out.append(((*loc, key), f"{key} is for blue-green, canary and linear "
                        "deployments: set deployment.strategy"))
        return out
    if not targets:
        if strategy in (Strategy.CANARY, Strategy.LINEAR) and not connect:
            out.append((("deployment", "strategy"), f"a {strategy.value} deployment shifts "
                        "traffic: it needs a loadBalancer (with alternateTargetGroup and "
                        "productionListenerRule) or service.serviceConnectConfiguration"))
        return out
    for loc, t in zip(where, targets, strict=True):
        for key, value in (("alternateTargetGroup", t.alternate_target_group),
                           ("productionListenerRule", t.production_listener_rule)):
            if not value:
                out.append(((*loc, key), f"a {strategy.value} deployment behind a load "
                            f"balancer needs {key} (ECS advancedConfiguration)"))
    return out


class Roles(_Model):
    """The IAM roles of the environment's task definitions (task role, execution role)."""
    task: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$",
                             description="Task role ARN (what the app may call in AWS).")
    execution: str | None = Field(
        default=None, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$",
        description="Execution role ARN (pulls the image, reads the secrets).",
    )
    infrastructure: RoleArn | None = Field(
        default=None, description="ECS infrastructure role ARN: ECS assumes it to change "
        "listener rules in blue-green, canary and linear deployments and to invoke "
        "lifecycle hook functions (trusts ecs.amazonaws.com).")


class Network(_Model):
    """The awsvpc network configuration of the environment's services."""
    subnets: tuple[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]+$")], ...] = Field(
        min_length=1, description="Subnets of the tasks' network interfaces (awsvpc mode).")
    security_groups: tuple[Annotated[str, Field(pattern=r"^sg-[0-9a-f]+$")], ...] = Field(
        min_length=1, description="Security groups of the tasks' network interfaces.")
    assign_public_ip: bool = Field(default=False, description="Give each task a public IP.")


class Environment(_Model):
    """One environment's desired state: one file of desired_state/, one cluster, one branch."""
    schema_version: Literal[1] = Field(description="Version of this file's format; 1.")
    environment: str = Field(pattern=r"^[a-z][a-z0-9-]{0,31}$",
                             description="Environment name, e.g. 'production'.")
    branch: str = Field(min_length=1, description="Git branch whose tip this file describes.")
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$", description="AWS region.")
    cluster: str = Field(pattern=r"^[A-Za-z0-9_-]{1,255}$", description="ECS cluster name.")
    launch_type: Literal["EC2", "FARGATE"] = Field(
        default="EC2", description="EC2 or FARGATE: decides which cpu/memory pairs are valid."
    )
    self_heal: bool = Field(
        default=True,
        description="Correct drift found by a scheduled reconcile. false: report it only.",
    )
    prune: bool = Field(
        default=False,
        description="Delete services of this environment that the file no longer lists.",
    )
    roles: Roles = Field(default_factory=Roles, description="IAM roles the tasks use.")
    network: Network | None = Field(
        default=None,
        description="awsvpc networking for the tasks (required for FARGATE). Without it, EC2 "
        "tasks use bridge mode with dynamic host ports behind the load balancer.")
    services: tuple[Service, ...] = Field(min_length=1, description="The services to run.")

    @model_validator(mode="after")
    def _cross_checks(self) -> Environment:
        if self.launch_type == "FARGATE" and self.network is None:
            raise PydanticCustomError(
                "ecs_gitops", "FARGATE tasks use awsvpc networking: add network: {subnets: "
                "[...], securityGroups: [...]}", {"field": "launchType"})
        problems = checks.check_unique_names(s.name for s in self.services)
        problems += self._role_problems()
        problems += checks.check_unique_names(s.ecs_name for s in self.services)
        for index, service in enumerate(self.services):
            problems += [
                ((index, *loc), msg)
                for loc, msg in checks.check_size(service.cpu, service.memory, self.launch_type)
            ]
            problems += [
                ((index, *loc), msg)
                for loc, msg in limits.check_in_environment(
                    service.model_dump(by_alias=True, exclude_none=True),
                    launch_type=self.launch_type, network=self.network is not None)
            ]
        if problems:
            loc, message = problems[0]
            raise PydanticCustomError(
                "ecs_gitops", message, {"field": ".".join(map(str, ("services", *loc)))}
            )
        return self

    def passed_roles(self) -> set[str]:
        """Every role ARN the file has ECS use: task and execution roles (passed to
        ecs-tasks.amazonaws.com), the infrastructure role and the load balancers' and
        hooks' own roles (passed to ecs.amazonaws.com)."""
        roles = {r for r in (self.roles.task, self.roles.execution) if r}
        for service in self.services:
            if service.deployment.strategy is Strategy.ROLLING:
                continue
            shifted = [t for t in service.targets() if t.alternate_target_group]
            own = [t.role for t in shifted] + [h.role for h in service.deployment.hooks]
            roles.update(r for r in own if r)
            if self.roles.infrastructure and any(r is None for r in own):
                roles.add(self.roles.infrastructure)
        return roles

    def _role_problems(self) -> list[tuple[checks.Loc, str]]:
        """Each blue-green/canary/linear load balancer and Lambda hook needs a role that ECS
        assumes (ECS AdvancedConfiguration.roleArn, DeploymentLifecycleHook.roleArn)."""
        if self.roles.infrastructure:
            return []
        out: list[tuple[checks.Loc, str]] = []
        for index, service in enumerate(self.services):
            if service.deployment.strategy is Strategy.ROLLING:
                continue
            for n, t in enumerate(service.targets()):
                if t.alternate_target_group and not t.role:
                    loc = ("loadBalancers", n) if n < len(service.load_balancers) else (
                        "loadBalancer",)
                    out.append(((index, *loc, "alternateTargetGroup"), "ECS needs a role to "
                                "change the listener rules: set roles.infrastructure (or "
                                "role here)"))
            for n, hook in enumerate(service.deployment.hooks):
                if hook.role is None:
                    out.append(((index, "deployment", "hooks", n, "lambda"), "ECS needs a "
                                "role to invoke the function: set roles.infrastructure (or "
                                "role here)"))
        return out

    def service(self, name: str) -> Service:
        """The service whose `name` or ECS `serviceName` is `name`.

        Raises:
            UnknownServiceError: no such service in this file.
        """
        for service in self.services:
            if service.name == name or service.ecs_name == name:
                return service
        raise UnknownServiceError(f"no service {name!r} in environment {self.environment}")
