"""What a plan needs to exist before its first write (invariant 7: all or nothing).

A purely computational function: it lists the images, SSM parameters and target
groups that the plan's actions refer to. `ecs_gitops.aws.preflight` checks them
against AWS; only when everything exists does `apply` make its first call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ecs_gitops.plan import CreateService, Plan, RegisterTaskDefinition, UpdateService


@dataclass(frozen=True, slots=True)
class Requirements:
    """What a plan refers to: ECR images (repository -> tags), SSM parameter names and
    target group names that observe could not resolve to an ARN.
    """
    images: dict[str, set[str]] = field(default_factory=dict)  # repository -> tags
    parameters: set[str] = field(default_factory=set)  # SSM parameter names
    unresolved_target_groups: set[str] = field(default_factory=set)


def split_image(uri: str) -> tuple[str, str] | None:
    """`123.dkr.ecr.us-east-1.amazonaws.com/api:abc` -> ("api", "abc"); None if not ECR."""
    if ".dkr.ecr." not in uri or ":" not in uri.rsplit("/", 1)[-1]:
        return None
    path = uri.split("/", 1)[1]
    repository, tag = path.rsplit(":", 1)
    return repository, tag


def requirements(plan: Plan) -> Requirements:
    """The images, SSM parameters and unresolved target groups of the actions that
    register task definitions or create/update services (nothing else needs checking).
    """
    req = Requirements()
    for action in plan.actions:
        if isinstance(action, RegisterTaskDefinition):
            for container in action.spec.get("containerDefinitions", ()):
                image = split_image(str(container.get("image")))
                if image:
                    req.images.setdefault(image[0], set()).add(image[1])
                for secret in container.get("secrets", ()):
                    value = str(secret["valueFrom"])
                    if value.startswith("/"):
                        req.parameters.add(value)
                    elif ":parameter/" in value:
                        req.parameters.add("/" + value.split(":parameter/", 1)[1])
        balancers = []
        if isinstance(action, CreateService):
            balancers = list(action.inputs.get("loadBalancers", ()))
        elif isinstance(action, UpdateService):
            balancers = list(action.fields.get("loadBalancers", ()))
        for lb in balancers:
            if not str(lb["targetGroupArn"]).startswith("arn:"):
                req.unresolved_target_groups.add(str(lb["targetGroupArn"]))
    return req
