"""The container's task-definition cache is per endpoint: one process that talks to two
embedded AWS (the tests' workers; a CLI session across `local up --reset`) meets the
same ARN for two different task definitions, and must read each endpoint's own."""

from __future__ import annotations

import urllib.request
from typing import Any

from ecs_gitops.aws.clients import Clients
from ecs_gitops.aws.ecs import EcsAdapter


def _register(clients: Clients, image: str) -> str:
    response = clients.ecs.register_task_definition(
        family="cached", containerDefinitions=[{"name": "app", "image": image,
                                                "memory": 128}])
    return str(response["taskDefinition"]["taskDefinitionArn"])


def test_the_same_arn_on_another_endpoint_is_read_from_that_endpoint(
        moto_url: str, aws: Any) -> None:
    first = Clients(region="us-east-1", endpoint_url=moto_url)
    arn = _register(first, "first:1")
    assert EcsAdapter(first).describe_task_definition(arn).raw["containerDefinitions"][0][
        "image"] == "first:1"
    # another embedded AWS (the same server reset, reached by another name)
    reset = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")  # noqa: S310
    urllib.request.urlopen(reset, timeout=10).close()  # noqa: S310 - our loopback moto
    second = Clients(region="us-east-1", endpoint_url=moto_url.replace("127.0.0.1",
                                                                       "localhost"))
    assert _register(second, "second:1") == arn  # revision 1 again
    snapshot = EcsAdapter(second).task_definitions([arn])[arn]
    assert snapshot.raw["containerDefinitions"][0]["image"] == "second:1"
    assert EcsAdapter(second).describe_task_definition(arn).raw["containerDefinitions"][0][
        "image"] == "second:1"
