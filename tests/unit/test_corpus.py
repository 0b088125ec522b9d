"""The corpus of real ECS requests and responses (tests/corpus/README.md cites each).

A request and what ECS reported for it are equal in canonical form; the embedded AWS
reports for the request what ECS reported; normalising is idempotent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ecs_gitops.canonical import SERVICE
from ecs_gitops.render import normalize_service_fields, normalize_task_definition
from ecs_gitops_tools.local import ecs_echo

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
FILES = sorted(CORPUS.glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def normalize(kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    if kind == "task-definition":
        return normalize_task_definition(raw)
    return normalize_service_fields(raw, manage_count=True)


def test_every_file_is_cited_in_the_readme() -> None:
    readme = (CORPUS / "README.md").read_text()
    assert FILES
    for path in FILES:
        assert path.name in readme, path
        assert load(path)["source"]


PAIRS = [p for p in FILES if "request" in load(p) and "response" in load(p)]


@pytest.mark.parametrize("path", PAIRS, ids=lambda p: p.name)
def test_request_and_response_are_equal_in_canonical_form(path: Path) -> None:
    case = load(path)
    assert normalize(case["kind"], case["request"]) == normalize(case["kind"], case["response"])


@pytest.mark.parametrize("path", PAIRS, ids=lambda p: p.name)
def test_the_embedded_aws_reports_what_ecs_reported(path: Path) -> None:
    case = load(path)
    request = case["request"]
    if case["kind"] == "task-definition":
        echoed = {**request, **ecs_echo.task_definition(request)}
    else:
        echoed = {**request, **ecs_echo.service(request)}
        # Members ECS decides when they are not sent are not compared (plan does the same).
        for name, node in SERVICE.members.items():
            if node.rule.unset_any and name not in request:
                echoed.pop(name, None)
    assert normalize(case["kind"], echoed) == normalize(case["kind"], case["response"])


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_normalising_is_idempotent(path: Path) -> None:
    case = load(path)
    once = normalize(case["kind"], case.get("response") or case["request"])
    assert normalize(case["kind"], once) == once


def test_binpack_field_is_reported_upper_case() -> None:
    case = load(CORPUS / "ecs-cli-586-describe-services-binpack.json")
    assert case["response"]["placementStrategy"][0]["field"] == "MEMORY"
    assert ecs_echo.service(case["request"])["placementStrategy"][0]["field"] == "MEMORY"
