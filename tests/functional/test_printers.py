"""Everything printed escapes user data: markup-like, regex-like and non-ASCII values go
through every printer (plan, status, validate, history, errors) exactly as they are."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from builders import applied, environment, with_service
from rich.console import Console
from typer.testing import CliRunner

from ecs_gitops.plan import plan
from ecs_gitops_tools import output
from ecs_gitops_tools.cli.main import app

runner = CliRunner()
ODD = {"DOCS": "see [/docs] and [bold]x[/bold]", "RE": r"^a.*[0-9]+$ (x|y)",
       "NAME": "Zoë — ünïcødé 東京", "PIPE": " | "}


def console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=400, color_system=None), buffer


def test_plan_prints_user_values_as_they_are() -> None:
    before = environment()
    after = with_service(before, "web", environment=ODD,
                         sidecars=[{"name": "svc-a", "image": "public.ecr.aws/x/[a]:1"}])
    out, buffer = console()
    output.print_plan(out, plan(after, applied(before)))
    text = buffer.getvalue()
    assert "containers[svc-a]" in text
    assert "containers[web].environment.DOCS: see [/docs] and [bold]x[/bold]" in text
    assert r"^a.*[0-9]+$ (x|y)" in text
    assert "Zoë — ünïcødé 東京" in text
    assert 'PIPE: " | "' in text  # whitespace at the ends is shown quoted, never lost
    assert "public.ecr.aws/x/[a]:1" in text


def test_status_prints_names_as_they_are() -> None:
    env = environment()
    out, buffer = console()
    snapshot = applied(env)
    output.print_status(out, env, snapshot, plan(env, snapshot))
    assert "web" in buffer.getvalue()
    out, buffer = console()
    output.error(out, "bad [/docs] value ^x$ ünï")
    assert buffer.getvalue().strip() == "error: bad [/docs] value ^x$ ünï"


def test_validate_prints_problems_as_they_are(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("schemaVersion: 1\nenvironment: production\nbranch: main\n"
                    "region: us-east-1\ncluster: c\nservices:\n"
                    "  - name: api\n    image: {repository: api, tag: abc}\n    cpu: 256\n"
                    "    memory: 512\n    environment: {'[/docs]SECRET': x}\n")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert "'[/docs]SECRET' looks like a secret" in result.output


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = Path(__file__).resolve().parents[2]
    repo = tmp_path / "repo"
    (repo / "desired_state").mkdir(parents=True)
    (repo / "desired_state/production.yaml").write_text(
        (root / "desired_state/production.yaml").read_text())
    for args in (("init", "-q", "-b", "main"), ("config", "user.name", "Zoë [/b]"),
                 ("config", "user.email", "z@example.com"), ("add", "-A"),
                 ("commit", "-q", "-m", "fix [/docs] links ^a.*$ ünï")):
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)
    monkeypatch.chdir(repo)
    return repo


def test_history_prints_commit_messages_as_they_are(repo: Path) -> None:
    result = runner.invoke(app, ["history", "production"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    # The table may wrap a cell; every piece prints as it is.
    for piece in ("fix [/docs]", "^a.*$", "ünï", "Zoë", "[/b]"):
        assert piece in result.output, result.output
