"""Client-side token buckets that match ECS's own, one per throttling category.

ECS throttles every API action per account and Region with a token bucket per
*category* of actions ("Request throttling for the Amazon ECS API",
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html,
table "Request Token Bucket Sizes and Refill Rates"): each request takes a token, a
bucket holds at most its burst and refills at its sustained rate. The figures below
are that table's for the actions ecs-gitops calls (checked 2026-11-30):

    category                        actions                                         burst  per second
    task definition modify actions  RegisterTaskDefinition, DeregisterTaskDefinition   20      1
    task definition read actions    DescribeTaskDefinition, ListTaskDefinitions,        50     20
                                    ListTaskDefinitionFamilies
    service modify actions          CreateService, DeleteService, UpdateService        50      5
    service read actions            DescribeServices, ListServices                    100     20
    tag modify actions              TagResource, UntagResource                         20     10
    cluster read actions            DescribeClusters, ListClusters                     50     20

`Pacer` keeps the same buckets on our side and makes each request wait for a token
before it is sent (botocore's `before-send` event, once per attempt), so a reconcile
that registers 1,000 task definitions sends them at the rate ECS accepts instead of
being throttled and backing off. Only the category that is out of tokens waits: a
DescribeServices never queues behind a RegisterTaskDefinition.

Why not botocore's adaptive retry mode: its client-side rate limiter is one bucket
per *client*, lowered for every operation of the client when any one of them is
throttled (botocore/retries/adaptive.py), so throttled registrations slowed the
UpdateService and DescribeServices calls on the same ECS client. The clients now use
the standard retry mode (exponential backoff with jitter; throttling still retried)
and these buckets; a throttle that still happens (another caller in the account used
the tokens) empties only its category's bucket, so that category slows and no other.

The buckets are per process; ECS's are per account and Region. Two things keep them
close: a continuation carries the bucket levels to the next invocation (`state`,
`restore`), and a ThrottlingException empties the category's bucket. The rates are
configurable (`PACING`, JSON `{"category": [burst, per_second]}`; `PACING_SCALE`
multiplies every refill rate, e.g. for a time-scaled benchmark).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Rate:
    """A token bucket's size and refill: `burst` tokens at most, `per_second` added a second."""

    burst: float
    per_second: float

    def faster(self, factor: float) -> Rate:
        """The same bucket refilling `factor` times as fast (the capacity is a count of
        requests, not a rate: it stays). Time runs `factor` times faster for it."""
        return Rate(self.burst, self.per_second * factor)


# ECS's categories (see the module docstring for the source): name -> (rate, actions).
ECS_CATEGORIES: dict[str, tuple[Rate, tuple[str, ...]]] = {
    "task-definition-modify": (Rate(20, 1), ("RegisterTaskDefinition", "DeregisterTaskDefinition")),
    "task-definition-read": (Rate(50, 20), ("DescribeTaskDefinition", "ListTaskDefinitions",
                                            "ListTaskDefinitionFamilies")),
    "service-modify": (Rate(50, 5), ("CreateService", "DeleteService", "UpdateService")),
    "service-read": (Rate(100, 20), ("DescribeServices", "ListServices")),
    "tag-modify": (Rate(20, 10), ("TagResource", "UntagResource")),
    "cluster-read": (Rate(50, 20), ("DescribeClusters", "ListClusters")),
}

THROTTLING_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException",
                              "RequestLimitExceeded"})


def ecs_category(operation: str) -> str | None:
    """The ECS throttling category of `operation` (e.g. "RegisterTaskDefinition"), or None."""
    return _CATEGORY_OF.get(operation)


_CATEGORY_OF = {action: name for name, (_, actions) in ECS_CATEGORIES.items()
                for action in actions}


class TokenBucket:
    """One token bucket (thread-safe). Times are seconds of `clock` (monotonic).

    Args:
        rate: capacity and refill.
        clock: a monotonic clock (tests pass a fake).
        tokens: the level to start at (default: full, as ECS's bucket is after a pause).
    """

    def __init__(self, rate: Rate, *, clock: Callable[[], float] = time.monotonic,
                 tokens: float | None = None) -> None:
        if rate.per_second <= 0 or rate.burst < 1:
            raise ValueError(f"a token bucket needs a burst of at least 1 and a positive rate: {rate}")
        self.rate = rate
        self._clock = clock
        self._tokens = rate.burst if tokens is None else min(rate.burst, tokens)
        self._at = clock()
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        self._tokens = min(self.rate.burst, self._tokens + (now - self._at) * self.rate.per_second)
        self._at = now

    def reserve(self) -> float:
        """Take a token; the seconds to wait before using it (0 when one is there).

        A reservation is a promise: the token is taken now (the level may go below 0),
        so callers that wait the returned time never exceed the bucket's rate.
        """
        with self._lock:
            now = self._clock()
            self._refill(now)
            self._tokens -= 1.0
            return max(0.0, -self._tokens / self.rate.per_second)

    def wait_time(self) -> float:
        """Seconds until a token would be there (0 now), without taking one."""
        with self._lock:
            self._refill(self._clock())
            return max(0.0, (1 - self._tokens) / self.rate.per_second)

    def empty(self) -> None:
        """The service throttled us: assume its bucket is empty now."""
        with self._lock:
            self._refill(self._clock())
            self._tokens = min(self._tokens, 0.0)

    @property
    def tokens(self) -> float:
        """The current level (may be negative while reservations are outstanding)."""
        with self._lock:
            self._refill(self._clock())
            return self._tokens

    def set_tokens(self, tokens: float) -> None:
        """Set the level (at most the burst): what another invocation left."""
        with self._lock:
            self._at = self._clock()
            self._tokens = min(self.rate.burst, tokens)


