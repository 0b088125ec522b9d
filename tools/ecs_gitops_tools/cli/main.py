"""`ecs-gitops`: validate, plan, apply and inspect desired state, on AWS or locally.

Each command is thin: it loads, calls the library, and prints. Exit codes: 0 fine
(for `plan`: no changes), 2 `plan` found changes, 1 an error (nothing applied).
"""

from __future__ import annotations

import getpass
import json
import socket
import sys
import time
import uuid
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ecs_gitops.actual import ServiceSnapshot
from ecs_gitops.aws.clients import Clients
from ecs_gitops.aws.cloud import AwsCloud
from ecs_gitops.aws.dynamodb import DynamoStore
from ecs_gitops.desired import Environment
from ecs_gitops.desired.loader import iter_problems, load_environment
from ecs_gitops.desired.schema import json_schema_text
from ecs_gitops.engine import Reconciled, Status, preview, reconcile_once
from ecs_gitops.errors import DesiredStateError, EcsGitopsError, PreflightError
from ecs_gitops.events import Trigger
from ecs_gitops.plan import Action, CreateService, Plan, ReplaceService, UpdateService
from ecs_gitops.report import plan_text
from ecs_gitops.store import Store, lease
from ecs_gitops_tools import output
from ecs_gitops_tools.cli.helptext import plain_help
from ecs_gitops_tools.cli.options import Endpoint, EnvArg, Local, Region
from ecs_gitops_tools.cli.target import all_environment_files, load, make_clients
from ecs_gitops_tools.seed import seed as seed_world

plain_help()

