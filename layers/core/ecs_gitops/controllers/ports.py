"""The ports controllers act through, and what they share (settings, outcomes, lookups)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ecs_gitops.apply import ApplyResult
from ecs_gitops.desired import Environment, load_environment_text
from ecs_gitops.desired.model import Service
from ecs_gitops.plan import Plan
from ecs_gitops.source import GitSource
from ecs_gitops.store import Store


class Builds(Protocol):
    def start_build(self, *, project: str, source_version: str, token: str,
                    environment: Mapping[str, str] | None = None) -> str: ...

    def recent_builds(self, project: str, *, limit: int = 20) -> list[Any]: ...


class Registry(Protocol):
    def image_exists(self, repository: str, tag: str) -> bool: ...


class Notifier(Protocol):
    def notify(self, subject: str, message: Mapping[str, Any]) -> None: ...


class Bus(Protocol):
    def request_reconcile(self, environment: str, *, reason: str, commit: str | None) -> None: ...


class Deployer(Protocol):
    def plan(self, env: Environment) -> Plan: ...

    def apply(self, env: Environment, plan: Plan) -> ApplyResult: ...

    def running_image(self, cluster: str, service: str) -> str | None: ...

    def running_task_definition(self, cluster: str, service: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Settings:
    branches: Mapping[str, str]  # branch -> environment
    desired_dir: str = "desired_state"
    dry_run: bool = False
    lease_seconds: int = 300
    # The task and execution roles the stack may pass (empty: no restriction).
    allowed_roles: frozenset[str] = frozenset()

    def path(self, environment: str) -> str:
        return f"{self.desired_dir}/{environment}.yaml"

    def branch_of(self, environment: str) -> str | None:
        return next((b for b, e in self.branches.items() if e == environment), None)


@dataclass(frozen=True, slots=True)
class Ports:
    settings: Settings
    source: GitSource
    store: Store
    builds: Builds
    registry: Registry
    notifier: Notifier
    bus: Bus
    deployer: Deployer


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a controller did: `action` is a short verb phrase, `detail` facts for logs."""

    action: str
    detail: Mapping[str, Any] = field(default_factory=dict)
    ignored: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "ignored": self.ignored, **self.detail}


def ignore(reason: str, **detail: Any) -> Outcome:
    return Outcome(action=f"ignored: {reason}", detail=detail, ignored=True)


def token(*parts: str) -> str:
    """A StartBuild idempotency token: stable for the same (commit, app)."""
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:64]


def desired_at(ports: Ports, environment: str, commit: str) -> Environment:
    """The environment's desired state as committed at `commit` (raises DesiredStateError)."""
    path = ports.settings.path(environment)
    text = ports.source.read_file(commit, path)
    if text is None:
        from ecs_gitops.errors import DesiredStateError, Problem

        raise DesiredStateError([Problem(f"{path}@{commit[:12]}", 1, 1, "", "no such file")])
    return load_environment_text(text, f"{path}@{commit[:12]}")


def find_service(ports: Ports, predicate: Any, *, cluster: str | None = None
                 ) -> tuple[str, str, str, Environment, Service] | None:
    """(branch, environment, tip, desired, service) of the first service matching
    (in an environment on `cluster`, when given)."""
    from ecs_gitops.errors import DesiredStateError, SourceError

    for branch, environment in ports.settings.branches.items():
        try:
            tip = ports.source.branch_tip(branch)
            desired = desired_at(ports, environment, tip)
        except (DesiredStateError, SourceError):
            continue
        if cluster is not None and desired.cluster != cluster:
            continue
        for service in desired.services:
            if predicate(service):
                return branch, environment, tip, desired, service
    return None
