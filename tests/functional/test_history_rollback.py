"""`history` and `rollback` read and write git (the audit trail), nothing else."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

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


@pytest.fixture
def ecr(aws: Any, moto_url: str) -> list[str]:
    """The embedded ECR with images A and B of `api` (not C); the CLI's endpoint args."""
    from ecs_gitops_tools.seed import put_image

    aws.client("ecr").create_repository(repositoryName="api")
    for tag in (A, B):
        put_image(aws, "api", tag)
    return ["--endpoint-url", moto_url]


def test_rollback_to_the_previous_tag_is_one_commit(repo: Path, ecr: list[str]) -> None:
    before = git(repo, "rev-parse", "HEAD")
    result = runner.invoke(app, ["rollback", "production", "api", *ecr])
    assert result.exit_code == 0, result.output
    assert load_environment(repo / "desired_state/production.yaml").service("api").image.tag == A
    assert git(repo, "rev-parse", "HEAD~1") == before
    assert git(repo, "log", "-1", "--format=%s") == f"rollback api to {A[:12]} in production"
    assert git(repo, "diff", "--name-only", "HEAD~1") == "desired_state/production.yaml"
    assert "[ecs-gitops write-back]" not in git(repo, "log", "-1", "--format=%B")


def test_a_short_id_expands_and_push_confirms(repo: Path, tmp_path: Path,
                                              ecr: list[str]) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    result = runner.invoke(app, ["rollback", "production", "api", "--to", A[:7],
                                 "--push", "origin", *ecr])
    assert result.exit_code == 0, result.output
    assert load_environment(repo / "desired_state/production.yaml").service("api").image.tag == A
    head = git(repo, "rev-parse", "HEAD")
    assert git(remote, "rev-parse", "main") == head
    assert f"pushed {head[:10]} to origin main" in result.output


@pytest.mark.parametrize(("to", "message"), [
    ("deadbeef", "'deadbeef' is not a tag api ran in production"),
    (C, f"'{C}' is not a tag api ran in production"),
])
def test_rollback_to_a_tag_never_ran_is_refused(repo: Path, ecr: list[str], to: str,
                                                message: str) -> None:
    head = git(repo, "rev-parse", "HEAD")
    result = runner.invoke(app, ["rollback", "production", "api", "--to", to, *ecr])
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())
    assert "--force" in result.output
    assert git(repo, "rev-parse", "HEAD") == head


def test_a_tag_not_in_ecr_is_refused_unless_forced(repo: Path, ecr: list[str]) -> None:
    path = repo / "desired_state/production.yaml"
    path.write_text(set_image_tag(path.read_text(), "api", C))  # ran C, never pushed to ECR
    git(repo, "commit", "-q", "-am", "api c")
    path.write_text(set_image_tag(path.read_text(), "api", B))
    git(repo, "commit", "-q", "-am", "api b again")
    refused = runner.invoke(app, ["rollback", "production", "api", "--to", C[:8], *ecr])
    assert refused.exit_code == 1
    assert f"image api:{C[:12]} is not in ECR" in refused.output
    forced = runner.invoke(app, ["rollback", "production", "api", "--to", C[:8], "--force"])
    assert forced.exit_code == 0, forced.output
    assert load_environment(path).service("api").image.tag == C


def test_it_commits_on_the_environments_branch_whatever_is_checked_out(
        repo: Path, ecr: list[str]) -> None:
    main = git(repo, "rev-parse", "main")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "notes.txt").write_text("work in progress\n")
    result = runner.invoke(app, ["rollback", "production", "api", *ecr])
    assert result.exit_code == 0, result.output
    assert "your checkout is untouched" in result.output
    assert git(repo, "rev-parse", "main~1") == main  # one commit on main
    assert git(repo, "show", "main:desired_state/production.yaml").count(f"tag: {A}") == 1
    assert git(repo, "symbolic-ref", "HEAD") == "refs/heads/feature"
    assert git(repo, "rev-parse", "HEAD") == main  # feature did not move
    assert git(repo, "status", "--porcelain") == "?? notes.txt"
    assert "push it to deploy: git push <remote> main" in result.output


def test_it_refuses_when_the_branch_is_missing_or_checked_out_elsewhere(
        repo: Path, tmp_path: Path, ecr: list[str]) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    git(repo, "worktree", "add", "-q", str(tmp_path / "other"), "main")
    busy = runner.invoke(app, ["rollback", "production", "api", *ecr])
    assert busy.exit_code == 1
    assert f"main is checked out in {tmp_path / 'other'}" in " ".join(busy.output.split())
    git(repo, "worktree", "remove", str(tmp_path / "other"))
    git(repo, "branch", "-q", "-m", "main", "old-main")
    missing = runner.invoke(app, ["rollback", "production", "api", *ecr])
    assert missing.exit_code == 1
    assert "there is no branch 'main' here" in " ".join(missing.output.split())


@pytest.mark.parametrize(("args", "message"), [
    (["rollback", "production", "nope"], "no service 'nope'"),
    (["rollback", "production", "api", "--to", "latest", "--force"],
     "the tag 'latest' is not allowed"),
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


def test_rollback_refuses_uncommitted_changes(repo: Path, ecr: list[str]) -> None:
    path = repo / "desired_state/production.yaml"
    path.write_text(path.read_text() + "\n# editing\n")
    result = runner.invoke(app, ["rollback", "production", "api", *ecr])
    assert result.exit_code == 1
    assert "uncommitted changes" in result.output
