"""The daemon's quiet time, which `local wait` compares with when it began: a push that
lands while a pass looks must never be older than the quiet time the pass reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from ecs_gitops_tools.local.daemon import deliver


@dataclass
class Clock:
    now: float = 100.0

    def __call__(self) -> float:
        self.now += 0.5  # every reading is later than the one before
        return self.now


@dataclass
class Rollouts:
    walking: bool = False

    def busy(self) -> bool:
        return self.walking


@dataclass
class Cloud:
    """Delivers nothing; a push lands (at `clock`'s time) while the pass checks its
    repositories, just after the check looked (a git hook spooling a write-back)."""

    clock: Clock
    delivered: int = 0
    waiting: bool = False
    pushed_at: list[float] = field(default_factory=list)
    rollouts: Rollouts = field(default_factory=Rollouts)

    def run(self) -> int:
        return self.delivered

    def pending(self) -> bool:
        waiting = self.waiting
        self.pushed_at.append(self.clock())
        return waiting


def _deliver(cloud: Cloud, clock: Clock) -> tuple[int, float | None]:
    return deliver(cast(Any, cloud), clock)


def test_a_push_landing_while_the_pass_looks_is_newer_than_the_quiet_time() -> None:
    clock = Clock()
    cloud = Cloud(clock)
    delivered, quiet = _deliver(cloud, clock)
    assert delivered == 0
    assert quiet is not None
    # `local wait` began after the push: it must not take this pass's quiet for its own
    assert quiet < cloud.pushed_at[0]


def test_not_quiet_while_anything_is_delivered_waiting_or_walking() -> None:
    clock = Clock()
    assert _deliver(Cloud(clock, delivered=3), clock) == (3, None)
    assert _deliver(Cloud(clock, waiting=True), clock) == (0, None)
    assert _deliver(Cloud(clock, rollouts=Rollouts(walking=True)), clock) == (0, None)
