"""Release history, leases, known-bad images and processed-event records: the port,
its records, and every key format the controllers use (one place, so two callers can
never spell a key differently).

`ecs_gitops.aws.dynamodb.DynamoStore` implements the port on one DynamoDB table (pk,
sk, TTL on `expires_at`). Every write that must happen once is a conditional write, so
EventBridge's at-least-once delivery and concurrent Lambdas stay harmless.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from ecs_gitops.errors import ClaimInProgressError, LeaseHeldError

# Longer than EventBridge's maximum event age (24 h) and Lambda's asynchronous retry
# window (MaximumEventAgeInSeconds, at most 6 h): a duplicate delivery always finds it.
PROCESSED_TTL = 14 * 24 * 3600
# Remembered task definitions are a cache (ECS keeps the original): one that expires is
# described again by the next fresh container that needs it, and remembered again.
TASK_DEFINITION_TTL = 30 * 24 * 3600


class ReleaseState(StrEnum):
    """Where a release stands. Stored as the value."""

    IN_PROGRESS = "IN_PROGRESS"
    HEALTHY = "HEALTHY"
    FAILED = "FAILED"
    SUPERSEDED = "SUPERSEDED"  # a newer release of the service started before it ended
    STUCK = "STUCK"  # not finished by its deadline (reported)
    NO_CHANGE = "NO_CHANGE"


class ClaimStatus(StrEnum):
    """A processed-event record's state (Powertools' idempotency record states)."""

    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"


@dataclass(frozen=True, slots=True)
class ClaimRecord:
    """A processed-event record as stored.

    Attributes:
        key: the claim's key (see the key formats below).
        status: IN_PROGRESS while someone works on it, COMPLETED after.
        in_progress_until: epoch seconds after which an IN_PROGRESS record is work to
            redo (its worker was killed); at most the function's timeout after it began.
        expires_at: epoch seconds after which the record means nothing (DynamoDB's TTL
            deletes it up to 48 h later, so readers compare the time themselves).
        outcome: what the work did (a short text), once COMPLETED.
    """

    key: str
    status: ClaimStatus
    in_progress_until: float
    expires_at: float
    outcome: str = ""


@dataclass(frozen=True, slots=True)
class Release:
    """One deployment of one service, as ecs-gitops started it.

    Attributes:
        environment, service: what was deployed (service: the ECS service name).
        commit: the branch tip (or working-tree revision) the reconcile applied.
        task_definition: the ARN the service was updated to.
        image: `repository:tag`.
        outcome: a `ReleaseState`.
        started_at: ISO-8601 UTC timestamp; the record's sort key starts with it.
        reason: why the reconcile ran (a `Trigger` value), or the failure's reason.
        deployment_id: the ECS deployment UpdateService/CreateService started
            (`ecs-svc/...`); empty when ECS did not report one.
        deadline: ISO-8601 UTC time by which the rollout should have ended; past it,
            a release still IN_PROGRESS is STUCK (see `engine.release_deadline`).
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
    deadline: str = ""

    @property
    def tag(self) -> str:
        """The image tag of the release."""
        return self.image.rsplit(":", 1)[-1]

    @property
    def record_key(self) -> str:
        """The release's sort key: its start time (so that newest sorts last) and what
        makes it unique when two start within one clock tick."""
        return f"{self.started_at}#{self.deployment_id or self.task_definition}"


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


@dataclass(frozen=True, slots=True)
class Operation:
    """A person's action on a running deployment: `approve` (ContinueServiceDeployment)
    or `abort` (StopServiceDeployment, ROLLBACK), kept with the release it acted on.

    Attributes:
        action: "approve" or "abort".
        environment, service: the release's (service: the ECS service name).
        deployment: the ECS service deployment ARN acted on.
        who: the person (`user@host`, or the AWS caller's ARN when known).
        at: ISO-8601 UTC time of the call.
        detail: the hook continued, the stage, ...
    """

    action: str
    environment: str
    service: str
    deployment: str
    who: str
    at: str
    detail: str = ""

    def encode(self) -> str:
        """The record as stored (JSON)."""
        import json

        return json.dumps({"action": self.action, "environment": self.environment,
                           "service": self.service, "deployment": self.deployment,
                           "who": self.who, "at": self.at, "detail": self.detail},
                          sort_keys=True)

    @classmethod
    def decode(cls, value: str) -> Operation:
        """A stored record back. Raises ValueError for a record that is not one."""
        import json

        data = json.loads(value)
        if not isinstance(data, dict):
            raise ValueError("not an operation record")
        return cls(**{k: str(data.get(k, "")) for k in (
            "action", "environment", "service", "deployment", "who", "at", "detail")})

    @classmethod
    def decode_list(cls, value: str | None) -> list[Operation]:
        """The records of an `operations_key` value ([] for None). Raises ValueError for
        a value that is not a list of records."""
        import json

        if not value:
            return []
        items = json.loads(value)
        if not isinstance(items, list):
            raise ValueError("not a list of operation records")
        return [cls.decode(json.dumps(item)) for item in items]

    @staticmethod
    def encode_list(records: list[Operation]) -> str:
        """`records` as an `operations_key` value."""
        import json

        return json.dumps([json.loads(r.encode()) for r in records], sort_keys=True)

    def describe(self) -> str:
        """`approve by alice@laptop at 2026-11-30T21:00:00+00:00 (hook ...)`."""
        return f"{self.action} by {self.who} at {self.at}" + (
            f" ({self.detail})" if self.detail else "")


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


