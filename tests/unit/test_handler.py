"""The handler's policy: malformed events are not retried, transient errors are raised
for Lambda to retry, other errors of ours are reported and not retried, bugs raise."""

from __future__ import annotations

from typing import Any

import pytest

from ecs_gitops.controllers.outcome import Kind, Outcome, Reason, each
from ecs_gitops.errors import (
    AwsError,
    ConflictError,
    DesiredStateError,
    EcsGitopsError,
    LeaseHeldError,
    Problem,
)
from ecs_gitops.events import CodeCommitEvent
from ecs_gitops.handler import run

EVENT: dict[str, Any] = {
    "version": "0", "id": "e-1", "detail-type": "CodeCommit Repository State Change",
    "source": "aws.codecommit", "account": "123456789012", "time": "2026-11-30T00:00:00Z",
    "region": "us-east-1", "resources": [],
    "detail": {"event": "referenceUpdated", "repositoryName": "r", "referenceType": "branch",
               "referenceName": "main", "commitId": "a" * 40}}


class _Context:
    def get_remaining_time_in_millis(self) -> int:
        return 30_000


CONTEXT = _Context()


def _ports() -> Any:
    from fakes import Fakes

    return Fakes().ports()


def test_a_malformed_event_is_ignored_not_retried() -> None:
    broken = {**EVENT, "detail": {"event": "referenceUpdated"}}

    def never(_e: Any, _p: Any) -> Outcome:
        raise AssertionError("Must not be called")

    result = run(broken, CONTEXT, CodeCommitEvent, never, _ports)
    assert result["ignored"] is True
    assert any("repositoryName" in p for p in result["problems"])


@pytest.mark.parametrize("error", [
    LeaseHeldError("held"), ConflictError("moved"),
    AwsError("UpdateService", "ThrottlingException", "slow", transient=True),
], ids=["lease", "conflict", "throttled"])
def test_transient_errors_are_raised_for_lambda_to_retry(error: EcsGitopsError) -> None:
    def fails(_e: Any, _p: Any) -> Outcome:
        raise error

    with pytest.raises(type(error)):
        run(EVENT, CONTEXT, CodeCommitEvent, fails, _ports)


@pytest.mark.parametrize("error", [
    DesiredStateError([Problem("f.yaml", 1, 1, "x", "bad")]),
    AwsError("UpdateService", "InvalidParameterException", "no"),
], ids=["invalid-file", "refused-call"])
def test_other_errors_of_ours_are_reported_not_retried(error: EcsGitopsError) -> None:
    def fails(_e: Any, _p: Any) -> Outcome:
        raise error

    result = run(EVENT, CONTEXT, CodeCommitEvent, fails, _ports)
    assert (result["kind"], result["reason"]) == (Kind.FAILED.value, Reason.ERROR.name)
    assert result["error_type"] == type(error).__name__


def test_a_bug_is_raised() -> None:
    def buggy(_e: Any, _p: Any) -> Outcome:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        run(EVENT, CONTEXT, CodeCommitEvent, buggy, _ports)


def test_the_outcome_is_returned_as_data_with_its_text() -> None:
    outcome = each([Outcome(Kind.NO_BUILD, Reason.NO_APP_CHANGED,
                            {"environment": "production", "commit": "b" * 40}),
                    Outcome(Kind.IGNORED, Reason.UNTRACKED_BRANCH, {"branch": "x"})])
    result = run(EVENT, CONTEXT, CodeCommitEvent, lambda _e, _p: outcome, _ports)
    assert [o["kind"] for o in result["outcomes"]] == ["no build", "ignored"]
    assert result["outcomes"][0]["action"] == (
        "no build: no file under a service's build source changed (production, bbbbbbbbbbbb)")
    assert result["outcomes"][1]["action"] == "ignored: branch x is not tracked"


def test_every_reason_renders_without_its_facts() -> None:
    for reason in Reason:
        text = Outcome(Kind.IGNORED, reason).text()
        assert text.startswith("ignored: ")
