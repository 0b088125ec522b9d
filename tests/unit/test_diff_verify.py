"""Diffs are data, keyed by name; what a plan needs to exist is read off its actions."""

from __future__ import annotations

from typing import Any

import pytest
from builders import environment, with_service
from fakes import FakeCloud

from ecs_gitops.canonical import TASK_DEFINITION
from ecs_gitops.diff import DiffItem, diff
from ecs_gitops.engine import preview
from ecs_gitops.verify import requirements, split_image


@pytest.mark.parametrize(("old", "new", "expected"), [
    ({"a": 1}, {"a": 1}, ()),
    ({"a": 1}, {"a": 2}, (DiffItem("a", 1, 2),)),
    (None, {"a": 1}, (DiffItem("a", None, 1),)),
    ({"a": 1, "b": 2}, {"a": 1}, (DiffItem("b", 2, None),)),
    ({"x": {"y": [1, 2]}}, {"x": {"y": [2, 1]}}, (DiffItem("x.y", [1, 2], [2, 1]),)),
    # lists of named things are keyed as the managed-fields table says, whatever their order
    ({"containerDefinitions": [{"name": "a", "image": "i:1"}, {"name": "b", "image": "j:1"}]},
     {"containerDefinitions": [{"name": "b", "image": "j:1"}, {"name": "a", "image": "i:2"}]},
     (DiffItem("containers[a].image", "i:1", "i:2"),)),
    ({"containerDefinitions": [{"name": "a", "environment": [{"name": "MODE", "value": "a"}]}]},
     {"containerDefinitions": [{"name": "a", "environment": [
         {"name": "MODE", "value": "b"}, {"name": "NEW", "value": "x"}]}]},
     (DiffItem("containers[a].environment.MODE", "a", "b"),
      DiffItem("containers[a].environment.NEW", None, "x"))),
], ids=["same", "change", "all-new", "removed", "list-order-matters", "containers-by-name",
        "environment-by-name"])
def test_diff(old: Any, new: Any, expected: tuple[DiffItem, ...]) -> None:
    assert diff(old, new, TASK_DEFINITION) == expected


@pytest.mark.parametrize(("item", "text"), [
    (DiffItem("a", None, 1), "+ a: 1"),
    (DiffItem("a", 1, None), "- a: 1"),
    (DiffItem("a", "x", "y"), "~ a: x -> y"),
    (DiffItem("a", {"k": [1]}, {"k": [2]}), '~ a: {"k": [1]} -> {"k": [2]}'),
])
def test_diff_lines(item: DiffItem, text: str) -> None:
    assert item.describe() == text


@pytest.mark.parametrize(("uri", "expected"), [
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/api:abc", ("api", "abc")),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api:v1.2", ("team/api", "v1.2")),
    ("docker.io/library/nginx:1.27", None),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/api", None),
])
def test_split_image(uri: str, expected: tuple[str, str] | None) -> None:
    assert split_image(uri) == expected


def test_requirements_of_a_first_apply() -> None:
    plan = preview(environment(), FakeCloud(), store=None).plan
    needs = requirements(plan)
    assert needs.images == {"web": {"aaa111"}, "api": {"aaa111"}}
    assert needs.parameters == {"/simpleweb/db-password", "/simpleweb/db-endpoint"}
    assert needs.unresolved_target_groups == set()


def test_requirements_name_what_was_not_resolved_and_nothing_that_does_not_change() -> None:
    env = with_service(environment(), "web", loadBalancer={"targetGroup": "missing-tg"})
    needs = requirements(preview(env, FakeCloud(), store=None).plan)
    assert needs.unresolved_target_groups == {"missing-tg"}
    cloud = FakeCloud()
    from ecs_gitops.engine import reconcile_once
    from ecs_gitops.events import Trigger

    reconcile_once(environment(), cloud, store=None, revision="r", trigger=Trigger.PUSH)
    changed = with_service(environment(), "api", image={"repository": "api", "tag": "b2"})
    assert requirements(preview(changed, cloud, store=None).plan).images == {"api": {"b2"}}
