"""ECS's request throttling, enforced by the embedded AWS.

Real ECS throttles each account and Region with one token bucket per category of API
actions and answers `ThrottlingException` ("Rate exceeded", HTTP 400) when a bucket is
empty ("Request throttling for the Amazon ECS API",
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html).
moto accepts every call at any rate, so a test or benchmark on it can neither see
throttling nor prove that ecs-gitops avoids it. `enforce` puts the same buckets in
front of moto's ECS actions (the figures of `ecs_gitops.aws.pacing.ECS_CATEGORIES`,
the one copy of that table), optionally time-scaled: with `scale=10` every bucket
refills ten times as fast (and holds as many tokens as on AWS), so a benchmark of what
takes 980 s on AWS runs in 98 s with the same shape.

The buckets start full (an idle account). `stats()` counts what was accepted and what
was throttled, per action. `enforce(None)` switches it off.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from ecs_gitops.aws.pacing import ECS_CATEGORIES, Rate, TokenBucket, ecs_category

_lock = threading.Lock()
_state: dict[str, Any] = {"buckets": None, "accepted": Counter(), "throttled": Counter(),
                          "times": {}}
_patched = False


def enforce(scale: float | None = 1.0, *, rates: Mapping[str, Rate] | None = None,
            clock: Callable[[], float] = time.monotonic) -> None:
    """Throttle moto's ECS actions like ECS (None: stop throttling).

    Args:
        scale: multiplies every bucket's refill rate (time scaling).
        rates: category -> Rate, instead of ECS's documented figures.
        clock: the buckets' monotonic clock.
    """
    _patch()
    with _lock:
        _state["accepted"] = Counter()
        _state["throttled"] = Counter()
        _state["times"] = {}
        if scale is None:
            _state["buckets"] = None
            return
        table = rates or {name: rate for name, (rate, _) in ECS_CATEGORIES.items()}
        _state["clock"] = clock
        _state["buckets"] = {name: TokenBucket(rate.faster(scale), clock=clock)
                             for name, rate in table.items()}


def stats() -> dict[str, Counter[str]]:
    """{"accepted": action -> count, "throttled": action -> count} since `enforce`."""
    with _lock:
        return {"accepted": Counter(_state["accepted"]),
                "throttled": Counter(_state["throttled"])}


def admitted(action: str) -> list[float]:
    """When each call of `action` was admitted since `enforce` (the buckets' clock)."""
    with _lock:
        return list(_state["times"].get(action, ()))


def _admit(action: str) -> None:
    """Take a token for `action`, or raise ECS's ThrottlingException."""
    from moto.core.exceptions import JsonRESTError

    with _lock:
        buckets = _state["buckets"]
        category = ecs_category(action)
        if buckets is None or category not in buckets:
            return
        bucket = buckets[category]
        if bucket.wait_time() > 0:
            _state["throttled"][action] += 1
            raise JsonRESTError("ThrottlingException", "Rate exceeded")
        bucket.reserve()
        _state["accepted"][action] += 1
        _state["times"].setdefault(action, []).append(_state["clock"]())


def _guarded(action: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def handler(self: Any, *args: Any, **kwargs: Any) -> Any:
        _admit(action)
        return original(self, *args, **kwargs)
    handler.__name__ = getattr(original, "__name__", action)
    handler.__wrapped__ = original  # type: ignore[attr-defined]
    return handler


def _patch() -> None:
    """Wrap each paced action of moto's ECS responses once (idempotent), after the
    other patches (which replace some of the same methods)."""
    global _patched
    from ecs_gitops_tools.local.moto_patches import apply_patches

    apply_patches()
    with _lock:
        if _patched:
            return
        from moto.core.utils import camelcase_to_underscores
        from moto.ecs.responses import EC2ContainerServiceResponse

        cls: Any = EC2ContainerServiceResponse
        for _, actions in ECS_CATEGORIES.values():
            for action in actions:
                method = camelcase_to_underscores(action)
                original = getattr(cls, method, None)
                if original is not None:
                    setattr(cls, method, _guarded(action, original))
        _patched = True
