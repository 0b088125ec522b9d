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
from ecs_gitops_tools.cli.target import LOCAL_DIR, local_dir, repo_root

local_app = typer.Typer(help="Keep the embedded cloud running in the background "
                             "(moto on 127.0.0.1, a git remote, the builder, the bus).",
                        no_args_is_help=True)
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
Dir = Annotated[Path | None, typer.Option(
    "--dir", show_default=False,
    help="The folder 'local up' keeps the embedded cloud in (default: the .local-cloud "
    "found from here).")]


def _state(directory: Path | None) -> dict[str, Any] | None:
    from ecs_gitops_tools.local.daemon import alive, read_state

    state = read_state(directory or local_dir())
    if state is None:
        return None
    pid = state.get("pid")
    if not isinstance(pid, int) or not alive(pid):
        return None
    return state


def _lock_holder(path: Path) -> str | None:
    """The pid holding a daemon's lock file, or None when nobody holds it."""
    import fcntl

    if not path.exists():
        return None
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            return handle.read().strip() or "?"
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def _port_problem(port: int) -> str | None:
    """Why the embedded AWS cannot listen on 127.0.0.1:port, or None when it can."""
    import socket

    from ecs_gitops_tools.local.daemon import PORT_LOCKS

    holder = _lock_holder(PORT_LOCKS / f"ecs-gitops-local-{port}.lock")
    if holder:
        return f"port {port} is used by another embedded cloud (pid {holder})"
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            return f"port {port} on 127.0.0.1 is busy ({exc.strerror})"
    return None


