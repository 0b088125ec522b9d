"""Time as the controllers see it: the wall clock, and how long this invocation has left.

A Lambda dies at its timeout with nothing run after: claims taken in an invocation are
valid no longer than its remaining time (invariant 11), and a reconcile stops at a safe
point before it (invariant 16). `LambdaClock` reads the context Lambda passes to the
handler; `FixedBudget` is for callers without one (the CLI: a budget it chooses).
"""

from __future__ import annotations

import time
from typing import Any, Protocol


class Clock(Protocol):
    """Now, and the seconds left to work."""

    def now(self) -> float:
        """Seconds since the epoch."""

    def remaining(self) -> float:
        """Seconds left before this invocation is killed (may be 0)."""


class LambdaClock:
    """The clock of one Lambda invocation (`context.get_remaining_time_in_millis()`)."""

    def __init__(self, context: Any) -> None:
        self._context = context

    def now(self) -> float:
        """Wall-clock time, seconds since the epoch."""
        return time.time()

    def remaining(self) -> float:
        """Seconds this invocation has left before Lambda stops it (never negative)."""
        return max(0.0, float(self._context.get_remaining_time_in_millis()) / 1000.0)


class FixedBudget:
    """A clock with a fixed budget from its creation (seconds)."""

    def __init__(self, seconds: float) -> None:
        self._deadline = time.monotonic() + seconds

    def now(self) -> float:
        """Wall-clock time, seconds since the epoch."""
        return time.time()

    def remaining(self) -> float:
        """Seconds left of the budget (never negative; monotonic clock)."""
        return max(0.0, self._deadline - time.monotonic())
