"""Application repositories on fakes: the api's code in its own repository (`api`), the
desired state in the configuration repository. A push there builds the services it
feeds, the write-back lands in the configuration repository's file, ancestry is judged in
the application repository, and the sweep catches a lost push."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from fakes import FakeGit, Fakes, build_detail
from scenes import ACCOUNT, SCHEDULE, push_event, world

from ecs_gitops.controllers import build, preview, push, sweep
from ecs_gitops.controllers.outcome import Kind, Reason
from ecs_gitops.events import CodeCommitEvent, CodeCommitPullRequestEvent
from ecs_gitops.source import is_write_back


def app_push(branch: str, after: str, before: str | None = None,
             repository: str = "api") -> CodeCommitEvent:
    event = push_event(branch, after, before)
    detail = event.detail.model_copy(update={"repository_name": repository})
    return event.model_copy(update={"detail": detail})


def pinned(fakes: Fakes, environment: str, service: str = "api") -> str:
    branch = {"production": "main"}.get(environment, environment)
    text = fakes.git.read_file(fakes.git.branches[branch], f"desired_state/{environment}.yaml")
    data = yaml.safe_load(text or "")
    return str(next(s for s in data["services"] if s["name"] == service)["image"]["tag"])


@pytest.fixture
def fakes() -> Fakes:
    """The scene's repository, with api built from the application repository `api`
    (`main` feeds production, `development` development) and web still from apps/web."""
    fakes = world(repository="ecs-gitops", account=ACCOUNT, app_repositories=frozenset({"api"}))
    for branch, environment in (("main", "production"), ("development", "development")):
        path = f"desired_state/{environment}.yaml"
        data = yaml.safe_load(fakes.git.read_file(fakes.git.branches[branch], path) or "")
        data["services"][0]["build"] = {"project": f"api-{environment}", "source": ".",
                                        "repository": "api"}
        fakes.git.commit(branch, {path: yaml.safe_dump(data, sort_keys=False)}, "api moves out")
    api = FakeGit()
    api.commit("main", {"buildspec.yml": "version: 0.2\n", "app.py": "v1"}, "api v1")
    api.branches["development"] = api.branches["main"]
    fakes.app_gits["api"] = api
    return fakes


def test_a_push_to_the_api_repository_builds_the_service_it_feeds(fakes: Fakes) -> None:
    api = fakes.app_gits["api"]
    before = api.branches["development"]
    after = api.commit("development", {"app.py": "v2"})
    outcome = push.handle(app_push("development", after, before), fakes.ports())
    assert (outcome.kind, outcome.get("count")) == (Kind.BUILDS_STARTED, 1), outcome.text()
    (started,) = fakes.builds.started
    assert (started["project"], started["source_version"], started["source_repository"],
            started["buildspec"]) == ("api-development", after, "api", "buildspec.yml")
    # the same push again: nothing more
    again = push.handle(app_push("development", after, before), fakes.ports())
    assert again.reason is Reason.ALREADY_PROCESSED
    assert len(fakes.builds.started) == 1


def test_the_configuration_repository_no_longer_builds_the_api(fakes: Fakes) -> None:
    before = fakes.git.branches["development"]
    after = fakes.git.commit("development", {"apps/api/main.py": "v2", "apps/web/main.py": "v2"})
    outcome = push.handle(push_event("development", after, before), fakes.ports())
    assert [b["project"] for b in fakes.builds.started] == ["web-development"], outcome.text()


def test_a_branch_that_feeds_no_environment_builds_nothing(fakes: Fakes) -> None:
    feature = fakes.app_gits["api"].commit("feature", {"app.py": "x"})
    outcome = push.handle(app_push("feature", feature), fakes.ports())
    assert (outcome.kind, outcome.reason) == (Kind.IGNORED, Reason.UNTRACKED_BRANCH)
    assert fakes.builds.started == []


def test_a_repository_that_is_not_the_stack_s_is_ignored(fakes: Fakes) -> None:
    after = fakes.app_gits["api"].commit("development", {"app.py": "v2"})
    outcome = push.handle(app_push("development", after, repository="simpleweb"),
                          fakes.ports())
    assert (outcome.kind, outcome.reason) == (Kind.IGNORED, Reason.NOT_OURS)
    assert fakes.builds.started == []


def finish(fakes: Fakes, project: str, commit: str, number: int = 1) -> Any:
    repository = {"api-development": "apidevelopment", "api-production": "api"}[project]
    fakes.registry.images.add((repository, commit))
    return build.handle_build(build_detail(project, f"{project}:{number}", status="SUCCEEDED",
                                           commit=commit), fakes.ports())


def test_the_build_is_written_back_to_the_configuration_repository(fakes: Fakes) -> None:
    api = fakes.app_gits["api"]
    after = api.commit("development", {"app.py": "v2"})
    outcome = finish(fakes, "api-development", after)
    assert outcome.kind is Kind.WROTE_BACK, outcome.text()
    assert pinned(fakes, "development") == after
    tip = fakes.git.branches["development"]
    assert is_write_back(fakes.git.commit_info(tip).message)
    assert fakes.git.changed_paths(fakes.git.commit_info(tip).parents[0], tip) == [
        "desired_state/development.yaml"]
    # no loop: the write-back's push builds nothing, it asks for a reconcile
    parent = fakes.git.commit_info(tip).parents[0]
    looped = push.handle(push_event("development", tip, parent), fakes.ports())
    assert looped.reason is Reason.WRITE_BACK_COMMIT
    assert fakes.builds.started == []


def test_never_backwards_and_only_from_the_feeding_branch(fakes: Fakes) -> None:
    api = fakes.app_gits["api"]
    older = api.commit("development", {"app.py": "v2"})
    newer = api.commit("development", {"app.py": "v3"})
    assert finish(fakes, "api-development", newer, 1).kind is Kind.WROTE_BACK
    late = finish(fakes, "api-development", older, 2)
    assert (late.kind, late.reason) == (Kind.NOT_WRITTEN, Reason.NOT_NEWER), late.text()
    assert pinned(fakes, "development") == newer
    # a commit of the api's development is not on main, which feeds production
    elsewhere = finish(fakes, "api-production", newer, 3)
    assert (elsewhere.kind, elsewhere.reason) == (Kind.NOT_WRITTEN, Reason.NOT_ON_BRANCH)


def test_a_person_s_pin_is_kept_unless_the_build_descends_from_it(fakes: Fakes) -> None:
    api = fakes.app_gits["api"]
    hotfix = api.commit("hotfix", {"app.py": "hot"})  # a person pins it by hand
    text = fakes.git.read_file(fakes.git.branches["development"],
                               "desired_state/development.yaml") or ""
    fakes.git.commit("development", {"desired_state/development.yaml":
                                     text.replace("0" * 40, hotfix, 1)}, "pin the hotfix")
    parallel = api.commit("development", {"app.py": "v2"})
    outcome = finish(fakes, "api-development", parallel)
    assert (outcome.kind, outcome.reason) == (Kind.NOT_WRITTEN, Reason.PINNED_BY_PERSON)
    api.branches["development"] = api.make({"buildspec.yml": "version: 0.2\n", "app.py": "v3"},
                                           "merge hotfix", (parallel, hotfix))
    merged = finish(fakes, "api-development", api.branches["development"], 2)
    assert merged.kind is Kind.WROTE_BACK, merged.text()


def test_the_sweep_builds_a_lost_push(fakes: Fakes) -> None:
    api = fakes.app_gits["api"]
    first = sweep.handle(SCHEDULE, fakes.ports())
    assert any(p.reason is Reason.FIRST_SWEEP and p.get("branch") == "api:development"
               for p in first.parts), first.text()
    lost = api.commit("development", {"app.py": "v2"})
    outcome = sweep.handle(SCHEDULE, fakes.ports())
    assert [b["source_version"] for b in fakes.builds.started] == [lost], outcome.text()
    sweep.handle(SCHEDULE, fakes.ports())
    assert len(fakes.builds.started) == 1


def feed_production_from(fakes: Fakes, branch: str) -> FakeGit:
    """Production's api built from the api repository's `branch` (`build.branch`), not
    from the branch named as the configuration repository's (`main`)."""
    path = "desired_state/production.yaml"
    data = yaml.safe_load(fakes.git.read_file(fakes.git.branches["main"], path) or "")
    data["services"][0]["build"]["branch"] = branch
    fakes.git.commit("main", {path: yaml.safe_dump(data, sort_keys=False)},
                     f"production: api from its {branch}")
    api = fakes.app_gits["api"]
    api.branches[branch] = api.branches["main"]
    return api


