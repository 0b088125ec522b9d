"""The command line against the embedded AWS (moto server in the test process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ecs_gitops_tools.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def cli(*args: str, url: str) -> Any:
    return runner.invoke(app, [*args, "--endpoint-url", url], catch_exceptions=False)


def written(aws: Any) -> tuple[list[str], list[str]]:
    ecs = aws.client("ecs")
    return (ecs.list_task_definitions()["taskDefinitionArns"],
            ecs.list_services(cluster="dbscluster")["serviceArns"])


def test_plan_apply_plan_again_is_empty(seeded: Any, moto_url: str) -> None:
    first = cli("plan", "production", url=moto_url)
    assert first.exit_code == 2, first.output
    assert "create service simpleweb" in first.output
    applied = cli("apply", "production", "--yes", url=moto_url)
    assert applied.exit_code == 0, applied.output
    assert "all changed services are stable" in applied.output
    again = cli("plan", "production", url=moto_url)
    assert again.exit_code == 0, again.output
    assert "no changes" in again.output
    tds, services = written(seeded)
    assert len(tds) == 2
    assert len(services) == 2


def test_plan_json(seeded: Any, moto_url: str) -> None:
    result = cli("plan", "development", "--output", "json", url=moto_url)
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["environment"] == "development"
    assert [a["action"] for a in data["actions"]][:2] == ["RegisterTaskDefinition",
                                                          "CreateService"]


def test_dry_run_changes_nothing(seeded: Any, moto_url: str) -> None:
    result = cli("apply", "production", "--dry-run", url=moto_url)
    assert result.exit_code == 0, result.output
    assert "dry run: nothing was changed" in result.output
    assert written(seeded) == ([], [])


def test_apply_refuses_without_yes_when_not_a_terminal(seeded: Any, moto_url: str) -> None:
    result = cli("apply", "production", url=moto_url)
    assert result.exit_code == 1
    assert "pass --yes" in result.output
    assert written(seeded) == ([], [])


def test_status_table(seeded: Any, moto_url: str) -> None:
    assert cli("apply", "development", "--yes", url=moto_url).exit_code == 0
    result = cli("status", "development", url=moto_url)
    assert result.exit_code == 0, result.output
    assert "api-development" in result.output
    assert "1..2" in result.output
    assert "completed" in result.output


def test_missing_image_applies_nothing(seeded: Any, moto_url: str, tmp_path: Path) -> None:
    text = (ROOT / "desired_state/production.yaml").read_text()
    bad = tmp_path / "production.yaml"
    bad.write_text(text.replace("tag: 0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
                                "tag: ffffffffffffffffffffffffffffffffffffffff", 1))
    result = cli("apply", str(bad), "--yes", url=moto_url)
    assert result.exit_code == 1
    assert "image simpleweb:ffffffff" in result.output
    assert written(seeded) == ([], [])


def test_missing_secret_parameter_applies_nothing(seeded: Any, moto_url: str,
                                                  tmp_path: Path) -> None:
    text = (ROOT / "desired_state/production.yaml").read_text()
    bad = tmp_path / "production.yaml"
    bad.write_text(text.replace("/simpleweb/db-port", "/simpleweb/db-prot"))
    result = cli("apply", str(bad), "--yes", url=moto_url)
    assert result.exit_code == 1
    assert "SSM parameter /simpleweb/db-prot does not exist" in result.output
    assert written(seeded) == ([], [])


BAD_EDITS = [
    ("port: 5000", "port: 99999", ":52:11: services[1].port:"),
    ("    cpu: 256\n", "    cpu: 256\n    colour: red\n", ":51:5: services[1].colour: unknown key"),
    ("LOG_LEVEL: info", "DB_PASSWORD: hunter2", ":54:7: services[1].environment.DB_PASSWORD:"),
    ("tag: 0a1b", "tag: latest #", ":19:12: services[0].image.tag:"),
    ("min: 2", "min: 9", ":29:12: services[0].scaling.min: min (9) is greater than max (5)"),
]


@pytest.mark.parametrize(("old", "new", "expected"), BAD_EDITS, ids=[e[2] for e in BAD_EDITS])
def test_bad_file_gives_file_line_and_writes_nothing(
    seeded: Any, moto_url: str, tmp_path: Path, old: str, new: str, expected: str
) -> None:
    bad = tmp_path / "production.yaml"
    text = (ROOT / "desired_state/production.yaml").read_text()
    assert old in text
    bad.write_text(text.replace(old, new, 1))
    for command in (["validate", str(bad)], ["plan", str(bad), "--endpoint-url", moto_url],
                    ["apply", str(bad), "--yes", "--endpoint-url", moto_url]):
        result = runner.invoke(app, command)
        assert result.exit_code == 1, (command, result.output)
        assert f"{bad}{expected}" in result.output.replace("\n", ""), result.output
    assert written(seeded) == ([], [])


def test_validate_committed_files() -> None:
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 0, result.output


def test_schema_matches_the_committed_one() -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    assert result.stdout == (ROOT / "desired_state/schema.json").read_text(), (
        "desired_state/schema.json is stale: run 'ecs-gitops schema -o desired_state/schema.json'")


def test_local_without_server_says_how_to_start_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECS_GITOPS_LOCAL_ENDPOINT", "http://127.0.0.1:9")
    result = runner.invoke(app, ["plan", "production", "--local"])
    assert result.exit_code == 1
    assert "ecs-gitops local up" in result.output


def test_unknown_environment_lists_known_ones(tmp_path: Path) -> None:
    result = runner.invoke(app, ["plan", "staging", "--endpoint-url", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "known environments: development, production" in result.output


def test_seed_refuses_a_real_account() -> None:
    result = runner.invoke(app, ["seed"])
    assert result.exit_code == 1
    assert "embedded AWS" in result.output


def test_yaml_files_point_editors_at_the_schema() -> None:
    for path in (ROOT / "desired_state").glob("*.yaml"):
        assert path.read_text().startswith("# yaml-language-server: $schema=./schema.json")



def test_the_console_script_is_installed() -> None:
    """pyproject's `ecs-gitops` entry point, installed into the environment by setup."""
    script = Path(sys.executable).parent / "ecs-gitops"
    assert script.exists(), script
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True,
                            check=False, timeout=60)
    assert result.returncode == 0
    assert "validate" in result.stdout


def test_apply_takes_the_environments_lease(seeded: Any, moto_url: str) -> None:
    from ecs_gitops.aws.dynamodb import DynamoStore
    from ecs_gitops_tools.local.stack import create_stack
    from ecs_gitops_tools.local.template import Template

    refs = create_stack(Template(ROOT / "template.yaml"), seeded)
    table = refs["StateTable"]
    store = DynamoStore(seeded, table)
    assert store.acquire_lease("env#production", "the-reconcile-lambda", seconds=300)
    held = cli("apply", "production", "--yes", "--table", table, url=moto_url)
    assert held.exit_code == 1
    assert "holds the lease" in held.output
    assert written(seeded) == ([], [])
    store.release_lease("env#production", "the-reconcile-lambda")
    done = cli("apply", "production", "--yes", "--table", table, url=moto_url)
    assert done.exit_code == 0, done.output
    assert store.acquire_lease("env#production", "next", seconds=300)  # released after


def test_apply_without_a_stack_says_it_has_no_lease(seeded: Any, moto_url: str) -> None:
    result = cli("apply", "development", "--yes", url=moto_url)
    assert result.exit_code == 0, result.output
    assert "applying without the environment's lease" in result.output
