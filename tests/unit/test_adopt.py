"""`import` on the corpus and on what ecs-gitops itself renders: the written file renders
back to what runs (nothing left over), or every difference is listed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from builders import REFS, echoed, environment

from ecs_gitops.actual import EnvironmentSnapshot
from ecs_gitops.adopt import Running, adopt
from ecs_gitops.desired import Environment
from ecs_gitops.plan import plan

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def from_snapshot(snapshot: EnvironmentSnapshot) -> list[Running]:
    out = []
    for svc in snapshot.services.values():
        td = snapshot.task_definitions[svc.task_definition]
        raw = {**svc.raw_fields, "serviceName": svc.name, "tags": svc.raw_fields.get("tags", [])}
        out.append(Running(task_definition=td.raw, service=raw))
    return out


def test_import_of_what_ecs_gitops_runs_plans_empty() -> None:
    env = environment(services=[{
        "name": "api", "image": {"repository": "api", "tag": "abc1234"},
        "cpu": 512, "memory": 1024, "port": 5000, "desiredCount": 2,
        "environment": {"BANNER": " | ", "URL": "http://x"},
        "secrets": {"DB_PASSWORD": "/simpleweb/db-password"},
        "placement": "binpack-memory",
        "container": {"command": ["python", "-m", "api"], "stopTimeout": 20},
        "sidecars": [{"name": "envoy", "image": "public.ecr.aws/appmesh/envoy:v1.29",
                      "essential": False, "memoryReservation": 64}],
        "taskDefinition": {"runtimePlatform": {"cpuArchitecture": "ARM64",
                                               "operatingSystemFamily": "LINUX"}},
        "service": {"enableExecuteCommand": True, "tags": [{"key": "team", "value": "core"}]},
        "loadBalancer": {"targetGroup": "api-tg"},
    }])
    running = echoed(env)
    adopted = adopt(from_snapshot(running), environment="production", branch="main",
                    region="us-east-1", cluster="dbscluster", refs=REFS)
    assert adopted.notes == ()
    written = Environment.model_validate(adopted.data)
    assert plan(written, running).empty, plan(written, running).describe()
    api = written.services[0]
    assert api.environment["BANNER"] == " | "
    assert api.sidecars[0].name == "envoy"


def test_a_secret_looking_plain_value_is_flagged_not_written() -> None:
    td = {"family": "app", "cpu": "256", "memory": "512", "containerDefinitions": [{
        "name": "app", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1",
        "environment": [{"name": "DB_PASSWORD", "value": "hunter2"},
                        {"name": "MODE", "value": "prod"}],
        "secrets": [{"name": "TOKEN", "valueFrom": "/app/token"}]}]}
    adopted = adopt([Running(td)], environment="production", branch="main",
                    region="us-east-1", cluster="c", refs=REFS)
    service = adopted.data["services"][0]
    assert service["environment"] == {"MODE": "prod"}
    assert service["secrets"] == {"TOKEN": "/app/token"}  # references stay references
    assert any("DB_PASSWORD holds a plain value that looks like a secret" in n
               for n in adopted.notes)


def corpus(kind: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(CORPUS.glob("*.json")):
        case = json.loads(path.read_text())
        if case["kind"] == kind:
            out.append((path.name, case.get("response") or case["request"]))
    return out


@pytest.mark.parametrize(("name", "definition"), corpus("task-definition"),
                         ids=[n for n, _ in corpus("task-definition")])
def test_import_of_the_corpus_renders_back_or_says_why_not(name: str, definition: dict[str, Any]
                                                           ) -> None:
    network = {"awsvpcConfiguration": {"subnets": ["subnet-0a"], "securityGroups": ["sg-0a"]}} \
        if definition.get("networkMode") == "awsvpc" else None
    adopted = adopt([Running(definition)], environment="production", branch="main",
                    region="ap-northeast-1", cluster="c", refs=REFS, network=network)
    Environment.model_validate(adopted.data)  # the file is valid
    lossy = [n for n in adopted.notes if "not expressed exactly" in n]
    explained = [n for n in adopted.notes if "not expressed exactly" not in n]
    # Whatever does not render back exactly has a reason given first.
    assert not lossy or explained, adopted.notes
    if name == "ecspresso-ecs-task-def.json":
        assert adopted.notes == ()  # a pinned, sized Fargate definition: lossless


@pytest.mark.parametrize("deployment", [
    {"strategy": "canary", "canary": {"percent": 10, "bakeMinutes": 3}, "bakeMinutes": 2,
     "alarms": {"alarmNames": ["api-5xx"], "rollback": True, "enable": True},
     "approval": {"stage": "PRE_PRODUCTION_TRAFFIC_SHIFT", "timeoutMinutes": 30,
                  "onTimeout": "continue"}},
    {"strategy": "linear", "linear": {"stepPercent": 25, "stepBakeMinutes": 2},
     "hooks": [{"lambda": "arn:aws:lambda:us-east-1:123456789012:function:ecs-gitops-hook-x",
                "stages": ["POST_SCALE_UP"],
                "role": "arn:aws:iam::123456789012:role/ecs-gitops-infrastructure"}]},
    {"strategy": "blue-green", "bakeMinutes": 5, "approval": "manual"},
], ids=["canary", "linear", "blue-green"])
def test_import_of_a_progressive_service_plans_empty(deployment: dict[str, Any]) -> None:
    role = "arn:aws:iam::123456789012:role/ecs-gitops-infrastructure"
    env = environment(services=[{
        "name": "api", "image": {"repository": "api", "tag": "abc1234"},
        "cpu": 512, "memory": 1024, "port": 5000, "desiredCount": 2,
        "deployment": deployment,
        "loadBalancer": {"targetGroup": "api-tg", "alternateTargetGroup": "web-tg",
                         "productionListenerRule": "arn:aws:elasticloadbalancing:us-east-1:"
                         "123456789012:listener-rule/app/x/1/2/3", "role": role},
    }])
    running = echoed(env)
    adopted = adopt(from_snapshot(running), environment="production", branch="main",
                    region="us-east-1", cluster="dbscluster", refs=REFS)
    assert adopted.notes == ()
    written = Environment.model_validate(adopted.data)
    assert plan(written, running).empty, plan(written, running).describe()
    assert written.services[0].deployment.strategy.value == deployment["strategy"]
