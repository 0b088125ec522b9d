"""`ecs-gitops invoke --local` with every sample of `events/`, on a running embedded
cloud, in the order and with the outcome and exit code `events/README.md` states (its
table's last column; the function of each sample from its `sam local invoke` list)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecs_gitops_tools.cli.main import app
from ecs_gitops_tools.local.net import free_port

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "events" / "README.md"
GIT_ENV = {"GIT_AUTHOR_NAME": "U", "GIT_AUTHOR_EMAIL": "u@example.com",
           "GIT_COMMITTER_NAME": "U", "GIT_COMMITTER_EMAIL": "u@example.com"}


def table() -> list[tuple[str, str, bool]]:
    """(file, expected start of the outcome's text, expected exit 1) per row, in order."""
    rows = []
    for line in README.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`") and cells[0].endswith(".json`"):
            expected = re.match(r"`([^`]+)`", cells[3])
            assert expected, f"no expected outcome for {cells[0]} in {README}"
            rows.append((cells[0].strip("`"), expected.group(1), "exit 1" in cells[3]))
    return rows


def functions() -> dict[str, str]:
    """Sample file -> the function the README's `sam local invoke` list gives it."""
    found = re.findall(r"sam local invoke (\w+) -e events/([\w.-]+\.json)\n", README.read_text())
    return {name: function for function, name in found}


def test_the_table_covers_every_sample() -> None:
    samples = sorted(p.name for p in (ROOT / "events").glob("*.json"))
    assert sorted(name for name, _, _ in table()) == samples
    assert sorted(functions()) == samples


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True,
                   env={**os.environ, **GIT_ENV})


@pytest.mark.e2e
def test_every_sample_does_what_the_readme_says(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    clone = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    # main's tip changes simpleweb, development's (one more commit) changes api
    _git(clone, "checkout", "-qB", "main")
    for branch, path in (("main", "apps/simpleweb/simpleweb/web.py"),
                         ("development", "apps/api/api_service/web.py")):
        if branch != "main":
            _git(clone, "checkout", "-qb", branch)
        (clone / path).write_text((clone / path).read_text() + "\n# a change\n")
        _git(clone, "commit", "-qam", f"{path}: a change")
    cli = [sys.executable, "-m", "ecs_gitops_tools.cli.main"]
    up = subprocess.run([*cli, "local", "up", "--quick-tests", "--port", str(free_port()),
                         "--schedule-scale", "100"], cwd=clone, capture_output=True, text=True,
                        check=False, timeout=120)
    assert up.returncode == 0, up.stderr
    monkeypatch.chdir(clone)
    runner = CliRunner()
    try:
        assert runner.invoke(app, ["local", "wait", "--timeout", "120"]).exit_code == 0
        names = functions()
        for name, expected, exit_1 in table():
            result = runner.invoke(app, ["invoke", names[name], "-e", f"events/{name}",
                                         "--local"])
            assert result.exit_code == (1 if exit_1 else 0), (name, result.stdout,
                                                             result.stderr)
            action = str(json.loads(result.stdout)["action"])
            parts = action.split("; ")
            assert all(p.startswith(expected) for p in parts), (name, expected, action)
            waited = runner.invoke(app, ["local", "wait", "--timeout", "120"])
            assert waited.exit_code == 0, waited.stdout
            assert "error" not in waited.stdout.lower(), waited.stdout
            if name == "codecommit-push-development.json":
                assert "--local: commitId 5f2c9e8a1b7d -> " in result.stderr
                assert "rollout api-development -> " in waited.stdout
    finally:
        subprocess.run([*cli, "local", "down"], cwd=clone, capture_output=True, check=False,
                       timeout=60)


@pytest.mark.e2e
def test_invoke_exits_1_when_the_handler_fails(tmp_path: Path) -> None:
    """--as-is sends the sample's commit, which the embedded remote does not have: the
    push controller fails to read it, and invoke says so with exit 1 (was: exit 0)."""
    clone = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    cli = [sys.executable, "-m", "ecs_gitops_tools.cli.main"]
    up = subprocess.run([*cli, "local", "up", "--port", str(free_port()),
                         "--schedule-scale", "100"], cwd=clone, capture_output=True, text=True,
                        check=False, timeout=120)
    assert up.returncode == 0, up.stderr
    try:
        invoked = subprocess.run(
            [*cli, "invoke", "PushFunction", "-e", "events/codecommit-push-development.json",
             "--local", "--as-is"], cwd=clone, capture_output=True, text=True, check=False,
            timeout=120)
    finally:
        subprocess.run([*cli, "local", "down"], cwd=clone, capture_output=True, check=False,
                       timeout=60)
    assert invoked.returncode == 1, invoked.stdout + invoked.stderr
    assert json.loads(invoked.stdout)["kind"] == "failed"
    assert "the handler reports a failure" in invoked.stderr
