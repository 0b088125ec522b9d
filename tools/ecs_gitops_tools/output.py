"""How the CLI shows plans and status (Rich tables and colours)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ecs_gitops.actual import EnvironmentSnapshot, ServiceSnapshot
from ecs_gitops.desired.model import Environment
from ecs_gitops.engine import HeldBack
from ecs_gitops.plan import Plan

_COLOURS = {"+": "green", "~": "yellow", "-": "red", "!": "magenta"}


def print_plan(console: Console, plan: Plan) -> None:
    for line in plan.describe().splitlines():
        stripped = line.lstrip()
        colour = _COLOURS.get(stripped[:1]) if stripped else None
        if line.startswith("Plan for"):
            console.print(f"[bold]{line}[/bold]", highlight=False)
        elif colour and not line.startswith("    "):
            console.print(f"[{colour}]{line}[/{colour}]", highlight=False)
        else:
            console.print(line, highlight=False, soft_wrap=True)


def progress_cell(service: ServiceSnapshot | None) -> str:
    if service is None:
        return "missing"
    return f"{service.running_count}/{service.desired_count} {service.rollout_state.lower()}"


def print_status(
    console: Console, env: Environment, snapshot: EnvironmentSnapshot, plan: Plan
) -> None:
    table = Table(title=f"{env.environment} (cluster {env.cluster}, branch {env.branch})")
    for column in ("service", "task definition", "image tag", "desired", "running",
                   "rollout", "autoscaling", "in sync"):
        table.add_column(column)
    out_of_sync = {a.service for a in plan.actions}
    for service in env.services:
        svc = snapshot.services.get(service.ecs_name)
        if svc is None:
            table.add_row(service.ecs_name, "-", service.image.tag[:12] + " (wanted)", "-", "-",
                          "not created", "-", "[red]no[/red]")
            continue
        td = snapshot.task_definitions.get(svc.task_definition)
        image = td.image() if td else None
        tag = image.rsplit(":", 1)[-1] if image and ":" in image else "?"
        scaling = snapshot.scaling.get(service.ecs_name)
        rollout = svc.rollout_state
        colour = {"COMPLETED": "green", "FAILED": "red"}.get(rollout, "yellow")
        table.add_row(
            service.ecs_name,
            td.label if td else svc.task_definition.rsplit("/", 1)[-1],
            tag[:12],
            str(svc.desired_count),
            str(svc.running_count),
            f"[{colour}]{rollout.lower()}[/{colour}]",
            f"{scaling.min}..{scaling.max}" if scaling else "off",
            "[red]no[/red]" if service.ecs_name in out_of_sync else "[green]yes[/green]",
        )
    console.print(table)
    for name in plan.unmanaged:
        console.print(f"[magenta]unmanaged[/magenta] {name}: in the cluster, not in the file")
    for name in plan.orphaned:
        console.print(f"[magenta]orphaned[/magenta] {name}: ours, no longer in the file")


def release_command(environment: str, service: str) -> str:
    """The command that lets a held-back image be deployed again (`release-image`)."""
    return f"ecs-gitops release-image {environment} {service} --reason '...'"


def held_back_line(environment: str, held: HeldBack) -> str:
    """`! held back api: 0a1b... failed a rollout (deployment ..., at ...: why); keeping
    9f8e...; to deploy it again: ecs-gitops release-image production api --reason '...'`."""
    return (f"! held back {held.describe()}; to deploy it again: "
            f"{release_command(environment, held.service)}")
