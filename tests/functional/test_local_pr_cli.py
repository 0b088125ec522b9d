"""`ecs-gitops local pr create | update | merge | show` against a remote as `local up`
leaves it (its state file names the remote): each hands CodeCommit's event to the running
cloud through the remote's spool, and every failure is one line, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecs_gitops_tools.cli.main import app
from ecs_gitops_tools.local.gitremote import GitRemote

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture
def cloud_dir(tmp_path: Path) -> Path:
    """A folder like .local-cloud of a running `local up` (this process stands for it)."""
    remote = GitRemote.create(tmp_path / "remote.git", source=ROOT,
                              branches={"main": "", "development": "main"})
    work = remote.clone(tmp_path / "work")
    git = ["git", "-C", str(work), "-c", "user.name=dev", "-c", "user.email=dev@example.com"]
    subprocess.run([*git, "checkout", "-qb", "max-8"], check=True)
    path = work / "desired_state/production.yaml"
    path.write_text(path.read_text().replace("max: 5", "max: 8", 1))
    subprocess.run([*git, "commit", "-qam", "max 8"], check=True)
    subprocess.run([*git, "push", "-q", "origin", "max-8"], check=True)
    remote.take_changes()  # the branch's push: not what these tests look at
    (tmp_path / "state.json").write_text(json.dumps(
        {"pid": os.getpid(), "remote": str(remote.path), "endpoint": "http://127.0.0.1:9"}))
    return tmp_path


def events(directory: Path) -> list[dict[str, object]]:
    return GitRemote(directory / "remote.git").take_events()


def test_create_update_show_merge(cloud_dir: Path) -> None:
    created = runner.invoke(app, ["local", "pr", "create", "--from", "max-8", "--into", "main",
                                  "--dir", str(cloud_dir)])
    assert created.exit_code == 0, created.output
    assert created.output.startswith("pull request 1: max-8 (")
    (opened,) = events(cloud_dir)
    assert opened["detail-type"] == "CodeCommit Pull Request State Change"
    detail = opened["detail"]
    assert isinstance(detail, dict)
    assert (detail["event"], detail["pullRequestId"], detail["destinationReference"],
            detail["repositoryNames"]) == ("pullRequestCreated", "1", "refs/heads/main",
                                           ["ecs-gitops"])

    updated = runner.invoke(app, ["local", "pr", "update", "1", "--dir", str(cloud_dir)])
    assert updated.exit_code == 0, updated.output
    (again,) = events(cloud_dir)
    assert isinstance(again["detail"], dict)
    assert again["detail"]["event"] == "pullRequestSourceBranchUpdated"

    shown = runner.invoke(app, ["local", "pr", "show", "1", "--dir", str(cloud_dir)])
    assert (shown.exit_code, shown.output) == (0, "pull request 1: no comment yet\n")

    merged = runner.invoke(app, ["local", "pr", "merge", "1", "--dir", str(cloud_dir)])
    assert merged.exit_code == 0, merged.output
    (closed,) = events(cloud_dir)
    assert isinstance(closed["detail"], dict)
    assert (closed["detail"]["event"], closed["detail"]["isMerged"]) == (
        "pullRequestMergeStatusUpdated", "True")
    remote = GitRemote(cloud_dir / "remote.git")
    assert remote.tip("main") == remote.tip("max-8")
    # main's move is a push like any other (the hook recorded it)
    assert [c.ref for c in remote.take_changes()] == ["refs/heads/main"]


@pytest.mark.parametrize("command", [
    ["create", "--from", "nope", "--into", "main"],
    ["update", "7"], ["merge", "7"], ["show", "7"], ["show", "../x"],
])
def test_failures_are_one_line(cloud_dir: Path, command: list[str]) -> None:
    result = runner.invoke(app, ["local", "pr", *command, "--dir", str(cloud_dir)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert events(cloud_dir) == []


def test_without_a_running_cloud_it_says_how_to_start_one(tmp_path: Path) -> None:
    result = runner.invoke(app, ["local", "pr", "show", "1", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "ecs-gitops local up" in result.output


def test_a_closed_pull_request_is_not_updated(cloud_dir: Path) -> None:
    """CodeCommit sends no pullRequestSourceBranchUpdated for a closed pull request:
    `update` of a merged one says so, exits 1 and hands the cloud no event."""
    for command in (["create", "--from", "max-8"], ["merge", "1"]):
        assert runner.invoke(app, ["local", "pr", *command, "--dir", str(cloud_dir)]
                             ).exit_code == 0
    events(cloud_dir)
    result = runner.invoke(app, ["local", "pr", "update", "1", "--dir", str(cloud_dir)])
    assert (result.exit_code, result.output) == (
        1, "error: pull request 1 is closed (merged): nothing to update\n")
    assert events(cloud_dir) == []


def test_a_conflicting_merge_names_the_pull_request_and_the_files(cloud_dir: Path) -> None:
    work = cloud_dir / "work"
    git = ["git", "-C", str(work), "-c", "user.name=dev", "-c", "user.email=dev@example.com"]
    subprocess.run([*git, "checkout", "-q", "main"], check=True)
    path = work / "desired_state/production.yaml"
    path.write_text(path.read_text().replace("max: 5", "max: 6", 1))
    subprocess.run([*git, "commit", "-qam", "max 6"], check=True)
    assert runner.invoke(app, ["local", "pr", "create", "--from", "max-8", "--dir",
                               str(cloud_dir)]).exit_code == 0
    subprocess.run([*git, "push", "-q", "origin", "main"], check=True)
    events(cloud_dir)
    result = runner.invoke(app, ["local", "pr", "merge", "1", "--dir", str(cloud_dir)])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error: pull request 1 cannot be merged without "
                                    "resolving conflicts in: desired_state/production.yaml;")
    assert events(cloud_dir) == []


def test_a_missing_source_branch_says_to_push_it(cloud_dir: Path) -> None:
    result = runner.invoke(app, ["local", "pr", "create", "--from", "feature/nope", "--dir",
                                 str(cloud_dir)])
    assert result.exit_code == 1
    assert "(push it first: git push local feature/nope)" in result.output


def test_a_pull_request_on_an_application_repository(cloud_dir: Path) -> None:
    """`--repository api`: the pull request lives in the api repository the cloud hosts,
    and its events name that repository (the preview of an application repository)."""
    api = cloud_dir / "api.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(cloud_dir / "remote.git"), str(api)],
                   check=True)
    state = json.loads((cloud_dir / "state.json").read_text())
    (cloud_dir / "state.json").write_text(json.dumps({**state, "app_remotes": {"api": str(api)}}))
    created = runner.invoke(app, ["local", "pr", "create", "--from", "max-8", "--repository",
                                  "api", "--dir", str(cloud_dir)])
    assert created.exit_code == 0, created.output
    assert events(cloud_dir) == []  # not the configuration repository's
    (opened,) = GitRemote(api).take_events()
    assert isinstance(opened["detail"], dict)
    assert opened["detail"]["repositoryNames"] == ["api"]
    assert opened["resources"] == ["arn:aws:codecommit:us-east-1:123456789012:api"]
    shown = runner.invoke(app, ["local", "pr", "show", "1", "-r", "api", "--dir",
                                str(cloud_dir)])
    assert (shown.exit_code, shown.output) == (0, "pull request 1: no comment yet\n")
    # the configuration repository has no pull request 1
    assert runner.invoke(app, ["local", "pr", "show", "1", "--dir", str(cloud_dir)]
                         ).exit_code == 1


def test_an_unknown_repository_is_named_with_those_hosted(cloud_dir: Path) -> None:
    result = runner.invoke(app, ["local", "pr", "create", "--from", "max-8", "--repository",
                                 "web", "--dir", str(cloud_dir)])
    assert (result.exit_code, result.output) == (
        1, "error: the embedded cloud hosts no repository 'web' (hosted: ecs-gitops; "
           "'ecs-gitops local up --app-repository web=FOLDER' hosts one)\n")
    assert events(cloud_dir) == []
