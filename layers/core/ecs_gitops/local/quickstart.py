"""The first thing a new user runs: seed the original world on an in-process
embedded AWS, show the plan, apply it, show that a second plan is empty, and
print the status table. No account, no Docker, no server."""

from __future__ import annotations

import os

from rich.console import Console

from ecs_gitops.aws.clients import Clients
from ecs_gitops.aws.cloud import plan_environment, reconcile_environment
from ecs_gitops.aws.seed import seed
from ecs_gitops.cli.output import print_plan, print_status
from ecs_gitops.cli.target import all_environment_files
from ecs_gitops.desired import load_environment
from ecs_gitops.errors import EcsGitopsError
from ecs_gitops.local.moto_patches import apply_patches


def run(console: Console) -> int:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        os.environ[key] = "testing"
    from moto import mock_aws

    apply_patches()
    try:
        envs = [load_environment(p) for p in all_environment_files()]
    except EcsGitopsError as exc:
        console.print(f"[red]{exc}[/red]")
        return 1
    if not envs:
        console.print("[red]no desired_state/*.yaml here: run from the repository root[/red]")
        return 1
    with mock_aws():
        clients = Clients(region=envs[0].region, embedded=True)
        console.rule("seed the original world (embedded AWS)")
        seed(envs, clients, say=lambda line: console.print(f"  created {line}"))
        for env in envs:
            console.rule(f"plan and apply {env.environment}")
            reconciled = reconcile_environment(env, clients)
            print_plan(console, reconciled.plan)
        for env in envs:
            console.rule(f"plan {env.environment} again")
            snapshot, again = plan_environment(env, clients)
            print_plan(console, again)
            if not again.empty:
                console.print("[red]a second plan should be empty[/red]")
                return 1
            print_status(console, env, snapshot, again)
    return 0
