"""`history` and `rollback` read and write git (the audit trail), nothing else."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecs_gitops.desired import load_environment
from ecs_gitops.desired.edit import set_image_tag
from ecs_gitops_tools.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
A, B, C = "a" * 40, "b" * 40, "c" * 40


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    repo = tmp_path / "repo"
    (repo / "desired_state").mkdir(parents=True)
    shutil.copy(ROOT / "desired_state/production.yaml", repo / "desired_state")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Ops")
    git(repo, "config", "user.email", "ops@example.com")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    path = repo / "desired_state/production.yaml"
    for tag, message in ((A, "deploy api a\n\n[ecs-gitops write-back]"),
                         (B, "deploy api b\n\n[ecs-gitops write-back]")):
        path.write_text(set_image_tag(path.read_text(), "api", tag))
        git(repo, "commit", "-q", "-am", message)
    monkeypatch.chdir(repo)
    return repo


def test_history_lists_deployments_newest_first(repo: Path) -> None:
    result = runner.invoke(app, ["history", "production", "--service", "api"])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if "api=" in line]
    assert [r.split("api=")[1][:12] for r in rows] == [B[:12], A[:12], "0a1b2c3d4e5f"]
    assert "ecs-gitops" in rows[0]  # write-backs are shown as ecs-gitops's


def test_rollback_to_the_previous_tag_is_one_commit(repo: Path) -> None:
    before = git(repo, "rev-parse", "HEAD")
    result = runner.invoke(app, ["rollback", "production", "api"])
    assert result.exit_code == 0, result.output
    assert load_environment(repo / "desired_state/production.yaml").service("api").image.tag == A
    assert git(repo, "rev-parse", "HEAD~1") == before
    assert git(repo, "log", "-1", "--format=%s") == f"rollback api to {A[:12]} in production"
    assert git(repo, "diff", "--name-only", "HEAD~1") == "desired_state/production.yaml"
    assert "[ecs-gitops write-back]" not in git(repo, "log", "-1", "--format=%B")


def test_rollback_to_a_named_tag_and_push(repo: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    result = runner.invoke(app, ["rollback", "production", "api", "--to", C, "--push", "origin"])
    assert result.exit_code == 0, result.output
    assert git(remote, "rev-parse", "main") == git(repo, "rev-parse", "HEAD")


@pytest.mark.parametrize(("args", "message"), [
    (["rollback", "production", "nope"], "no service 'nope'"),
    (["rollback", "production", "api", "--to", "latest"], "the tag 'latest' is not allowed"),
    (["rollback", "staging", "api"], "no desired-state file for 'staging'"),
])
def test_rollback_refuses_bad_input_and_changes_nothing(repo: Path, args: list[str],
                                                        message: str) -> None:
    head = git(repo, "rev-parse", "HEAD")
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain") == ""


def test_rollback_refuses_uncommitted_changes(repo: Path) -> None:
    path = repo / "desired_state/production.yaml"
    path.write_text(path.read_text() + "\n# editing\n")
    result = runner.invoke(app, ["rollback", "production", "api"])
    assert result.exit_code == 1
    assert "uncommitted changes" in result.output
