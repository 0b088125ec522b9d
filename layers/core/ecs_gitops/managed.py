"""The managed fields of each ECS resource: the one table that drives render, normalise and diff.

For every member of RegisterTaskDefinition, ContainerDefinition and Create/UpdateService
(botocore's ECS model is the authority for the list) the table says where the file
expresses it, or why ecs-gitops does not manage it. A member missing from the table
is a test failure (`tests/unit/test_ecs_api_model.py`), a member the table does not
manage is refused at render (`UnmanagedFieldError`), never silently dropped.

Below the top level, `ecs_gitops.desired.ecs_api` (generated from botocore) gives the
members of each structure; `RULES` adds what ECS does to them on the way back
(DescribeTaskDefinition, DescribeServices): defaults it fills in, lists it reorders,
values it re-cases. Each rule names its source (tests/corpus/README.md has the
responses). `ecs_gitops.shape` turns both into the descriptors that `canonical` walks.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class InBlock:
    """Written under the block of the same name (`taskDefinition:`, `service:`,
    `container:`/`sidecars:`), exactly as the ECS API spells it."""

    note: str = ""


@dataclass(frozen=True, slots=True)
class Shorthand:
    """Expressed by the file's own keys (named in `where`), rendered into this member."""

    where: str


@dataclass(frozen=True, slots=True)
class NotManaged:
    """Not managed by ecs-gitops, for `reason`. `import` lists it when a service uses it."""

    reason: str


Entry = InBlock | Shorthand | NotManaged

_NOT_REPORTED = ("DescribeServices does not report it, so ecs-gitops could not see a "
                 "difference and would either never or always update it")

TOP_LEVEL: dict[str, dict[str, Entry]] = {
    "RegisterTaskDefinition": {
        "family": InBlock("default: the ECS service name"),
        "taskRoleArn": InBlock("default: roles.task"),
        "executionRoleArn": InBlock("default: roles.execution"),
        "networkMode": InBlock("default: awsvpc with `network:`, else bridge"),
        "containerDefinitions": Shorthand(
            "the app container (image, port, environment, secrets, healthCheck, logGroup, "
            "container) and `sidecars`"),
        "volumes": InBlock(),
        "placementConstraints": InBlock(),
        "requiresCompatibilities": InBlock("default: [launchType]"),
        "cpu": Shorthand("cpu"),
        "memory": Shorthand("memory"),
        "tags": InBlock(),
        "pidMode": InBlock(),
        "ipcMode": InBlock(),
        "proxyConfiguration": InBlock(),
        "inferenceAccelerators": NotManaged(
            "Elastic Inference reached its end of life on 15 April 2024: ECS no longer "
            "places tasks that ask for accelerators"),
        "ephemeralStorage": InBlock(),
        "runtimePlatform": InBlock(),
        "enableFaultInjection": InBlock(),
        "trustedExecutionConfiguration": InBlock(),
    },
    # Every member of a container definition is written as is, under `container:` (the
    # app container, whose name and image come from `name` and `image`) or `sidecars:`.
    "ContainerDefinition": {},
    "CreateService": {
        "cluster": Shorthand("cluster"),
        "serviceName": Shorthand("serviceName (default: name)"),
        "taskDefinition": Shorthand("the rendered task definition, registered by content"),
        "availabilityZoneRebalancing": InBlock(
            "left out: ECS decides (ENABLED for new services) and it is not compared"),
        "loadBalancers": Shorthand("loadBalancer / loadBalancers"),
        "serviceRegistries": InBlock(),
        "desiredCount": Shorthand("desiredCount, or scaling (which then owns the count)"),
        "clientToken": NotManaged("a per-call idempotency token, not state of the service"),
        "launchType": Shorthand("launchType (left out with a capacityProviderStrategy)"),
        "capacityProviderStrategy": InBlock(),
        "platformVersion": InBlock(),
        "role": NotManaged(
            "legacy: ECS uses its service-linked role, which it requires for awsvpc, "
            "several target groups and service discovery"),
        "deploymentConfiguration": Shorthand("deployment"),
        "placementConstraints": InBlock(),
        "placementStrategy": InBlock("or the shorthand `placement`"),
        "networkConfiguration": InBlock("default: the file's `network:`"),
        "healthCheckGracePeriodSeconds": InBlock(
            "or loadBalancer.healthCheckGracePeriod"),
        "schedulingStrategy": InBlock(),
        "deploymentController": Shorthand(
            "always {type: ECS}: a service with another controller is replaced"),
        "tags": InBlock("besides the ecs-gitops tags, which are always set"),
        "enableECSManagedTags": InBlock(),
        "propagateTags": InBlock(),
        "enableExecuteCommand": InBlock(),
        "serviceConnectConfiguration": InBlock(),
        "volumeConfigurations": InBlock(),
        "vpcLatticeConfigurations": InBlock(),
        "gatewayConnectors": NotManaged(_NOT_REPORTED),
        "monitoring": NotManaged(_NOT_REPORTED),
    },
    # UpdateService takes a subset of CreateService's members, and these two.
    "UpdateService": {
        "service": Shorthand("serviceName (default: name)"),
        "forceNewDeployment": NotManaged("an action (restart the tasks), not state"),
    },
}

# Members of nested ECS structures that ecs-gitops does not manage (left out of the
# generated models, and dropped from what ECS reports).
SHAPE_EXCLUSIONS: dict[str, dict[str, NotManaged]] = {
    "DeploymentConfiguration": {
        "earlySuccessCriteria": NotManaged(
            "not expressed in `deployment:` yet: ECS ends a deployment early when it is set, "
            "which the rollout simulator does not play"),
    },
    "DeploymentLifecycleHook": {
        "hookDetails": NotManaged(
            "a free-form document ECS passes to the hook function: not in `deployment.hooks` "
            "yet"),
    },
}
# strategy, bakeTimeInMinutes, canaryConfiguration, linearConfiguration, lifecycleHooks
# (`deployment:`) and LoadBalancer.advancedConfiguration (`loadBalancer:`) are managed
# since issue 14: `ecs_gitops.render.deployment_configuration` renders them.


def not_managed(resource: str) -> dict[str, str]:
    """Member -> reason, for the members of `resource` that ecs-gitops leaves alone."""
    return {m: e.reason for m, e in TOP_LEVEL[resource].items() if isinstance(e, NotManaged)}