def test_a_build_is_judged_on_the_branch_that_feeds_its_environment(fakes: Fakes) -> None:
    api = feed_production_from(fakes, "release")
    on_main = api.commit("main", {"app.py": "main only"})
    released = api.commit("release", {"app.py": "released"})
    stray = finish(fakes, "api-production", on_main, 1)
    assert (stray.kind, stray.reason) == (Kind.NOT_WRITTEN, Reason.NOT_ON_BRANCH), stray.text()
    assert stray.get("branch") == "api:release"
    written = finish(fakes, "api-production", released, 2)
    assert written.kind is Kind.WROTE_BACK, written.text()
    assert pinned(fakes, "production") == released


def test_the_sweep_follows_every_feeding_branch(fakes: Fakes) -> None:
    """development feeds development, release (by `build.branch`) production: one sweep
    builds a lost push of each."""
    api = feed_production_from(fakes, "release")
    first = sweep.handle(SCHEDULE, fakes.ports())
    assert {p.get("branch") for p in first.parts if p.reason is Reason.FIRST_SWEEP} >= {
        "api:development", "api:release"}, first.text()
    developed = api.commit("development", {"app.py": "v2"})
    released = api.commit("release", {"app.py": "r2"})
    outcome = sweep.handle(SCHEDULE, fakes.ports())
    assert sorted((b["project"], b["source_version"]) for b in fakes.builds.started) == [
        ("api-development", developed), ("api-production", released)], outcome.text()


