"""`ecs-gitops approve` and `ecs-gitops abort`: a person's decision on a blue-green,
canary or linear deployment that ECS runs now.

`approve ENV SERVICE` continues a deployment paused at its approval (the PAUSE
lifecycle hook `deployment.approval` renders): DescribeServiceDeployments names the
hook AWAITING_ACTION, ContinueServiceDeployment(action CONTINUE) releases it (ECS
developer guide, "Continuing service deployments"). `abort ENV SERVICE` rolls the
running deployment back: StopServiceDeployment with stopType ROLLBACK. Both are kept in
the controllers' state table next to the service's releases (`store.Operation`: who,
when, which deployment), and the rollback then reverts git as any failed rollout does
(the deployment controller acts on ECS's SERVICE_DEPLOYMENT_FAILED).
"""

from __future__ import annotations

import getpass
import socket
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from ecs_gitops.aws.clients import translate
from ecs_gitops.errors import DesiredStateError, EcsGitopsError
from ecs_gitops.store import Operation, operation_key
from ecs_gitops_tools import output
from ecs_gitops_tools.cli.options import Endpoint, EnvArg, Local, Region
from ecs_gitops_tools.cli.target import load, make_clients

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

ServiceArg = Annotated[str, typer.Argument(help="The service's name in the file.")]
TableOpt = Annotated[str | None, typer.Option(
    metavar="TABLE", help="The controllers' state table (default: found from the stack "
    "named by --stack, or from 'local up').")]
StackOpt = Annotated[str, typer.Option(metavar="STACK", help="The controllers' stack.")]

# ServiceDeploymentStatus values of a deployment that can still be acted on.
RUNNING = ["PENDING", "IN_PROGRESS"]


def who() -> str:
    """The person acting: `user@host` (the audit record's `who`)."""
    return f"{getpass.getuser()}@{socket.gethostname()}"


def running_deployment(ecs: Any, cluster: str, service: str) -> dict[str, Any]:
    """The service's running service deployment, as DescribeServiceDeployments reports
    it. Raises EcsGitopsError when none runs."""
    with translate("ListServiceDeployments"):
        listed = ecs.list_service_deployments(cluster=cluster, service=service,
                                              status=RUNNING).get("serviceDeployments", [])
    if not listed:
        raise EcsGitopsError(f"no deployment of {service} is in progress in {cluster}")
    arn = listed[0]["serviceDeploymentArn"]
    with translate("DescribeServiceDeployments"):
        found = ecs.describe_service_deployments(serviceDeploymentArns=[arn])
    deployments = found.get("serviceDeployments") or []
    if not deployments:
        raise EcsGitopsError(f"ECS does not describe {arn}")
    return dict(deployments[0])


def _act(environment: str, service: str, action: str, *, local: bool,
         endpoint_url: str | None, region: str | None, table: str | None,
         stack: str) -> None:
    from ecs_gitops_tools.cli.main import _store

    try:
        env = load(environment)
        svc = env.service(service)
        clients = make_clients(local=local, endpoint_url=endpoint_url,
                               region=region or env.region)
        ecs = clients.client("ecs")
        deployment = running_deployment(ecs, env.cluster, svc.ecs_name)
        arn = str(deployment["serviceDeploymentArn"])
        if action == "approve":
            hook = next((h for h in deployment.get("lifecycleHookDetails") or ()
                         if h.get("targetType") == "PAUSE"
                         and h.get("status") == "AWAITING_ACTION"), None)
            if hook is None:
                raise EcsGitopsError(
                    f"{svc.ecs_name}'s deployment is not waiting for an approval (stage "
                    f"{deployment.get('lifecycleStage', '?')}): nothing to approve")
            with translate("ContinueServiceDeployment"):
                ecs.continue_service_deployment(serviceDeploymentArn=arn,
                                                hookId=hook["hookId"], action="CONTINUE")
            detail = f"hook {hook['hookId']} at {deployment.get('lifecycleStage', '?')}"
        else:
            with translate("StopServiceDeployment"):
                ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
            detail = f"rolled back at {deployment.get('lifecycleStage', '?')}"
        record = Operation(action, env.environment, svc.ecs_name, arn, who(),
                           datetime.now(UTC).isoformat(timespec="seconds"), detail)
        store = _store(clients, table=table, stack=stack, local=local)
        if store is not None:
            store.put_value(operation_key(env.environment, svc.ecs_name, arn, action),
                            record.encode())
    except (EcsGitopsError, DesiredStateError) as exc:
        output.error(err, exc)
        raise typer.Exit(1) from None
    where = "recorded in the state table" if store is not None else \
        "no state table found: not recorded"
    verb = "approved" if action == "approve" else "rolling back"
    console.print(f"[green]{verb}[/green] " + escape(
        f"{svc.ecs_name} in {env.environment}: {record.describe()}; {where}"),
        highlight=False)


def approve(
    environment: EnvArg,
    service: ServiceArg,
    local: Local = False,
    endpoint_url: Endpoint = None,
    region: Region = None,
    table: TableOpt = None,
    stack: StackOpt = "ecs-gitops",
) -> None:
    """Continue a deployment that waits for approval (ContinueServiceDeployment); who
    and when are recorded with the service's releases."""
    _act(environment, service, "approve", local=local, endpoint_url=endpoint_url,
         region=region, table=table, stack=stack)


def abort(
    environment: EnvArg,
    service: ServiceArg,
    local: Local = False,
    endpoint_url: Endpoint = None,
    region: Region = None,
    table: TableOpt = None,
    stack: StackOpt = "ecs-gitops",
) -> None:
    """Roll back the service's running deployment (StopServiceDeployment, ROLLBACK); who
    and when are recorded, and git is reverted like after any failed rollout."""
    _act(environment, service, "abort", local=local, endpoint_url=endpoint_url,
         region=region, table=table, stack=stack)