@local_app.command()
def up(
    port: Annotated[int, typer.Option(
        envvar="ECS_GITOPS_LOCAL_PORT", help="Port for the embedded AWS (moto).")] = 4566,
    directory: Annotated[Path | None, typer.Option(
        "--dir", show_default=False,
        help="Where it keeps its files (default: .local-cloud at the repository's root).")
    ] = None,
    quick_tests: Annotated[bool, typer.Option(
        "--quick-tests/--full-tests",
        help="Run the apps' tests without the MariaDB and browser ones (faster builds).")] = False,
    reset: Annotated[bool, typer.Option(
        "--reset", help="Forget what a previous run left (pushed commits, releases, "
        "timeline) and start afresh from the checkout.")] = False,
    schedule_scale: Annotated[float, typer.Option(
        help="Multiply the template's schedule periods (0.1: ten times as often).")] = 1.0,
    timeout: Annotated[int, typer.Option(help="Seconds to wait for it to be ready.")] = 120,
    app_repository: Annotated[list[str] | None, typer.Option(
        "--app-repository", metavar="NAME=FOLDER",
        help="Host an application repository NAME (CodeCommit's, for build.repository), "
        "split off the checkout's FOLDER (e.g. api=apps/api); repeatable.")] = None,
) -> None:
    """Start the embedded cloud in the background and print how to use it.

    Its git remote starts with the checkout's tracked branches (their history), so a
    push from the checkout fast-forwards. What it did is kept in its folder: the next
    'local up' resumes it, 'local up --reset' starts afresh."""
    root = repo_root()
    if root is None:
        err.print("[red]error:[/red] not inside an ecs-gitops repository (no template.yaml "
                  "here or above)")
        raise typer.Exit(1)
    from ecs_gitops_tools.local.gitremote import application_repositories, is_checkout
    from ecs_gitops_tools.local.pull_requests import REPOSITORY

    if not is_checkout(root):
        output.error(err, f"{root} is not a git checkout with a commit: 'local up' seeds its "
                          "git remote from the checkout's branches (clone the repository, "
                          "or 'git init' and commit)")
        raise typer.Exit(1)
    try:
        apps = application_repositories([a for a in app_repository or () if a], source=root,
                                        reserved=("remote", REPOSITORY))
    except ValueError as exc:
        output.error(err, exc)
        raise typer.Exit(1) from None
    directory = (directory or root / LOCAL_DIR).resolve()
    holder = _lock_holder(directory / "daemon.lock")
    state = _state(directory)
    if holder or state:
        pid = holder or (state or {}).get("pid")
        output.error(err, f"(pid {pid}, {directory}); 'ecs-gitops local down' stops it",
                     prefix="already running ")
        raise typer.Exit(1)
    problem = _port_problem(port)
    if problem:
        output.error(err, f"{problem}: stop what uses it, or choose another with --port")
        raise typer.Exit(1)
    directory.mkdir(parents=True, exist_ok=True)
    test_args = "-m|not mariadb and not browser" if quick_tests else ""
    log_path = directory / "daemon.log"
    with log_path.open("a") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "ecs_gitops_tools.local.daemon", "--dir", str(directory),
             "--source", str(root), "--port", str(port), "--test-args=" + test_args,
             "--schedule-scale", str(schedule_scale), *(["--reset"] if reset else []),
             *[f"--app-repository={n}={f}" for n, f in apps.items()]],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    from ecs_gitops_tools.local.daemon import EXIT_BUSY, EXIT_REFUSED

    deadline = time.monotonic() + timeout
    with console.status("starting the embedded cloud (moto, stack, seed, git remote)..."):
        while time.monotonic() < deadline:
            if process.poll() is not None:
                lines = log_path.read_text().strip().splitlines()
                if process.returncode in (EXIT_BUSY, EXIT_REFUSED) and lines:
                    output.error(err, lines[-1].removeprefix("busy: ").removeprefix("refused: "))
                else:
                    output.error(err, f"it stopped (exit {process.returncode}); see {log_path}")
                raise typer.Exit(1)
            state = _state(directory)
            if state and state.get("pid") == process.pid:
                break
            time.sleep(0.2)
        else:
            process.terminate()
            output.error(err, f"not ready after {timeout}s; see {log_path}")
            raise typer.Exit(1)
    remote = Path(str(state["remote"]))
    shown = os.path.relpath(remote) if remote.is_relative_to(Path.cwd()) else str(remote)
    console.print(f"[green]up[/green]: embedded AWS on {state['endpoint']} (pid {state['pid']})",
                  highlight=False)
    if state.get("resumed"):
        console.print(f"resumed what it kept in {directory} (pushed commits, releases, "
                      "timeline); 'local up --reset' starts afresh", highlight=False)
    elif not state.get("seeded"):
        console.print(f"AWS made again from git ({state.get('fresh_reason')}); the git "
                      "remote's commits are kept; 'local up --reset' starts afresh",
                      highlight=False)
    else:
        why = state.get("fresh_reason") or "nothing saved"
        console.print(f"started afresh ({why}); git remote seeded from the checkout: "
                      + ", ".join(f"{s['branch']} at {s['commit'][:7]}"
                                  + ("" if s["origin"] == "checkout" else f" ({s['origin']})")
                                  for s in state.get("seeded", [])), highlight=False)
    console.print(f"git remote (CodeCommit): {shown}", highlight=False)
    for name, path in sorted(dict(state.get("app_remotes") or {}).items()):
        where = Path(str(path))
        console.print(f"application repository {name}: "
                      f"{os.path.relpath(where) if where.is_relative_to(Path.cwd()) else where}",
                      highlight=False)
    console.print("", highlight=False)
    console.print("Push to it and follow along:", highlight=False)
    console.print(f"  git remote add local {shown}\n"
                  "  git push local HEAD:development\n"
                  "  ecs-gitops local status            # the timeline\n"
                  "  ecs-gitops status development --local\n"
                  "  ecs-gitops local down", highlight=False)


@local_app.command()
def down(
    directory: Dir = None,
) -> None:
    """Stop the embedded cloud started by 'local up' (what it did is kept for the next up)."""
    state = _state(directory)
    if state is None:
        console.print("not running")
        return
    pid = int(state["pid"])
    os.kill(pid, signal.SIGTERM)
    from ecs_gitops_tools.local.daemon import alive

    for _ in range(300):
        if not alive(pid):
            break
        time.sleep(0.1)
    console.print(f"[green]stopped[/green] (pid {pid}); its state is kept: 'local up' resumes "
                  "it, 'local up --reset' starts afresh", highlight=False)


