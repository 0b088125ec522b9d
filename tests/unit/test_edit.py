"""Write-backs edit only the tag's characters, and refuse what they cannot edit safely."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecs_gitops.desired import load_environment_text
from ecs_gitops.desired.edit import set_image_tag
from ecs_gitops.errors import DesiredStateError

ROOT = Path(__file__).resolve().parents[2]
TAG = "f" * 40


def test_only_the_tag_changes() -> None:
    text = (ROOT / "desired_state/production.yaml").read_text()
    new = set_image_tag(text, "api", TAG)
    changed = [(a, b) for a, b in zip(text.splitlines(), new.splitlines(), strict=True) if a != b]
    assert len(changed) == 1
    assert changed[0][1].strip() == f"tag: {TAG}"
    assert load_environment_text(new).service("api").image.tag == TAG
    assert load_environment_text(new).service("simpleweb").image.tag != TAG


@pytest.mark.parametrize(("old", "tag", "expected"), [
    ("tag: abc", "1.10", 'tag: "1.10"'),        # would read back as a float
    ("tag: abc", "20240101", 'tag: "20240101"'),  # an int
    ("tag: 'abc'", "v2", "tag: 'v2'"),          # keeps the author's quotes
    ('tag: "abc"', "v2", 'tag: "v2"'),
    ("tag: abc  # pinned by the build", "v2", "tag: v2  # pinned by the build"),
])
def test_tags_read_back_as_the_same_string(old: str, tag: str, expected: str) -> None:
    text = f"services:\n  - name: api\n    image:\n      repository: api\n      {old}\n"
    new = set_image_tag(text, "api", tag)
    assert expected in new


@pytest.mark.parametrize("text", [
    "services:\n  - name: web\n    image: {repository: web, tag: &t abc}\n"
    "  - name: api\n    image: {repository: api, tag: *t}\n",
    "services:\n  - name: api\n    image: {repository: api, tag: !!str abc}\n",
])
def test_anchors_aliases_and_tags_are_refused(text: str) -> None:
    with pytest.raises(DesiredStateError, match="anchor, alias or tag"):
        set_image_tag(text, "api", "v2")


def test_unknown_service() -> None:
    with pytest.raises(DesiredStateError, match="no service 'nope'"):
        set_image_tag("services: []\n", "nope", "v2")
