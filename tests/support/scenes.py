"""Scenes for the controllers' unit tests: the repository as two branches with both
desired-state files and two apps, on in-memory fakes, and events as AWS sends them."""

from __future__ import annotations

from typing import Any

import yaml
from fakes import Fakes

from ecs_gitops.controllers.ports import Settings
from ecs_gitops.events import CodeCommitEvent, EcsDeploymentEvent, ReconcileEvent, ScheduledEvent

TAG = "0" * 40
ACCOUNT = "123456789012"


def desired_yaml(environment: str, branch: str, *, suffix: str = "", tag: str = TAG,
                 **extra: Any) -> str:
    services = [
        {"name": "api", "serviceName": f"api{suffix}",
         "image": {"repository": f"api{suffix.strip('-')}", "tag": tag},
         "build": {"project": f"api-{environment}", "source": "apps/api"},
         "cpu": 256, "memory": 512, "port": 5000, "desiredCount": 2},
        {"name": "web", "serviceName": f"web{suffix}",
         "image": {"repository": f"web{suffix.strip('-')}", "tag": tag},
         "build": {"project": f"web-{environment}", "source": "apps/web"},
         "cpu": 256, "memory": 512, "port": 80, "desiredCount": 1},
    ]
    data = {"schemaVersion": 1, "environment": environment, "branch": branch,
            "region": "us-east-1", "cluster": "dbscluster", "services": services, **extra}
    return yaml.safe_dump(data, sort_keys=False)


def world(**settings: Any) -> Fakes:
    """Both branches with both files and two apps, as the repository is."""
    fakes = Fakes(settings=Settings(branches={"main": "production", "development": "development"},
                                    **settings))
    files = {"desired_state/production.yaml": desired_yaml("production", "main"),
             "desired_state/development.yaml": desired_yaml("development", "development",
                                                            suffix="-development"),
             "apps/api/main.py": "v1", "apps/web/main.py": "v1", "README.md": "hello",
             "apps/api/buildspec.yml": "version: 0.2\n", "apps/web/buildspec.yml": "version: 0.2\n"}
    fakes.git.commit("main", files, "initial")
    fakes.git.branches["development"] = fakes.git.branches["main"]
    return fakes


def push_event(branch: str, after: str | None, before: str | None = None, *,
               event: str = "referenceUpdated", reference_type: str = "branch") -> CodeCommitEvent:
    detail: dict[str, Any] = {"event": event, "repositoryName": "ecs-gitops",
                              "referenceType": reference_type, "referenceName": branch}
    if after:
        detail["commitId"] = after
    if before:
        detail["oldCommitId"] = before
    return CodeCommitEvent.model_validate(_envelope("aws.codecommit", "CodeCommit Repository "
                                                    "State Change", detail))


def _envelope(source: str, detail_type: str, detail: dict[str, Any],
              resources: list[str] | None = None) -> dict[str, Any]:
    return {"version": "0", "id": "e1", "detail-type": detail_type, "source": source,
            "account": ACCOUNT, "time": "2026-11-30T00:00:00Z", "region": "us-east-1",
            "resources": resources or [], "detail": detail}


def deployment_event(name: str, service: str, deployment_id: str = "ecs-svc/1",
                     reason: str = "") -> EcsDeploymentEvent:
    arn = f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/dbscluster/{service}"
    return EcsDeploymentEvent.model_validate(_envelope(
        "aws.ecs", "ECS Deployment State Change",
        {"eventType": "INFO", "eventName": name, "deploymentId": deployment_id,
         "reason": reason}, [arn]))


def reconcile_event(environment: str | None, reason: str = "push") -> ReconcileEvent:
    return ReconcileEvent.model_validate(_envelope(
        "ecs-gitops", "Reconcile Requested", {"environment": environment, "reason": reason}))


SCHEDULE = ScheduledEvent.model_validate(_envelope("aws.events", "Scheduled Event", {}))
