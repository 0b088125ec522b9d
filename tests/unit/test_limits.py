"""What ECS would refuse is refused by validation (file:line: field: message) or by the
plan's preflight, before the first write."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from builders import applied, environment, with_service
from hypothesis import given, settings
from hypothesis import strategies as st

from ecs_gitops.desired import limits, load_environment_text
from ecs_gitops.errors import DesiredStateError
from ecs_gitops.plan import ReplaceService, plan
from ecs_gitops.verify import requirements

BASE: dict[str, Any] = {
    "schemaVersion": 1, "environment": "production", "branch": "main", "region": "us-east-1",
    "cluster": "c",
    "services": [{"name": "api", "image": {"repository": "api", "tag": "abc"},
                  "cpu": 256, "memory": 512, "port": 80}],
}


def problems(service: dict[str, Any], **env: Any) -> list[str]:
    data = {**BASE, **env, "services": [{**BASE["services"][0], **service}]}
    with pytest.raises(DesiredStateError) as info:
        load_environment_text(yaml.safe_dump(data, sort_keys=False), "f.yaml")
    return [str(p) for p in info.value.problems]


SIDE = {"name": "side", "image": "x:1"}


@pytest.mark.parametrize(("service", "env", "expected"), [
    ({"sidecars": [{"name": f"s{i}", "image": "x:1"} for i in range(10)]}, {},
     "services[0].sidecars: ECS takes at most 10 containers per task definition; this task has 11"),
    ({"sidecars": [{**SIDE, "cpu": 512}]}, {},
     "services[0].sidecars[0].cpu: container cpu 512 is above the task's 256"),
    ({"sidecars": [{**SIDE, "memory": 1024}]}, {},
     "services[0].sidecars[0].memory: container memory 1024 MiB is above the task's 512 MiB"),
    ({"sidecars": [{**SIDE, "memory": 64, "memoryReservation": 128}]}, {},
     "memoryReservation 128 MiB is above memory 64 MiB"),
    ({"container": {"essential": False}}, {},
     "no container is essential: ECS refuses a task definition without one"),
    ({"container": {"dependsOn": [{"containerName": "side", "condition": "START"}]},
      "sidecars": [{**SIDE, "dependsOn": [{"containerName": "api", "condition": "START"}]}]},
     {}, "dependsOn has a cycle: api -> side"),
    ({"container": {"dependsOn": [{"containerName": "ghost", "condition": "START"}]}}, {},
     "dependsOn names 'ghost', which is not a container of the task"),
    ({"sidecars": [{**SIDE, "portMappings": [{"containerPort": 9}, {"containerPort": 9}]}]},
     {}, "port 9/tcp is mapped twice in container 'side'"),
    ({"sidecars": [{**SIDE, "portMappings": [{"containerPort": 80}]}]},
     {"network": {"subnets": ["subnet-0a"], "securityGroups": ["sg-0a"]}},
     "port 80/tcp is already mapped by container 'api'"),
    ({"taskDefinition": {"networkMode": "bridge"}},
     {"launchType": "FARGATE", "network": {"subnets": ["subnet-0a"], "securityGroups": ["sg-0a"]}},
     "Fargate runs only awsvpc tasks, not bridge"),
    ({"taskDefinition": {"networkMode": "awsvpc"}}, {},
     "awsvpc tasks need subnets and security groups"),
    ({"service": {"serviceRegistries": [{"registryArn": "a"}, {"registryArn": "b"}]}}, {},
     "ECS associates a service with one service registry at most"),
    ({"service": {"schedulingStrategy": "DAEMON"}, "desiredCount": 2}, {},
     "a DAEMON service runs one task per instance"),
    ({"placement": "random", "service": {"placementStrategy": [{"type": "random"}]}}, {},
     "placement and service.placementStrategy say the same thing"),
    ({"sidecars": [{**SIDE, "environment": [{"name": "API_TOKEN", "value": "x"}]}]}, {},
     "'API_TOKEN' looks like a secret"),
    ({"service": {"serviceConnectConfiguration": {"enabled": True, "namespace": "internal"}}},
     {}, "give the Cloud Map namespace's ARN"),
])
def test_refused_with_file_line_and_field(service: dict[str, Any], env: dict[str, Any],
                                          expected: str) -> None:
    found = problems(service, **env)
    assert any(expected in p and p.startswith("f.yaml:") for p in found), found


def test_a_task_definition_over_64_kib_is_refused_before_any_write() -> None:
    before = environment()
    big = with_service(before, "api", environment={f"V{i}": "x" * 1000 for i in range(70)})
    needs = requirements(plan(big, applied(before)))
    assert needs.refused == ["task definition api is 70 KiB: ECS refuses more than 64 KiB"]


def test_a_launch_type_change_is_a_replacement_and_says_so() -> None:
    before = environment()
    after = environment(launchType="FARGATE", network={"subnets": ["subnet-0a"],
                                                       "securityGroups": ["sg-0a"]})
    replaced = [a for a in plan(after, applied(before)).actions if isinstance(a, ReplaceService)]
    assert {a.service for a in replaced} == {"web", "api"}
    assert replaced[0].reasons == ("launchType EC2 -> FARGATE",)
    assert not replaced[0].allowed
    text = "\n".join(replaced[0].describe())
    assert "interruption" in text
    assert "--allow-replace" in text


def test_a_target_group_whose_type_does_not_fit_the_network_mode_is_refused() -> None:
    from dataclasses import replace

    from builders import REFS, empty

    env = environment(network={"subnets": ["subnet-0a"], "securityGroups": ["sg-0a"]})
    web_tg = REFS.target_groups["web-tg"]
    refs = replace(REFS, target_types={web_tg: "instance", REFS.target_groups["api-tg"]: "ip"})
    needs = requirements(plan(env, replace(empty(env), refs=refs)))
    assert needs.refused == ["target group web-tg registers targets by instance, but awsvpc "
                             "tasks need ip"]
    assert needs.target_group_modes == {}  # known from observe: no extra call


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["name", "container", "sidecars", "port", "portMappings", "cpu",
                         "memory", "essential", "dependsOn", "containerName", "environment",
                         "service", "serviceRegistries", "placementStrategy", "loadBalancers",
                         "loadBalancer", "containerPort", "serviceConnectConfiguration",
                         "namespace", "schedulingStrategy", "value", "memoryReservation"]),
        children, max_size=5),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["name", "container", "sidecars", "port", "cpu",
                                        "memory", "service", "loadBalancers", "loadBalancer",
                                        "desiredCount", "scaling"]), JSONISH, max_size=8))
def test_the_rules_never_crash_on_raw_yaml(service: dict[str, Any]) -> None:
    """The loader runs them over raw YAML, before types are known: anything goes in."""
    for loc, message in limits.check_service(service):
        assert isinstance(message, str)
        assert isinstance(loc, tuple)