def operations_key(environment: str, service: str) -> str:
    """People's actions (approve, abort) on `service`'s deployments: a JSON list of
    `Operation` records, oldest first (`Operation.encode_list`)."""
    return f"operations#{environment}#{service}"


def tip_key(branch: str) -> str:
    """The last branch tip whose pushes were handled (moves only forward)."""
    return f"tip#{branch}"


def notice_key(key: str) -> str:
    """A notification already sent (e.g. `invalid#production#<commit>`)."""
    return f"notice#{key}"


def sweep_key(project: str) -> str:
    """When the sweep last read the finished builds of `project` (ISO-8601 UTC)."""
    return f"sweep#builds#{project}"


def bad_image_key(environment: str, service: str, tag: str) -> str:
    """An image of `service` that failed a rollout in `environment`."""
    return f"bad-image#{environment}#{service}#{tag}"


def attempted_key(environment: str) -> str:
    """The revision a reconcile of `environment` last started to apply."""
    return f"attempted#{environment}"


def applied_key(environment: str) -> str:
    """The revision a reconcile of `environment` last finished applying."""
    return f"applied#{environment}"


def paused_key(environment: str) -> str:
    """The revision whose apply last stopped cleanly at a deadline (between services,
    everything recorded): a continuation has nothing half-done to look for."""
    return f"paused#{environment}"


def task_definition_key(arn: str) -> str:
    """A task definition remembered by ARN (its DescribeTaskDefinition document)."""
    return f"taskdef#{arn}"


def preview_key(repository: str, pull_request: str, source: str, destination: str) -> str:
    """Processed record of the plan preview of one pull request at one (source,
    destination) pair of commits."""
    return f"preview#{repository}#{pull_request}#{source}#{destination}"


def preview_comment_key(repository: str, pull_request: str) -> str:
    """The id of the one comment the preview keeps up to date on a pull request."""
    return f"preview-comment#{repository}#{pull_request}"


def preview_token_key(repository: str, pull_request: str) -> str:
    """How many times the pull request's first-post idempotency token was found spent
    (the generation of the token the next first post uses; absent: 0)."""
    return f"preview-token#{repository}#{pull_request}"


def preview_shown_key(repository: str, pull_request: str) -> str:
    """`SOURCE#DESTINATION`: the commits whose preview the pull request's comment shows
    (so that a source branch pushed back to an earlier commit is previewed again)."""
    return f"preview-shown#{repository}#{pull_request}"


def lease_key(environment: str) -> str:
    """The one-writer lease of `environment` (invariant 8)."""
    return f"env#{environment}"


