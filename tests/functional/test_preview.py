"""The pull request preview on the embedded AWS: the PullRequestFunction of the template,
a real git repository with its pull requests (`LocalPullRequests`), moto's ECS. The
comment's plan is `ecs-gitops plan`'s output, byte for byte (both are run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from comments import fenced
from typer.testing import CliRunner
from world import World, load_event

from ecs_gitops.source.localgit import LocalPullRequests
from ecs_gitops_tools.cli.main import app

PRODUCTION = "desired_state/production.yaml"
MARKER = "<!-- ecs-gitops plan preview -->"


def pr_event(number: str, event: str = "pullRequestCreated", **changes: Any) -> dict[str, Any]:
    raw = load_event("codecommit-pull-request-created.json")
    raw["detail"].update(event=event, pullRequestId=number)
    raw.update(changes)
    return raw


def cli_plan(world: World, tmp_path: Path, branch: str, moto_url: str) -> str:
    """`ecs-gitops plan FILE` of the file at the tip of `branch` (the fast-forward merge),
    as its stdout."""
    target = tmp_path / f"plan-{branch}" / "production.yaml"
    target.parent.mkdir(exist_ok=True)
    target.write_text(world.read(branch, PRODUCTION))
    result = CliRunner().invoke(app, ["plan", str(target), "--endpoint-url", moto_url])
    assert result.exit_code in (0, 2), result.output
    return str(result.stdout)


@pytest.fixture
def pulls(world: World) -> LocalPullRequests:
    # what runs: production applied from main
    applied = world.invoke("ReconcileFunction", load_event("reconcile-requested-production.json"))
    assert applied["kind"] == "applied", applied
    world.git("branch", "api-max-8", "main")
    return LocalPullRequests(world.repo)


def edit(world: World, branch: str, old: str, new: str) -> str:
    text = world.read(branch, PRODUCTION)
    assert old in text, old
    return world.commit(branch, {PRODUCTION: text.replace(old, new, 1)}, f"{old} -> {new}")


def test_the_comment_is_the_plan_and_is_updated_in_place(
        world: World, pulls: LocalPullRequests, tmp_path: Path, moto_url: str) -> None:
    edit(world, "api-max-8", "max: 5", "max: 8")
    number = pulls.create(source_branch="api-max-8", destination_branch="main")
    result = world.invoke("PullRequestFunction", pr_event(number))
    assert result["kind"] == "preview posted", result
    (posted,) = pulls.comments(number)
    assert posted.content.startswith(MARKER)
    plan = cli_plan(world, tmp_path, "api-max-8", moto_url)
    assert "max 5 -> 8" in plan or "5 -> 8" in plan, plan
    assert fenced(posted.content) + "\n" == plan  # byte for byte

    edit(world, "api-max-8", "max: 8", "max: 6")
    result = world.invoke("PullRequestFunction",
                          pr_event(number, event="pullRequestSourceBranchUpdated"))
    assert result["kind"] == "preview updated", result
    (updated,) = pulls.comments(number)
    assert updated.id == posted.id
    assert fenced(updated.content) + "\n" == cli_plan(world, tmp_path, "api-max-8", moto_url)
    assert "5 -> 6" in updated.content
    # the same event again: nothing posted, nothing changed
    again = world.invoke("PullRequestFunction",
                         pr_event(number, event="pullRequestSourceBranchUpdated"))
    assert again["ignored"] is True, again
    assert pulls.comments(number) == [updated]


def test_an_invalid_file_gets_its_problems_as_the_comment(
        world: World, pulls: LocalPullRequests, tmp_path: Path) -> None:
    edit(world, "api-max-8", "max: 5", "max: many")
    number = pulls.create(source_branch="api-max-8", destination_branch="main")
    world.invoke("PullRequestFunction", pr_event(number))
    (posted,) = pulls.comments(number)
    problems = fenced(posted.content).splitlines()
    bad = tmp_path / "desired_state" / "production.yaml"
    bad.parent.mkdir()
    bad.write_text(world.read("api-max-8", PRODUCTION))
    validated = CliRunner().invoke(app, ["validate", str(bad)])
    assert validated.exit_code == 1
    assert problems
    for problem in problems:
        assert problem.startswith(f"{PRODUCTION}:"), problem
        assert problem.replace(PRODUCTION, str(bad), 1) in validated.output.replace("\n", "")


def test_events_of_other_repositories_and_accounts_are_ignored(
        world: World, pulls: LocalPullRequests) -> None:
    edit(world, "api-max-8", "max: 5", "max: 8")
    number = pulls.create(source_branch="api-max-8", destination_branch="main")
    other_repo = pr_event(number, resources=["arn:aws:codecommit:us-east-1:123456789012:x"])
    other_repo["detail"]["repositoryNames"] = ["x"]
    for event in (other_repo, pr_event(number, account="999999999999")):
        result = world.invoke("PullRequestFunction", event)
        assert result["ignored"] is True, result
    assert pulls.comments(number) == []


def test_merging_the_pull_request_deploys_it(world: World, pulls: LocalPullRequests) -> None:
    before = world.tip("main")
    edit(world, "api-max-8", "max: 5", "max: 8")
    number = pulls.create(source_branch="api-max-8", destination_branch="main")
    world.invoke("PullRequestFunction", pr_event(number))
    merged = pulls.merge(number)
    assert world.tip("main") == merged
    assert pulls.get(number).status == "CLOSED"
    pushed = world.invoke("PushFunction", world.push_event(
        "codecommit-push-main.json", branch="main", before=before, after=merged))
    assert pushed["reconcile_requested"] is True, pushed
    applied = world.invoke("ReconcileFunction", load_event("reconcile-requested-production.json"))
    assert applied["kind"] == "applied", applied
    assert world.plan("production").empty


LISTENER = ("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/"
            "50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee")
ROLE = "arn:aws:iam::123456789012:role/ecs-gitops-infrastructure"


def to_canary(text: str) -> str:
    """The file with simpleweb's rolling deployment changed to a canary with a manual
    approval (issue 14's keys), its green target group and the role ECS needs."""
    data: dict[str, Any] = yaml.safe_load(text)
    data["roles"]["infrastructure"] = ROLE
    web = next(s for s in data["services"] if s["name"] == "simpleweb")
    web["deployment"] = {"strategy": "canary", "canary": {"percent": 10, "bakeMinutes": 5},
                         "approval": {"timeoutMinutes": 30}}
    web["loadBalancer"].update({"alternateTargetGroup": "simpleweb-production-green",
                                "productionListenerRule": LISTENER})
    return yaml.safe_dump(data, sort_keys=False)


def test_a_strategy_change_is_previewed_as_plan_prints_it(
        world: World, pulls: LocalPullRequests, tmp_path: Path, moto_url: str) -> None:
    # rolling -> canary with an approval (issue 14): the comment's plan is still
    # `ecs-gitops plan`'s output, byte for byte
    elbv2 = world.clients.client("elbv2")
    blue = elbv2.describe_target_groups(Names=["simpleweb-production"])["TargetGroups"][0]
    elbv2.create_target_group(Name="simpleweb-production-green", Protocol="HTTP", Port=80,
                              VpcId=blue["VpcId"], TargetType="instance")
    world.commit("api-max-8", {PRODUCTION: to_canary(world.read("api-max-8", PRODUCTION))},
                 "simpleweb: rolling -> canary")
    number = pulls.create(source_branch="api-max-8", destination_branch="main")
    result = world.invoke("PullRequestFunction", pr_event(number))
    assert result["kind"] == "preview posted", result
    (posted,) = pulls.comments(number)
    plan = cli_plan(world, tmp_path, "api-max-8", moto_url)
    assert "CANARY" in plan or "canary" in plan, plan
    assert fenced(posted.content) + "\n" == plan  # byte for byte
