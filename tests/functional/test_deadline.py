"""The ReconcileFunction handler against its deadline, on the embedded AWS: a reconcile
that runs out of time stops between services, asks for its continuation on EventBridge,
and the continuation (in a fresh container) converges without registering anything
twice and without describing the task definitions it remembered. Every AWS call the
function made is one its role allows."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from world import ROOT, World, load_event

from ecs_gitops.desired.edit import set_image_tag
from ecs_gitops_tools.local import moto_patches
from ecs_gitops_tools.local.invoke import environment, function_environment, load_handler
from ecs_gitops_tools.local.template import load_yaml

NEW = "e" * 40


@dataclass
class ShortContext:
    """A Lambda context whose invocation is worth `seconds`, of which each deployment
    started (an UpdateService/CreateService that changes the task definition) uses
    `per_deployment`: deterministic time for a run against its deadline."""

    seconds: float
    per_deployment: float
    deployments: list[str] = field(default_factory=list)
    function_name: str = "ecs-gitops-ReconcileFunction"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "deadline-test"
    invoked_function_arn: str = ("arn:aws:lambda:us-east-1:123456789012:function:"
                                 "ecs-gitops-ReconcileFunction")
    log_group_name: str = "/aws/lambda/ecs-gitops-ReconcileFunction"
    log_stream_name: str = "local/deadline-test"
    function_version: str = "$LATEST"

    def get_remaining_time_in_millis(self) -> int:
        left = self.seconds - self.per_deployment * len(self.deployments)
        return max(0, int(left * 1000))


def _invoke(world: World, event: dict[str, Any], context: Any) -> tuple[Any, Counter[str]]:
    """Run ReconcileFunction's handler as Lambda would, with `context`; the result and
    the AWS calls the function's clients made."""
    from ecs_gitops import wiring

    spec = world.template.function("ReconcileFunction")
    env = function_environment(spec, world.refs, region=world.clients.region, extra=world.extra)
    with environment(env):
        clients = wiring.ports_from_environment().cloud.clients  # type: ignore[attr-defined]
        clients.calls.clear()
        result = load_handler(spec)(event, context)
    return result, Counter(clients.calls)


def _granted(role: str) -> set[str]:
    """The actions the role's policies (and the shared base policy) grant."""
    resources = load_yaml(ROOT / "template.yaml")["Resources"]
    documents = [resources["ControllerBasePolicy"]["Properties"]["PolicyDocument"]]
    documents += [p["PolicyDocument"] for p in resources[role]["Properties"]["Policies"]]
    actions: set[str] = set()
    for document in documents:
        for statement in document["Statement"]:
            found = statement["Action"]
            actions.update([found] if isinstance(found, str) else found)
    return actions


# botocore's service names -> IAM's action prefixes (STS GetCallerIdentity needs none).
PREFIX = {"elbv2": "elasticloadbalancing", "sts": None}


def _assert_allowed(calls: Counter[str], role: str) -> None:
    granted = _granted(role)
    for call in calls:
        service, operation = call.split(":", 1)
        prefix = PREFIX.get(service, service)
        if prefix is not None:
            assert f"{prefix}:{operation}" in granted, f"{role} may not {prefix}:{operation}"


def test_a_reconcile_stopped_at_its_deadline_resumes_and_converges(world: World) -> None:
    # Both services run (created by a first reconcile), then both images change.
    first, _ = _invoke(world, load_event("reconcile-requested-production.json"),
                       ShortContext(300, 0))
    assert first["kind"] == "applied", first
    text = world.read("main", "desired_state/production.yaml")
    for service, repository in (("api", "api"), ("simpleweb", "simpleweb")):
        world.put_image(repository, NEW)
        text = set_image_tag(text, service, NEW)
    tip = world.commit("main", {"desired_state/production.yaml": text})
    world.reconcile_requests()

    # 30 s, each deployment 15 s, 20 s kept as the margin: one service, then a stop.
    context = ShortContext(30, 15)
    stop = moto_patches.on_deployment(lambda c, s, td: context.deployments.append(s))
    try:
        paused, calls = _invoke(world, load_event("reconcile-requested-production.json"),
                                context)
    finally:
        stop()
    _assert_allowed(calls, "ReconcileFunctionRole")
    assert paused["kind"] == "paused", paused
    assert paused["left"] == 1
    assert calls["ecs:RegisterTaskDefinition"] == 1
    assert calls["ecs:UpdateService"] == 1
    done_first = context.deployments[0]
    requests = world.reconcile_requests()
    assert len(requests) == 1
    detail = requests[0]["detail"]
    assert detail["reason"] == "continuation"
    assert detail["commit"] == tip
    assert detail["continuation"] == 1
    assert detail["services"] == [s for s in ("api", "simpleweb") if s != done_first]
    assert set(detail["pacing"]) >= {"task-definition-modify", "service-modify"}
    state = world.clients.client("dynamodb").scan(TableName=world.refs["StateTable"])["Items"]
    assert not [i for i in state if i["pk"]["S"].startswith("lease#")]  # released

    # The continuation, as EventBridge delivers it, in a fresh container.
    world.new_container()
    event = {**load_event("reconcile-requested-production.json"), "detail": detail}
    done, calls = _invoke(world, event, ShortContext(300, 0))
    _assert_allowed(calls, "ReconcileFunctionRole")
    assert done["kind"] == "applied", done
    # Only the service left was observed and changed; its running definition came from
    # the state table (remembered when the first reconcile registered it), not ECS.
    assert calls["ecs:DescribeTaskDefinition"] == 0, calls
    assert calls["ecs:ListServices"] == 0
    assert calls["ecs:RegisterTaskDefinition"] == 1
    assert calls["ecs:UpdateService"] == 1
    assert world.reconcile_requests() == []

    # Converged: each family has exactly one new revision, every release recorded.
    for family in ("api", "simpleweb"):
        assert len(world.revisions(family)) == 2, family
    services = world.services()
    from ecs_gitops.aws.dynamodb import DynamoStore

    store = DynamoStore(world.clients, world.refs["StateTable"])
    latest = store.latest_releases("production", ["api", "simpleweb"])
    for name in ("api", "simpleweb"):
        assert services[name]["taskDefinition"].endswith(":2")
        primary = next(d for d in services[name]["deployments"] if d["status"] == "PRIMARY")
        assert latest[name].deployment_id == primary["id"]
        assert latest[name].commit == tip
    marks = store.get_values(["attempted#production", "applied#production"])
    assert marks == {"attempted#production": tip, "applied#production": tip}
    assert world.plan("production").empty
    assert json.dumps(done)  # the handler's result is what `sam local invoke` prints
