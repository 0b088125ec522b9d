"""Events per second through the embedded cloud's bus, and push-to-deployed latency.

Not a test: a measurement, run by hand and written up in docs/benchmarks.md.

Everything runs on one `EmbeddedCloud` (moto as a server on 127.0.0.1, the stack
from template.yaml, the seeded world, a bare git remote with its
reference-transaction hook, the local builder and the rollout simulator). After a
scheduled reconcile has brought both environments in sync:

1. Throughput, per kind of event, with the real handlers (`bus.deliver(event)`,
   one event at a time, as the bus delivers). One warm-up event per kind first,
   not counted; then N events:

   duplicate push    the same push event N times (EventBridge delivers at least
                     once): PushFunction's processed-event record refuses it
   distinct pushes   N commits on `development` that change only a file outside any
                     app (pushed at once, then one event per commit as if each had
                     been pushed alone): no build, no reconcile
   reconcile, in sync  "Reconcile Requested" for `development`, already in sync:
                     lease, read the file at the tip, observe ECS, empty plan
   untracked branch  a push to a branch no environment tracks: reaches
                     PushFunction, which ignores it
   tag push          events/codecommit-tag-created.json: no rule matches it (the
                     PushFunction rule wants referenceType branch), so the bus
                     routes it nowhere; the cost is the pattern matching alone

   events/s is N over the loop's wall time (routing, the handler, the bus's log
   redirection, observers); "handler ms" is the median and p95 of `Delivery.seconds`
   (the handler's invocation as the bus times it).

2. Push-to-deployed latency, R times: a change to apps/api committed on `development`
   in a clone, then `git push`; the loop runs until quiet. From the observers'
   timestamps: push (git push and PushFunction starting the build), build (the local
   CodeBuild runs the app's TEST_COMMAND and makes the image), write-back
   (BuildFinishedFunction commits the new tag), reconcile (the write-back commit's push
   event, the reconcile request through EventBridge, ReconcileFunction's UpdateService),
   rollout (the simulator starts the built app and probes its HEALTHCHECK) and healthy
   (DeploymentEventsFunction marks the release HEALTHY). Each run is checked against
   AWS: the release HEALTHY and the service running the pushed commit.

   The tests run with DEMO_TEST_ARGS (without the MariaDB and browser tests), as the
   demo does; `--full-tests` runs the buildspec's whole TEST_COMMAND.

moto is not AWS: the numbers say what this code and this machine cost, not latency
on AWS. Output is Markdown on stdout; progress goes to stderr.

    .venv/bin/python bench/bus_throughput.py [--events 300] [--runs 3] [--full-tests]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from ecs_gitops.aws.clients import Clients
from ecs_gitops.aws.cloud import AwsCloud
from ecs_gitops.aws.dynamodb import DynamoStore
from ecs_gitops.aws.ecs import EcsAdapter
from ecs_gitops.engine import preview
from ecs_gitops.source.localgit import LocalGitSource
from ecs_gitops.wiring import ports_from_environment
from ecs_gitops_tools.local import emit
from ecs_gitops_tools.local.builder import BuildResult
from ecs_gitops_tools.local.bus import Delivery
from ecs_gitops_tools.local.cloud import EmbeddedCloud
from ecs_gitops_tools.local.demo import DEMO_TEST_ARGS
from ecs_gitops_tools.local.gitremote import RefChange
from ecs_gitops_tools.local.invoke import environment
from ecs_gitops_tools.local.rollout import Rollout

ROOT = Path(__file__).resolve().parents[1]
BRANCH = "development"
ENVIRONMENT = "development"
SERVICE = "api-development"
CLUSTER = "dbscluster"
APP_FILE = "apps/api/api_service/web.py"
OUTSIDE_FILE = "docs/bench-bus-note.md"  # in no app's build source
STAGES = ("push", "build", "write-back", "reconcile", "rollout", "healthy")


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def percentile(values: Sequence[float], pct: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


# ---------------------------------------------------------------- git helpers
class Clone:
    def __init__(self, path: Path) -> None:
        self.path = path

    def git(self, *args: str) -> str:
        return subprocess.run(["git", "-C", str(self.path), *args], capture_output=True,
                              text=True, check=True).stdout.strip()

    def update(self, branch: str) -> None:
        self.git("checkout", "-q", branch)
        self.git("pull", "-q", "--ff-only", "origin", branch)

    def commit_change(self, path: str, line: str, message: str) -> str:
        target = self.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a", encoding="utf-8") as f:
            f.write(line + "\n")
        self.git("add", path)
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")


def fresh(event: dict[str, Any]) -> dict[str, Any]:
    """A copy of `event` with a new id (a new event, not a redelivery)."""
    out = copy.deepcopy(event)
    out["id"] = str(uuid.uuid4())
    return out


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "events" / name).read_text())
    return data


# ------------------------------------------------------------- 1. throughput
class Calls:
    """What the handlers ask of AWS and of git: the AWS calls counted by the `Clients`
    their (per-container, cached) ports hold, and every git command LocalGitSource runs."""

    def __init__(self, cloud: EmbeddedCloud) -> None:
        found: dict[int, Clients] = {}
        for env in cloud.bus.environments.values():
            with environment(env):
                clients = getattr(ports_from_environment().cloud, "clients", None)
            if isinstance(clients, Clients):
                found[id(clients)] = clients
        self.clients = list(found.values())
        self.git: Counter[str] = Counter()

    def reset(self) -> None:
        for clients in self.clients:
            clients.calls.clear()
        self.git.clear()

    def aws(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for clients in self.clients:
            total.update(clients.calls)
        return total

    @contextmanager
    def counting_git(self) -> Iterator[None]:
        original = LocalGitSource._git
        counter = self.git

        def counted(source: LocalGitSource, *args: str, **kwargs: Any) -> Any:
            counter[args[0] if args else "?"] += 1
            return original(source, *args, **kwargs)

        setattr(LocalGitSource, "_git", counted)  # noqa: B010 - a method, for the count only
        try:
            yield
        finally:
            setattr(LocalGitSource, "_git", original)  # noqa: B010


@dataclass
class KindResult:
    kind: str
    events: int
    wall: float
    handler_seconds: list[float]
    functions: list[str]
    outcomes: dict[str, int]
    expected: int  # deliveries whose outcome was the one this kind should have
    errors: int
    aws: Counter[str]
    git: Counter[str]

    @property
    def per_second(self) -> float:
        return self.events / self.wall if self.wall else 0.0


def _is(d: Delivery, *, kind: str | None = None, reason: str | None = None) -> bool:
    """Whether every outcome of a delivery has this kind / reason (Outcome.as_dict)."""
    result = d.result if isinstance(d.result, dict) else {}
    parts = result.get("outcomes") or [result]
    return bool(parts) and all((kind is None or p.get("kind") == kind)
                               and (reason is None or p.get("reason") == reason) for p in parts)


def measure(cloud: EmbeddedCloud, calls: Calls, kind: str, events: Sequence[dict[str, Any]],
            expect: Callable[[Delivery], bool], *, routed: bool = True) -> KindResult:
    """Deliver events[0] (warm-up, not counted), then the rest, one at a time."""
    cloud.bus.deliver(events[0])
    measured = events[1:]
    deliveries: list[Delivery] = []
    calls.reset()
    with calls.counting_git():
        started = time.perf_counter()
        for event in measured:
            deliveries += cloud.bus.deliver(event)
        wall = time.perf_counter() - started
    outcomes: dict[str, int] = {}
    for d in deliveries:
        outcomes[d.summary] = outcomes.get(d.summary, 0) + 1
    expected = sum(1 for d in deliveries if expect(d)) if routed else len(measured) - len(
        deliveries)
    return KindResult(kind, len(measured), wall, [d.seconds for d in deliveries],
                      sorted({d.function for d in deliveries}), outcomes, expected,
                      sum(1 for d in deliveries if d.error), calls.aws(), Counter(calls.git))


def push_events(cloud: EmbeddedCloud, commits: Sequence[str], before: str) -> list[dict[str, Any]]:
    out = []
    for commit in commits:
        out.append(emit.codecommit(RefChange(before, commit, f"refs/heads/{BRANCH}"),
                                   cloud.repository))
        before = commit
    return out


def throughput(cloud: EmbeddedCloud, clone: Clone, n: int) -> list[KindResult]:
    results: list[KindResult] = []
    calls = Calls(cloud)

    # (a) the same push, delivered N + 1 times: processed once, then refused.
    clone.update(BRANCH)
    clone.commit_change(OUTSIDE_FILE, "duplicate", "docs: a change outside any app")
    clone.git("push", "-q", "origin", BRANCH)
    changes = cloud.remote.take_changes()
    assert len(changes) == 1, changes
    push = emit.codecommit(changes[0], cloud.repository)
    progress(f"throughput: {n} duplicate push events")
    results.append(measure(cloud, calls, "duplicate push (same event)", [push] * (n + 1),
                           lambda d: _is(d, reason="ALREADY_PROCESSED")))

    # (b) N + 1 distinct commits outside any app, one event per commit.
    progress(f"throughput: making {n + 1} commits outside any app")
    before = clone.git("rev-parse", "HEAD")
    commits = [clone.commit_change(OUTSIDE_FILE, f"line {i}", f"docs: note {i}")
               for i in range(n + 1)]
    clone.git("push", "-q", "origin", BRANCH)
    cloud.remote.take_changes()  # the one real push; its commits are delivered one by one
    progress(f"throughput: {n} distinct push events")
    results.append(measure(cloud, calls, "distinct push, no app changed", push_events(
        cloud, commits, before), lambda d: _is(d, kind="no build")))

    # (c) Reconcile Requested for an environment in sync.
    tip = clone.git("rev-parse", "HEAD")
    template = sample("reconcile-requested-development.json")
    template["detail"]["commit"] = tip
    progress(f"throughput: {n} reconcile requests (in sync)")
    results.append(measure(cloud, calls, "Reconcile Requested, in sync",
                           [fresh(template) for _ in range(n + 1)],
                           lambda d: _is(d, kind="in sync")))

    # (d) ignored by the handler: a push to a branch no environment tracks.
    untracked = sample("codecommit-push-untracked-branch.json")
    untracked["resources"] = [f"arn:aws:codecommit:{cloud.region}:{untracked['account']}:"
                              f"{cloud.repository}"]
    untracked["detail"]["repositoryName"] = cloud.repository
    progress(f"throughput: {n} pushes to an untracked branch")
    results.append(measure(cloud, calls, "push to an untracked branch (ignored)",
                           [fresh(untracked) for _ in range(n + 1)],
                           lambda d: _is(d, reason="UNTRACKED_BRANCH")))

    # (e) ignored by the rules: a tag push matches no pattern.
    tag = sample("codecommit-tag-created.json")
    progress(f"throughput: {n} tag pushes")
    results.append(measure(cloud, calls, "tag push (no rule matches)",
                           [fresh(tag) for _ in range(n + 1)], lambda _d: False, routed=False))

    left = cloud.run()
    if left:
        progress(f"note: {left} event(s) were still to deliver after the throughput runs")
    return results


# --------------------------------------------------------------- 2. latency
@dataclass
class Timeline:
    deliveries: list[tuple[float, Delivery]] = field(default_factory=list)
    builds: list[tuple[float, BuildResult]] = field(default_factory=list)
    rollouts: list[tuple[float, Rollout]] = field(default_factory=list)

    def attach(self, cloud: EmbeddedCloud) -> None:
        cloud.observers.delivery.append(lambda d: self.deliveries.append((time.monotonic(), d)))
        cloud.observers.build.append(lambda b: self.builds.append((time.monotonic(), b)))
        cloud.observers.rollout.append(lambda r: self.rollouts.append((time.monotonic(), r)))

    def clear(self) -> None:
        self.deliveries.clear()
        self.builds.clear()
        self.rollouts.clear()

    def delivery(self, function: str, test: Callable[[Delivery], bool]) -> tuple[float, Delivery]:
        found = [(t, d) for t, d in self.deliveries if d.function == function and test(d)]
        if not found:
            raise LookupError(f"no delivery to {function} as expected; saw: " + "; ".join(
                f"{d.function}: {d.summary}" for _, d in self.deliveries))
        return found[0]


@dataclass
class Run:
    commit: str
    stages: dict[str, float]
    total: float
    quiet: float  # until the loop had nothing more to do
    build_seconds: float  # BuildResult.seconds: checkout, tests, image
    tests: str  # pytest's summary line from the build log
    ok: bool
    detail: str


def _push_of(commit: str) -> Callable[[Delivery], bool]:
    return lambda d: d.event.get("detail", {}).get("commitId") == commit


def tests_summary(build: BuildResult) -> str:
    text = build.log.read_text(errors="replace") if build.log.exists() else ""
    found = re.findall(r"^=*\s*(\d+ passed.*? in [0-9.]+s)", text, re.MULTILINE)
    return found[-1] if found else "?"


def latency_run(cloud: EmbeddedCloud, clone: Clone, timeline: Timeline, index: int) -> Run:
    clone.update(BRANCH)
    commit = clone.commit_change(APP_FILE, f"# bench: latency run {index} {uuid.uuid4().hex[:8]}",
                                 f"api: benchmark change {index}")
    timeline.clear()
    t0 = time.monotonic()
    clone.git("push", "-q", "origin", BRANCH)
    cloud.run()
    quiet = time.monotonic() - t0
    try:
        t_push, _ = timeline.delivery("PushFunction", _push_of(commit))
        t_build, build = next((t, b) for t, b in timeline.builds if b.commit == commit)
        t_write, _ = timeline.delivery(
            "BuildFinishedFunction", lambda d: _is(d, kind="wrote back"))
        t_reconcile, _ = timeline.delivery(
            "ReconcileFunction", lambda d: _is(d, kind="applied"))
        t_rollout, rollout = next((t, r) for t, r in timeline.rollouts if r.service == SERVICE)
        t_healthy, _ = timeline.delivery(
            "DeploymentEventsFunction", lambda d: _is(d, kind="release healthy"))
    except (LookupError, StopIteration) as exc:
        statuses = [b.status for _, b in timeline.builds]
        return Run(commit, {}, quiet, quiet, 0.0, "", False,
                   f"the chain did not complete (builds: {statuses}): {exc}")
    marks = [t0, t_push, t_build, t_write, t_reconcile, t_rollout, t_healthy]
    stages = {name: marks[i + 1] - marks[i] for i, name in enumerate(STAGES)}
    ecs = EcsAdapter(cloud.clients)
    running = ecs.describe_services(CLUSTER, [SERVICE])[SERVICE]
    image = ecs.describe_task_definition(running.task_definition).image() or ""
    releases = DynamoStore(cloud.clients, cloud.refs["StateTable"]).releases(
        ENVIRONMENT, SERVICE, limit=1)
    outcome = releases[0].outcome if releases else "none"
    ok = image.endswith(f":{commit}") and outcome == "HEALTHY" and rollout.healthy
    detail = f"runs {image.rsplit(':', 1)[-1][:7]}, release {outcome}, rollout: {rollout.reason}"
    return Run(commit, stages, t_healthy - t0, quiet, build.seconds, tests_summary(build),
               ok, detail)


def latency(cloud: EmbeddedCloud, clone: Clone, runs: int) -> list[Run]:
    timeline = Timeline()
    timeline.attach(cloud)
    out = []
    for i in range(1, runs + 1):
        progress(f"latency: run {i} of {runs}")
        run = latency_run(cloud, clone, timeline, i)
        progress(f"  {run.total:.2f}s to healthy; {run.detail}")
        out.append(run)
    return out


# ------------------------------------------------------------------ output
def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


def facts(test_args: Sequence[str]) -> str:
    git = subprocess.run(["git", "--version"], capture_output=True, text=True,
                         check=False).stdout.strip().removeprefix("git version ")
    load = os.getloadavg()
    rows = [
        ("date", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("machine", f"{os.cpu_count()} cores, {platform.machine()}, {platform.system()} "
                    f"{platform.release()}"),
        ("load average at start", f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"),
        ("Python", platform.python_version()),
        ("moto / boto3 / git", f"{version('moto')} / {version('boto3')} / {git}"),
        ("build tests", "the whole TEST_COMMAND (--full-tests)" if not test_args
         else f"TEST_COMMAND + DEMO_TEST_ARGS: {' '.join(test_args)}"),
    ]
    return table(("fact", "value"), rows)


def throughput_table(results: Sequence[KindResult]) -> str:
    rows = []
    for r in results:
        handler = r.handler_seconds
        rows.append((
            r.kind, str(r.events), ", ".join(r.functions) or "(none)",
            f"{r.per_second:.0f}", f"{1000 * r.wall / r.events:.2f}",
            f"{1000 * statistics.median(handler):.2f}" if handler else "-",
            f"{1000 * percentile(handler, 95):.2f}" if handler else "-",
            f"{sum(r.aws.values()) / r.events:.1f}", f"{sum(r.git.values()) / r.events:.1f}",
            f"{r.expected}/{r.events}" + (f", {r.errors} errors" if r.errors else ""),
        ))
    return table(("event", "N", "function", "events/s", "wall ms/event", "handler ms median",
                  "handler ms p95", "AWS calls/event", "git cmds/event", "as expected"), rows)


def calls_table(results: Sequence[KindResult]) -> str:
    rows = []
    for r in results:
        per = [f"{name} {count / r.events:g}" for name, count in sorted(r.aws.items())]
        per += [f"git {name} {count / r.events:g}" for name, count in sorted(r.git.items())]
        rows.append((r.kind, ", ".join(per) or "none"))
    return table(("event", "per event: AWS operations and git commands"), rows)


def latency_table(runs: Sequence[Run]) -> str:
    done = [r for r in runs if r.ok]
    headers = ["stage", *(f"run {i}" for i in range(1, len(runs) + 1)), "median", "share"]
    total = sum(r.total for r in done) or 1.0
    rows = []
    for stage in STAGES:
        values = [r.stages.get(stage, 0.0) for r in runs]
        ok_values = [r.stages[stage] for r in done]
        rows.append((stage, *(f"{v:.2f}" for v in values),
                     f"{statistics.median(ok_values):.2f}" if ok_values else "-",
                     f"{100 * sum(ok_values) / total:.0f} %"))
    rows.append(("**push to healthy**", *(f"**{r.total:.2f}**" for r in runs),
                 f"**{statistics.median([r.total for r in done]):.2f}**" if done else "-",
                 "100 %"))
    rows.append(("(of build: BuildResult.seconds)", *(f"{r.build_seconds:.2f}" for r in runs),
                 f"{statistics.median([r.build_seconds for r in done]):.2f}" if done else "-",
                 ""))
    rows.append(("(until the loop was quiet)", *(f"{r.quiet:.2f}" for r in runs),
                 f"{statistics.median([r.quiet for r in done]):.2f}" if done else "-", ""))
    rows.append(("as expected", *("yes" if r.ok else "NO" for r in runs), "", ""))
    return table(headers, rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Events per second through the embedded cloud's bus (per kind of event, "
                    "real handlers) and push-to-deployed latency of an app change. "
                    "Prints Markdown; progress on stderr. Not a test.")
    parser.add_argument("--events", type=int, default=300, metavar="N",
                        help="events measured per kind (default 300; one warm-up more)")
    parser.add_argument("--runs", type=int, default=3, metavar="R",
                        help="push-to-deployed runs (default 3; 0 skips the latency part)")
    parser.add_argument("--full-tests", action="store_true",
                        help="run the buildspec's whole TEST_COMMAND in each build (needs "
                             "MariaDB on 127.0.0.1:3306 and Chromium); default: the demo's "
                             "DEMO_TEST_ARGS, without the mariadb and browser tests")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep the embedded cloud's work directory (git remote, build "
                             "logs, functions.log) in DIR")
    args = parser.parse_args(argv)
    if args.events < 1 or args.runs < 0:
        parser.error("--events must be at least 1 and --runs at least 0")
    test_args: tuple[str, ...] = () if args.full_tests else DEMO_TEST_ARGS

    started = time.monotonic()
    print("## Machine\n")
    print(facts(test_args))
    with tempfile.TemporaryDirectory(prefix="ecs-gitops-bench-") as tmp:
        workdir = args.keep or Path(tmp)
        progress(f"starting the embedded cloud in {workdir}")
        with EmbeddedCloud(workdir, source=ROOT, test_args=test_args) as cloud:
            clone = Clone(cloud.remote.clone(workdir / "work"))
            for key, value in (("user.name", "Bench"), ("user.email", "bench@example.com")):
                clone.git("config", key, value)
            progress("scheduled reconcile of both environments")
            cloud.schedule("ReconcileFunction")
            cloud.run()
            for env in cloud.environments.values():
                if not preview(env, AwsCloud(cloud.clients), store=None).plan.empty:
                    progress(f"{env.environment} is not in sync after the scheduled reconcile")
                    return 1
            kinds = throughput(cloud, clone, args.events)
            runs = latency(cloud, clone, args.runs) if args.runs else []
            dead = cloud.clients.client("sqs").receive_message(
                QueueUrl=cloud.refs["DeadLetterQueue"]).get("Messages", [])
    print(f"\n## Events through the bus (N = {args.events} per kind, after one warm-up)\n")
    print(throughput_table(kinds))
    print()
    print(calls_table(kinds))
    if runs:
        print(f"\n## Push to deployed (apps/api on {BRANCH}, seconds)\n")
        print(latency_table(runs))
        print()
        for i, r in enumerate(runs, 1):
            print(f"- run {i}: commit {r.commit[:7]}: {r.detail}; tests: {r.tests}")
    print(f"\ndead letters: {len(dead)}; whole benchmark: {time.monotonic() - started:.0f} s")
    bad = [k for k in kinds if k.expected != k.events or k.errors] + [r for r in runs if not r.ok]
    return 1 if bad or dead else 0


if __name__ == "__main__":
    sys.exit(main())
