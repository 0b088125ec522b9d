"""How the CLI shows plans and status (Rich tables and colours).

User data (service names, environment values, tags, commit messages, error texts) is
never read as Rich markup: it goes in `Text` objects or through `escape`, so that
`containers[svc-a]` prints as is and a value holding `[/docs]` cannot break a print.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ecs_gitops.actual import EnvironmentSnapshot, ServiceSnapshot
from ecs_gitops.desired.model import Environment
from ecs_gitops.plan import Plan
from ecs_gitops.report import held_back_line, release_command

__all__ = ["deployment_line", "error", "held_back_line", "print_plan", "print_plan_text",
           "print_status", "progress_cell", "release_command", "styled"]

_COLOURS = {"+": "green", "~": "yellow", "-": "red", "!": "magenta"}


def styled(text: str, style: str = "") -> Text:
    """`text` as it is (never parsed as markup), in `style`."""
    return Text(text, style=style)


def error(console: Console, message: object, *, prefix: str = "error: ") -> None:
    """`error: MESSAGE` in red, the message printed as it is."""
    line = Text(prefix, style="red")
    line.append(str(message))
    console.print(line, highlight=False, soft_wrap=True)


def print_plan(console: Console, plan: Plan) -> None:
    """The plan's text, coloured by the sign of each line."""
    print_plan_text(console, plan.describe())


def print_plan_text(console: Console, text: str) -> None:
    """A plan's text (`ecs_gitops.report.plan_text`), one printed line per line, coloured
    by the sign of each line: on a terminal only, so that what a pipe or a file receives
    is the text itself, byte for byte (what the pull-request preview posts)."""
    for line in text.splitlines():
        stripped = line.lstrip()
        colour = _COLOURS.get(stripped[:1]) if stripped else None
        if line.startswith("Plan for"):
            console.print(styled(line, "bold"), highlight=False, soft_wrap=True)
        elif colour and not line.startswith("    "):
            console.print(styled(line, colour), highlight=False, soft_wrap=True)
        else:
            console.print(styled(line), highlight=False, soft_wrap=True)


def progress_cell(service: ServiceSnapshot | None) -> str:
    """`running/desired rollout-state` of a service (plain text: escape it to print)."""
    if service is None:
        return "missing"
    return f"{service.running_count}/{service.desired_count} {service.rollout_state.lower()}"


def print_status(
    console: Console, env: Environment, snapshot: EnvironmentSnapshot, plan: Plan
) -> None:
    """A table per service: revision, image tag, counts, rollout, autoscaling, in sync."""
    table = Table(title=styled(f"{env.environment} (cluster {env.cluster}, branch {env.branch})"))
    for column in ("service", "task definition", "image tag", "desired", "running",
                   "rollout", "autoscaling", "in sync"):
        table.add_column(column)
    out_of_sync = {a.service for a in plan.actions}
    for service in env.services:
        svc = snapshot.services.get(service.ecs_name)
        if svc is None:
            table.add_row(styled(service.ecs_name), "-", styled(service.image.tag[:12] + " (wanted)"),
                          "-", "-", "not created", "-", styled("no", "red"))
            continue
        td = snapshot.task_definitions.get(svc.task_definition)
        image = td.image(service.name) if td else None
        tag = image.rsplit(":", 1)[-1] if image and ":" in image else "?"
        scaling = snapshot.scaling.get(service.ecs_name)
        rollout = svc.rollout_state
        colour = {"COMPLETED": "green", "FAILED": "red"}.get(rollout, "yellow")
        table.add_row(
            styled(service.ecs_name),
            styled(td.label if td else svc.task_definition.rsplit("/", 1)[-1]),
            styled(tag[:12]),
            str(svc.desired_count),
            str(svc.running_count),
            styled(rollout.lower(), colour),
            f"{scaling.min}..{scaling.max}" if scaling else "off",
            styled("no", "red") if service.ecs_name in out_of_sync else styled("yes", "green"),
        )
    console.print(table)
    for name in plan.unmanaged:
        console.print(f"[magenta]unmanaged[/magenta] {escape(name)}: in the cluster, not in "
                      "the file", highlight=False)
    for name in plan.orphaned:
        console.print(f"[magenta]orphaned[/magenta] {escape(name)}: ours, no longer in the file",
                      highlight=False)


def deployment_line(environment: str, service: str, strategy: str,
                    deployment: Mapping[str, Any]) -> str:
    """One line for a running blue-green/canary/linear deployment (DescribeServiceDeployments):
    `simpleweb: canary deployment IN_PROGRESS at PRODUCTION_TRAFFIC_SHIFT, traffic 90% old /
    10% new; waits for approval: ecs-gitops approve production simpleweb`."""
    new = (deployment.get("targetServiceRevision") or {}).get(
        "requestedProductionTrafficWeight")
    old = sum(float(r.get("requestedProductionTrafficWeight") or 0)
              for r in deployment.get("sourceServiceRevisions") or ())
    text = (f"{service}: {strategy} deployment {deployment.get('status', '?')} at "
            f"{deployment.get('lifecycleStage', '?')}")
    if new is not None:
        text += f", traffic {old:g}% old / {float(new):g}% new"
    waiting = [h for h in deployment.get("lifecycleHookDetails") or ()
               if h.get("targetType") == "PAUSE" and h.get("status") == "AWAITING_ACTION"]
    if waiting:
        expires = waiting[0].get("expiresAt")
        text += (f"; waits for approval{f' until {expires}' if expires else ''}: "
                 f"ecs-gitops approve {environment} {service} (or abort)")
    return text

