"""The pull request preview controller on fakes: one comment per pull request, the plan
in `ecs-gitops plan`'s text, updated in place, invalid files and conflicts reported, and
every write killed converges to exactly one comment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from comments import fenced
from fakes import Fakes, MustNotBeCalled
from hypothesis import given
from hypothesis import strategies as st
from scenes import ACCOUNT, _envelope, world

from ecs_gitops.controllers import preview
from ecs_gitops.controllers.outcome import Kind, Reason
from ecs_gitops.controllers.push import touches
from ecs_gitops.desired import load_environment_text
from ecs_gitops.engine import preview as engine_preview
from ecs_gitops.errors import ConflictError
from ecs_gitops.events import CodeCommitPullRequestEvent
from ecs_gitops.report import plan_text
from ecs_gitops.store import preview_comment_key

PRODUCTION = "desired_state/production.yaml"


def pr_event(pull_request: str, *, event: str = "pullRequestCreated",
             repository: str = "ecs-gitops", account: str = ACCOUNT) -> CodeCommitPullRequestEvent:
    raw = _envelope("aws.codecommit", "CodeCommit Pull Request State Change", {
        "event": event, "pullRequestId": pull_request, "repositoryNames": [repository],
        "destinationReference": "refs/heads/main", "sourceReference": "refs/heads/feature",
        "pullRequestStatus": "Open"},
        [f"arn:aws:codecommit:us-east-1:{account}:{repository}"])
    raw["account"] = account
    return CodeCommitPullRequestEvent.model_validate(raw)


def branch_with(fakes: Fakes, files: dict[str, str | None], branch: str = "feature") -> str:
    fakes.git.branches.setdefault(branch, fakes.git.branches["main"])
    return fakes.git.commit(branch, files, f"change on {branch}")


def raise_max(fakes: Fakes, value: int) -> dict[str, str | None]:
    text = fakes.git.read_file(fakes.git.branches["main"], PRODUCTION) or ""
    assert "desiredCount: 2" in text
    return {PRODUCTION: text.replace("desiredCount: 2", f"desiredCount: {value}")}


def expected_plan(fakes: Fakes, commit: str) -> str:
    desired = load_environment_text(fakes.git.read_file(commit, PRODUCTION) or "", PRODUCTION)
    return plan_text("production", engine_preview(desired, fakes.cloud, store=fakes.store))


def comments(fakes: Fakes) -> list[dict[str, Any]]:
    """The comments a person sees on the pull request (deleted ones left out)."""
    assert fakes.pull_requests is not None
    return [c for c in fakes.pull_requests.posted if not c.get("deleted")]


@pytest.fixture
def fakes() -> Fakes:
    return world(repository="ecs-gitops", account=ACCOUNT)


def test_a_pull_request_gets_one_comment_with_the_plan_of_its_merge(fakes: Fakes) -> None:
    source = branch_with(fakes, raise_max(fakes, 4))
    assert fakes.pull_requests is not None
    number = fakes.pull_requests.create("feature", "main")
    outcome = preview.handle(pr_event(number), fakes.ports())
    assert outcome.kind is Kind.PREVIEW_POSTED, outcome.text()
    (posted,) = comments(fakes)
    assert posted["content"].startswith(preview.MARKER)
    assert fenced(posted["content"]) == expected_plan(fakes, source)
    assert fakes.cloud.writes() == []  # a preview changes nothing
    assert fakes.store.get_value(preview_comment_key("ecs-gitops", number)) == posted["id"]


def test_a_second_push_updates_the_same_comment(fakes: Fakes) -> None:
    branch_with(fakes, raise_max(fakes, 4))
    assert fakes.pull_requests is not None
    number = fakes.pull_requests.create("feature", "main")
    preview.handle(pr_event(number), fakes.ports())
    first = comments(fakes)[0]["content"]
    second = branch_with(fakes, raise_max(fakes, 6))
    outcome = preview.handle(pr_event(number, event="pullRequestSourceBranchUpdated"),
                             fakes.ports())
    assert outcome.kind is Kind.PREVIEW_UPDATED, outcome.text()
    (posted,) = comments(fakes)
    assert posted["content"] != first
    assert fenced(posted["content"]) == expected_plan(fakes, second)


def test_duplicate_and_late_events_post_nothing_twice(fakes: Fakes) -> None:
    branch_with(fakes, raise_max(fakes, 4))
    assert fakes.pull_requests is not None
    number = fakes.pull_requests.create("feature", "main")
    preview.handle(pr_event(number), fakes.ports())
    calls = len(fakes.pull_requests.calls)
    again = preview.handle(pr_event(number), fakes.ports())
    assert again.reason is Reason.ALREADY_PROCESSED
    # the late "created" event after an update is judged on the pull request as it is now
    assert "post_comment" not in fakes.pull_requests.calls[calls:]
    assert "update_comment" not in fakes.pull_requests.calls[calls:]
    assert len(comments(fakes)) == 1


def test_an_invalid_file_gets_every_problem_with_file_line_and_field(fakes: Fakes) -> None:
    text = fakes.git.read_file(fakes.git.branches["main"], PRODUCTION) or ""
    bad = text.replace("cpu: 256", "cpu: lots", 1).replace("port: 80", "port: 99999")
    branch_with(fakes, {PRODUCTION: bad})
    assert fakes.pull_requests is not None
    number = fakes.pull_requests.create("feature", "main")
    preview.handle(pr_event(number), fakes.ports(cloud=MustNotBeCalled("cloud")))
    (posted,) = comments(fakes)
    problems = fenced(posted["content"]).splitlines()
    assert len(problems) == 2, problems
    lines = bad.splitlines()
    for problem in problems:
        path, line, column, rest = problem.split(":", 3)
        assert path == PRODUCTION
        assert int(line) >= 1
        assert int(column) >= 1
        field = rest.strip().split(":")[0]
        assert field.startswith("services["), problem
        assert any(k in lines[int(line) - 1] for k in ("cpu", "port")), problem


def test_the_merge_is_previewed_not_the_source_branch(fakes: Fakes) -> None:
    """main moved on after the branch forked: the preview is of a merge commit holding
    both changes (the fakes merge per file; git and CodeCommit per line)."""
    branch_with(fakes, raise_max(fakes, 4))
    fakes.git.commit("main", {"apps/web/main.py": "v2"}, "main moves")
    assert fakes.pull_requests is not None
    number = fakes.pull_requests.create("feature", "main")
    preview.handle(pr_event(number), fakes.ports())
    block = fenced(comments(fakes)[0]["content"])
    merged_tree = [c for c, (parents, _, _) in fakes.git.commits.items() if len(parents) == 2]
    assert len(merged_tree) == 1
    assert block == expected_plan(fakes, merged_tree[0])
    assert fakes.git.read_file(merged_tree[0], "apps/web/main.py") == "v2"
    assert fakes.git.branches["main"] not in merged_tree  # no branch moved


def test_a_conflict_is_reported_without_a_plan(fakes: Fakes) -> None:
    branch_with(fakes, raise_max(fakes, 4))
    fakes.git.commit("main", raise_max(fakes, 3), "main changes the same line")
    assert fakes.pull_requests is not None
    number = fakes.pull_requests.create("feature", "main")
    preview.handle(pr_event(number), fakes.ports(cloud=MustNotBeCalled("cloud")))
    content = comments(fakes)[0]["content"]
    assert "cannot be merged" in content
    assert f"`{PRODUCTION}`" in content


def test_the_builds_a_merge_starts_are_named(fakes: Fakes) -> None:
    branch_with(fakes, {"apps/api/main.py": "v2"})
    assert fakes.pull_requests is not None
    number = fakes.pull_requests.create("feature", "main")
    preview.handle(pr_event(number), fakes.ports())
    assert "Builds the merge starts: api (project api-production)." in comments(fakes)[0]["content"]


@pytest.mark.parametrize(("event", "reason"), [
    (pr_event("1", repository="another-repo"), Reason.NOT_OURS),
    (pr_event("1", account="999999999999"), Reason.NOT_OURS),
    (pr_event("1", event="pullRequestStatusChanged"), Reason.EVENT_NOT_HANDLED),
    (pr_event("7"), Reason.UNKNOWN_PULL_REQUEST),
])
def test_events_that_are_not_for_the_preview(fakes: Fakes, event: CodeCommitPullRequestEvent,
                                             reason: Reason) -> None:
    branch_with(fakes, raise_max(fakes, 4))
    assert fakes.pull_requests is not None
    fakes.pull_requests.create("feature", "main")
    outcome = preview.handle(event, fakes.ports(cloud=MustNotBeCalled("cloud")))
    assert (outcome.kind, outcome.reason) == (Kind.IGNORED, reason)
    assert comments(fakes) == []


def test_pull_requests_into_untracked_branches_and_closed_ones_are_ignored(fakes: Fakes) -> None:
    fakes.git.branches["release"] = fakes.git.branches["main"]
    branch_with(fakes, raise_max(fakes, 4))
    assert fakes.pull_requests is not None
    untracked = fakes.pull_requests.create("feature", "release")
    closed = fakes.pull_requests.create("feature", "main")
    fakes.pull_requests.requests[closed]["status"] = "CLOSED"
    ports = fakes.ports(cloud=MustNotBeCalled("cloud"))
    assert preview.handle(pr_event(untracked), ports).reason is Reason.UNTRACKED_BRANCH
    assert preview.handle(pr_event(closed), ports).reason is Reason.PULL_REQUEST_CLOSED
    assert comments(fakes) == []


def test_a_long_plan_is_clipped_to_codecommits_limit() -> None:
    text = "\n".join(f"+ line {i} " + "x" * 80 for i in range(500))
    clipped = preview._clipped(text, 9000, "production")
    assert len(clipped) <= 9000
    assert clipped.endswith("more line(s): ecs-gitops plan production")
    assert preview._clipped("short", 9000, "production") == "short"


def test_a_fence_in_the_text_cannot_close_the_block() -> None:
    block = preview._fenced("a ``` b\n````")
    assert block.startswith("`````text\n")
    assert block.endswith("\n`````\n")


# ----------------------------------------------------------------- kills and races
class Killed(BaseException):
    """The Lambda was killed (time-out, out of memory): nothing runs after."""


def killing(target: Any, method: str, *, after: bool) -> Callable[[], None]:
    """Make `target.method` kill the process before (or right after) its effect, once."""
    real = getattr(target, method)

    def dying(*args: Any, **kwargs: Any) -> Any:
        setattr(target, method, real)
        if after:
            real(*args, **kwargs)
        raise Killed(method)

    setattr(target, method, dying)
    return lambda: setattr(target, method, real)


@pytest.mark.parametrize("where", [
    ("pull_requests", "post_comment", False), ("pull_requests", "post_comment", True),
    ("store", "put_value", False), ("store", "put_value", True),
    ("pull_requests", "update_comment", False), ("pull_requests", "update_comment", True),
    ("store", "begin", True), ("store", "complete", False), ("store", "complete", True),
])
def test_a_kill_at_any_write_converges_to_exactly_one_comment(
        fakes: Fakes, where: tuple[str, str, bool]) -> None:
    holder, method, after = where
    assert fakes.pull_requests is not None
    branch_with(fakes, raise_max(fakes, 4))
    number = fakes.pull_requests.create("feature", "main")
    if method == "update_comment":  # a comment exists; the second push's update is killed
        preview.handle(pr_event(number), fakes.ports())
        branch_with(fakes, raise_max(fakes, 6))
    killing(getattr(fakes, holder), method, after=after)
    with pytest.raises(Killed):
        preview.handle(pr_event(number, event="pullRequestSourceBranchUpdated"), fakes.ports())
    # Lambda retries: at first the dead worker's claim holds, then it expires.
    fakes.store.now += 3600
    outcome = preview.handle(pr_event(number, event="pullRequestSourceBranchUpdated"),
                             fakes.ports())
    # (killed after its claim was completed, the work was all done: nothing is left)
    assert outcome.kind in (Kind.PREVIEW_POSTED, Kind.PREVIEW_UPDATED) \
        or outcome.reason is Reason.ALREADY_PROCESSED, outcome.text()
    (posted,) = comments(fakes)
    assert fenced(posted["content"]) == expected_plan(fakes, fakes.git.branches["feature"])
    assert fakes.store.get_value(preview_comment_key("ecs-gitops", number)) == posted["id"]
    # and any later delivery changes nothing
    again = preview.handle(pr_event(number), fakes.ports())
    assert again.reason is Reason.ALREADY_PROCESSED
    assert len(comments(fakes)) == 1


def test_two_concurrent_runs_leave_one_comment(fakes: Fakes) -> None:
    """Two pushes handled at once: both find no comment; the second post's token
    collides (CodeCommit refuses other content under one token), its retry updates."""
    assert fakes.pull_requests is not None
    branch_with(fakes, raise_max(fakes, 4))
    number = fakes.pull_requests.create("feature", "main")
    source = fakes.pull_requests.get(number).source_commit
    # the other run posted (and has not stored the id yet) for an older source commit
    fakes.pull_requests.post_comment(number, before="x", after=source, content="other",
                                     token=preview.token("ecs-gitops", number, "preview"))
    fakes.pull_requests.posted[0]["content"] = "not ours yet"  # marker not seen by lookup
    with pytest.raises(ConflictError):
        preview.handle(pr_event(number), fakes.ports())
    fakes.pull_requests.posted[0]["content"] = preview.MARKER + "\nolder"
    outcome = preview.handle(pr_event(number), fakes.ports())
    assert outcome.kind is Kind.PREVIEW_UPDATED
    assert len(comments(fakes)) == 1


def killed_after_posting(fakes: Fakes) -> str:
    """A pull request whose first preview run was killed right after
    PostCommentForPullRequest, before the store recorded the comment; its id."""
    assert fakes.pull_requests is not None
    branch_with(fakes, raise_max(fakes, 4))
    number = fakes.pull_requests.create("feature", "main")
    killing(fakes.pull_requests, "post_comment", after=True)
    with pytest.raises(Killed):
        preview.handle(pr_event(number), fakes.ports())
    return number


def test_a_spent_token_after_a_kill_and_a_deletion_is_replaced_by_the_next(
        fakes: Fakes) -> None:
    """Killed after posting, before recording the comment; a person deletes the comment:
    the pull request's first-post token is spent (CodeCommit refuses other content under
    it). The retry posts under the next token, once."""
    assert fakes.pull_requests is not None
    number = killed_after_posting(fakes)
    for comment in comments(fakes):  # deleted in the console
        fakes.pull_requests.delete_comment(comment["id"])
    fakes.store.now += 3600  # the dead run's claim expired
    branch_with(fakes, raise_max(fakes, 6))
    event = pr_event(number, event="pullRequestSourceBranchUpdated")
    with pytest.raises(ConflictError):  # transient: Lambda retries
        preview.handle(event, fakes.ports())
    outcome = preview.handle(event, fakes.ports())
    assert outcome.kind is Kind.PREVIEW_POSTED, outcome.text()
    (posted,) = comments(fakes)
    assert fenced(posted["content"]) == expected_plan(fakes, fakes.git.branches["feature"])
    assert fakes.store.get_value(preview_comment_key("ecs-gitops", number)) == posted["id"]


def test_a_comment_a_killed_run_posted_is_found_by_its_marker_and_updated(
        fakes: Fakes) -> None:
    """Killed after posting, before recording the comment's id; the next push's run finds
    the comment by its marker and updates it (its content differs: a post under the same
    token would be refused, a post under another would make a second comment)."""
    assert fakes.pull_requests is not None
    number = killed_after_posting(fakes)
    assert fakes.store.get_value(preview_comment_key("ecs-gitops", number)) is None
    fakes.store.now += 3600  # the dead run's claim expired
    newer = branch_with(fakes, raise_max(fakes, 6))
    outcome = preview.handle(pr_event(number, event="pullRequestSourceBranchUpdated"),
                             fakes.ports())
    assert outcome.kind is Kind.PREVIEW_UPDATED, outcome.text()
    (posted,) = comments(fakes)
    assert fenced(posted["content"]) == expected_plan(fakes, newer)
    assert fakes.store.get_value(preview_comment_key("ecs-gitops", number)) == posted["id"]


# ----------------------------------------------------------------- properties
_text = st.text(alphabet=st.sampled_from("ab `\n~"), max_size=200)


@given(_text)
def test_the_fenced_block_holds_the_text_and_nothing_closes_it_early(text: str) -> None:
    block = preview._fenced(text)
    lines = block.split("\n")
    fence = lines[0].removesuffix("text")
    assert fence.startswith("```")
    assert fence not in text  # no run of backticks in the text is as long as the fence
    assert block == f"{fence}text\n{text}\n{fence}\n"


@given(st.lists(st.text(alphabet="abc +~-", max_size=120), max_size=300),
       st.integers(min_value=200, max_value=10_000))
def test_clipping_keeps_whole_first_lines_within_the_room(lines: list[str], room: int) -> None:
    text = "\n".join(lines)
    clipped = preview._clipped(text, room, "production")
    if len(text) <= room:
        assert clipped == text
        return
    assert len(clipped) <= room
    kept = clipped.split("\n")[:-1]
    assert kept == lines[:len(kept)]
    assert clipped.split("\n")[-1] == (f"... {len(lines) - len(kept)} more line(s): "
                                       "ecs-gitops plan production")


@given(st.lists(st.from_regex(r"[a-z]{1,3}(/[a-z]{1,3}){0,2}", fullmatch=True), max_size=8),
       st.from_regex(r"[a-z]{1,3}(/[a-z]{1,3}){0,1}/?", fullmatch=True))
def test_a_build_source_is_touched_only_by_paths_under_it(changed: list[str], source: str) -> None:
    folder = source.strip("/")
    assert touches(source, changed) == any(p.startswith(folder + "/") for p in changed)
    assert touches(".", changed) == bool(changed)


def test_a_comment_a_person_deleted_is_posted_again(fakes: Fakes) -> None:
    assert fakes.pull_requests is not None
    branch_with(fakes, raise_max(fakes, 4))
    number = fakes.pull_requests.create("feature", "main")
    preview.handle(pr_event(number), fakes.ports())
    for comment in comments(fakes):  # deleted in the console
        fakes.pull_requests.delete_comment(comment["id"])
    branch_with(fakes, raise_max(fakes, 6))
    outcome = preview.handle(pr_event(number, event="pullRequestSourceBranchUpdated"),
                             fakes.ports())
    assert outcome.kind is Kind.PREVIEW_POSTED, outcome.text()
    (posted,) = comments(fakes)
    assert fakes.store.get_value(preview_comment_key("ecs-gitops", number)) == posted["id"]


# ------------------------------------------------- out of order, hostile input
def test_a_slower_run_of_an_older_push_does_not_overwrite_the_newer_preview(
        fakes: Fakes) -> None:
    """Run A previews push 1; while it works, push 2 lands and run B posts its preview.
    A must not then overwrite B's comment with push 1's older plan."""
    assert fakes.pull_requests is not None
    branch_with(fakes, raise_max(fakes, 4))
    number = fakes.pull_requests.create("feature", "main")
    real = fakes.pull_requests.merge_commit
    newer: list[str] = []

    def push_and_run_b_meanwhile(source: str, destination: str) -> str:
        merged = real(source, destination)
        if not newer:  # only in run A
            newer.append(branch_with(fakes, raise_max(fakes, 6)))
            outcome_b = preview.handle(pr_event(number, event="pullRequestSourceBranchUpdated"),
                                       fakes.ports())
            assert outcome_b.kind is Kind.PREVIEW_POSTED, outcome_b.text()
        return merged

    fakes.pull_requests.merge_commit = push_and_run_b_meanwhile  # type: ignore[method-assign]
    outcome_a = preview.handle(pr_event(number), fakes.ports())
    assert outcome_a.reason is Reason.SUPERSEDED, outcome_a.text()
    (posted,) = comments(fakes)
    assert fenced(posted["content"]) == expected_plan(fakes, newer[0])
    # A's claim was let go: nothing of it is recorded as done
    again = preview.handle(pr_event(number, event="pullRequestSourceBranchUpdated"),
                           fakes.ports())
    assert again.reason is Reason.ALREADY_PROCESSED


def test_a_source_branch_pushed_back_to_an_earlier_commit_is_previewed_again(
        fakes: Fakes) -> None:
    assert fakes.pull_requests is not None
    first = branch_with(fakes, raise_max(fakes, 4))
    number = fakes.pull_requests.create("feature", "main")
    preview.handle(pr_event(number), fakes.ports())
    second = branch_with(fakes, raise_max(fakes, 6))
    preview.handle(pr_event(number, event="pullRequestSourceBranchUpdated"), fakes.ports())
    assert fenced(comments(fakes)[0]["content"]) == expected_plan(fakes, second)
    fakes.git.branches["feature"] = first  # git push --force of the earlier commit
    outcome = preview.handle(pr_event(number, event="pullRequestSourceBranchUpdated"),
                             fakes.ports())
    assert outcome.kind is Kind.PREVIEW_UPDATED, outcome.text()
    (posted,) = comments(fakes)
    assert fenced(posted["content"]) == expected_plan(fakes, first)


def test_thousands_of_problems_still_fit_in_one_comment(fakes: Fakes) -> None:
    assert fakes.pull_requests is not None
    text = fakes.git.read_file(fakes.git.branches["main"], PRODUCTION) or ""
    junk = "".join(f"\nunknownKey{i}: {i}" for i in range(3000))
    branch_with(fakes, {PRODUCTION: text + junk})
    number = fakes.pull_requests.create("feature", "main")
    outcome = preview.handle(pr_event(number), fakes.ports())
    assert outcome.kind is Kind.PREVIEW_POSTED, outcome.text()
    (posted,) = comments(fakes)
    assert len(posted["content"]) <= preview.CONTENT_LIMIT
    problems = fenced(posted["content"]).splitlines()
    assert problems[0].startswith(f"{PRODUCTION}:")
    assert problems[-1].endswith(f"more line(s): ecs-gitops validate {PRODUCTION}")


def test_a_plan_longer_than_a_comment_is_clipped_with_how_to_see_all(fakes: Fakes) -> None:
    """60 more services: a plan of about 23,000 characters. The comment keeps the plan's
    first lines and says how to see all, in a code block that still closes."""
    assert fakes.pull_requests is not None
    text = fakes.git.read_file(fakes.git.branches["main"], PRODUCTION) or ""
    workers = "".join(f"- name: worker{i:03d}\n  serviceName: worker{i:03d}\n  image:\n"
                      f"    repository: web\n    tag: '{'0' * 40}'\n  cpu: 256\n"
                      "  memory: 512\n  port: 80\n  desiredCount: 1\n" for i in range(60))
    source = branch_with(fakes, {PRODUCTION: text + workers})
    plan = expected_plan(fakes, source)
    assert len(plan) > preview.CONTENT_LIMIT
    number = fakes.pull_requests.create("feature", "main")
    outcome = preview.handle(pr_event(number), fakes.ports())
    assert outcome.kind is Kind.PREVIEW_POSTED, outcome.text()
    (posted,) = comments(fakes)
    assert len(posted["content"]) <= preview.CONTENT_LIMIT
    *kept, last = fenced(posted["content"]).splitlines()
    assert kept == plan.splitlines()[:len(kept)]
    assert len(kept) > 50
    assert last == (f"... {len(plan.splitlines()) - len(kept)} more line(s): "
                    "ecs-gitops plan production")


def test_a_conflict_in_thousands_of_files_still_fits_in_one_comment(fakes: Fakes) -> None:
    """The conflict list keeps whole lines within CodeCommit's limit (which would
    otherwise refuse the comment, and every retry, for ever), says how many more, and
    keeps its last line."""
    assert fakes.pull_requests is not None
    notes = [f"docs/notes/file-{i:04d}.txt" for i in range(1500)]
    fakes.git.commit("main", dict.fromkeys(notes, "base"), "notes")
    branch_with(fakes, dict.fromkeys(notes, "ours"))
    fakes.git.commit("main", dict.fromkeys(notes, "theirs"), "main changes every note")
    number = fakes.pull_requests.create("feature", "main")
    outcome = preview.handle(pr_event(number), fakes.ports(cloud=MustNotBeCalled("cloud")))
    assert outcome.kind is Kind.PREVIEW_POSTED, outcome.text()
    (posted,) = comments(fakes)
    content = posted["content"]
    assert len(content) <= preview.CONTENT_LIMIT
    assert content.startswith(preview.MARKER)
    assert "cannot be merged without resolving conflicts in:\n\n- `docs/notes/file-0000.txt`" \
        in content
    listed = [line for line in content.splitlines() if line.startswith("- `")]
    assert all(line.endswith(".txt`") for line in listed)  # whole lines only
    assert f"\n- ... and {1500 - len(listed)} more file(s)\n" in content
    assert content.endswith("No plan until it can.\n")


@pytest.mark.parametrize("name", ["feat`ure", "a``b`", "x\n# injected"])
def test_a_branch_name_cannot_break_out_of_its_code_span(name: str) -> None:
    span = preview._code(name)
    assert "\n" not in span
    fence = span[:len(span) - len(span.lstrip("`"))]
    inner = span[len(fence):-len(fence)]
    assert span.endswith(fence)
    assert fence not in inner
    assert inner.strip() == " ".join(name.splitlines())