def pr_event(number: str, repository: str = "api",
             event: str = "pullRequestCreated") -> CodeCommitPullRequestEvent:
    return CodeCommitPullRequestEvent.model_validate({
        "version": "0", "id": "p1", "detail-type": "CodeCommit Pull Request State Change",
        "source": "aws.codecommit", "account": ACCOUNT, "time": "2026-11-30T00:00:00Z",
        "region": "us-east-1", "resources": [], "detail": {
            "event": event, "pullRequestId": number, "repositoryNames": [repository]}})


def open_api_pull_request(fakes: Fakes, into: str, *, base: str | None = None) -> str:
    """A pull request on the api repository from `feature` (cut from `base`, default
    `into`, with app.py changed) into `into`; its id."""
    api = fakes.app_gits["api"]
    api.branches["feature"] = api.branches[base or into]
    api.commit("feature", {"app.py": "v2"})
    pulls = fakes.ports().app_pull_requests
    assert pulls is not None
    return str(pulls("api").create("feature", into))  # type: ignore[attr-defined]


def test_an_api_pull_request_says_which_builds_and_environments_its_merge_reaches(
        fakes: Fakes) -> None:
    api = fakes.app_gits["api"]
    number = open_api_pull_request(fakes, "development")
    outcome = preview.handle(pr_event(number), fakes.ports())
    assert outcome.kind is Kind.PREVIEW_POSTED, outcome.text()
    (posted,) = fakes.app_pulls["api"].posted
    assert ("- api: build api-development, then written back to "
            "`desired_state/development.yaml` and deployed to development") in posted["content"]
    assert "production" not in posted["content"]
    api.commit("feature", {"README.md": "docs only"})
    again = preview.handle(pr_event(number, event="pullRequestSourceBranchUpdated"),
                           fakes.ports())
    assert again.kind is Kind.PREVIEW_UPDATED, again.text()
    (posted,) = fakes.app_pulls["api"].posted
    assert "- api: build api-development" in posted["content"]  # app.py still changed
    assert fakes.builds.started == []  # a preview starts nothing


def test_an_api_pull_request_into_a_branch_that_feeds_nothing_is_ignored(
        fakes: Fakes) -> None:
    api = fakes.app_gits["api"]
    api.branches["release"] = api.branches["main"]
    number = open_api_pull_request(fakes, "release", base="main")
    outcome = preview.handle(pr_event(number), fakes.ports())
    assert outcome.reason is Reason.UNTRACKED_BRANCH, outcome.text()


def test_a_merge_that_builds_hundreds_of_services_still_fits_in_one_comment(
        fakes: Fakes) -> None:
    """An application repository that feeds hundreds of services (a monorepo): the list
    keeps whole lines within CodeCommit's 10,240 characters and says how many more."""
    path = "desired_state/development.yaml"
    data = yaml.safe_load(fakes.git.read_file(fakes.git.branches["development"], path) or "")
    (api,) = [s for s in data["services"] if s["name"] == "api"]
    data["services"] += [{**api, "name": f"api-{i:03d}", "serviceName": f"api-{i:03d}-dev",
                          "build": {**api["build"], "project": f"api-{i:03d}-development"}}
                         for i in range(300)]
    fakes.git.commit("development", {path: yaml.safe_dump(data, sort_keys=False)}, "300 apis")
    number = open_api_pull_request(fakes, "development")
    outcome = preview.handle(pr_event(number), fakes.ports())
    assert outcome.kind is Kind.PREVIEW_POSTED, outcome.text()
    assert outcome.get("summary") == "301 build(s)"
    (posted,) = fakes.app_pulls["api"].posted
    content = posted["content"]
    assert len(content) <= preview.CONTENT_LIMIT
    listed = [line for line in content.splitlines() if line.startswith("- api")]
    assert all(line.endswith("and deployed to development") for line in listed)
    assert content.endswith(f"\n- ... and {301 - len(listed)} more build(s)\n")