@local_app.command("status")
def local_status(
    directory: Dir = None,
    lines: Annotated[int, typer.Option("--lines", "-n", help="How many timeline lines.")] = 30,
) -> None:
    """Whether it runs, where, and the last lines of its timeline."""
    state = _state(directory)
    if state is None:
        console.print("not running ('ecs-gitops local up' starts it)")
        raise typer.Exit(1)
    console.print(f"running: {state['endpoint']} (pid {state['pid']}), "
                  f"git remote {state['remote']}", highlight=False)
    timeline = (directory or local_dir()) / "timeline.log"
    if timeline.exists():
        for text in timeline.read_text().splitlines()[-lines:]:
            console.print(text, highlight=False, soft_wrap=True, markup=False)


@local_app.command()
def alarm(
    name: Annotated[str, typer.Argument(help="CloudWatch alarm name (created if missing).")],
    state: Annotated[str, typer.Argument(help="ALARM or OK.", metavar="ALARM|OK")],
    endpoint_url: Annotated[str | None, typer.Option(
        "--endpoint-url", metavar="URL",
        help="The embedded AWS's endpoint (default: the one 'local up' started).")
    ] = None,
) -> None:
    """Raise (ALARM) or clear (OK) a CloudWatch alarm of the embedded cloud.

    A blue-green, canary or linear deployment whose deployment.alarms names it rolls
    back while it is in ALARM."""
    from ecs_gitops_tools.cli.target import make_clients
    from ecs_gitops_tools.operations import set_alarm

    wanted = state.upper()
    if wanted not in ("ALARM", "OK"):
        output.error(err, f"state must be ALARM or OK, not {state!r}")
        raise typer.Exit(1)
    try:
        set_alarm(make_clients(local=True, endpoint_url=endpoint_url, region=None), name,
                  wanted)
    except EcsGitopsError as exc:
        output.error(err, exc)
        raise typer.Exit(1) from None
    console.print(f"alarm {name}: {wanted}", highlight=False, markup=False)


