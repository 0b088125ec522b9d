"""Property: for any valid service, render -> register -> describe as ECS answers -> plan
is empty. Services are generated (hypothesis) across the model: sidecars, commands,
EFS volumes, ARM64, ports, network modes, placement, tags, odd strings."""

from __future__ import annotations

from typing import Any

from builders import ACCOUNT, echoed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ecs_gitops.desired import Environment
from ecs_gitops.plan import plan

NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)
# Values kept exactly: whitespace, markup-like, regex-like and non-ASCII strings.
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
               max_size=20) | st.sampled_from([" | ", "[/docs]", "^a.*$", "ünïcødé", "x\n"])
ENV_NAMES = st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True).filter(
    lambda n: not any(w in n for w in ("PASS", "SECRET", "TOKEN", "KEY", "CRED")))
PORTS = st.integers(1, 65535)


@st.composite
def sidecars(draw: Any, taken: set[str]) -> dict[str, Any]:
    name = draw(NAMES.filter(lambda n: n not in taken))
    taken.add(name)
    out: dict[str, Any] = {"name": name, "image": f"public.ecr.aws/x/{name}:1.0"}
    if draw(st.booleans()):
        out["essential"] = draw(st.booleans())
    if draw(st.booleans()):
        out["memoryReservation"] = draw(st.integers(6, 128))
    if draw(st.booleans()):
        out["command"] = draw(st.lists(TEXT, min_size=1, max_size=3))
    if draw(st.booleans()):
        out["environment"] = [{"name": n, "value": v} for n, v in
                              draw(st.dictionaries(ENV_NAMES, TEXT, max_size=3)).items()]
    if draw(st.booleans()):
        out["firelensConfiguration"] = {"type": draw(st.sampled_from(["fluentbit", "fluentd"]))}
    if draw(st.booleans()):
        out["ulimits"] = [{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}]
    if draw(st.booleans()):
        out["linuxParameters"] = {"initProcessEnabled": draw(st.booleans())}
    if draw(st.booleans()):
        out["stopTimeout"] = draw(st.integers(2, 120))
    if draw(st.booleans()):
        out["healthCheck"] = {"command": ["CMD-SHELL", draw(TEXT)]}
    return out


@st.composite
def environments(draw: Any) -> Environment:
    awsvpc = draw(st.booleans())
    name = draw(NAMES)
    taken = {name}
    service: dict[str, Any] = {
        "name": name, "image": {"repository": name, "tag": draw(st.from_regex(
            r"[a-f0-9]{7,12}", fullmatch=True))},
        "cpu": draw(st.sampled_from([256, 512, 1024, "0.25 vCPU", "1 vCPU"])),
        "memory": draw(st.sampled_from([512, 1024, "1 GB", "2GB"])),
        "environment": draw(st.dictionaries(ENV_NAMES, TEXT, max_size=4)),
        "placement": draw(st.sampled_from(["spread-az", "binpack-memory", "binpack-cpu",
                                           "random", "spread-instance"])),
    }
    if draw(st.booleans()):
        service["port"] = draw(PORTS)
    if draw(st.booleans()):
        service["desiredCount"] = draw(st.integers(0, 5))
    container: dict[str, Any] = {}
    if draw(st.booleans()):
        container["command"] = draw(st.lists(TEXT, min_size=1, max_size=3))
    if draw(st.booleans()):
        container["stopTimeout"] = draw(st.integers(2, 120))
    if draw(st.booleans()):
        service["taskDefinition"] = {
            "volumes": [{"name": "data", "efsVolumeConfiguration": {
                "fileSystemId": "fs-0123456789abcdef0",
                **({"transitEncryption": "ENABLED"} if draw(st.booleans()) else {})}}]}
        container["mountPoints"] = [{"sourceVolume": "data", "containerPath": "/data"}]
    if draw(st.booleans()):
        block = service.setdefault("taskDefinition", {})
        block["runtimePlatform"] = {"cpuArchitecture": draw(st.sampled_from(["ARM64", "X86_64"])),
                                    "operatingSystemFamily": "LINUX"}
    if container:
        service["container"] = container
    service["sidecars"] = draw(st.lists(sidecars(taken), max_size=2))
    block: dict[str, Any] = {}
    if draw(st.booleans()):
        block["enableExecuteCommand"] = draw(st.booleans())
    if draw(st.booleans()):
        block["propagateTags"] = draw(st.sampled_from(["TASK_DEFINITION", "SERVICE", "NONE"]))
    if draw(st.booleans()):
        block["tags"] = [{"key": "team", "value": draw(TEXT)}]
    if draw(st.booleans()):
        block["availabilityZoneRebalancing"] = draw(st.sampled_from(["ENABLED", "DISABLED"]))
    if block:
        service["service"] = block
    if draw(st.booleans()):
        service["deployment"] = {"alarms": {"alarmNames": ["b", "a"], "enable": True,
                                            "rollback": draw(st.booleans())}}
    data: dict[str, Any] = {
        "schemaVersion": 1, "environment": "production", "branch": "main",
        "region": "us-east-1", "cluster": "dbscluster",
        "roles": {"task": f"arn:aws:iam::{ACCOUNT}:role/task"},
        "services": [service],
    }
    if awsvpc:
        data["network"] = {"subnets": ["subnet-0b", "subnet-0a"], "securityGroups": ["sg-01"]}
    try:
        return Environment.model_validate(data)
    except ValidationError:
        from hypothesis import reject
        reject()
        raise


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(environments())
def test_render_register_describe_plans_nothing(env: Environment) -> None:
    the_plan = plan(env, echoed(env))
    assert the_plan.empty, the_plan.describe()
