"""Notifications fit SNS's 256 KB (`bounded_message`): a message about 2,000 services
is shortened, never refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecs_gitops.aws.services import SNS_MESSAGE_BYTES, bounded_message


def test_a_small_message_is_sent_as_it_is() -> None:
    message = {"subject": "x", "deployed": [{"service": "api"}], "plan": "a\nb"}
    assert json.loads(bounded_message(message)) == message


def test_two_thousand_services_fit_in_one_notification() -> None:
    deployed = [{"service": f"svc-{i:04d}", "image": "bench:" + "f" * 40,
                 "task_definition": f"arn:aws:ecs:us-east-1:1:task-definition/svc-{i:04d}:2",
                 "deployment": f"ecs-svc/{i:020d}"} for i in range(2000)]
    plan = "\n".join(f"~ update service svc-{i:04d}\n    image: old -> new" for i in range(2000))
    text = bounded_message({"subject": "applied", "deployed": deployed, "plan": plan})
    assert len(text.encode()) <= SNS_MESSAGE_BYTES
    data = json.loads(text)
    assert data["subject"] == "applied"
    assert data["deployed"][0] == deployed[0]
    assert str(data["deployed"][-1]).startswith("... and ")


@given(st.dictionaries(st.text(max_size=5), st.one_of(
    st.text(max_size=3000), st.lists(st.text(max_size=200), max_size=60),
    st.integers()), max_size=6), st.integers(min_value=2000, max_value=20000))
def test_never_longer_than_the_limit(message: dict[str, Any], limit: int) -> None:
    try:
        text = bounded_message(message, limit)
    except ValueError:
        return  # only when even the emptied message is longer than the limit
    assert len(text.encode()) <= limit
    assert set(json.loads(text)) == set(message)


def test_a_limit_nothing_fits_in_is_an_error() -> None:
    with pytest.raises(ValueError, match="cannot be shortened"):
        bounded_message({"a" * 100: 1}, limit=10)
