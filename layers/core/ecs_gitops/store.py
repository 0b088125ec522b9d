"""Release history, leases, known-bad images and processed-event records: the port,
its records, and every key format the controllers use (one place, so two callers can
never spell a key differently).

`ecs_gitops.aws.dynamodb.DynamoStore` implements the port on one DynamoDB table (pk,
sk, TTL on `expires_at`). Every write that must happen once is a conditional write, so
EventBridge's at-least-once delivery and concurrent Lambdas stay harmless.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from ecs_gitops.errors import LeaseHeldError

# Longer than EventBridge's maximum event age (24 h) and Lambda's asynchronous retry
# window (MaximumEventAgeInSeconds, at most 6 h): a duplicate delivery always finds it.
PROCESSED_TTL = 14 * 24 * 3600


class ReleaseState(StrEnum):
    """Where a release stands. Stored as the value."""

    IN_PROGRESS = "IN_PROGRESS"
    HEALTHY = "HEALTHY"
    FAILED = "FAILED"
    NO_CHANGE = "NO_CHANGE"


@dataclass(frozen=True, slots=True)
class Release:
    """One deployment of one service, as ecs-gitops started it.

    Attributes:
        environment, service: what was deployed (service: the ECS service name).
        commit: the branch tip (or working-tree revision) the reconcile applied.
        task_definition: the ARN the service was updated to.
        image: `repository:tag`.
        outcome: a `ReleaseState`.
        started_at: ISO-8601 UTC timestamp; also the record's sort key.
        reason: why the reconcile ran (a `Trigger` value), or the failure's reason.
        deployment_id: the ECS deployment UpdateService/CreateService started
            (`ecs-svc/...`); empty when ECS did not report one.
    """

    environment: str
    service: str
    commit: str
    task_definition: str
    image: str
    outcome: ReleaseState
    started_at: str
    reason: str = ""
    deployment_id: str = ""

    @property
    def tag(self) -> str:
        """The image tag of the release."""
        return self.image.rsplit(":", 1)[-1]


@dataclass(frozen=True, slots=True)
class BadImage:
    """An image that failed a rollout: which deployment, when, and ECS's reason."""

    deployment_id: str
    at: str = ""
    reason: str = ""

    def encode(self) -> str:
        """The stored form (JSON)."""
        return json.dumps({"deployment": self.deployment_id, "at": self.at,
                           "reason": self.reason}, sort_keys=True)

    @classmethod
    def decode(cls, value: str) -> BadImage:
        """From the stored form; a bare deployment id (older records) is accepted."""
        try:
            data = json.loads(value)
        except ValueError:
            return cls(deployment_id=value)
        if not isinstance(data, dict):
            return cls(deployment_id=value)
        return cls(deployment_id=str(data.get("deployment", "")), at=str(data.get("at", "")),
                   reason=str(data.get("reason", "")))

    def describe(self) -> str:
        """`deployment ecs-svc/123 at 2026-11-30T10:00:00Z: tasks failed to start`."""
        text = f"deployment {self.deployment_id}"
        if self.at:
            text += f" at {self.at}"
        if self.reason:
            text += f": {self.reason}"
        return text


# ------------------------------------------------------------------ key formats
def push_key(branch: str, commit: str) -> str:
    """Processed record of a pushed branch tip."""
    return f"push#{branch}#{commit}"


def build_start_key(environment: str, service: str, commit: str) -> str:
    """Processed record of the one build of `service` for `commit` (invariant 2)."""
    return f"build#{environment}#{service}#{commit}"


def build_key(build_id: str) -> str:
    """Processed record of a finished build, whether it is named by its ARN (events)
    or its id (the API): `arn:...:build/api-dev:1` and `api-dev:1` are one build."""
    return f"build-finished#{build_id.rsplit(':build/', 1)[-1]}"


def deployment_key(deployment_id: str, event_name: str) -> str:
    """Processed record of one ECS deployment event."""
    return f"deployment#{deployment_id}#{event_name}"


def tip_key(branch: str) -> str:
    """The last branch tip whose pushes were handled (moves only forward)."""
    return f"tip#{branch}"


def bad_image_key(environment: str, service: str, tag: str) -> str:
    """An image of `service` that failed a rollout in `environment`."""
    return f"bad-image#{environment}#{service}#{tag}"


def attempted_key(environment: str) -> str:
    """The revision a reconcile of `environment` last started to apply."""
    return f"attempted#{environment}"


def applied_key(environment: str) -> str:
    """The revision a reconcile of `environment` last finished applying."""
    return f"applied#{environment}"


def lease_key(environment: str) -> str:
    """The one-writer lease of `environment` (invariant 8)."""
    return f"env#{environment}"


class Store(Protocol):
    """The state the controllers keep between invocations (see the module docstring)."""

    def claim(self, key: str, *, ttl: int = PROCESSED_TTL) -> bool:
        """Record `key` as processed; False when it already was (the caller skips)."""

    def unclaim(self, key: str) -> None:
        """Forget a claim whose work failed, so that a retry can do it."""

    def acquire_lease(self, name: str, owner: str, *, seconds: int) -> bool:
        """Take (or renew, for the same owner) the lease `name` for `seconds`; False
        while another owner holds an unexpired one."""

    def release_lease(self, name: str, owner: str) -> None:
        """Give the lease back if `owner` still holds it."""

    def get_value(self, key: str) -> str | None:
        """A stored value, or None."""

    def put_value(self, key: str, value: str) -> None:
        """Store a value (unconditionally)."""

    def compare_and_set(self, key: str, expected: str | None, value: str) -> bool:
        """Set `key` to `value` only if it is still `expected` (None: absent)."""

    def record_release(self, release: Release) -> None:
        """Write (or overwrite) a release record."""

    def releases(self, environment: str, service: str, *, limit: int = 20) -> list[Release]:
        """The service's releases, newest first."""

    def set_outcome(self, release: Release, outcome: ReleaseState, reason: str = "") -> None:
        """Change a release's outcome (and reason)."""

    def bad_image(self, key: str) -> BadImage | None:
        """The known-bad image record under `key` (see `bad_image_key`), or None."""

    def mark_bad_image(self, key: str, bad: BadImage) -> None:
        """Remember an image as bad (it failed a rollout)."""


@contextmanager
def lease(store: Store, environment: str, owner: str, *, seconds: int) -> Iterator[None]:
    """Hold the environment's one-writer lease (invariant 8) for the block.

    Raises:
        LeaseHeldError: another reconcile or apply holds it (transient: try later).
    """
    key = lease_key(environment)
    if not store.acquire_lease(key, owner, seconds=seconds):
        raise LeaseHeldError(f"another reconcile or apply of {environment} holds the lease")
    try:
        yield
    finally:
        store.release_lease(key, owner)
