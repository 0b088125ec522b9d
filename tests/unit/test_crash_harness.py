"""Crash consistency: every write on every controller's path, killed.

A Lambda dies by time-out or out-of-memory: at any instruction, with nothing run after
(no `except`, no `finally` that writes). For each scenario the harness first counts the
writes the controller makes (every port call that changes something: the store, git,
CodeBuild, EventBridge, SNS, ECS), then, for each of them, replays the scenario from
scratch with the process killed just before that write or just after it (the write
done, its caller never told). It then plays what AWS would do next — Lambda's two
asynchronous retries of the event, a duplicate delivery, the sweep and the scheduled
reconcile — and asserts that the world converged: every pushed commit built once per
app it changed, every successful build written back exactly once, the files on the
newest commits, no duplicate commit, no lost release.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
import yaml
from fakes import DeadlineClock, Fakes, build_detail
from scenes import (
    ACCOUNT,
    SCHEDULE,
    TAG,
    deployment_event,
    push_event,
    reconcile_event,
    world,
)

from ecs_gitops.controllers import build, deployment, push, reconcile, sweep
from ecs_gitops.controllers.outcome import Outcome
from ecs_gitops.controllers.ports import Ports
from ecs_gitops.desired.edit import set_image_tag
from ecs_gitops.errors import EcsGitopsError
from ecs_gitops.events import ReconcileEvent, Trigger
from ecs_gitops.store import ReleaseState, bad_image_key, tip_key

WRITES: dict[str, tuple[str, ...]] = {
    "store": ("begin", "complete", "forget", "acquire_lease", "release_lease", "put_value",
              "compare_and_set", "record_releases", "set_outcome", "mark_bad_image"),
    "git": ("put_file",),
    "builds": ("start_build",),
    "bus": ("request_reconcile",),
    "notifier": ("notify",),
    "cloud": ("register_task_definition", "create_service", "update_service",
              "delete_service", "register_scalable_target", "put_scaling_policy",
              "deregister_scalable_target"),
}


class Killed(BaseException):
    """The Lambda was killed (time-out, out of memory)."""


@dataclass
class KillSwitch:
    """Counts writes; kills the process at write number `at` (before or after it). Once
    killed, the process is dead: any later write (a `finally`) kills again, undone."""

    at: int | None = None
    after: bool = False
    count: int = 0
    dead: bool = False
    log: list[str] = field(default_factory=list)

    def call(self, name: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.dead:
            raise Killed(f"dead: {name}")
        self.count += 1
        self.log.append(name)
        if self.count == self.at and not self.after:
            self.dead = True
            raise Killed(f"before {name}")
        result = method(*args, **kwargs)
        if self.count == self.at:
            self.dead = True
            raise Killed(f"after {name}")
        return result


class _Armed:
    def __init__(self, port: Any, name: str, writes: tuple[str, ...], switch: KillSwitch) -> None:
        self._port, self._name, self._writes, self._switch = port, name, writes, switch

    def __getattr__(self, attr: str) -> Any:
        method = getattr(self._port, attr)
        if attr not in self._writes:
            return method
        return lambda *a, **k: self._switch.call(f"{self._name}.{attr}", method, *a, **k)


def armed(fakes: Fakes, switch: KillSwitch) -> Ports:
    plain = fakes.ports()
    return fakes.ports(**{name: _Armed(getattr(plain, "source" if name == "git" else name),
                                       name, writes, switch)
                          for name, writes in WRITES.items() if name != "git"},
                       source=_Armed(plain.source, "git", WRITES["git"], switch))


# ---------------------------------------------------------------------- scenarios
@dataclass
class Scenario:
    """A world, the event to kill the handler of, and what convergence means."""

    name: str
    setup: Callable[[Fakes], dict[str, Any]]
    deliver: Callable[[Fakes, Ports, dict[str, Any]], Outcome]
    converged: Callable[[Fakes, dict[str, Any]], None]


def _app_change(fakes: Fakes) -> dict[str, Any]:
    fakes.store.put_value(tip_key("development"), fakes.git.branches["development"])
    before = fakes.git.branches["development"]
    after = fakes.git.commit("development", {"apps/api/main.py": "v2", "apps/web/main.py": "v2"})
    return {"before": before, "after": after}


def _push_converged(fakes: Fakes, ctx: dict[str, Any]) -> None:
    built = sorted((b["project"], b["source_version"]) for b in fakes.builds.started)
    assert built == [("api-development", ctx["after"]), ("web-development", ctx["after"])]
    assert fakes.store.get_value(tip_key("development")) == ctx["after"]


def _succeeded(fakes: Fakes) -> dict[str, Any]:
    commit = fakes.git.commit("development", {"apps/api/main.py": "v2"})
    fakes.store.put_value(tip_key("development"), commit)
    fakes.registry.images.add(("apidevelopment", commit))
    fakes.builds.resolved["api-development:7"] = commit
    fakes.builds.finish("api-development", "api-development:7", status="SUCCEEDED",
                        commit=commit)
    return {"commit": commit}


def _written_once(fakes: Fakes, ctx: dict[str, Any]) -> None:
    text = fakes.git.read_file(fakes.git.branches["development"],
                               "desired_state/development.yaml")
    assert ctx["commit"] in text
    deploys = [c for c in fakes.git.writes if fakes.git.commits[c][2].startswith("deploy api")]
    assert len(deploys) == 1, deploys


def _deployable(fakes: Fakes) -> dict[str, Any]:
    new = "1" * 40
    text = fakes.git.read_file(fakes.git.branches["main"], "desired_state/production.yaml")
    fakes.git.commit("main", {"desired_state/production.yaml": set_image_tag(text, "api", new)})
    return {"tag": new}


def _deployed(fakes: Fakes, ctx: dict[str, Any]) -> None:
    assert fakes.cloud.running_image("dbscluster", "api").endswith(ctx["tag"])
    assert fakes.cloud.running_image("dbscluster", "web").endswith(TAG)
    # no lost release: each service has one, naming the deployment it started
    for service in ("api", "web"):
        latest = fakes.store.releases("production", service, limit=1)
        assert latest, service
        running = fakes.cloud.services[service]["deployments"][0].id
        assert latest[0].deployment_id == running, (service, latest[0])
    registered = [c[1] for c in fakes.cloud.calls if c[0] == "register_task_definition"]
    # a kill between RegisterTaskDefinition and UpdateService costs no second revision
    assert (registered.count("api"), registered.count("web")) == (1, 1), registered


def _failing(fakes: Fakes) -> dict[str, Any]:
    reconcile.handle(reconcile_event("production"), fakes.ports())
    good_td = fakes.cloud.services["api"]["taskDefinition"]
    bad = "b" * 40
    fakes.registry.images.add(("api", bad))
    text = fakes.git.read_file(fakes.git.branches["main"], "desired_state/production.yaml")
    fakes.git.commit("main", {"desired_state/production.yaml": set_image_tag(text, "api", bad)})
    reconcile.handle(reconcile_event("production"), fakes.ports())
    deployment_id = fakes.cloud.services["api"]["deployments"][0].id
    fakes.cloud.services["api"]["taskDefinition"] = good_td  # the circuit breaker's rollback
    fakes.cloud.services["api"]["deployments"] = []
    fakes.notifier.sent.clear()
    return {"bad": bad, "deployment": deployment_id, "writes": len(fakes.git.writes)}


def _reverted(fakes: Fakes, ctx: dict[str, Any]) -> None:
    text = fakes.git.read_file(fakes.git.branches["main"], "desired_state/production.yaml")
    assert ctx["bad"] not in text
    reverts = [c for c in fakes.git.writes if fakes.git.commits[c][2].startswith("revert api")]
    assert len(reverts) == 1, reverts
    assert fakes.store.bad_image(bad_image_key("production", "api", ctx["bad"])) is not None
    assert fakes.store.releases("production", "api", limit=1)[0].outcome is ReleaseState.FAILED


def _completing(fakes: Fakes) -> dict[str, Any]:
    reconcile.handle(reconcile_event("production"), fakes.ports())
    deployments = fakes.cloud.services["api"]["deployments"]
    # what ECS shows once it sent SERVICE_DEPLOYMENT_COMPLETED
    deployments[0] = replace(deployments[0], rollout_state="COMPLETED", running_count=1)
    return {"deployment": deployments[0].id}


def _healthy(fakes: Fakes, ctx: dict[str, Any]) -> None:
    assert fakes.store.releases("production", "api", limit=1)[0].outcome is ReleaseState.HEALTHY


LONG = 6  # services of the scenario whose reconcile needs two invocations


def _long_change(fakes: Fakes) -> dict[str, Any]:
    fakes.settings = replace(fakes.settings, deadline_margin=2)
    tag = "3" * 40
    fakes.git.commit("main", {"desired_state/production.yaml": yaml.safe_dump({
        "schemaVersion": 1, "environment": "production", "branch": "main",
        "region": "us-east-1", "cluster": "dbscluster",
        "services": [{"name": f"svc{i}", "image": {"repository": "app", "tag": tag},
                      "cpu": 256, "memory": 512, "port": 80, "desiredCount": 1}
                     for i in range(LONG)]}, sort_keys=False)})
    fakes.cloud.tick = lambda: setattr(fakes.store, "now", fakes.store.now + 1)
    return {"tag": tag}


def _with_continuations(fakes: Fakes, ports: Ports, ctx: dict[str, Any]) -> Outcome:
    """A reconcile whose invocations may run 10 s (each service takes 2 s of calls), and
    each continuation it asks for, delivered as EventBridge would."""
    first = len(fakes.bus.details)
    outcome = reconcile.handle(reconcile_event("production"),
                               replace(ports, clock=DeadlineClock(fakes.store, 10)))
    for detail in _continuations(fakes, first):
        outcome = reconcile.handle(_continuation(detail),
                                   replace(ports, clock=DeadlineClock(fakes.store, 10)))
    return outcome


def _continuations(fakes: Fakes, start: int) -> Any:
    """The continuation events put from index `start` on, including those put while
    they are being delivered."""
    n = start
    while n < len(fakes.bus.details):
        detail = fakes.bus.details[n]
        n += 1
        if detail["reason"] == Trigger.CONTINUATION.value:
            yield detail


def _continuation(detail: dict[str, Any]) -> ReconcileEvent:
    return ReconcileEvent.model_validate({
        "version": "0", "id": f"continuation-{detail['continuation']}",
        "detail-type": "Reconcile Requested", "source": "ecs-gitops", "account": ACCOUNT,
        "time": "2026-11-30T00:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {k: v for k, v in detail.items() if v is not None}})


def _long_converged(fakes: Fakes, ctx: dict[str, Any]) -> None:
    names = [f"svc{i}" for i in range(LONG)]
    latest = fakes.store.latest_releases("production", names)
    for name in names:
        assert fakes.cloud.running_image("dbscluster", name).endswith(ctx["tag"]), name
        running = fakes.cloud.services[name]["deployments"][0].id
        assert latest[name].deployment_id == running, (name, latest.get(name))
    registered = [c[1] for c in fakes.cloud.calls
                  if c[0] == "register_task_definition" and c[1] in names]
    # stopped at deadlines, killed anywhere: never a second revision of a family
    assert sorted(registered) == names, registered


def _lost_events(fakes: Fakes) -> dict[str, Any]:
    sweep.handle(SCHEDULE, fakes.ports())  # the first sweep records the tips
    after = fakes.git.commit("development", {"apps/api/main.py": "v2"})  # its push is lost
    return {"after": after}


def _swept(fakes: Fakes, ctx: dict[str, Any]) -> None:
    builds = [(b["project"], b["source_version"]) for b in fakes.builds.started]
    assert builds == [("api-development", ctx["after"])]


SCENARIOS = [
    Scenario("push builds each changed app once", _app_change,
             lambda f, p, c: push.handle(push_event("development", c["after"], c["before"]), p),
             _push_converged),
    Scenario("a successful build is written back once", _succeeded,
             lambda f, p, c: build.handle_build(build_detail(
                 "api-development", "api-development:7", status="SUCCEEDED",
                 commit=c["commit"]), p),
             _written_once),
    Scenario("a reconcile deploys and records every release", _deployable,
             lambda f, p, c: reconcile.handle(reconcile_event("production"), p),
             _deployed),
    Scenario("a failed rollout is reverted once", _failing,
             lambda f, p, c: deployment.handle(deployment_event(
                 deployment.FAILED, "api", c["deployment"], "tasks failed"), p),
             _reverted),
    Scenario("a completed rollout is marked healthy", _completing,
             lambda f, p, c: deployment.handle(deployment_event(
                 deployment.COMPLETED, "api", c["deployment"]), p),
             _healthy),
    Scenario("the sweep builds a lost push", _lost_events,
             lambda f, p, c: sweep.handle(SCHEDULE, p), _swept),
    Scenario("a reconcile that stops at its deadline continues until done", _long_change,
             _with_continuations, _long_converged),
]


def _retry(fakes: Fakes, scenario: Scenario, ctx: dict[str, Any]) -> None:
    """What AWS does after a kill: Lambda retries the event (after about 1 and 2
    minutes), EventBridge may deliver it once more, the sweep (15 min) and the scheduled
    reconcile (5 min) run. A transient failure is a retry later, as on Lambda."""
    for wait in (70, 130, 0):
        fakes.store.now += wait
        try:
            scenario.deliver(fakes, fakes.ports(), ctx)
        except EcsGitopsError as exc:
            if not exc.transient:  # a failure Lambda would not retry is a finding
                raise
    # Continuations put before the kill are delivered too (EventBridge delivers them
    # whatever became of the invocation that put them).
    for detail in _continuations(fakes, 0):
        try:
            reconcile.handle(_continuation(detail), fakes.ports())
        except EcsGitopsError as exc:
            if not exc.transient:
                raise
    fakes.store.now += 900
    sweep.handle(SCHEDULE, fakes.ports())
    fakes.store.now += 300  # past any lease left by the killed run
    reconcile.handle(SCHEDULE, fakes.ports())
    sweep.handle(SCHEDULE, fakes.ports())  # writes-back found by the reconcile's sweep


def _no_duplicate_commits(fakes: Fakes) -> None:
    changes = [(fakes.git.commits[c][0], fakes.git.commits[c][2]) for c in fakes.git.writes]
    messages = [m.split("\n", 1)[0] for _, m in changes]
    assert len(messages) == len(set(messages)), messages


def _write_points(scenario: Scenario) -> int:
    fakes = world()
    ctx = scenario.setup(fakes)
    switch = KillSwitch()
    scenario.deliver(fakes, armed(fakes, switch), ctx)
    return switch.count


CASES = [(s, at, after) for s in SCENARIOS for at in range(1, _write_points(s) + 1)
         for after in (False, True)]


@pytest.mark.parametrize(("scenario", "at", "after"), CASES,
                         ids=[f"{s.name}-{'after' if a else 'before'}-write{n}"
                              for s, n, a in CASES])
def test_killed_at_every_write_converges(scenario: Scenario, at: int, after: bool) -> None:
    fakes = world()
    ctx = scenario.setup(fakes)
    switch = KillSwitch(at=at, after=after)
    with pytest.raises(Killed):
        scenario.deliver(fakes, armed(fakes, switch), ctx)
    _retry(fakes, scenario, ctx)
    scenario.converged(fakes, ctx)
    _no_duplicate_commits(fakes)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_every_scenario_writes_and_converges_undisturbed(scenario: Scenario) -> None:
    assert _write_points(scenario) >= 2
    fakes = world()
    ctx = scenario.setup(fakes)
    scenario.deliver(fakes, fakes.ports(), ctx)
    _retry(fakes, scenario, ctx)
    scenario.converged(fakes, ctx)
    _no_duplicate_commits(fakes)


def test_the_harness_notices_a_lost_build() -> None:
    """The harness itself: a claim that is not released on failure (the bug of the
    first version) leaves a killed push unbuilt, and the harness says so."""
    fakes = world()
    ctx = _app_change(fakes)
    fakes.store.claims.clear()
    switch = KillSwitch(at=2, after=True)  # StartBuild of the first app done, then killed
    with pytest.raises(Killed):
        push.handle(push_event("development", ctx["after"], ctx["before"]),
                    armed(fakes, switch))
    # mark every claim COMPLETED, as a store that completes claims early would
    for key in list(fakes.store.claims):
        fakes.store.complete(key, "done")
    fakes.store.put_value(tip_key("development"), ctx["after"])
    _retry(fakes, SCENARIOS[0], ctx)
    with pytest.raises(AssertionError):
        _push_converged(fakes, ctx)


def test_the_deadline_scenario_really_continues() -> None:
    """Its undisturbed run takes two invocations (one continuation), so that kills land
    in the first run, in the continuation and between them."""
    fakes = world()
    ctx = _long_change(fakes)
    _with_continuations(fakes, fakes.ports(), ctx)
    assert [d["continuation"] for d in _continuations(fakes, 0)] == [1]
    _long_converged(fakes, ctx)
