"""Observe one environment: a typed snapshot of its cluster, services and scaling.

Costs, for N services: ceil(N/100) ListServices, ceil(N/10) DescribeServices,
DescribeTaskDefinition once per running definition per container (cached by ARN; with
a task definition memory, a fresh container reads them in batches of 100 from the state
table instead), one latest-revision lookup per service whose definition is about to
change (only when asked: after a run that was killed), and the Application Auto Scaling
reads: DescribeScalableTargets (50 per page) and DescribeScalingPolicies (10 per page on
AWS) for the whole ECS namespace of the region, filtered by cluster here
(docs/benchmarks.md measures what that costs). Observing `only` some services skips the
listing and reads their scaling by resource id and policy name (50 per call).
"""

from __future__ import annotations

from collections.abc import Collection

from ecs_gitops.actual import EnvironmentSnapshot, TaskDefinitionSnapshot
from ecs_gitops.aws.autoscaling import AutoscalingAdapter
from ecs_gitops.aws.clients import Clients, translate
from ecs_gitops.aws.ecs import EcsAdapter
from ecs_gitops.desired.model import Environment
from ecs_gitops.errors import NotFoundError
from ecs_gitops.render import Refs, render_task_definition, target_group_name
from ecs_gitops.scaling import policy_name

TARGET_GROUP_BATCH = 20


def _account_from_arn(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


def resolve_target_groups(names: set[str], clients: Clients,
                          types: dict[str, str] | None = None) -> dict[str, str]:
    """Target group ARNs by name (DescribeTargetGroups, 20 names per call); names that
    do not exist are left out (the preflight names them). `types`, when given, gets each
    found ARN's TargetType (instance, ip), which the same responses carry.
    """
    found: dict[str, str] = {}
    types = types if types is not None else {}
    elbv2 = clients.client("elbv2")
    wanted = sorted(names)
    for start in range(0, len(wanted), TARGET_GROUP_BATCH):
        batch = wanted[start:start + TARGET_GROUP_BATCH]
        # DescribeTargetGroups fails the whole call if one name is missing, so a batch
        # that fails is asked again name by name; the missing ones stay unresolved and
        # the preflight names them.
        try:
            with translate("DescribeTargetGroups"):
                response = elbv2.describe_target_groups(Names=batch)
            found.update({tg["TargetGroupName"]: tg["TargetGroupArn"]
                          for tg in response.get("TargetGroups", ())})
            types.update({tg["TargetGroupArn"]: tg.get("TargetType", "instance")
                          for tg in response.get("TargetGroups", ())})
        except NotFoundError:
            for name in batch:
                try:
                    with translate("DescribeTargetGroups"):
                        response = elbv2.describe_target_groups(Names=[name])
                    found.update({tg["TargetGroupName"]: tg["TargetGroupArn"]
                                  for tg in response.get("TargetGroups", ())})
                    types.update({tg["TargetGroupArn"]: tg.get("TargetType", "instance")
                                  for tg in response.get("TargetGroups", ())})
                except NotFoundError:
                    continue
    return found


def observe(env: Environment, clients: Clients, *, only: Collection[str] | None = None,
            latest_revisions: bool = True, ecs: EcsAdapter | None = None
            ) -> EnvironmentSnapshot:
    """A typed snapshot of `env`'s cluster: services, the task definitions the file's
    services run, scaling, target groups and, for services about to change, the family's
    latest revision. Costs: see the module docstring.

    Args:
        env: the desired state (its cluster, and the services whose definitions to read).
        clients: the container's clients.
        only: observe just these ECS service names (None: list the whole cluster).
        latest_revisions: look up the family's latest revision of each service whose
            running definition differs from the rendered one.
        ecs: the ECS adapter to use (its task definition memory); default a plain one.

    Raises:
        AwsError: a call failed (NotFoundError for a missing cluster).
    """
    ecs = ecs or EcsAdapter(clients)
    names = list(only) if only is not None else ecs.list_service_names(env.cluster)
    services = ecs.describe_services(env.cluster, names)
    wanted = {s.ecs_name for s in env.services}

    target_groups: dict[str, str] = {}
    account = None
    for svc in services.values():
        account = account or _account_from_arn(svc.arn)
        for lb in svc.raw_fields.get("loadBalancers") or ():
            advanced = lb.get("advancedConfiguration") or {}
            for arn in (lb.get("targetGroupArn"), advanced.get("alternateTargetGroupArn")):
                if arn:
                    target_groups.setdefault(target_group_name(arn), arn)
    task_definitions: dict[str, TaskDefinitionSnapshot] = ecs.task_definitions(
        svc.task_definition for svc in services.values()
        if svc.name in wanted and svc.task_definition)
    account = account or clients.account_id

    named = [t.target_group for s in env.services for t in s.targets()]
    named += [t.alternate_target_group for s in env.services for t in s.targets()
              if t.alternate_target_group]
    desired_tgs = {n for n in named if not n.startswith("arn:")}
    unresolved = desired_tgs - target_groups.keys()
    target_types: dict[str, str] = {}
    if unresolved:
        target_groups.update(resolve_target_groups(unresolved, clients, target_types))

    refs = Refs(registry=f"{account}.dkr.ecr.{env.region}.amazonaws.com",
                target_groups=target_groups, target_types=target_types)
    family_latest: dict[str, TaskDefinitionSnapshot] = {}
    for service in env.services:
        current = services.get(service.ecs_name)
        running = task_definitions.get(current.task_definition) if current else None
        if latest_revisions and (
                running is None or running.spec != render_task_definition(service, env, refs)):
            latest = ecs.latest_revision(service.family)
            if latest is not None:
                family_latest[service.family] = latest

    return EnvironmentSnapshot(
        cluster=env.cluster, refs=refs, services=services,
        task_definitions=task_definitions,
        scaling=AutoscalingAdapter(clients).describe(
            env.cluster, only=only,
            policy_names=[policy_name(s) for s in env.services if s.scaling is not None]),
        family_latest=family_latest,
    )
