"""`ecs-gitops release-image`: let an image that failed a rollout be deployed again.

A reconcile holds back an image that failed a rollout (the engine's
`hold_back_bad_images`): it keeps what runs, whatever git pins, so that a failed
image is never redeployed in a loop. When the cause is fixed (a parameter, a
dependency), a person releases it. Like every change, that is a git commit: an empty
commit on the environment's branch that says who released which image and why, so
`history` shows it and the audit trail stays in git. Then the record is cleared, and
the next reconcile (the schedule, a push, `apply`) deploys what git pins.
"""

from __future__ import annotations

import subprocess
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ecs_gitops.desired import load_environment, load_environment_text
from ecs_gitops.errors import EcsGitopsError
from ecs_gitops.store import bad_image_key
from ecs_gitops_tools import output
from ecs_gitops_tools.cli.history import _branch, _git
from ecs_gitops_tools.cli.options import Endpoint, EnvArg, Local, Region
from ecs_gitops_tools.cli.target import make_clients, resolve_file

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def release_image(
    environment: EnvArg,
    service: Annotated[str, typer.Argument(help="The service's name in the file.")],
    reason: Annotated[str, typer.Option(
        metavar="TEXT", help="Why it may be deployed again (goes into the commit).")],
    push: Annotated[str | None, typer.Option(
        metavar="REMOTE", help="Push the commit to this remote (e.g. origin).")] = None,
    local: Local = False,
    endpoint_url: Endpoint = None,
    region: Region = None,
    table: Annotated[str | None, typer.Option(
        metavar="TABLE", help="The controllers' state table (default: found from the stack "
        "named by --stack, or from 'local up').")] = None,
    stack: Annotated[str, typer.Option(metavar="STACK", help="The controllers' stack.")
    ] = "ecs-gitops",
) -> None:
    """Release the image a failed rollout holds back, so that it may be deployed again.

    One commit on the environment's branch records who and why; then the next reconcile
    deploys what git pins."""
    from ecs_gitops_tools.cli.main import _store

    try:
        path = resolve_file(environment)
        env = load_environment(path)
        branch = _branch(path, env.branch)
        at_tip = load_environment_text(_git("show", f"{branch.tip}:{branch.path}"), branch.path)
        try:
            pinned = at_tip.service(service).image.tag
        except KeyError:
            raise EcsGitopsError(f"no service {service!r} in {branch.path} on {branch.name}"
                                 ) from None
        clients = make_clients(local=local, endpoint_url=endpoint_url,
                               region=region or env.region)
        store = _store(clients, table=table, stack=stack, local=local)
        if store is None:
            raise EcsGitopsError(f"no state table: no stack {stack!r} found (--table, --stack, "
                                 "or --local for 'local up')")
        key = bad_image_key(env.environment, service, pinned)
        bad = store.bad_image(key)
        if bad is None:
            console.print(output.styled(f"{service}'s pinned image {pinned[:12]} is not held "
                                        f"back in {env.environment}: nothing to release"),
                          highlight=False)
            return
        message = (f"release {service} {pinned[:12]} in {env.environment}\n\n{reason}\n\n"
                   f"Held back since {bad.describe()}. Made with 'ecs-gitops release-image'.")
        commit = subprocess.run(
            ["git", "commit-tree", f"{branch.tip}^{{tree}}", "-p", branch.tip],
            input=message, capture_output=True, text=True, check=True).stdout.strip()
        _git("update-ref", "-m", "ecs-gitops release-image", branch.ref, commit, branch.tip)
        store.clear_bad_image(key)
        if push:
            _git("push", "-q", push, f"{branch.ref}:{branch.ref}")
    except EcsGitopsError as exc:
        output.error(err, exc)
        raise typer.Exit(1) from None
    console.print("[green]released[/green] " + escape(
        f"{service} {pinned[:12]} in {env.environment} (commit {commit[:10]} on {branch.name}"
        + (f", pushed to {push}" if push else "") + "): the next reconcile deploys it"),
        highlight=False)
