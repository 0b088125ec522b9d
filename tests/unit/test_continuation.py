"""The reconcile controller against its invocation's deadline, on fakes: it pauses at a
safe point, releases the lease, asks for its continuation (revision, services left,
how many came before) and the continuation converges; a continuation whose revision is
no longer the tip reconciles the tip instead; the chain is bounded."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import yaml
from fakes import DeadlineClock, Fakes
from scenes import ACCOUNT, reconcile_event, world

from ecs_gitops.controllers import reconcile
from ecs_gitops.controllers.outcome import Kind, Reason
from ecs_gitops.events import ReconcileEvent, Trigger

N = 8


def services(n: int = N, tag: str = "1" * 40) -> str:
    return yaml.safe_dump({
        "schemaVersion": 1, "environment": "production", "branch": "main",
        "region": "us-east-1", "cluster": "dbscluster",
        "services": [{"name": f"svc{i}", "image": {"repository": "app", "tag": tag},
                      "cpu": 256, "memory": 512, "port": 80, "desiredCount": 1}
                     for i in range(n)]}, sort_keys=False)


def big_world(**settings: Any) -> Fakes:
    fakes = world(deadline_margin=2, **settings)
    fakes.git.commit("main", {"desired_state/production.yaml": services()})
    fakes.cloud.tick = lambda: setattr(fakes.store, "now", fakes.store.now + 1)
    return fakes


def within(fakes: Fakes, seconds: float) -> Any:
    """The ports of an invocation that may run `seconds` (of the store's fake time)."""
    return fakes.ports(clock=DeadlineClock(fakes.store, seconds))


def continuation_event(detail: dict[str, Any]) -> ReconcileEvent:
    return ReconcileEvent.model_validate({
        "version": "0", "id": "c1", "detail-type": "Reconcile Requested",
        "source": "ecs-gitops", "account": ACCOUNT, "time": "2026-11-30T00:00:00Z",
        "region": "us-east-1", "resources": [],
        "detail": {k: v for k, v in detail.items() if v is not None}})


def _registered(fakes: Fakes) -> list[str]:
    return [c[1] for c in fakes.cloud.calls if c[0] == "register_task_definition"]


def test_a_reconcile_pauses_and_asks_for_its_continuation_after_the_lease() -> None:
    fakes = big_world()
    leases_when_asked: list[dict[str, Any]] = []
    request = fakes.bus.request_reconcile

    def spy(*args: Any, **kwargs: Any) -> None:
        leases_when_asked.append(dict(fakes.store.leases))
        request(*args, **kwargs)

    fakes.bus.request_reconcile = spy  # type: ignore[method-assign]
    outcome = reconcile.handle(reconcile_event("production"), within(fakes, 10))
    assert outcome.kind is Kind.PAUSED
    assert outcome.reason is Reason.DEADLINE
    assert outcome.get("left") == N - 3
    detail = fakes.bus.details[-1]
    assert detail["reason"] == Trigger.CONTINUATION.value
    assert detail["commit"] == fakes.git.branches["main"]
    assert detail["services"] == [f"svc{i}" for i in range(3, N)]
    assert detail["continuation"] == 1
    assert leases_when_asked == [{}]  # the lease was released first


def test_the_chain_of_continuations_converges_without_registering_twice() -> None:
    fakes = big_world()
    outcome = reconcile.handle(reconcile_event("production"), within(fakes, 10))
    seen = 1
    while outcome.kind is Kind.PAUSED:
        detail = fakes.bus.details[-1]
        outcome = reconcile.handle(continuation_event(detail), within(fakes, 10))
        seen += 1
    assert outcome.kind is Kind.APPLIED
    assert seen == 3
    assert sorted(_registered(fakes)) == sorted(f"svc{i}" for i in range(N))
    latest = fakes.store.latest_releases("production", [f"svc{i}" for i in range(N)])
    assert len(latest) == N
    for name, release in latest.items():
        assert release.deployment_id == fakes.cloud.services[name]["deployments"][0].id
    assert [d["continuation"] for d in fakes.bus.details] == [1, 2]


def test_a_continuation_of_a_revision_that_is_no_longer_the_tip_reconciles_the_tip() -> None:
    fakes = big_world()
    reconcile.handle(reconcile_event("production"), within(fakes, 10))
    detail = fakes.bus.details[-1]
    newer = "2" * 40
    tip = fakes.git.commit("main", {"desired_state/production.yaml": services(tag=newer)})
    outcome = reconcile.handle(continuation_event(detail), fakes.ports())
    assert outcome.kind is Kind.APPLIED
    assert outcome.get("superseded") == detail["commit"]
    assert outcome.get("commit") == tip
    for i in range(N):  # every service, not only the ones the old continuation named
        assert fakes.cloud.running_image("dbscluster", f"svc{i}").endswith(newer)


def test_the_chain_is_bounded() -> None:
    fakes = big_world(max_continuations=1)
    reconcile.handle(reconcile_event("production"), within(fakes, 10))
    outcome = reconcile.handle(continuation_event(fakes.bus.details[-1]), within(fakes, 10))
    assert outcome.kind is Kind.PAUSED
    assert outcome.reason is Reason.NOT_CONTINUED
    assert len(fakes.bus.details) == 1  # no second continuation
    assert any("stopped after" in s for s in fakes.notifier.subjects())
    # the scheduled reconcile goes on (the same revision: not drift, even then)
    fakes.store.now += 300
    assert reconcile.handle(reconcile_event("production", "schedule"),
                            fakes.ports()).kind is Kind.APPLIED


def test_a_continuation_that_changes_nothing_is_not_continued() -> None:
    fakes = big_world()
    reconcile.handle(reconcile_event("production"), within(fakes, 10))
    detail = fakes.bus.details[-1]
    outcome = reconcile.handle(continuation_event(detail), within(fakes, 2))  # = the margin
    assert outcome.kind is Kind.PAUSED
    assert outcome.reason is Reason.NOT_CONTINUED
    assert len(fakes.bus.details) == 1


def test_the_lease_lasts_no_longer_than_the_invocation() -> None:
    fakes = big_world()
    taken: list[int] = []
    acquire = fakes.store.acquire_lease

    def spy(name: str, owner: str, *, seconds: int) -> bool:
        taken.append(seconds)
        return acquire(name, owner, seconds=seconds)

    fakes.store.acquire_lease = spy  # type: ignore[method-assign]
    reconcile.handle(reconcile_event("production"), within(fakes, 42.5))
    reconcile.handle(reconcile_event("production"),
                     replace(fakes.ports(), clock=DeadlineClock(fakes.store, 900)))
    assert taken == [43, 300]


def test_a_continuation_restores_the_pacing_it_carries() -> None:
    fakes = big_world()

    class Pacing:
        def __init__(self) -> None:
            self.restored: list[Any] = []

        def state(self) -> dict[str, list[float]]:
            return {"task-definition-modify": [0.0, fakes.store.now]}

        def restore(self, state: Any) -> None:
            self.restored.append(state)

    pacing = Pacing()
    ports = replace(within(fakes, 10), pacing=pacing)
    reconcile.handle(reconcile_event("production"), ports)
    detail = fakes.bus.details[-1]
    assert detail["pacing"] == {"task-definition-modify": [0.0, fakes.store.now]}
    reconcile.handle(continuation_event(detail), replace(within(fakes, 100), pacing=pacing))
    assert pacing.restored == [detail["pacing"]]