class Store(Protocol):
    """The state the controllers keep between invocations (see the module docstring)."""

    def begin(self, key: str, *, in_progress_seconds: float, ttl: int = PROCESSED_TTL
              ) -> tuple[bool, ClaimRecord | None]:
        """Take the claim `key` as IN_PROGRESS (one conditional write).

        It is taken when there is no record, the record expired, or it is IN_PROGRESS
        past its `in_progress_until` (the worker died). Returns (taken, the record that
        was there before): when not taken, that record stands (COMPLETED, or IN_PROGRESS
        by a live worker); when taken over from a dead worker, it tells the caller to
        look for what that worker may already have done."""

    def complete(self, key: str, outcome: str, *, ttl: int = PROCESSED_TTL) -> None:
        """Mark the claim COMPLETED with what the work did."""

    def forget(self, key: str) -> None:
        """Delete the claim: its work failed (or is left for later) and may be redone."""

    def claim_record(self, key: str) -> ClaimRecord | None:
        """The claim's record, or None."""

    def acquire_lease(self, name: str, owner: str, *, seconds: int) -> bool:
        """Take (or renew, for the same owner) the lease `name` for `seconds`; False
        while another owner holds an unexpired one."""

    def release_lease(self, name: str, owner: str) -> None:
        """Give the lease back if `owner` still holds it."""

    def get_value(self, key: str) -> str | None:
        """A stored value, or None."""

    def get_values(self, keys: list[str]) -> dict[str, str]:
        """The values stored under `keys` (missing ones left out; batched reads)."""

    def put_value(self, key: str, value: str) -> None:
        """Store a value (unconditionally)."""

    def put_values(self, values: Mapping[str, str]) -> None:
        """Store several values (unconditionally; batched writes)."""

    def compare_and_set(self, key: str, expected: str | None, value: str) -> bool:
        """Set `key` to `value` only if it is still `expected` (None: absent)."""

    def record_releases(self, releases: list[Release]) -> None:
        """Write (or overwrite) release records; each becomes its service's latest."""

    def releases(self, environment: str, service: str, *, limit: int = 20) -> list[Release]:
        """The service's releases, newest first."""

    def latest_releases(self, environment: str, services: list[str]) -> dict[str, Release]:
        """The newest release of each of `services` that has one (batched reads)."""

    def set_outcome(self, release: Release, outcome: ReleaseState, reason: str = "") -> None:
        """Change a release's outcome (and reason), in its history and as the latest."""

    def bad_image(self, key: str) -> BadImage | None:
        """The known-bad image record under `key` (see `bad_image_key`), or None."""

    def bad_images(self, keys: list[str]) -> dict[str, BadImage]:
        """The known-bad image records among `keys` (batched reads)."""

    def mark_bad_image(self, key: str, bad: BadImage) -> None:
        """Remember an image as bad (it failed a rollout)."""

    def task_definition_documents(self, arns: list[str]) -> dict[str, str]:
        """The remembered documents of `arns` (see `TaskDefinitionMemory`; batched reads)."""

    def remember_task_definitions(self, documents: Mapping[str, str]) -> None:
        """Remember task definition documents by ARN (batched writes, expiring after
        `TASK_DEFINITION_TTL`)."""

    def clear_bad_image(self, key: str) -> None:
        """Forget that an image failed (an operator released it); no-op when not known."""


class TaskDefinitionMemory(Protocol):
    """Task definitions remembered across containers, by ARN.

    Task definitions are immutable, so what DescribeTaskDefinition (or
    RegisterTaskDefinition) returned for an ARN stays true: a fresh container reads the
    documents of the running definitions in a few batched reads instead of one
    DescribeTaskDefinition each (ECS's task definition read bucket refills at 20 a
    second). Documents are opaque JSON text to the store; `ecs_gitops.aws.ecs` writes
    and parses them. The `Store` implements it.
    """

    def task_definition_documents(self, arns: list[str]) -> dict[str, str]:
        """ARN -> document, for the ARNs remembered (missing ones left out)."""

    def remember_task_definitions(self, documents: Mapping[str, str]) -> None:
        """Remember ARN -> document."""


class Claim:
    """The handle `claimed` yields: whether the work was done before, and a way to
    leave it for later instead of completing it."""

    def __init__(self, key: str, standing: ClaimRecord | None, *, redo: bool = False) -> None:
        self.key = key
        self.standing = standing  # the COMPLETED record, when the work was done before
        self.redo = redo  # taken over from a worker that died: it may have done part of it
        self.outcome = ""
        self.released = False

    @property
    def done_before(self) -> bool:
        """True when the work was already done: the caller does nothing."""
        return self.standing is not None

    def release(self) -> None:
        """At the end of the block, delete the claim instead of completing it (the work
        is not consumed: a retry or the sweep should do it again)."""
        self.released = True


@contextmanager
def claimed(store: Store, key: str, *, seconds: float, ttl: int = PROCESSED_TTL
            ) -> Iterator[Claim]:
    """Do the work of `key` once, with the semantics of Powertools' idempotency utility
    (aws_lambda_powertools/utilities/idempotency/base.py):

    - the claim is recorded IN_PROGRESS, valid for `seconds` (the invocation's remaining
      time, never more than the function's timeout);
    - when the block ends normally it is COMPLETED (or deleted after `Claim.release`);
    - when the block raises an Exception it is deleted, so that a retry does the work;
    - when the process is killed (a time-out, out of memory: nothing runs) it stays
      IN_PROGRESS until `seconds` have passed, and is then work to redo.

    The block is entered in every case; `Claim.done_before` says that a COMPLETED record
    stands and the block must do nothing.

    Raises:
        ClaimInProgressError: a live worker holds the claim (transient: Lambda retries
            the event later, when the work is done or the worker is known dead).
    """
    taken, previous = store.begin(key, in_progress_seconds=seconds, ttl=ttl)
    if not taken and previous is not None and previous.status is ClaimStatus.IN_PROGRESS:
        raise ClaimInProgressError(f"{key} is being handled by another invocation")
    claim = Claim(key, None if taken else previous, redo=taken and previous is not None
                  and previous.status is ClaimStatus.IN_PROGRESS)
    if claim.done_before:
        yield claim
        return
    try:
        yield claim
    except Exception:
        store.forget(key)
        raise
    if claim.released:
        store.forget(key)
    else:
        store.complete(key, claim.outcome, ttl=ttl)


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
