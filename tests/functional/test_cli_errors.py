"""What the CLI says when it cannot work: no credentials (one line, naming --local), an
endpoint that takes no connection (within seconds, not after botocore's retries), and
help that shows no Python type tokens."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecs_gitops_tools.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "ecs_gitops_tools.cli.main"]


def _without_credentials(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") or k in ("AWS_DEFAULT_REGION",)}
    env.update(AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
               AWS_CONFIG_FILE=str(tmp_path / "none"), HOME=str(tmp_path),
               AWS_EC2_METADATA_DISABLED="true")
    return env


@pytest.mark.parametrize("command", [["plan", "production"], ["status", "production"],
                                     ["apply", "production", "--yes"]])
def test_no_credentials_is_one_line_that_mentions_local(tmp_path: Path,
                                                        command: list[str]) -> None:
    done = subprocess.run([*CLI, *command], cwd=ROOT, env=_without_credentials(tmp_path),
                          capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: no AWS credentials found")
    assert "--local" in lines[0]
    assert "Traceback" not in done.stderr


def test_an_unreachable_endpoint_fails_within_seconds() -> None:
    """The probe waits CONNECT_SECONDS at most (a refused connection: at once); botocore's
    retries took about 30 s. The bound leaves room for the interpreter's start on a
    loaded machine."""
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    done = subprocess.run([*CLI, "plan", "production", "--endpoint-url",
                           f"http://127.0.0.1:{port}"], cwd=ROOT, capture_output=True,
                          text=True, check=False, timeout=60)
    elapsed = time.monotonic() - started
    assert done.returncode == 1
    assert f"cannot reach http://127.0.0.1:{port} (Connection refused)" in done.stderr
    assert elapsed < 15


def _commands() -> list[list[str]]:
    import typer.main

    group = typer.main.get_command(app)
    found: list[list[str]] = [[]]
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        found.append([name])
        for sub in getattr(command, "commands", {}):
            found.append([name, sub])
    return found


@pytest.mark.parametrize("command", _commands(), ids=lambda c: " ".join(c) or "ecs-gitops")
def test_help_shows_no_type_tokens(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    tokens = re.findall(r"<(?:bool|int|float|str|text|path|list\[[^\]]*\]|Path)>",
                        result.output, re.IGNORECASE)
    assert tokens == [], result.output