app = typer.Typer(
    name="ecs-gitops",
    help="GitOps for Amazon ECS: desired state in git, reconciled by event-driven Lambdas.\n\n"
    "Point commands at a real account (the usual AWS credential chain and region) or at "
    "the embedded AWS with --local (start it with 'ecs-gitops local up').",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
console = Console(width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True)



def _fail(exc: EcsGitopsError) -> typer.Exit:
    if isinstance(exc, DesiredStateError):
        for problem in exc.problems:
            err.print(output.styled(str(problem), "red"), highlight=False, soft_wrap=True)
        err.print(f"[red]{len(exc.problems)} problem(s); nothing was applied.[/red]")
    else:
        output.error(err, exc)
    return typer.Exit(1)


def _preview(environment: str, *, local: bool, endpoint_url: str | None, region: str | None,
             table: str | None = None, stack: str = "ecs-gitops") -> tuple[Environment, Reconciled]:
    """Load the file, point at AWS (or the embedded AWS), and run the read-only start
    of a reconcile (observe, plan, hold back known-bad images)."""
    env = load(environment)
    clients = make_clients(local=local, endpoint_url=endpoint_url, region=region or env.region)
    return env, preview(env, AwsCloud(clients), store=_store(clients, table=table, stack=stack,
                                                              local=local))


def _store(clients: Clients, *, table: str | None, stack: str, local: bool) -> Store | None:
    """The controllers' state table (releases, known-bad images, leases), if there is one."""
    from ecs_gitops_tools.cli.local import find_state_table

    name = table or find_state_table(clients, stack=stack, local=local)
    return DynamoStore(clients, name) if name else None


@app.command()
def validate(
    files: Annotated[list[Path] | None, typer.Argument(
        help="Desired-state files (default: every desired_state/*.yaml).")] = None,
) -> None:
    """Check desired-state files; print every problem as file:line:column: field: message."""
    paths = files or all_environment_files()
    if not paths:
        err.print("[red]error:[/red] no files given and no desired_state/*.yaml here")
        raise typer.Exit(1)
    problems = iter_problems(paths)
    for problem in problems:
        err.print(output.styled(str(problem), "red"), highlight=False, soft_wrap=True)
    if problems:
        err.print(f"[red]{len(problems)} problem(s) in {len(paths)} file(s)[/red]")
        raise typer.Exit(1)
    console.print(f"[green]ok[/green]: {len(paths)} file(s) valid")


@app.command()
def plan(
    environment: EnvArg,
    output_format: Annotated[str, typer.Option(
        "--output", "-o", help="text or json.")] = "text",
    local: Local = False,
    endpoint_url: Endpoint = None,
    region: Region = None,
) -> None:
    """Show what apply would change. Exit 0: no changes, 2: changes, 1: error."""
    if output_format not in ("text", "json"):
        err.print("[red]error:[/red] --output must be 'text' or 'json'")
        raise typer.Exit(1)
    try:
        env, seen = _preview(environment, local=local, endpoint_url=endpoint_url,
                             region=region)
    except EcsGitopsError as exc:
        raise _fail(exc) from None
    the_plan = seen.plan
    if output_format == "json":
        data = the_plan.to_json()
        data["held_back"] = [h.describe() for h in seen.held_back]
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        # The same text the pull-request preview posts (ecs_gitops.report).
        output.print_plan_text(console, plan_text(env.environment, seen))
    raise typer.Exit(0 if the_plan.empty else 2)


@app.command()
def apply(
    environment: EnvArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show the actions, call nothing that changes AWS.")] = False,
    wait: Annotated[bool, typer.Option(
        "--wait/--no-wait", help="Wait until the changed services are stable.")] = True,
    timeout: Annotated[int, typer.Option(help="Seconds to wait for stability.")] = 900,
    local: Local = False,
    endpoint_url: Endpoint = None,
    region: Region = None,
    table: Annotated[str | None, typer.Option(
        help="The controllers' state table, for the environment's lease (default: found "
        "from the stack named by --stack, or from 'local up').")] = None,
    stack: Annotated[str, typer.Option(help="The controllers' stack.")] = "ecs-gitops",
    allow_replace: Annotated[bool, typer.Option(
        "--allow-replace", help="Delete and re-create services whose change UpdateService "
        "cannot make (e.g. launchType); their tasks stop.")] = False,
) -> None:
    """Make the environment match its desired-state file (asks first unless --yes).

    While it applies it holds the environment's lease, the one the reconcile Lambda
    takes, so that the two never write at once (when the controllers' stack exists)."""
    try:
        env = load(environment)
        clients = make_clients(local=local, endpoint_url=endpoint_url, region=region or env.region)
        store = None if dry_run else _store(clients, table=table, stack=stack, local=local)
        if store is None and not dry_run:
            console.print(f"[dim]no ecs-gitops stack {escape(repr(stack))} found: applying without the "
                          "environment's lease and release records[/dim]", highlight=False)
        _apply(env, clients, store, yes=yes, dry_run=dry_run, wait=wait, timeout=timeout,
               allow_replace=allow_replace)
    except EcsGitopsError as exc:
        raise _fail(exc) from None


def _apply(env: Environment, clients: Clients, store: Store | None, *, yes: bool,
           dry_run: bool, wait: bool, timeout: int, allow_replace: bool = False) -> None:
    def confirm(the_plan: Plan) -> bool:
        output.print_plan(console, the_plan)
        if dry_run or yes:
            return True
        if not sys.stdin.isatty():
            err.print("[red]error:[/red] not a terminal: pass --yes to apply without asking")
            raise typer.Exit(1)
        return typer.confirm(f"Apply {len(the_plan.actions)} change(s) to {env.environment}?",
                             default=False)

    def progress(action: Action) -> None:
        prefix = "[dim](dry run)[/dim] " if dry_run else ""
        console.print(f"{prefix}{escape(action.describe()[0])}", highlight=False)

    owner = f"cli:{getpass.getuser()}@{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
    revision = f"working tree ({getpass.getuser()}@{socket.gethostname()})"
    with lease(store, env.environment, owner, seconds=timeout + 600) if store else nullcontext():
        done = reconcile_once(env, AwsCloud(clients), store=store, revision=revision,
                              trigger=Trigger.OPERATOR, dry_run=dry_run, confirm=confirm,
                              allow_replace=allow_replace, on_action=progress)
    for held in done.held_back:
        console.print(output.held_back_line(env.environment, held), highlight=False,
                      soft_wrap=True, markup=False)
    if done.status is Status.IN_SYNC:
        output.print_plan(console, done.plan)
        return
    if done.status is Status.PREFLIGHT_FAILED:
        output.print_plan(console, done.plan)
        raise PreflightError(list(done.missing))
    if done.status is Status.DECLINED:
        err.print("nothing applied")
        raise typer.Exit(1)
    if done.status is Status.DRY_RUN:
        console.print("[yellow]dry run: nothing was changed[/yellow]")
        return
    console.print(f"[green]applied {len(done.plan.actions)} change(s)[/green]")
    if wait:
        names = sorted({a.service for a in done.plan.actions
                        if isinstance(a, CreateService | UpdateService | ReplaceService)})
        if names:
            _wait(clients, env.cluster, names, timeout)


def _wait(clients: Clients, cluster: str, names: list[str], timeout: int) -> None:
    started = time.monotonic()

    def show(services: dict[str, ServiceSnapshot]) -> None:
        parts = [escape(f"{n} {output.progress_cell(services.get(n))}") for n in names]
        console.print(f"[dim]{time.monotonic() - started:5.0f}s[/dim] " + " | ".join(parts),
                      highlight=False)

    AwsCloud(clients).ecs.wait_stable(cluster, names, timeout=timeout, on_progress=show,
                                      interval=5.0 if not clients.embedded else 0.2)
    console.print("[green]all changed services are stable[/green]")


@app.command()
def status(
    environment: EnvArg,
    local: Local = False,
    endpoint_url: Endpoint = None,
    region: Region = None,
) -> None:
    """A table per service: revision, image tag, counts, rollout state, autoscaling range."""
    try:
        env, seen = _preview(environment, local=local, endpoint_url=endpoint_url, region=region)
    except EcsGitopsError as exc:
        raise _fail(exc) from None
    output.print_status(console, env, seen.snapshot, seen.plan)
    _print_deployments(env, local=local, endpoint_url=endpoint_url, region=region)
    for held in seen.held_back:
        console.print(output.held_back_line(env.environment, held), highlight=False,
                      soft_wrap=True, markup=False)


def _print_deployments(env: Environment, *, local: bool, endpoint_url: str | None,
                       region: str | None) -> None:
    """For each blue-green, canary or linear service with a deployment running: its
    strategy, lifecycle stage and traffic split (ListServiceDeployments,
    DescribeServiceDeployments)."""
    from ecs_gitops.desired.model import Strategy
    from ecs_gitops_tools.operations import running_deployment

    progressive = [s for s in env.services if s.deployment.strategy is not Strategy.ROLLING]
    if not progressive:
        return
    ecs = make_clients(local=local, endpoint_url=endpoint_url,
                       region=region or env.region).client("ecs")
    for service in progressive:
        try:
            deployment = running_deployment(ecs, env.cluster, service.ecs_name)
        except EcsGitopsError:
            continue  # none running (or not readable): the table says enough
        console.print(output.deployment_line(env.environment, service.ecs_name,
                                             service.deployment.strategy.value, deployment),
                      highlight=False, soft_wrap=True, markup=False)


@app.command()
def schema(
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write to this file (default: standard output).")] = None,
) -> None:
    """Print (or write) the JSON Schema of desired-state files."""
    text = json_schema_text()
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        err.print(f"wrote {out}")


@app.command()
def seed(
    files: Annotated[list[Path] | None, typer.Argument(
        help="Desired-state files to seed from (default: every desired_state/*.yaml).")] = None,
    local: Local = False,
    endpoint_url: Endpoint = None,
    region: Region = None,
) -> None:
    """Create the original world on the embedded AWS: cluster, ECR, SSM, target groups."""
    try:
        envs = [load_environment(p) for p in (files or all_environment_files())]
        if not local and endpoint_url is None:
            raise EcsGitopsError("seed is for the embedded AWS: pass --local or --endpoint-url")
        clients = make_clients(local=local, endpoint_url=endpoint_url,
                               region=region or envs[0].region)
        seed_world(envs, clients, say=lambda line: console.print(f"  created {escape(line)}",
                                                                 highlight=False))
    except EcsGitopsError as exc:
        raise _fail(exc) from None
    console.print("[green]seeded[/green]")


@app.command()
def demo(
    keep: Annotated[Path | None, typer.Option(
        help="Keep the embedded cloud's files (git remote, build logs) in this folder.")] = None,
) -> None:
    """Play the whole loop on the embedded cloud (no account, no Docker).

    Push, build, write back, deploy, merge to production, a pull request's plan preview,
    a failing build, a failing rollout, drift, a canary rolled back by an alarm, a manual
    approval, the api built from its own repository (the README's eleven steps). Prints
    a timeline and the final status; exits 1 if a step ends otherwise than expected."""
    from ecs_gitops_tools.local.demo import run

    source = Path.cwd()
    if not (source / "template.yaml").exists():
        err.print("[red]error:[/red] run the demo from the repository root (template.yaml)")
        raise typer.Exit(1)
    raise typer.Exit(run(console, source=source, keep=keep))


from ecs_gitops_tools.cli.adopt import import_command  # noqa: E402 - after app exists
from ecs_gitops_tools.cli.history import history, rollback  # noqa: E402 - after app exists
from ecs_gitops_tools.cli.local import invoke_command, local_app  # noqa: E402
from ecs_gitops_tools.cli.progressive import abort, approve  # noqa: E402
from ecs_gitops_tools.cli.pulls import pr_app  # noqa: E402
from ecs_gitops_tools.cli.release import release_image  # noqa: E402

app.command("import")(import_command)
app.command("history")(history)
app.command("release-image")(release_image)
app.command("rollback")(rollback)
app.command("approve")(approve)
app.command("abort")(abort)
app.add_typer(local_app, name="local")
local_app.add_typer(pr_app, name="pr")
app.command("invoke")(invoke_command)


def main() -> None:
    """The `ecs-gitops` console script (pyproject's [project.scripts])."""
    app()


if __name__ == "__main__":
    main()
