"""Check that everything a plan refers to exists, before any write (ecspresso's verify)."""

from __future__ import annotations

from ecs_gitops.aws.clients import Clients, translate
from ecs_gitops.errors import NotFoundError, PreflightError
from ecs_gitops.verify import Requirements

IMAGE_BATCH = 100
PARAMETER_BATCH = 50


def check(req: Requirements, clients: Clients) -> None:
    """Raise `PreflightError` naming everything missing; read-only, never reads a secret."""
    missing: list[str] = []
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
    if missing:
        raise PreflightError(missing)
