"""Create the original world on the embedded AWS, from the desired-state files.

What the files name is created: the cluster, the ECR repositories with an image
for each pinned tag, the SSM parameters behind `secrets:` (placeholder values, as
SecureString where the name looks secret), the Docker Hub parameters the builds
read, a VPC and the load balancer target groups. Meant for moto: against a real
account it refuses unless `allow_real_account` is set.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from ecs_gitops.aws.clients import Clients, translate
from ecs_gitops.desired.checks import SECRET_NAME
from ecs_gitops.desired.model import Environment
from ecs_gitops.errors import AwsError, EcsGitopsError

DOCKER_PARAMETERS = ("/docker/username", "/docker/password")
# The target groups of infra/environment.yaml, with its ports: a target group's port is
# the container's (80 for simpleweb, 5000 for the api), not the listener's. The
# listeners are 443 and 7443 (HTTPS; 80 and 7000 redirect) on the public load
# balancer for simpleweb, 5000 and 8000 on the internal one for the api
# (infra/README.md, "The four services"); infra/tests checks that both agree.
PORTS = {"simpleweb-production": 80, "api-production": 5000,
         "simpleweb-development": 80, "api-development": 5000}


def image_manifest(repository: str, tag: str, content: bytes = b"") -> str:
    """A small, content-addressed OCI-style manifest standing in for a real image."""
    digest = hashlib.sha256(content or f"{repository}:{tag}".encode()).hexdigest()
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "size": len(content), "digest": f"sha256:{digest}"},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": len(content), "digest": f"sha256:{digest}"}],
    }, sort_keys=True)


def put_image(clients: Clients, repository: str, tag: str, content: bytes = b"") -> None:
    """Push a placeholder image `repository:tag` to ECR (its manifest from `content`);
    an image already there is kept.

    Raises:
        AwsError: any other PutImage error.
    """
    ecr = clients.client("ecr")
    try:
        with translate("PutImage"):
            ecr.put_image(repositoryName=repository, imageTag=tag,
                          imageManifest=image_manifest(repository, tag, content))
    except AwsError as exc:
        if exc.code != "ImageAlreadyExistsException":
            raise


def seed(
    environments: Iterable[Environment],
    clients: Clients,
    *,
    allow_real_account: bool = False,
    say: Callable[[str], None] = lambda _: None,
) -> None:
    """Create what the environments' files refer to on the embedded AWS: clusters, ECR
    repositories and images, SSM parameters, a VPC with subnets and security groups,
    load balancers with their target groups. `say` reports each step.

    Raises:
        EcsGitopsError: the clients reach a real account and `allow_real_account` is False.
    """
    if not clients.embedded and not allow_real_account:
        raise EcsGitopsError(
            "seed creates placeholder resources and is meant for the embedded AWS: "
            "use --local (or --endpoint-url); on a real account deploy infra/ instead")
    envs = list(environments)
    ecs, ecr, ssm = clients.ecs, clients.client("ecr"), clients.client("ssm")
    ec2, elbv2 = clients.client("ec2"), clients.client("elbv2")

    for cluster in sorted({e.cluster for e in envs}):
        with translate("CreateCluster"):
            ecs.create_cluster(clusterName=cluster)
        say(f"cluster {cluster}")

    for env in envs:
        for service in env.services:
            if service.image.registry is not None:
                continue  # not this account's ECR
            repo = service.image.repository
            try:
                with translate("CreateRepository"):
                    ecr.create_repository(repositoryName=repo,
                                          imageTagMutability="IMMUTABLE",
                                          imageScanningConfiguration={"scanOnPush": True})
                say(f"ECR repository {repo}")
            except AwsError as exc:
                if exc.code != "RepositoryAlreadyExistsException":
                    raise
            put_image(clients, repo, service.image.tag)
            say(f"image {repo}:{service.image.tag}")

    parameters = sorted({v for e in envs for s in e.services for v in s.secrets.values()
                         if v.startswith("/")} | set(DOCKER_PARAMETERS))
    for name in parameters:
        secure = bool(SECRET_NAME.search(name))
        with translate("PutParameter"):
            ssm.put_parameter(Name=name, Value=_placeholder(name),
                              Type="SecureString" if secure else "String", Overwrite=True)
        say(f"SSM parameter {name}{' (SecureString)' if secure else ''}")

    groups = sorted({s.load_balancer.target_group for e in envs for s in e.services
                     if s.load_balancer and not s.load_balancer.target_group.startswith("arn:")})
    if groups:
        vpc_id = _vpc(ec2)
        for name in groups:
            port = PORTS.get(name, 80)
            with translate("CreateTargetGroup"):
                elbv2.create_target_group(
                    Name=name, Protocol="HTTP", Port=port, VpcId=vpc_id, TargetType="instance",
                    HealthCheckPath="/health", HealthCheckProtocol="HTTP")
            say(f"target group {name} (port {port})")


def _placeholder(name: str) -> str:
    values = {"/simpleweb/db-endpoint": "127.0.0.1", "/simpleweb/db-name": "test",
              "/simpleweb/db-port": "3306", "/simpleweb/db-username": "root",
              "/docker/username": "ecs-gitops"}
    return values.get(name, "placeholder-not-a-real-secret")


def _vpc(ec2: Any) -> str:
    with translate("DescribeVpcs"):
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["ecs-gitops"]}])["Vpcs"]
    if vpcs:
        return str(vpcs[0]["VpcId"])
    with translate("CreateVpc"):
        vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16", TagSpecifications=[{
            "ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "ecs-gitops"}]}])["Vpc"]
    return str(vpc["VpcId"])
