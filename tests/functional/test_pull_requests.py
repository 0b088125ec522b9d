"""The pull requests port: on CodeCommit's API with botocore's Stubber (moto implements no
pull request call), against response shapes from the CodeCommit API reference; and on a
real local git repository (the embedded cloud's), merging as git does."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from ecs_gitops.aws.clients import Clients
from ecs_gitops.aws.codecommit import CodeCommitPullRequests
from ecs_gitops.errors import AwsError, ConflictError, MergeConflictError, SourceError
from ecs_gitops.source.localgit import LocalGitSource, LocalPullRequests

REPO = "ecs-gitops"
A, B, C = "a" * 40, "b" * 40, "c" * 40
GIT_ENV = {"GIT_AUTHOR_NAME": "dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
           "GIT_COMMITTER_NAME": "dev", "GIT_COMMITTER_EMAIL": "dev@example.com",
           "PATH": "/usr/bin:/bin"}


# ------------------------------------------------------------------- CodeCommit
# What CodeCommit refuses that botocore's model cannot say (the Stubber validates only
# the model's shapes): its errors, checked before the stub answers.
COMMENT_LIMIT = 10_240  # CommentContentSizeLimitExceededException: "limited to 10,240 characters"


def _codecommit_rules(params: dict[str, Any], model: Any, **_: Any) -> None:
    def refuse(code: str) -> None:
        raise ClientError({"Error": {"Code": code, "Message": code}}, model.name)

    if model.name == "GetCommentsForPullRequest" and "repositoryName" in params \
            and not (params.get("beforeCommitId") and params.get("afterCommitId")):
        # API Reference, GetCommentsForPullRequest: beforeCommitId and afterCommitId
        # "must be specified when repositoryName is included"; the service answers
        # CommitIdRequiredException (aws/aws-sdk#436).
        refuse("CommitIdRequiredException")
    if model.name == "PostCommentForPullRequest" \
            and params.get("beforeCommitId") == params.get("afterCommitId"):
        refuse("BeforeCommitIdAndAfterCommitIdAreSameException")
    if model.name in ("PostCommentForPullRequest", "UpdateComment"):
        if not params.get("content"):
            refuse("CommentContentRequiredException")
        if len(params["content"]) > COMMENT_LIMIT:
            refuse("CommentContentSizeLimitExceededException")


@pytest.fixture
def codecommit() -> Iterator[tuple[CodeCommitPullRequests, Stubber]]:
    pulls = CodeCommitPullRequests(Clients(region="us-east-1"), REPO)
    pulls.cc.meta.events.register_first("before-parameter-build.*.*",
                                        _codecommit_rules)  # before the Stubber's checks
    with Stubber(pulls.cc) as stub:
        yield pulls, stub
        stub.assert_no_pending_responses()


def test_get_reads_the_first_target(codecommit: Any) -> None:
    pulls, stub = codecommit
    stub.add_response("get_pull_request", {"pullRequest": {
        "pullRequestId": "7", "pullRequestStatus": "OPEN", "pullRequestTargets": [{
            "repositoryName": REPO, "sourceReference": "refs/heads/api-max-8",
            "destinationReference": "refs/heads/main", "sourceCommit": A,
            "destinationCommit": B, "mergeBase": B,
            "mergeMetadata": {"isMerged": False}}]}}, {"pullRequestId": "7"})
    pr = pulls.get("7")
    assert (pr.id, pr.status, pr.source_branch, pr.destination_branch, pr.source_commit,
            pr.destination_commit, pr.merged) == ("7", "OPEN", "api-max-8", "main", A, B, False)


def test_a_missing_pull_request_is_a_source_error(codecommit: Any) -> None:
    pulls, stub = codecommit
    stub.add_client_error("get_pull_request", "PullRequestDoesNotExistException", "none")
    with pytest.raises(SourceError, match="no pull request 9"):
        pulls.get("9")


def test_merge_fast_forward_is_the_source_commit(codecommit: Any) -> None:
    pulls, stub = codecommit
    stub.add_response("get_merge_commit", {"sourceCommitId": A, "destinationCommitId": B,
                                           "baseCommitId": B},
                      {"repositoryName": REPO, "sourceCommitSpecifier": A,
                       "destinationCommitSpecifier": B})
    assert pulls.merge_commit(A, B) == A


def test_merge_three_way_is_an_unreferenced_merge_commit(codecommit: Any) -> None:
    pulls, stub = codecommit
    stub.add_response("get_merge_commit", {"baseCommitId": C}, {
        "repositoryName": REPO, "sourceCommitSpecifier": A, "destinationCommitSpecifier": B})
    stub.add_response("create_unreferenced_merge_commit", {"commitId": "d" * 40,
                                                           "treeId": "e" * 40}, {
        "repositoryName": REPO, "sourceCommitSpecifier": A, "destinationCommitSpecifier": B,
        "mergeOption": "THREE_WAY_MERGE", "authorName": "ecs-gitops",
        "email": "ecs-gitops@users.noreply.local",
        "commitMessage": f"ecs-gitops preview: merge {A[:12]} into {B[:12]}"})
    assert pulls.merge_commit(A, B) == "d" * 40


def test_merge_that_needs_a_person_is_a_conflict(codecommit: Any) -> None:
    pulls, stub = codecommit
    stub.add_response("get_merge_commit", {"baseCommitId": C})
    stub.add_client_error("create_unreferenced_merge_commit", "ManualMergeRequiredException",
                          "conflicts")
    with pytest.raises(MergeConflictError):
        pulls.merge_commit(A, B)


def test_comments_every_page_without_deleted_ones(codecommit: Any) -> None:
    pulls, stub = codecommit
    stub.add_response("get_comments_for_pull_request", {"commentsForPullRequestData": [{
        "comments": [{"commentId": "c1", "content": "one"},
                     {"commentId": "c2", "content": "", "deleted": True}]}],
        "nextToken": "t"}, {"pullRequestId": "7"})
    stub.add_response("get_comments_for_pull_request", {"commentsForPullRequestData": [{
        "comments": [{"commentId": "c3", "content": "three"}]}]},
        {"pullRequestId": "7", "nextToken": "t"})
    assert [(c.id, c.content) for c in pulls.comments("7")] == [("c1", "one"), ("c3", "three")]


def test_post_comment_with_its_token_and_a_mismatch_is_a_conflict(codecommit: Any) -> None:
    pulls, stub = codecommit
    asked = {"pullRequestId": "7", "repositoryName": REPO, "beforeCommitId": B,
             "afterCommitId": A, "content": "plan", "clientRequestToken": "tok"}
    stub.add_response("post_comment_for_pull_request", {"comment": {"commentId": "c9"}}, asked)
    assert pulls.post_comment("7", before=B, after=A, content="plan", token="tok") == "c9"
    stub.add_client_error("post_comment_for_pull_request",
                          "IdempotencyParameterMismatchException", "other parameters")
    with pytest.raises(ConflictError):
        pulls.post_comment("7", before=B, after=A, content="other", token="tok")


def test_update_comment(codecommit: Any) -> None:
    pulls, stub = codecommit
    stub.add_response("update_comment", {"comment": {"commentId": "c9"}},
                      {"commentId": "c9", "content": "new"})
    pulls.update_comment("c9", "new")
    stub.add_client_error("update_comment", "CommentDeletedException", "deleted")
    with pytest.raises(SourceError, match="deleted"):
        pulls.update_comment("c9", "newer")
    # Only its author may change a comment (the stack's role replaced since it posted)
    stub.add_client_error("update_comment", "CommentNotCreatedByCallerException",
                          "Only comment authors can modify or delete their comments.")
    with pytest.raises(SourceError, match="not posted by this role"):
        pulls.update_comment("c9", "newest")


# -------------------------------------------------------------------- local git
def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, text=True,
                          capture_output=True, env=GIT_ENV).stdout.strip()


def commit(repo: Path, branch: str, files: dict[str, str]) -> str:
    git(repo, "checkout", "-q", branch)
    for path, text in files.items():
        (repo / path).write_text(text)
    git(repo, "commit", "-qam", f"change {sorted(files)}")
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "a.txt").write_text("1\n2\n3\n4\n5\n")
    (repo / "b.txt").write_text("b\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "initial")
    git(repo, "branch", "feature")
    return repo


def test_local_merge_is_git_s_three_way_merge_on_no_branch(repo: Path) -> None:
    pulls = LocalPullRequests(repo)
    source = commit(repo, "feature", {"a.txt": "1\n2\n3\n4\nfive\n"})
    assert pulls.merge_commit(source, git(repo, "rev-parse", "main")) == source  # fast-forward
    destination = commit(repo, "main", {"a.txt": "one\n2\n3\n4\n5\n"})
    merged = pulls.merge_commit(source, destination)
    assert LocalGitSource(repo).read_file(merged, "a.txt") == "one\n2\n3\n4\nfive\n"
    assert git(repo, "rev-parse", "main") == destination  # no branch moved
    assert git(repo, "status", "--porcelain") == ""  # nothing in the work tree either


def test_local_merge_conflict_names_the_files(repo: Path) -> None:
    pulls = LocalPullRequests(repo)
    source = commit(repo, "feature", {"a.txt": "1\n2\nthree\n4\n5\n"})
    destination = commit(repo, "main", {"a.txt": "1\n2\nTHREE\n4\n5\n"})
    with pytest.raises(MergeConflictError) as raised:
        pulls.merge_commit(source, destination)
    assert raised.value.paths == ["a.txt"]


def test_local_pull_request_life(repo: Path) -> None:
    pulls = LocalPullRequests(repo)
    commit(repo, "feature", {"b.txt": "b2\n"})
    number = pulls.create(source_branch="feature", destination_branch="main")
    tip = commit(repo, "feature", {"b.txt": "b3\n"})
    assert pulls.get(number).source_commit == tip  # an open pull request follows its branch
    first = pulls.post_comment(number, before="x", after=tip, content="one", token="t")
    assert pulls.post_comment(number, before="x", after=tip, content="one", token="t") == first
    with pytest.raises(ConflictError):
        pulls.post_comment(number, before="x", after=tip, content="two", token="t")
    pulls.update_comment(first, "updated")
    assert [(c.id, c.content) for c in pulls.comments(number)] == [(first, "updated")]
    merged = pulls.merge(number)
    assert git(repo, "rev-parse", "main") == merged == tip
    closed = pulls.get(number)
    assert (closed.status, closed.merged) == ("CLOSED", True)
    with pytest.raises(SourceError):
        pulls.merge(number)
    assert git(repo, "status", "--porcelain") == ""


def test_local_comments_are_refused_as_codecommit_refuses_them(repo: Path) -> None:
    # PostCommentForPullRequest / UpdateComment: CommentContentSizeLimitExceededException
    # above 10,240 characters, CommentContentRequiredException when empty; nothing written.
    pulls = LocalPullRequests(repo)
    tip = commit(repo, "feature", {"b.txt": "b2\n"})
    number = pulls.create(source_branch="feature", destination_branch="main")
    before = git(repo, "rev-parse", "main")
    for content, code in (("x" * (COMMENT_LIMIT + 1), "CommentContentSizeLimitExceededException"),
                          ("", "CommentContentRequiredException")):
        with pytest.raises(AwsError) as raised:
            pulls.post_comment(number, before=before, after=tip, content=content, token="t")
        assert (raised.value.operation, raised.value.code) == ("PostCommentForPullRequest", code)
    assert pulls.comments(number) == []
    longest = "é" * COMMENT_LIMIT  # the documented unit is characters
    first = pulls.post_comment(number, before=before, after=tip, content=longest, token="t")
    for content, code in (("x" * (COMMENT_LIMIT + 1), "CommentContentSizeLimitExceededException"),
                          ("", "CommentContentRequiredException")):
        with pytest.raises(AwsError) as raised:
            pulls.update_comment(first, content)
        assert (raised.value.operation, raised.value.code) == ("UpdateComment", code)
    assert [c.content for c in pulls.comments(number)] == [longest]
