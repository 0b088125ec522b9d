"""Release history, leases and processed-event records: the port and its records.

`ecs_gitops.aws.dynamodb.DynamoStore` implements it on one DynamoDB table (pk, sk,
TTL on `expires_at`). Every write that must happen once is a conditional write, so
EventBridge's at-least-once delivery and concurrent Lambdas stay harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

PROCESSED_TTL = 14 * 24 * 3600  # longer than EventBridge's maximum event age (24 h)


@dataclass(frozen=True, slots=True)
class Release:
    environment: str
    service: str
    commit: str  # the branch tip the reconcile applied
    task_definition: str
    image: str
    outcome: str  # IN_PROGRESS | HEALTHY | FAILED | NO_CHANGE
    started_at: str  # ISO-8601, also the sort key
    reason: str = ""


class Store(Protocol):
    def claim(self, key: str, *, ttl: int = PROCESSED_TTL) -> bool:
        """Record `key` as processed; False when it already was (the caller skips)."""

    def unclaim(self, key: str) -> None:
        """Forget a claim whose work failed, so that a retry can do it."""

    def acquire_lease(self, name: str, owner: str, *, seconds: int) -> bool: ...

    def release_lease(self, name: str, owner: str) -> None: ...

    def get_value(self, key: str) -> str | None: ...

    def put_value(self, key: str, value: str) -> None: ...

    def compare_and_set(self, key: str, expected: str | None, value: str) -> bool:
        """Set `key` to `value` only if it is still `expected` (None: absent)."""

    def record_release(self, release: Release) -> None: ...

    def releases(self, environment: str, service: str, *, limit: int = 20) -> list[Release]:
        """Newest first."""

    def set_outcome(self, release: Release, outcome: str, reason: str = "") -> None: ...
