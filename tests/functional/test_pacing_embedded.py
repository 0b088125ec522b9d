"""Pacing against the embedded AWS enforcing ECS's token buckets
(`ecs_gitops_tools.local.throttle`): our buckets avoid the throttling, and a category
that is throttled or waiting never delays another operation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config

from ecs_gitops.aws.clients import RETRY_CONFIG, Clients, translate
from ecs_gitops.aws.pacing import ECS_CATEGORIES, Pacer, Rate
from ecs_gitops.errors import AwsError
from ecs_gitops_tools.local import throttle

# Small buckets that refill fast, so that the test runs in well under a second.
RATES = {name: rate for name, (rate, _) in ECS_CATEGORIES.items()}
RATES["task-definition-modify"] = Rate(3, 20)


@pytest.fixture
def throttled(seeded: Any) -> Iterator[Clients]:
    throttle.enforce(1.0, rates=RATES)
    yield seeded
    throttle.enforce(None)


SLOW = {**RATES, "task-definition-modify": Rate(2, 0.5)}


def _spec(n: int) -> dict[str, Any]:
    return {"family": f"paced-{n}", "containerDefinitions": [
        {"name": "app", "image": "nginx:1", "memory": 128, "essential": True}]}


def _clients(base: Clients, pacer: Pacer, attempts: int = 10) -> Clients:
    config = RETRY_CONFIG.merge(Config(retries={"mode": "standard",
                                                "total_max_attempts": attempts}))
    return Clients(region=base.region, endpoint_url=base.endpoint_url, config=config, pacer=pacer)


def _register_until_refused(clients: Clients) -> None:
    with translate("RegisterTaskDefinition"):
        for n in range(10):
            clients.ecs.register_task_definition(**_spec(n))


def test_paced_calls_are_never_throttled(throttled: Clients) -> None:
    pacer = Pacer(RATES)
    clients = _clients(throttled, pacer)
    ecs = clients.ecs
    for n in range(12):
        ecs.register_task_definition(**_spec(n))
        ecs.describe_services(cluster="dbscluster", services=["api"])
    seen = throttle.stats()
    assert seen["throttled"] == {}
    assert seen["accepted"]["RegisterTaskDefinition"] == 12
    # 2 at once (one token kept in reserve), then 20 a second: the others waited
    assert pacer.stats["task-definition-modify"].waited > 0
    assert pacer.stats["service-read"].waited == 0.0


def test_a_throttled_operation_never_delays_another(throttled: Clients) -> None:
    arn = throttled.ecs.register_task_definition(**_spec(99))["taskDefinition"]["taskDefinitionArn"]
    throttled.ecs.create_service(cluster="dbscluster", serviceName="paced", taskDefinition=arn,
                                 desiredCount=1)
    # Our buckets far larger than the embedded ECS's: the registrations get throttled.
    throttle.enforce(1.0, rates=SLOW)
    # The pacer's own time stands still unless it sleeps, so that what the throttle did to
    # its buckets is still there to see on a loaded machine.
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    pacer = Pacer({**RATES, "task-definition-modify": Rate(1000, 1000)},
                  clock=lambda: now[0], sleep=sleep)
    clients = _clients(throttled, pacer, attempts=1)  # no retry: see the throttle itself
    with pytest.raises(AwsError) as raised:
        _register_until_refused(clients)
    assert raised.value.code == "ThrottlingException"
    assert raised.value.transient
    assert throttle.stats()["throttled"]["RegisterTaskDefinition"] == 1
    # The throttle emptied the registrations' bucket, and only that one.
    assert pacer.wait_time("RegisterTaskDefinition") > 0
    assert pacer.stats["task-definition-modify"].throttled == 1
    for _ in range(20):
        response = clients.ecs.describe_services(cluster="dbscluster", services=["paced"])
        assert response["ResponseMetadata"].get("RetryAttempts", 0) == 0
        described = clients.ecs.describe_task_definition(taskDefinition=arn)
        assert described["ResponseMetadata"].get("RetryAttempts", 0) == 0
    update = clients.ecs.update_service(cluster="dbscluster", service="paced", desiredCount=2)
    assert update["ResponseMetadata"].get("RetryAttempts", 0) == 0
    assert pacer.stats["service-read"].waited == 0.0
    assert pacer.stats["service-modify"].waited == 0.0
    assert pacer.stats["task-definition-read"].waited == 0.0
    assert throttle.stats()["throttled"].keys() == {"RegisterTaskDefinition"}
