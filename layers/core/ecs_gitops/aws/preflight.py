"""Check that everything a plan refers to exists, before any write (ecspresso's verify).

Read-only, and never reads a secret: SSM DescribeParameters and Secrets Manager
DescribeSecret return metadata only. Batched where the API takes several names; an
API that fails a whole batch for one missing name is asked again name by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ecs_gitops.aws.clients import Clients, translate
from ecs_gitops.errors import NotFoundError, PreflightError
from ecs_gitops.verify import TARGET_TYPE, Requirements

IMAGE_BATCH = 100
PARAMETER_BATCH = 50
EC2_BATCH = 100
TARGET_GROUP_BATCH = 20


def _existing(names: Iterable[str], batch: int, describe: Callable[[list[str]], set[str]]
              ) -> set[str]:
    """The names that exist: `describe(batch)` returns those found, or raises
    NotFoundError when one is missing (then each is asked alone)."""
    wanted = sorted(set(names))
    found: set[str] = set()
    for start in range(0, len(wanted), batch):
        part = wanted[start:start + batch]
        try:
            found |= describe(part)
        except NotFoundError:
            for name in part:
                try:
                    found |= describe([name])
                except NotFoundError:
                    continue
    return found


def _network(req: Requirements, clients: Clients) -> list[str]:
    if not req.subnets and not req.security_groups:
        return []
    ec2: Any = clients.client("ec2")

    def subnets(ids: list[str]) -> set[str]:
        with translate("DescribeSubnets"):
            return {s["SubnetId"] for s in ec2.describe_subnets(SubnetIds=ids)["Subnets"]}

    def groups(ids: list[str]) -> set[str]:
        with translate("DescribeSecurityGroups"):
            return {g["GroupId"] for g in
                    ec2.describe_security_groups(GroupIds=ids)["SecurityGroups"]}

    found_subnets = _existing(req.subnets, EC2_BATCH, subnets)
    found_groups = _existing(req.security_groups, EC2_BATCH, groups)
    return ([f"subnet {s} does not exist" for s in sorted(req.subnets - found_subnets)]
            + [f"security group {g} does not exist"
               for g in sorted(req.security_groups - found_groups)])


def _log_groups(req: Requirements, clients: Clients) -> list[str]:
    logs: Any = clients.client("logs")
    missing = []
    for name in sorted(req.log_groups):
        with translate("DescribeLogGroups"):
            page = logs.describe_log_groups(logGroupNamePrefix=name, limit=50)
        if name not in {g["logGroupName"] for g in page.get("logGroups", ())}:
            missing.append(f"log group {name} does not exist (and the container does not ask "
                           "ECS to create it: awslogs-create-group)")
    return missing


def _file_systems(req: Requirements, clients: Clients) -> list[str]:
    efs: Any = clients.client("efs")

    def describe(ids: list[str]) -> set[str]:
        with translate("DescribeFileSystems"):
            return {f["FileSystemId"] for f in
                    efs.describe_file_systems(FileSystemId=ids[0])["FileSystems"]}

    found = _existing(req.file_systems, 1, describe)
    return [f"EFS file system {f} does not exist" for f in sorted(req.file_systems - found)]


def _secrets(req: Requirements, clients: Clients) -> list[str]:
    manager: Any = clients.client("secretsmanager")

    def describe(arns: list[str]) -> set[str]:
        with translate("DescribeSecret"):
            manager.describe_secret(SecretId=arns[0])
        return {arns[0]}

    found = _existing(req.secrets, 1, describe)
    return [f"Secrets Manager secret {s} does not exist" for s in sorted(req.secrets - found)]


def _target_group_types(req: Requirements, clients: Clients) -> list[str]:
    if not req.target_group_modes:
        return []
    elbv2: Any = clients.client("elbv2")
    arns = sorted(req.target_group_modes)
    out = []
    for start in range(0, len(arns), TARGET_GROUP_BATCH):
        try:
            with translate("DescribeTargetGroups"):
                groups = elbv2.describe_target_groups(
                    TargetGroupArns=arns[start:start + TARGET_GROUP_BATCH])["TargetGroups"]
        except NotFoundError:
            continue  # reported as missing elsewhere
        for group in groups:
            mode = req.target_group_modes[group["TargetGroupArn"]]
            wanted = TARGET_TYPE.get(mode)
            if wanted and group.get("TargetType", "instance") != wanted:
                out.append(f"target group {group['TargetGroupName']} registers targets by "
                           f"{group.get('TargetType')}, but {mode} tasks need {wanted}")
    return out


def check(req: Requirements, clients: Clients, *, refused: Iterable[str] = ()) -> None:
    """Raise `PreflightError` naming everything missing or refused; read-only."""
    missing: list[str] = [*refused, *req.refused]
    ecr = clients.client("ecr")
    for repository, tags in sorted(req.images.items()):
        wanted = sorted(tags)
        for start in range(0, len(wanted), IMAGE_BATCH):
            batch = wanted[start:start + IMAGE_BATCH]
            try:
                with translate("DescribeImages"):
                    found = {
                        tag
                        for page in ecr.get_paginator("describe_images").paginate(
                            repositoryName=repository, imageIds=[{"imageTag": t} for t in batch]
                        )
                        for image in page.get("imageDetails", ())
                        for tag in image.get("imageTags", ())
                    }
            except NotFoundError as exc:
                if exc.code == "RepositoryNotFoundException":
                    missing.append(f"ECR repository {repository!r} does not exist")
                    break
                # ImageNotFoundException: some of the batch is missing; ask one by one.
                found = set()
                for tag in batch:
                    try:
                        with translate("DescribeImages"):
                            ecr.describe_images(repositoryName=repository,
                                                imageIds=[{"imageTag": tag}])
                        found.add(tag)
                    except NotFoundError:
                        pass
            missing += [f"image {repository}:{t} is not in ECR" for t in batch if t not in found]
    ssm = clients.client("ssm")
    names = sorted(req.parameters)
    for start in range(0, len(names), PARAMETER_BATCH):
        batch = names[start:start + PARAMETER_BATCH]
        # DescribeParameters returns metadata only: no secret value is ever read here.
        with translate("DescribeParameters"):
            found = {
                p["Name"]
                for page in ssm.get_paginator("describe_parameters").paginate(
                    ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": batch}]
                )
                for p in page.get("Parameters", ())
            }
        missing += [f"SSM parameter {n} does not exist" for n in batch if n not in found]
    missing += [f"target group {n!r} does not exist" for n in sorted(req.unresolved_target_groups)]
    missing += _secrets(req, clients)
    missing += _log_groups(req, clients)
    missing += _network(req, clients)
    missing += _file_systems(req, clients)
    missing += _target_group_types(req, clients)
    if missing:
        raise PreflightError(missing)

