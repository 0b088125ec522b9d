"""What the controllers look up in git: an environment's file at a commit, and the
service an event is about."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

from ecs_gitops.controllers.outcome import Outcome, Reason, ignore
from ecs_gitops.controllers.ports import Ports
from ecs_gitops.desired import Environment, load_environment_text
from ecs_gitops.desired.model import Service
from ecs_gitops.errors import DesiredStateError, Problem, SourceError
from ecs_gitops.store import notice_key


def token(*parts: str) -> str:
    """A StartBuild idempotency token, stable for the same parts (commit, app).

    CodeBuild accepts at most 64 characters; a sha256 hex digest is exactly that."""
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:64]


def desired_at(ports: Ports, environment: str, commit: str) -> Environment:
    """The environment's desired state as committed at `commit`.

    Raises:
        DesiredStateError: the file is missing or invalid there (every problem listed).
        SourceError: git could not be read.
    """
    path = ports.settings.path(environment)
    text = ports.source.read_file(commit, path)
    where = f"{path}@{commit[:12]}"
    if text is None:
        raise DesiredStateError([Problem(where, 1, 1, "", "no such file")])
    return load_environment_text(text, where)


@dataclass(frozen=True, slots=True)
class Found:
    """A service found in a tracked environment's file at its branch tip."""

    branch: str
    environment: str
    tip: str
    desired: Environment
    service: Service


def find_service(ports: Ports, predicate: Callable[[Service], bool], *,
                 cluster: str | None = None) -> Found | None:
    """The first service (in branch order) matching `predicate`, in an environment on
    `cluster` when given. Environments whose file cannot be read are skipped."""
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
                return Found(branch, environment, tip, desired, service)
    return None


def not_ours(ports: Ports, event: EventBridgeModel, *, repository: str | None = None,
             cluster: str | None = None) -> Outcome | None:
    """An IGNORED outcome when `event` is not this stack's (invariant 14): another
    account or region, another repository, another cluster. None when it is ours.

    The template's rules filter the same; this is the second lock, for events that reach
    the function another way (a rule edited by hand, a test, `sam local invoke`)."""
    settings = ports.settings
    checks = (("account", event.account, settings.account),
              ("region", event.region, settings.region),
              ("repository", repository, settings.repository),
              ("cluster", cluster, settings.cluster))
    for what, seen, expected in checks:
        if expected and seen is not None and seen != expected:
            return ignore(Reason.NOT_OURS, what=f"{what} {seen}", expected=expected)
    return None


def notify_once(ports: Ports, key: str, subject: str, message: Mapping[str, Any]) -> bool:
    """Notify only the first time `key` is seen (a conditional write): an invalid file
    is reported once per commit, not at every schedule tick or sweep. True when sent."""
    if not ports.store.compare_and_set(notice_key(key), None, subject[:200]):
        return False
    ports.notifier.notify(subject, message)
    return True
