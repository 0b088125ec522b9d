"""`ecs-gitops local up | down | status` and `ecs-gitops invoke`: the embedded cloud
from the command line, and any function run as `sam local invoke` would, without Docker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from ecs_gitops.errors import EcsGitopsError
from ecs_gitops_tools import output
from ecs_gitops_tools.cli.target import LOCAL_DIR

local_app = typer.Typer(help="Keep the embedded cloud running in the background "
                             "(moto on 127.0.0.1, a git remote, the builder, the bus).",
                        no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _state(directory: Path) -> dict[str, Any] | None:
    from ecs_gitops_tools.local.daemon import alive, read_state

    state = read_state(directory)
    if state is None:
        return None
    pid = state.get("pid")
    if not isinstance(pid, int) or not alive(pid):
        return None
    return state


@local_app.command()
def up(
    port: Annotated[int, typer.Option(help="Port for the embedded AWS (moto).")] = 4566,
    directory: Annotated[Path, typer.Option("--dir", help="Where it keeps its files.")] = LOCAL_DIR,
    quick_tests: Annotated[bool, typer.Option(
        "--quick-tests/--full-tests",
        help="Run the apps' tests without the MariaDB and browser ones (faster builds).")] = False,
    schedule_scale: Annotated[float, typer.Option(
        help="Multiply the template's schedule periods (0.1: ten times as often).")] = 1.0,
    timeout: Annotated[int, typer.Option(help="Seconds to wait for it to be ready.")] = 120,
) -> None:
    """Start the embedded cloud in the background and print how to use it."""
    if not Path("template.yaml").exists():
        err.print("[red]error:[/red] run this from the repository root (template.yaml)")
        raise typer.Exit(1)
    if _state(directory):
        err.print(f"[yellow]already running[/yellow] ({directory / 'state.json'}); "
                  "'ecs-gitops local down' stops it")
        raise typer.Exit(1)
    if directory.exists():
        import shutil

        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    test_args = "-m|not mariadb and not browser" if quick_tests else ""
    log = (directory / "daemon.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "ecs_gitops_tools.local.daemon", "--dir", str(directory),
         "--source", str(Path.cwd()), "--port", str(port), "--test-args=" + test_args,
         "--schedule-scale", str(schedule_scale)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    with console.status("starting the embedded cloud (moto, stack, seed, git remote)..."):
        while time.monotonic() < deadline:
            if process.poll() is not None:
                err.print(f"[red]error:[/red] it stopped (exit {process.returncode}); see "
                          f"{directory / 'daemon.log'}")
                raise typer.Exit(1)
            state = _state(directory)
            if state:
                break
            time.sleep(0.3)
        else:
            process.terminate()
            err.print(f"[red]error:[/red] not ready after {timeout}s; see {directory}/daemon.log")
            raise typer.Exit(1)
    remote = state["remote"]
    console.print(f"[green]up[/green]: embedded AWS on {state['endpoint']} (pid {state['pid']})")
    console.print(f"git remote (CodeCommit): {remote}\n")
    console.print("Push to it and follow along:", highlight=False)
    console.print(f"  git remote add local {remote}\n"
                  "  git push local HEAD:development\n"
                  "  ecs-gitops local status            # the timeline\n"
                  "  ecs-gitops status development --local\n"
                  "  ecs-gitops local down", highlight=False)


@local_app.command()
def down(
    directory: Annotated[Path, typer.Option("--dir")] = LOCAL_DIR,
) -> None:
    """Stop the embedded cloud started by 'local up'."""
    state = _state(directory)
    if state is None:
        console.print("not running")
        return
    pid = int(state["pid"])
    os.kill(pid, signal.SIGTERM)
    from ecs_gitops_tools.local.daemon import alive

    for _ in range(100):
        if not alive(pid):
            break
        time.sleep(0.1)
    console.print(f"[green]stopped[/green] (pid {pid})")


@local_app.command("status")
def local_status(
    directory: Annotated[Path, typer.Option("--dir")] = LOCAL_DIR,
    lines: Annotated[int, typer.Option("-n", help="How many timeline lines.")] = 30,
) -> None:
    """Whether it runs, where, and the last lines of its timeline."""
    state = _state(directory)
    if state is None:
        console.print("not running ('ecs-gitops local up' starts it)")
        raise typer.Exit(1)
    console.print(f"running: {state['endpoint']} (pid {state['pid']}), "
                  f"git remote {state['remote']}", highlight=False)
    timeline = directory / "timeline.log"
    if timeline.exists():
        for text in timeline.read_text().splitlines()[-lines:]:
            console.print(output.styled(text), highlight=False, soft_wrap=True)


def invoke_command(
    function: Annotated[str, typer.Argument(
        help="Logical id in template.yaml (PushFunction) or a short name (push).")],
    event: Annotated[Path, typer.Option("--event", "-e", help="Event JSON file.")],
    local: Annotated[bool, typer.Option(
        "--local", help="Against the embedded cloud of 'ecs-gitops local up'.")] = False,
    stack: Annotated[str, typer.Option(
        help="Deployed stack whose resources fill the template's references (real AWS).")
    ] = "ecs-gitops",
    env_vars: Annotated[Path | None, typer.Option(
        "--env-vars", "-n", help="JSON overrides, as for sam local invoke "
        '({"Parameters": {...}} or {"PushFunction": {...}}).')] = None,
    template_path: Annotated[Path, typer.Option("--template", "-t")] = Path("template.yaml"),
    directory: Annotated[Path, typer.Option(
        "--dir", help="With --local: the folder 'local up' uses.")] = LOCAL_DIR,
) -> None:
    """Run a function's handler with an event, like 'sam local invoke', without Docker.

    The function's environment comes from template.yaml (references resolved against
    the embedded cloud with --local, else against the deployed stack); the handler
    gets a Lambda-like context; its log lines go to stderr, its result to stdout."""
    from ecs_gitops_tools.local.invoke import function_environment, invoke
    from ecs_gitops_tools.local.template import Template

    try:
        template = Template(template_path)
        spec = template.function(function)
        try:
            payload = json.loads(event.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise EcsGitopsError(f"{event}: not a JSON event: {exc}") from exc
        extra: dict[str, str] = {}
        if local:
            state = _state(directory)
            if state is None:
                raise EcsGitopsError("the embedded cloud is not running: 'ecs-gitops local up'")
            refs = dict(state["refs"])
            extra = {"AWS_ENDPOINT_URL": str(state["endpoint"]), "GIT_SOURCE": str(state["remote"]),
                     "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
            region = "us-east-1"
        else:
            refs, region = _stack_refs(stack)
        overrides = json.loads(env_vars.read_text()) if env_vars else {}
        refs.update({k: str(v) for k, v in overrides.get("Parameters", {}).items()})
        extra.update({k: str(v) for k, v in overrides.get(spec.logical_id, {}).items()})
        env = function_environment(spec, refs, region=region, extra=extra)
        with redirect_stdout(sys.stderr):  # the function's log lines, as sam prints them
            result = invoke(spec, payload, env)
    except EcsGitopsError as exc:
        output.error(err, exc)
        raise typer.Exit(1) from None
    sys.stdout.write(json.dumps(result, indent=2, default=str) + "\n")


def _stack_refs(stack: str) -> tuple[dict[str, str], str]:
    """Logical id -> physical id (and the parameters) of a deployed stack."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        cfn = boto3.client("cloudformation")
        region = cfn.meta.region_name
        described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
        refs = {p["ParameterKey"]: p.get("ParameterValue", "")
                for p in described.get("Parameters", [])}
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack):
            for r in page["StackResourceSummaries"]:
                refs[r["LogicalResourceId"]] = r.get("PhysicalResourceId", "")
    except (BotoCoreError, ClientError) as exc:
        raise EcsGitopsError(f"cannot read stack {stack!r} ({exc}); deploy it first, or use "
                             "--local with 'ecs-gitops local up'") from exc
    return refs, str(region)


def find_state_table(clients: Any, *, stack: str, local: bool) -> str | None:
    """The controllers' state table: from 'local up' (with --local), else from the stack."""
    if local:
        state = _state(LOCAL_DIR)
        return str(state["refs"]["StateTable"]) if state else None
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        found = clients.client("cloudformation").describe_stack_resource(
            StackName=stack, LogicalResourceId="StateTable")
    except (BotoCoreError, ClientError):
        return None
    return str(found["StackResourceDetail"]["PhysicalResourceId"])
