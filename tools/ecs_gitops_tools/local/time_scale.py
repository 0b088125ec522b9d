"""The embedded cloud's clock for ECS's minutes (bake times, hook time-outs).

ECS counts bake times and lifecycle hook time-outs in minutes. The embedded cloud
plays one ECS minute in `MINUTE` seconds (ECS_GITOPS_LOCAL_MINUTE_SECONDS, default 1),
so that a 10-minute canary bake takes 10 seconds of a demo; tests set the clock.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

_state: dict[str, Callable[[], float]] = {"clock": time.time}
_minute: dict[str, float | None] = {"seconds": None}


def set_minute(seconds: float | None) -> None:
    """Play one ECS minute in `seconds` (None: the environment's setting again)."""
    _minute["seconds"] = seconds


def minute_seconds() -> float:
    """Seconds one ECS minute lasts in the embedded cloud (> 0)."""
    if _minute["seconds"] is not None:
        return float(_minute["seconds"])
    try:
        value = float(os.environ.get("ECS_GITOPS_LOCAL_MINUTE_SECONDS", "1"))
    except ValueError:
        return 1.0
    return value if value > 0 else 1.0


def clock() -> float:
    """Now, in seconds (time.time unless a test set another clock)."""
    return _state["clock"]()


def set_clock(source: Callable[[], float] | None) -> None:
    """Use `source` as the clock (None: time.time again)."""
    _state["clock"] = source or time.time
