"""`ecs-gitops approve` and `ecs-gitops abort`: a person's decision on a blue-green,
canary or linear deployment that ECS runs now (`ecs_gitops_tools.operations` does it;
the rollback then reverts git as any failed rollout does: the deployment controller
acts on ECS's SERVICE_DEPLOYMENT_FAILED)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ecs_gitops.errors import DesiredStateError, EcsGitopsError
from ecs_gitops_tools import operations, output
from ecs_gitops_tools.cli.options import Endpoint, EnvArg, Local, Region
from ecs_gitops_tools.cli.target import load, make_clients

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

ServiceArg = Annotated[str, typer.Argument(help="The service's name in the file.")]
TableOpt = Annotated[str | None, typer.Option(
    metavar="TABLE", help="The controllers' state table (default: found from the stack "
    "named by --stack, or from 'local up').")]
StackOpt = Annotated[str, typer.Option(metavar="STACK", help="The controllers' stack.")]


def _act(environment: str, service: str, action: str, *, local: bool,
         endpoint_url: str | None, region: str | None, table: str | None,
         stack: str) -> None:
    from ecs_gitops_tools.cli.main import _store

    try:
        env = load(environment)
        clients = make_clients(local=local, endpoint_url=endpoint_url,
                               region=region or env.region)
        store = _store(clients, table=table, stack=stack, local=local)
        record = operations.act(env, service, action, clients, store)
    except (EcsGitopsError, DesiredStateError) as exc:
        output.error(err, exc)
        raise typer.Exit(1) from None
    where = "recorded in the state table" if store is not None else \
        "no state table found: not recorded"
    verb = "approved" if action == "approve" else "rolling back"
    console.print(f"[green]{verb}[/green] " + escape(
        f"{record.service} in {env.environment}: {record.describe()}; {where}"),
        highlight=False)


def _command(action: str, doc: str) -> Callable[..., None]:
    """The Typer command for `action` ("approve" or "abort"): both take the same
    arguments and differ only in the ECS call `operations.act` makes."""

    def command(
        environment: EnvArg,
        service: ServiceArg,
        local: Local = False,
        endpoint_url: Endpoint = None,
        region: Region = None,
        table: TableOpt = None,
        stack: StackOpt = "ecs-gitops",
    ) -> None:
        _act(environment, service, action, local=local, endpoint_url=endpoint_url,
             region=region, table=table, stack=stack)

    command.__name__ = action
    command.__doc__ = doc
    return command


approve = _command("approve", """Continue a deployment that waits for approval (ContinueServiceDeployment).

Who and when are recorded with the service's releases.""")
abort = _command("abort", """Roll back the service's running deployment (StopServiceDeployment, ROLLBACK).

Who and when are recorded, and git is reverted as after any failed rollout.""")
