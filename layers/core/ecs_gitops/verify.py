"""What a plan needs to exist before its first write (invariant 7: all or nothing), and
what in it ECS would refuse.

Purely computational functions: `requirements` lists the images, SSM parameters,
Secrets Manager secrets, log groups, subnets, security groups, EFS file systems and
target groups that the plan's actions refer to; `ecs_gitops.aws.preflight` checks
them against AWS. `refusals` (carried in `Requirements.refused`) lists what ECS would refuse whatever
exists (today: a task definition over 64 KiB). Only when both are empty does `apply`
make its first call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ecs_gitops.plan import CreateService, Plan, RegisterTaskDefinition, ReplaceService, UpdateService

# RegisterTaskDefinition: "The task definition JSON ... can be up to 64 KiB in size"
# (ECS service quotas, "Task definition size").
MAX_TASK_DEFINITION_BYTES = 64 * 1024
# Target type a target group must have for the tasks' network mode (ECS developer guide,
# "Use a load balancer": awsvpc tasks register by IP, bridge and host tasks by instance).
TARGET_TYPE = {"awsvpc": "ip", "bridge": "instance", "host": "instance"}


@dataclass(frozen=True, slots=True)
class Requirements:
    """Everything the plan refers to that must exist before the first write."""

    images: dict[str, set[str]] = field(default_factory=dict)  # repository -> tags
    parameters: set[str] = field(default_factory=set)  # SSM parameter names
    secrets: set[str] = field(default_factory=set)  # Secrets Manager secret ARNs
    log_groups: set[str] = field(default_factory=set)  # awslogs groups ECS will not create
    subnets: set[str] = field(default_factory=set)
    security_groups: set[str] = field(default_factory=set)
    file_systems: set[str] = field(default_factory=set)  # EFS file system ids
    unresolved_target_groups: set[str] = field(default_factory=set)
    # target group ARN -> the network mode of the tasks registered in it
    target_group_modes: dict[str, str] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)  # what ECS would refuse (`refusals`)


def split_image(uri: str) -> tuple[str, str] | None:
    """`123.dkr.ecr.us-east-1.amazonaws.com/api:abc` -> ("api", "abc"); None if not ECR."""
    if ".dkr.ecr." not in uri or ":" not in uri.rsplit("/", 1)[-1]:
        return None
    path = uri.split("/", 1)[1]
    repository, tag = path.rsplit(":", 1)
    return repository, tag


def secret_arn(value_from: str) -> str:
    """A Secrets Manager `valueFrom` without its JSON key, stage and version suffix:
    `arn:aws:secretsmanager:r:a:secret:name-AbCdEf:key::` -> `...:secret:name-AbCdEf`."""
    return ":".join(value_from.split(":")[:7])


def _references(req: Requirements, value_from: str) -> None:
    if value_from.startswith("/"):
        req.parameters.add(value_from)
    elif ":parameter/" in value_from:
        req.parameters.add("/" + value_from.split(":parameter/", 1)[1])
    elif ":secretsmanager:" in value_from:
        req.secrets.add(secret_arn(value_from))


def _task_definition(req: Requirements, spec: Mapping[str, Any]) -> None:
    for container in spec.get("containerDefinitions", ()):
        image = split_image(str(container.get("image")))
        if image:
            req.images.setdefault(image[0], set()).add(image[1])
        for secret in container.get("secrets", ()):
            _references(req, str(secret["valueFrom"]))
        log = container.get("logConfiguration") or {}
        options = log.get("options") or {}
        for secret in log.get("secretOptions", ()):
            _references(req, str(secret["valueFrom"]))
        if log.get("logDriver") == "awslogs" and options.get("awslogs-group") and \
                options.get("awslogs-create-group") != "true":
            req.log_groups.add(str(options["awslogs-group"]))
        credentials = container.get("repositoryCredentials") or {}
        if credentials.get("credentialsParameter"):
            _references(req, str(credentials["credentialsParameter"]))
    for volume in spec.get("volumes", ()):
        efs = volume.get("efsVolumeConfiguration")
        if efs and efs.get("fileSystemId"):
            req.file_systems.add(str(efs["fileSystemId"]))


def requirements(plan: Plan) -> Requirements:
    """What the plan's actions refer to (see `Requirements`)."""
    req = Requirements()
    modes: dict[str, str] = {}
    for action in plan.actions:
        if isinstance(action, RegisterTaskDefinition):
            _task_definition(req, action.spec)
            modes[action.service] = str(action.spec.get("networkMode", "bridge"))
        fields: Mapping[str, Any] = {}
        if isinstance(action, CreateService | ReplaceService):
            fields = action.inputs
        elif isinstance(action, UpdateService):
            fields = action.fields
        awsvpc = (fields.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
        req.subnets.update(awsvpc.get("subnets") or ())
        req.security_groups.update(awsvpc.get("securityGroups") or ())
        for lb in fields.get("loadBalancers", ()):
            advanced = lb.get("advancedConfiguration") or {}
            for arn in (lb.get("targetGroupArn"), advanced.get("alternateTargetGroupArn")):
                if arn is None:
                    continue
                if not str(arn).startswith("arn:"):
                    req.unresolved_target_groups.add(str(arn))
                elif action.service in modes:
                    req.target_group_modes[str(arn)] = modes[action.service]
    for arn, mode in list(req.target_group_modes.items()):
        kind = plan.target_types.get(arn)
        if kind is None:
            continue  # the preflight asks ELBv2
        del req.target_group_modes[arn]
        wanted = TARGET_TYPE.get(mode)
        if wanted and kind != wanted:
            req.refused.append(f"target group {arn.split('/')[-2] if '/' in arn else arn} "
                               f"registers targets by {kind}, but {mode} tasks need {wanted}")
    req.refused.extend(refusals(plan))
    return req


def refusals(plan: Plan) -> list[str]:
    """What would be refused in the plan whatever exists: task definitions over 64 KiB
    (ECS), and changes to services not marked as ecs-gitops's (the controllers' role may
    change only services tagged `ecs-gitops:managed-by`, template.yaml)."""
    out = [f"service {name} is not marked as managed by ecs-gitops (tag ecs-gitops:managed-by"
           f"=ecs-gitops): adopt it first with 'ecs-gitops import --cluster {plan.cluster} "
           f"-s {name} --environment {plan.environment} --mark'" for name in plan.unmarked]
    for action in plan.actions:
        if isinstance(action, RegisterTaskDefinition):
            inputs = action.inputs if action.inputs is not None else action.spec
            size = len(json.dumps(inputs, separators=(",", ":")).encode())
            if size > MAX_TASK_DEFINITION_BYTES:
                out.append(f"task definition {action.family} is {size // 1024} KiB: ECS "
                           f"refuses more than {MAX_TASK_DEFINITION_BYTES // 1024} KiB")
    return out
