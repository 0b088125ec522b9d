"""What lets a reconcile stop before Lambda's deadline and another one go on from there.

A Lambda is killed at its timeout with nothing run after it (no `finally`), and an
image change of 1,000 services needs about 980 s of RegisterTaskDefinition calls at
ECS's rate (20 at once, then one a second) while the function may run 300 s (900 s at
most). So a reconcile:

- watches the invocation's remaining time (`Budget`) and, before each service, stops
  if the slowest service so far would not fit before the margin (a *safe point*: no
  service is half-changed, every release is written);
- writes releases in batches (`ReleaseBook`) as it goes: what a kill loses is at most
  one batch, which the next run rebuilds from ECS (`engine.recover_interrupted`);
- leaves marks (`Marks`): the revision attempted, the one applied, and the one whose
  run stopped cleanly. A run that was *killed* (attempted, neither applied nor paused)
  may have registered a task definition that no service uses yet, so the next one
  looks up each changing family's latest revision; after a clean stop it need not.

Everything here is pure bookkeeping on the `Store` port; the engine decides when.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ecs_gitops.store import (
    Release,
    ReleaseState,
    Store,
    applied_key,
    attempted_key,
    paused_key,
)

# BatchWriteItem takes 25 items; a release is two (its history entry and the latest
# pointer), so 12 releases fill one call.
RELEASES_PER_WRITE = 12


@dataclass(frozen=True, slots=True)
class Budget:
    """How long a run may go on: the invocation's remaining time less a margin.

    Attributes:
        remaining: seconds left before the invocation is killed (the Lambda context's
            `get_remaining_time_in_millis() / 1000`, via `Clock.remaining`).
        margin: seconds kept for what a stop needs after the last service: flushing
            the releases, the marks, the continuation event and the lease (each one a
            DynamoDB or EventBridge call, retried on throttling).
    """

    remaining: Callable[[], float]
    margin: float = 20.0

    def allows(self, seconds: float) -> bool:
        """True when `seconds` of work still fit before the margin."""
        return self.remaining() - self.margin > seconds


class Stopwatch:
    """Measures steps on the budget's own clock and says whether one more fits.

    The estimate of a step is the slowest of its kind so far (a paced registration
    makes each service take about a second on AWS); before the first one, 0."""

    def __init__(self, budget: Budget | None) -> None:
        self.budget = budget
        self.slowest: dict[str, float] = {}
        self._started: dict[str, float] = {}

    def fits(self, kind: str) -> bool:
        """True when another step of `kind` fits (always, without a budget)."""
        return self.budget is None or self.budget.allows(self.slowest.get(kind, 0.0))

    def start(self, kind: str) -> None:
        """A step of `kind` starts now."""
        if self.budget is not None:
            self._started[kind] = self.budget.remaining()

    def stop(self, kind: str) -> None:
        """The step of `kind` started last has ended: remember how long it took."""
        if self.budget is not None and kind in self._started:
            took = self._started.pop(kind) - self.budget.remaining()
            self.slowest[kind] = max(self.slowest.get(kind, 0.0), took)


@dataclass(frozen=True, slots=True)
class Marks:
    """The revisions a reconcile of one environment last attempted, applied and paused at.

    Read once per run, in one batched read (`read`)."""

    attempted: str | None = None
    applied: str | None = None
    paused: str | None = None

    @classmethod
    def read(cls, store: Store, environment: str) -> Marks:
        """The environment's marks (one BatchGetItem)."""
        keys = [attempted_key(environment), applied_key(environment), paused_key(environment)]
        values = store.get_values(keys)
        return cls(*(values.get(k) or None for k in keys))

    @property
    def interrupted(self) -> bool:
        """The last run did not finish its revision (it stopped or was killed)."""
        return bool(self.attempted) and self.attempted != self.applied

    @property
    def killed(self) -> bool:
        """The last run was interrupted other than at a clean stop: it may have left a
        registered task definition unused and releases unwritten."""
        return self.interrupted and self.paused != self.attempted

    def resuming(self, revision: str) -> bool:
        """The last run started applying `revision` and did not finish it."""
        return self.interrupted and self.attempted == revision

    def begin(self, environment: str, revision: str) -> dict[str, str]:
        """The values to write before the first change of a run of `revision` (empty
        when they are already so): attempted, and no clean stop (any kill from now on
        must look like one)."""
        values: dict[str, str] = {}
        if self.attempted != revision:
            values[attempted_key(environment)] = revision
        if self.paused:
            values[paused_key(environment)] = ""
        return values


@dataclass
class ReleaseBook:
    """Releases recorded as their services change, written in batches.

    `add` keeps a release (and the earlier one it supersedes); every
    `RELEASES_PER_WRITE` releases, and at each safe point (`flush`), they are written
    in one BatchWriteItem, then the superseded ones are closed. `on_flush` runs at
    every flush (the cloud's own buffered writes go with it).
    """

    store: Store | None
    on_flush: Callable[[], None] = lambda: None
    every: int = RELEASES_PER_WRITE
    recorded: list[Release] = field(default_factory=list)
    _pending: list[Release] = field(default_factory=list)
    _superseded: list[tuple[Release, str]] = field(default_factory=list)

    def add(self, release: Release, *, supersedes: Release | None = None) -> None:
        """Keep `release`; write the batch when it is full."""
        self.recorded.append(release)
        if self.store is None:
            return
        self._pending.append(release)
        if supersedes is not None:
            self._superseded.append(
                (supersedes, f"superseded by {release.deployment_id or release.image}"))
        if len(self._pending) >= self.every:
            self.flush()

    def flush(self) -> None:
        """Write what is kept (a safe point)."""
        if self.store is not None and self._pending:
            self.store.record_releases(list(self._pending))
            self._pending.clear()
        if self.store is not None:
            for release, why in self._superseded:
                self.store.set_outcome(release, ReleaseState.SUPERSEDED, why)
        self._superseded.clear()
        self.on_flush()
