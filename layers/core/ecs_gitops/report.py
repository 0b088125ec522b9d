"""The plan as people read it: one text for `ecs-gitops plan` and the pull-request
preview, so that what a reviewer sees on a pull request is byte for byte what the
operator's command prints (the CLI only colours its lines).

Pure: no I/O, the `Reconciled` of `engine.preview` in, text out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: the engine is imported by whoever ran the preview
    from ecs_gitops.engine import HeldBack, Reconciled


def release_command(environment: str, service: str) -> str:
    """The command that lets a held-back image be deployed again (`release-image`)."""
    return f"ecs-gitops release-image {environment} {service} --reason '...'"


def held_back_line(environment: str, held: HeldBack) -> str:
    """`! held back api: 0a1b... failed a rollout (deployment ..., at ...: why); keeping
    9f8e...; to deploy it again: ecs-gitops release-image production api --reason '...'`."""
    return (f"! held back {held.describe()}; to deploy it again: "
            f"{release_command(environment, held.service)}")


def plan_text(environment: str, seen: Reconciled) -> str:
    """What `ecs-gitops plan ENV` prints (without colour, no final newline): the plan's
    lines (`Plan.describe`), then one line per image held back (`held_back_line`).

    Args:
        environment: the environment's name (the held-back lines name it in the command
            that releases the image).
        seen: what `engine.preview` returned for it.
    """
    lines = [seen.plan.describe()]
    lines += [held_back_line(environment, held) for held in seen.held_back]
    return "\n".join(lines)