@dataclass
class PaceStats:
    """What pacing did, per category: requests paced, seconds waited, throttles seen."""

    requests: int = 0
    waited: float = 0.0
    throttled: int = 0


class Pacer:
    """ECS's token buckets on our side, attached to botocore clients.

    Args:
        rates: category -> Rate (default: `ECS_CATEGORIES`' documented figures).
        reserve: tokens of each bucket left unused, so that requests that reach ECS a
            little later or earlier than sent (network jitter) still find a token: with
            1, jitter up to one refill interval (1 s for registrations) is absorbed, at
            the cost of one token of the burst.
        clock, sleep: monotonic clock and sleep (tests pass fakes).
        wall: the wall clock (epoch seconds) used in `state`/`restore`, which travel
            between processes.
    """

    def __init__(self, rates: Mapping[str, Rate] | None = None, *, reserve: float = 1.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 wall: Callable[[], float] = time.time) -> None:
        rates = dict(rates) if rates is not None else {
            name: rate for name, (rate, _) in ECS_CATEGORIES.items()}
        self.rates = rates
        self.buckets = {name: TokenBucket(Rate(max(1.0, rate.burst - reserve), rate.per_second),
                                          clock=clock)
                        for name, rate in rates.items()}
        self.stats = {name: PaceStats() for name in rates}
        self._sleep = sleep
        self._wall = wall

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Pacer:
        """The documented rates, overridden by `PACING`, refilling `PACING_SCALE` times as
        fast.

        Raises:
            ValueError: PACING is not a JSON object of [burst, per_second] pairs, or
                PACING_SCALE is not a positive number.
        """
        rates = {name: rate for name, (rate, _) in ECS_CATEGORIES.items()}
        raw = environ.get("PACING", "").strip()
        if raw:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("PACING must be a JSON object: {category: [burst, per_second]}")
            for name, pair in data.items():
                if name not in rates or not (isinstance(pair, list) and len(pair) == 2):
                    raise ValueError(f"PACING: {name!r} is not one of {sorted(rates)} "
                                     "with [burst, per_second]")
                rates[name] = Rate(float(pair[0]), float(pair[1]))
        scale = float(environ.get("PACING_SCALE", "1") or "1")
        if not scale > 0:
            raise ValueError("PACING_SCALE must be a positive number")
        return cls({name: rate.faster(scale) for name, rate in rates.items()})

    def attach(self, client: Any) -> None:
        """Pace `client`'s ECS operations (no-op for clients of other services)."""
        if client.meta.service_model.service_name != "ecs":
            return
        client.meta.events.register("before-send.ecs", self._before_send)
        client.meta.events.register("needs-retry.ecs", self._after_attempt)

    def wait(self, operation: str) -> float:
        """Take a token of `operation`'s category, sleeping until it is there; the
        seconds slept (0 for operations that are not paced)."""
        category = ecs_category(operation)
        bucket = self.buckets.get(category) if category else None
        if bucket is None or category is None:
            return 0.0
        delay = bucket.reserve()
        stats = self.stats[category]
        stats.requests += 1
        if delay > 0:
            stats.waited += delay
            self._sleep(delay)
        return delay

    def wait_time(self, operation: str) -> float:
        """Seconds the next call of `operation` would wait (0: now)."""
        category = ecs_category(operation)
        bucket = self.buckets.get(category) if category else None
        return bucket.wait_time() if bucket is not None else 0.0

    def throttled(self, operation: str) -> None:
        """ECS throttled `operation`: empty its category's bucket (only that one)."""
        category = ecs_category(operation)
        bucket = self.buckets.get(category) if category else None
        if bucket is not None and category is not None:
            bucket.empty()
            self.stats[category].throttled += 1

    def state(self) -> dict[str, list[float]]:
        """Each bucket's level and when (epoch seconds): what a continuation carries."""
        now = self._wall()
        return {name: [round(bucket.tokens, 3), round(now, 3)]
                for name, bucket in self.buckets.items()}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Start from what an earlier invocation left (`state`), refilled since; ignores
        unknown categories and malformed entries (the state is only a hint)."""
        now = self._wall()
        for name, entry in state.items():
            bucket = self.buckets.get(name)
            try:
                tokens, at = float(entry[0]), float(entry[1])
            except (TypeError, ValueError, IndexError, KeyError):
                continue
            if bucket is None or at > now + 60:  # from the future: not to be trusted
                continue
            bucket.set_tokens(tokens + max(0.0, now - at) * bucket.rate.per_second)

    # botocore hooks ---------------------------------------------------------------
    def _before_send(self, request: Any = None, **kwargs: Any) -> None:
        operation = _operation_of(kwargs.get("event_name", ""))
        if operation:
            self.wait(operation)

    def _after_attempt(self, response: Any = None, **kwargs: Any) -> None:
        if response is None:
            return
        parsed = response[1] if isinstance(response, tuple) and len(response) > 1 else {}
        code = (parsed or {}).get("Error", {}).get("Code")
        if code in THROTTLING_CODES:
            operation = _operation_of(kwargs.get("event_name", ""))
            if operation:
                self.throttled(operation)


def _operation_of(event_name: str) -> str:
    """`before-send.ecs.RegisterTaskDefinition` -> `RegisterTaskDefinition`."""
    parts = event_name.split(".")
    return parts[2] if len(parts) > 2 else ""