@local_app.command()
def wait(
    timeout: Annotated[int, typer.Option(help="Seconds to wait at most.")] = 600,
    directory: Dir = None,
) -> None:
    """Wait until the embedded cloud is quiet, then print what it did meanwhile.

    Quiet: every push built, written back and rolled out. The timeline printed is every
    burst of work since the wait began, or the last one if it was quiet all along
    (everything: 'ecs-gitops local status'). Exit 1 after --timeout."""
    from ecs_gitops_tools.local.daemon import IDLE

    folder = directory or local_dir()
    if _state(folder) is None:
        err.print("[red]error:[/red] the embedded cloud is not running ('ecs-gitops local up')")
        raise typer.Exit(1)
    started = time.time()
    timeline_path = folder / "timeline.log"
    # Every burst while waiting is printed, not only the last (two pull requests opened
    # a few seconds apart are two bursts).
    begun = timeline_path.stat().st_size if timeline_path.exists() else 0
    deadline = time.monotonic() + timeout
    idle: dict[str, Any] = {}
    with console.status("waiting for the embedded cloud to be quiet..."):
        while time.monotonic() < deadline:
            try:
                idle = json.loads((folder / IDLE).read_text())
            except (OSError, ValueError):
                idle = {}
            if idle.get("time", 0) > started + 0.1:
                break
            if _state(folder) is None:
                output.error(err, f"the embedded cloud stopped; see {folder / 'daemon.log'}")
                raise typer.Exit(1)
            time.sleep(0.3)
        else:
            err.print(f"[red]error:[/red] still busy after {timeout}s; "
                      "'ecs-gitops local status' shows what it does", highlight=False)
            raise typer.Exit(1)
    with timeline_path.open("rb") as timeline:
        timeline.seek(min(begun, int(idle.get("since", 0))))
        for text in timeline.read().decode("utf-8", errors="replace").splitlines():
            console.print(text, highlight=False, soft_wrap=True, markup=False)
    console.print("[green]quiet[/green]: nothing left to deliver", highlight=False)


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
    template_path: Annotated[Path, typer.Option(
        "--template", "-t", help="The SAM template that declares the function.")
    ] = Path("template.yaml"),
    directory: Annotated[Path | None, typer.Option(
        "--dir", show_default=False,
        help="With --local: the folder 'local up' uses (default: found from here).")] = None,
    as_is: Annotated[bool, typer.Option(
        "--as-is", help="With --local: send the sample's commit and deployment ids "
        "unchanged (by default, ids the embedded cloud does not know are mapped onto "
        "its branch tips and deployments, and each mapping is printed).")] = False,
) -> None:
    """Run a function's handler with an event, like 'sam local invoke', without Docker.

    The function's environment comes from template.yaml (references resolved against
    the embedded cloud with --local, else against the deployed stack); the handler
    gets a Lambda-like context; its log lines go to stderr, its result to stdout.
    Exit 1 when the handler fails or reports a failure."""
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
                raise EcsGitopsError(f"the embedded cloud is not running ({directory or local_dir()}):"
                                     " start it with 'ecs-gitops local up'")
            refs = dict(state["refs"])
            extra = {"AWS_ENDPOINT_URL": str(state["endpoint"]), "GIT_SOURCE": str(state["remote"]),
                     "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
            region = "us-east-1"
            if not as_is:
                from ecs_gitops_tools.cli.target import make_clients
                from ecs_gitops_tools.local.samples import localize

                payload, notes = localize(
                    payload, remote=Path(str(state["remote"])), refs=refs,
                    clients=make_clients(local=True, endpoint_url=str(state["endpoint"]),
                                         region=region))
                for note in notes:
                    err.print(output.styled(f"--local: {note}", "cyan"), highlight=False,
                              soft_wrap=True)
        else:
            refs, region = _stack_refs(stack)
        overrides = json.loads(env_vars.read_text()) if env_vars else {}
        refs.update({k: str(v) for k, v in overrides.get("Parameters", {}).items()})
        extra.update({k: str(v) for k, v in overrides.get(spec.logical_id, {}).items()})
        env = function_environment(spec, refs, region=region, extra=extra)
        with redirect_stdout(sys.stderr):  # the function's log lines, as sam prints them
            try:
                result = invoke(spec, payload, env)
            except EcsGitopsError:
                raise
            except Exception as exc:  # as Lambda reports an unhandled error
                result = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
    except EcsGitopsError as exc:
        output.error(err, exc)
        raise typer.Exit(1) from None
    sys.stdout.write(json.dumps(result, indent=2, default=str) + "\n")
    from ecs_gitops_tools.local.timeline import failed

    if isinstance(result, dict) and "errorType" in result:
        output.error(err, f"the handler raised {result['errorType']}: "
                          f"{result['errorMessage']}")
        raise typer.Exit(1)
    if failed(result):
        err.print("[red]the handler reports a failure[/red]", highlight=False)
        raise typer.Exit(1)


def _stack_refs(stack: str) -> tuple[dict[str, str], str]:
    """Logical id -> physical id (and the parameters) of a deployed stack."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        from botocore.config import Config

        # Fail in seconds, not minutes, when there is no network or no such region.
        cfn = boto3.client("cloudformation", config=Config(
            connect_timeout=3, read_timeout=30, retries={"mode": "standard", "max_attempts": 2}))
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
        state = _state(None)
        return str(state["refs"]["StateTable"]) if state else None
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        found = clients.client("cloudformation").describe_stack_resource(
            StackName=stack, LogicalResourceId="StateTable")
    except (BotoCoreError, ClientError):
        return None
    return str(found["StackResourceDetail"]["PhysicalResourceId"])
