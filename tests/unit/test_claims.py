"""Claims with Powertools' idempotency semantics, seen from the controllers (issue 10,
guard 1): IN_PROGRESS for no longer than the invocation may live, COMPLETED with the
outcome afterwards, removed when the work fails, and an IN_PROGRESS claim of a killed
worker redone (finding what that worker already started)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fakes import FakeClock, Fakes, build_detail
from scenes import push_event, world

from ecs_gitops.controllers import build, push
from ecs_gitops.controllers.outcome import Kind, Reason
from ecs_gitops.errors import ClaimInProgressError, ConflictError
from ecs_gitops.store import ClaimStatus, build_key, build_start_key, push_key

BUDGET = 42.0  # what the invocation has left (Lambda's context.get_remaining_time_in_millis)


class Killed(BaseException):
    """A Lambda time-out: nothing of the handler runs after it."""


def _push(fakes: Fakes) -> tuple[Any, str]:
    before = fakes.git.branches["development"]
    after = fakes.git.commit("development", {"apps/api/main.py": "v2"})
    return push_event("development", after, before), after


def _kill(fakes: Fakes, port: str, method: str, *, after: bool = False) -> None:
    target = getattr(fakes, port)
    original: Callable[..., Any] = getattr(target, method)

    def killed(*args: Any, **kwargs: Any) -> Any:
        setattr(target, method, original)  # only this invocation dies
        if after:
            original(*args, **kwargs)
        raise Killed

    setattr(target, method, killed)


def test_a_killed_push_leaves_its_claims_in_progress_for_the_invocations_time_only() -> None:
    fakes = world()
    event, after = _push(fakes)
    _kill(fakes, "builds", "start_build")
    with pytest.raises(Killed):
        push.handle(event, fakes.ports(clock=FakeClock(fakes.store, BUDGET)))
    for key in (push_key("development", after), build_start_key("development", "api", after)):
        record = fakes.store.claims[key]
        assert record.status is ClaimStatus.IN_PROGRESS
        assert record.in_progress_until == fakes.store.now + BUDGET


def test_a_killed_build_handler_leaves_its_claim_in_progress_for_the_invocations_time_only(
) -> None:
    fakes = world()
    commit = fakes.git.commit("development", {"apps/api/main.py": "v2"})
    fakes.registry.images.add(("apidevelopment", commit))
    _kill(fakes, "git", "put_file")
    with pytest.raises(Killed):
        build.handle_build(build_detail("api-development", "api-development:1",
                                        status="SUCCEEDED", commit=commit),
                           fakes.ports(clock=FakeClock(fakes.store, BUDGET)))
    record = fakes.store.claims[build_key("api-development:1")]
    assert record.status is ClaimStatus.IN_PROGRESS
    assert record.in_progress_until == fakes.store.now + BUDGET


def test_a_live_workers_claim_is_left_to_it() -> None:
    fakes = world()
    event, _ = _push(fakes)
    _kill(fakes, "builds", "start_build")
    with pytest.raises(Killed):
        push.handle(event, fakes.ports(clock=FakeClock(fakes.store, BUDGET)))
    fakes.store.now += BUDGET - 1  # the first invocation could still be running
    with pytest.raises(ClaimInProgressError):
        push.handle(event, fakes.ports())
    assert fakes.builds.started == []


def test_a_finished_push_is_completed_with_its_outcome() -> None:
    fakes = world()
    event, after = _push(fakes)
    outcome = push.handle(event, fakes.ports())
    assert outcome.kind is Kind.BUILDS_STARTED
    record = fakes.store.claims[push_key("development", after)]
    assert record.status is ClaimStatus.COMPLETED
    assert record.outcome == outcome.text()
    start = fakes.store.claims[build_start_key("development", "api", after)]
    assert (start.status, start.outcome) == (ClaimStatus.COMPLETED, "api-development:1")
    again = push.handle(event, fakes.ports())
    assert (again.kind, again.reason) == (Kind.IGNORED, Reason.ALREADY_PROCESSED)


def test_a_failed_push_removes_its_claims() -> None:
    fakes = world()
    event, after = _push(fakes)

    def throttled(**_: Any) -> str:
        raise ConflictError("throttled")

    fakes.builds.start_build = throttled  # type: ignore[method-assign]
    with pytest.raises(ConflictError):
        push.handle(event, fakes.ports())
    assert push_key("development", after) not in fakes.store.claims
    assert build_start_key("development", "api", after) not in fakes.store.claims


def test_a_dead_workers_claim_is_redone_and_finds_the_build_it_started() -> None:
    fakes = world()
    event, after = _push(fakes)
    _kill(fakes, "builds", "start_build", after=True)  # started, then killed
    with pytest.raises(Killed):
        push.handle(event, fakes.ports(clock=FakeClock(fakes.store, BUDGET)))
    assert len(fakes.builds.started) == 1
    # the dead worker's claim expired long ago, and StartBuild's 5-minute token too
    fakes.store.now += 600
    outcome = push.handle(event, fakes.ports())
    assert outcome.kind is Kind.BUILDS_STARTED
    assert [b["id"] for b in fakes.builds.started] == ["api-development:1"]  # not a second
    assert outcome.facts["builds"][0]["build"] == "api-development:1"
    assert fakes.store.claims[push_key("development", after)].status is ClaimStatus.COMPLETED
