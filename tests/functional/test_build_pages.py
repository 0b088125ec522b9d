"""The sweep reads every page of a project's builds back to its window (issue 10, guard
7): ListBuildsForProject pages (newest first) and BatchGetBuilds, on botocore's Stubber
with the service model's shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.stub import Stubber

from ecs_gitops.aws.services import CodeBuildBuilds

SINCE = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _build(number: int, minutes: int, status: str = "SUCCEEDED") -> dict[str, Any]:
    return {"id": f"api:{number}", "buildStatus": status, "projectName": "api",
            "startTime": SINCE + timedelta(minutes=minutes),
            "sourceVersion": f"{number:040x}", "resolvedSourceVersion": f"{number:040x}"}


def _adapter() -> tuple[CodeBuildBuilds, Stubber]:
    client = boto3.client("codebuild", region_name="us-east-1", aws_access_key_id="x",
                          aws_secret_access_key="x")
    adapter = CodeBuildBuilds.__new__(CodeBuildBuilds)
    adapter.cb = client
    return adapter, Stubber(client)


def test_a_success_behind_a_full_page_of_newer_builds_is_found() -> None:
    adapter, stub = _adapter()
    newer = [_build(n, 60 + n, "FAILED") for n in range(100, 0, -1)]
    lost = _build(0, 30)
    stub.add_response("list_builds_for_project", {"ids": [b["id"] for b in newer],
                                                  "nextToken": "page2"},
                      {"projectName": "api"})
    stub.add_response("batch_get_builds", {"builds": newer}, {"ids": [b["id"] for b in newer]})
    stub.add_response("list_builds_for_project", {"ids": ["api:0"]},
                      {"projectName": "api", "nextToken": "page2"})
    stub.add_response("batch_get_builds", {"builds": [lost]}, {"ids": ["api:0"]})
    with stub:
        found = adapter.finished_since("api", SINCE)
    stub.assert_no_pending_responses()
    assert [d.build_id for d in found][-1] == "api:0"
    assert len(found) == 101


def test_paging_stops_at_the_first_page_that_reaches_before_the_window() -> None:
    adapter, stub = _adapter()
    page = [_build(2, 10), _build(1, -10)]  # the second started before the window
    stub.add_response("list_builds_for_project", {"ids": ["api:2", "api:1"],
                                                  "nextToken": "more"}, {"projectName": "api"})
    stub.add_response("batch_get_builds", {"builds": page}, {"ids": ["api:2", "api:1"]})
    with stub:  # a third call would be an unexpected one: Stubber raises
        found = adapter.finished_since("api", SINCE)
    assert [d.build_id for d in found] == ["api:2"]


def test_builds_still_running_are_left_for_a_later_sweep() -> None:
    adapter, stub = _adapter()
    page = [_build(2, 10, "IN_PROGRESS"), _build(1, 5)]
    stub.add_response("list_builds_for_project", {"ids": ["api:2", "api:1"]},
                      {"projectName": "api"})
    stub.add_response("batch_get_builds", {"builds": page}, {"ids": ["api:2", "api:1"]})
    with stub:
        found = adapter.finished_since("api", SINCE)
    assert [d.build_id for d in found] == ["api:1"]
