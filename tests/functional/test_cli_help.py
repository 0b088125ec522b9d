"""Every command's `--help` helps: its one-line summary is one line (rich help keeps a
docstring's line breaks, so a summary wrapped in the source is broken in mid-sentence in
the group's command list), and every option says what it is for."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer

from ecs_gitops_tools.cli.main import app


def _commands(group: Any, path: str = "ecs-gitops") -> Iterator[tuple[str, Any]]:
    yield path, group
    if hasattr(group, "commands"):  # a group (Typer's own click, not `click.Group`)
        for name, command in sorted(group.commands.items()):
            yield from _commands(command, f"{path} {name}")


COMMANDS = dict(_commands(typer.main.get_command(app)))


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_the_summary_is_one_line(path: str) -> None:
    summary = (COMMANDS[path].help or "").strip().split("\n\n")[0]
    assert summary, f"{path}: no help"
    assert "\n" not in summary, f"{path}: its summary is wrapped: {summary!r}"


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_every_option_says_what_it_is_for(path: str) -> None:
    bare = [p.opts[0] for p in COMMANDS[path].params
            if p.param_type_name == "option" and not p.hidden and not (p.help or "").strip()
            and p.opts[0] not in ("--install-completion", "--show-completion")]
    assert bare == [], f"{path}: options without help: {bare}"
