"""`ecs-gitops import`: write the desired-state file of services that already run.

From a live cluster (all its services, or those named with --service) or from a task
definition JSON file. The file plans empty against what runs for everything the model
manages; what it cannot express is listed (on stderr and as comments in the file),
secrets stay references and a secret-looking plain value is flagged, not written.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console

from ecs_gitops.adopt import Adopted, Running, adopt
from ecs_gitops.aws.autoscaling import AutoscalingAdapter
from ecs_gitops.aws.clients import Clients
from ecs_gitops.aws.ecs import EcsAdapter
from ecs_gitops.errors import EcsGitopsError
from ecs_gitops.render import ENVIRONMENT_TAG, MANAGED_BY_TAG, Refs, target_group_name
from ecs_gitops.scaling import CPU_METRIC
from ecs_gitops_tools import output
from ecs_gitops_tools.cli.target import make_clients

console = Console()
err = Console(stderr=True)


def _policy(policies: dict[str, Any], service: str, notes: list[str]) -> dict[str, Any] | None:
    for name, config in policies.items():
        metric = (config.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType")
        if metric == CPU_METRIC:
            if name != f"{service}-cpu-target-tracking":
                notes.append(f"{service}: scaling policy {name} is not named as ecs-gitops "
                             f"names it; the first apply puts {service}-cpu-target-tracking")
            return {"targetCpu": int(config.get("TargetValue", 80)),
                    "scaleInCooldown": int(config.get("ScaleInCooldown", 300)),
                    "scaleOutCooldown": int(config.get("ScaleOutCooldown", 300))}
    if policies:
        notes.append(f"{service}: only target tracking on average CPU is managed; "
                     f"{', '.join(sorted(policies))} not imported")
    return None


def from_cluster(clients: Clients, cluster: str, names: list[str], notes: list[str]
                 ) -> tuple[list[Running], Refs]:
    """The running services of `cluster` (all, or `names`) and the references they use."""
    ecs = EcsAdapter(clients)
    wanted = names or ecs.list_service_names(cluster)
    services = ecs.describe_services(cluster, wanted)
    for name in wanted:
        if name not in services:
            notes.append(f"{name}: no ACTIVE service of that name in {cluster}")
    scaling = AutoscalingAdapter(clients).describe(cluster)
    running: list[Running] = []
    target_groups: dict[str, str] = {}
    for name in sorted(services):
        snap = services[name]
        td = ecs.describe_task_definition(snap.task_definition)
        raw = {**snap.raw_fields, "serviceName": snap.name, "desiredCount": snap.desired_count}
        for lb in raw.get("loadBalancers") or ():
            if lb.get("targetGroupArn"):
                target_groups[target_group_name(lb["targetGroupArn"])] = lb["targetGroupArn"]
        scaled = scaling.get(name)
        running.append(Running(td.raw, raw, (scaled.min, scaled.max, _policy(
            dict(scaled.policies), name, notes)) if scaled else None))
    registry = f"{clients.account_id}.dkr.ecr.{clients.region}.amazonaws.com"
    return running, Refs(registry=registry, target_groups=target_groups)


def mark(clients: Clients, cluster: str, names: list[str], environment: str) -> list[str]:
    """Tag each service with ecs-gitops' markers, with the operator's credentials: the
    controllers' role may change only services so marked, and may not mark one itself
    (template.yaml, ChangeManagedServices and FileTagsOfManagedServices)."""
    ecs = EcsAdapter(clients)
    services = ecs.describe_services(cluster, names)
    for name in names:
        ecs.tag_service(services[name].arn, {MANAGED_BY_TAG: "ecs-gitops",
                                             ENVIRONMENT_TAG: environment}, ())
    return names


def from_file(path: Path) -> Running:
    """A task definition JSON file: RegisterTaskDefinition input, or DescribeTaskDefinition
    output (with or without its `taskDefinition` wrapper)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EcsGitopsError(f"{path}: not a task definition JSON file: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("taskDefinition"), dict):
        data = {**data["taskDefinition"], **({"tags": data["tags"]} if data.get("tags") else {})}
    if not isinstance(data, dict) or not data.get("containerDefinitions"):
        raise EcsGitopsError(f"{path}: no containerDefinitions: not a task definition")
    return Running(data)


def render_file(adopted: Adopted, *, source: str) -> str:
    """The YAML text: a header, the notes as comments, the mapping."""
    lines = ["# yaml-language-server: $schema=./schema.json",
             f"# Imported by 'ecs-gitops import' from {source} on "
             f"{datetime.now(UTC).date().isoformat()}."]
    if adopted.notes:
        lines.append("# Not expressed exactly (review before the first apply):")
        lines += [f"#   {n}" for n in adopted.notes]
    body = yaml.safe_dump(adopted.data, sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(lines) + "\n" + body


def import_command(
    cluster: Annotated[str | None, typer.Option(
        help="Import the services running in this ECS cluster.")] = None,
    service: Annotated[list[str] | None, typer.Option(
        "--service", "-s", help="Only this service (repeat for several; default: all).")] = None,
    task_definition: Annotated[Path | None, typer.Option(
        "--task-definition", help="Import a task definition JSON file instead.")] = None,
    environment: Annotated[str, typer.Option(help="The environment's name.")] = "imported",
    branch: Annotated[str, typer.Option(help="The git branch the file is for.")] = "main",
    subnet: Annotated[list[str] | None, typer.Option(
        help="awsvpc subnets of a task definition imported from a file.")] = None,
    security_group: Annotated[list[str] | None, typer.Option(
        help="awsvpc security groups of a task definition imported from a file.")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write the file here (default: standard output).")] = None,
    mark_services: Annotated[bool, typer.Option(
        "--mark", help="Also tag the imported services as this environment's (ecs-gitops:"
        "managed-by, ecs-gitops:environment), so that the controllers may manage them.")
    ] = False,
    local: Annotated[bool, typer.Option("--local", help="Use the embedded AWS.")] = False,
    endpoint_url: Annotated[str | None, typer.Option(
        "--endpoint-url", metavar="URL", help="Send every AWS call to this endpoint.")] = None,
    region: Annotated[str | None, typer.Option(help="AWS region.")] = None,
) -> None:
    """Write the desired-state file of services that already run (adopt them)."""
    notes: list[str] = []
    try:
        if (cluster is None) == (task_definition is None):
            raise EcsGitopsError("give --cluster (live services) or --task-definition FILE")
        network = None
        if task_definition is not None:
            running = [from_file(task_definition)]
            refs = Refs(registry=f"000000000000.dkr.ecr.{region or 'us-east-1'}.amazonaws.com")
            source = str(task_definition)
            if subnet or security_group:
                network = {"awsvpcConfiguration": {"subnets": list(subnet or ()),
                                                   "securityGroups": list(security_group or ())}}
            the_cluster, the_region = "REPLACE-WITH-THE-CLUSTER", region or "us-east-1"
        else:
            assert cluster is not None
            clients = make_clients(local=local, endpoint_url=endpoint_url, region=region)
            running, refs = from_cluster(clients, cluster, list(service or ()), notes)
            source = f"cluster {cluster}"
            the_cluster, the_region = cluster, str(clients.region)
        if not running:
            raise EcsGitopsError(f"nothing to import from {source}")
        adopted = adopt(running, environment=environment, branch=branch,
                        region=the_region,
                        cluster=the_cluster, refs=refs, network=network)
        adopted = Adopted(adopted.data, (*notes, *adopted.notes))
    except EcsGitopsError as exc:
        output.error(err, exc)
        raise typer.Exit(1) from None
    text = render_file(adopted, source=source)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        err.print(output.styled(f"wrote {out} ({len(adopted.data['services'])} service(s))"))
    for note in adopted.notes:
        err.print(output.styled(f"! {note}", "yellow"), highlight=False, soft_wrap=True)
    if mark_services and cluster is not None:
        try:
            names = [str(s.get("serviceName") or s["name"]) for s in adopted.data["services"]]
            mark(clients, cluster, names, environment)
        except EcsGitopsError as exc:
            output.error(err, exc)
            raise typer.Exit(1) from None
        err.print(output.styled(f"marked {', '.join(names)} as {environment}'s"))
