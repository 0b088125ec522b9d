"""An image change of N services through the reconcile Lambda, against ECS's throttling.

Not a test: a measurement, run by hand and written up in docs/benchmarks.md.

The real-AWS shape, on the embedded AWS:

- moto as a server on 127.0.0.1 with ecs-gitops' patches (AWS-sized pages, services
  looked up by key: `ecs_gitops_tools.local.moto_scale`) and ECS's request throttling
  enforced (`ecs_gitops_tools.local.throttle`: the documented token buckets), all
  *time-scaled* by `--scale`: every bucket refills `scale` times as fast (and holds as
  many tokens as on AWS), the function's timeout is divided by `scale`, and so is its
  deadline margin; the function
  paces itself with the same scaled buckets (`PACING_SCALE`). With the default 4, the
  980 s that 1,000 registrations need on AWS take 245 s. What does not scale is the
  work of each invocation itself (start, reading the file, observing): a pause of
  20 s costs nothing on AWS (the registrations' bucket refills its burst of 20 in it)
  but 20/scale s here, so larger scales overstate that overhead (docs/benchmarks.md).
- the controllers' stack from template.yaml (state table, dead-letter queue), a git
  repository holding `desired_state/bench.yaml` (N services, as bench/reconcile_cost.py
  generates them), and the embedded cloud's bus (`Bus`): it routes events by the
  template's rules, invokes ReconcileFunction's handler as Lambda would (asynchronous:
  two retries, then the dead-letter queue) with a Lambda context whose remaining time
  runs out after the (scaled) timeout, and delivers the "Reconcile Requested" events the
  function puts (its continuations), taken from EventBridge through an SQS queue.
- each invocation in a fresh container (`--container cold`: no cached ports, clients or
  task definitions) or the same warm one (`--container warm`).

Set-up (not measured): the N services are created through the same handler, without
throttling, and their releases marked HEALTHY, as the deployment-events function would
after the rollouts. Then every service's image changes (one commit) and one "Reconcile
Requested" (reason push) starts the measured run, which ends when no event is left.

Reported: invocations, the run's wall time against the throttling floor (the time ECS's
buckets need to admit the calls made: (calls - burst) / rate for the slowest category),
AWS calls by operation and per service, throttled calls, dead letters, and the checks:
every service on the new image, every release recorded with its deployment id, each
family registered once, no invocation past its deadline.

    .venv/bin/python bench/reconcile_at_scale.py [--services 1000] [--scale 4] [--container cold]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

for _key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
    os.environ[_key] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
for _key in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(_key, None)

import yaml  # noqa: E402
from reconcile_cost import CLUSTER, REGION, REPOSITORY, SECRET, environment_data  # noqa: E402

from ecs_gitops import wiring  # noqa: E402
from ecs_gitops.aws import ecs as ecs_adapter  # noqa: E402
from ecs_gitops.aws.clients import Clients  # noqa: E402
from ecs_gitops.aws.cloud import AwsCloud  # noqa: E402
from ecs_gitops.aws.dynamodb import DynamoStore  # noqa: E402
from ecs_gitops.aws.pacing import ECS_CATEGORIES, Pacer, ecs_category  # noqa: E402
from ecs_gitops.desired.model import Environment  # noqa: E402
from ecs_gitops.engine import preview  # noqa: E402
from ecs_gitops.store import ReleaseState  # noqa: E402
from ecs_gitops_tools.local import throttle  # noqa: E402
from ecs_gitops_tools.local.bus import Bus, Delivery  # noqa: E402
from ecs_gitops_tools.local.cloud import free_port  # noqa: E402
from ecs_gitops_tools.local.invoke import environment  # noqa: E402
from ecs_gitops_tools.local.moto_patches import apply_patches  # noqa: E402
from ecs_gitops_tools.local.stack import LOCAL_ROLES, create_stack  # noqa: E402
from ecs_gitops_tools.local.template import ACCOUNT, Template  # noqa: E402
from ecs_gitops_tools.seed import put_image, seed  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENT = "bench"
INBOX = "bench-reconcile-requests"
GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
           "PATH": os.environ.get("PATH", "/usr/bin:/bin")}


@dataclass
class Invocation:
    n: int
    seconds: float
    deadline: float
    kind: str
    left: int | None
    calls: Counter[str]
    attempts: int
    error: str | None


@dataclass
class Run:
    invocations: list[Invocation] = field(default_factory=list)
    seconds: float = 0.0
    throttled: Counter[str] = field(default_factory=Counter)
    accepted: Counter[str] = field(default_factory=Counter)
    dead_letters: int = 0
    admitted: list[float] = field(default_factory=list)  # RegisterTaskDefinition times
    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    @property
    def calls(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for invocation in self.invocations:
            total.update(invocation.calls)
        return total


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, text=True,
                          capture_output=True, env=GIT_ENV).stdout.strip()


def commit_file(repo: Path, data: dict[str, Any], message: str) -> str:
    path = repo / "desired_state" / f"{ENVIRONMENT}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def floor_seconds(calls: Counter[str], scale: float) -> tuple[float, str]:
    """The least time ECS's buckets need to admit `calls` (scaled), and its category."""
    by_category: Counter[str] = Counter()
    for call, count in calls.items():
        service, operation = call.split(":", 1)
        category = ecs_category(operation) if service == "ecs" else None
        if category:
            by_category[category] += count
    best, which = 0.0, "none"
    for category, count in by_category.items():
        rate = ECS_CATEGORIES[category][0].faster(scale)
        seconds = max(0.0, count - rate.burst) / rate.per_second
        if seconds > best:
            best, which = seconds, category
    return best, which


def reconcile_event(reason: str) -> dict[str, Any]:
    return {"version": "0", "id": f"bench-{reason}", "detail-type": "Reconcile Requested",
            "source": "ecs-gitops", "account": ACCOUNT, "time": "2026-11-30T00:00:00Z",
            "region": REGION, "resources": [],
            "detail": {"environment": ENVIRONMENT, "reason": reason}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--scale", type=float, default=4.0,
                        help="time scale: refills x scale, timeout and margin / scale (4)")
    parser.add_argument("--container", choices=("cold", "warm"), default="cold")
    args = parser.parse_args(argv)
    n, scale = args.services, args.scale

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    import logging

    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto server's access log
    apply_patches()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    work = Path(tempfile.mkdtemp(prefix="ecs-gitops-scale-"))
    run = Run()
    try:
        urllib.request.urlopen(urllib.request.Request(  # noqa: S310 - our loopback server
            f"{endpoint}/moto-api/reset", method="POST"), timeout=30).close()
        ecs_adapter.clear_cache()
        fast = Pacer.from_environment({"PACING_SCALE": "1000000"})
        clients = Clients(region=REGION, endpoint_url=endpoint, pacer=fast)
        template = Template(ROOT / "template.yaml")
        refs = create_stack(template, clients)
        roles = (LOCAL_ROLES["TaskRoleArn"], LOCAL_ROLES["ExecutionRoleArn"])
        v1 = environment_data(n, "v1", environment_name=ENVIRONMENT, roles=roles)
        v2 = environment_data(n, "v2", environment_name=ENVIRONMENT, roles=roles)
        started = time.perf_counter()
        seed([Environment.model_validate(v1)], clients)
        clients.client("ssm").put_parameter(Name=SECRET, Value="placeholder",
                                            Type="SecureString", Overwrite=True)
        put_image(clients, REPOSITORY, "v2")
        repo = work / "repo"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        commit_file(repo, v1, "v1")
        sqs, events = clients.client("sqs"), clients.client("events")
        inbox = sqs.create_queue(QueueName=INBOX)["QueueUrl"]
        events.put_rule(Name="bench-reconcile-requests",
                        EventPattern=json.dumps({"source": ["ecs-gitops"]}))
        events.put_targets(Rule="bench-reconcile-requests", Targets=[
            {"Id": "inbox", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{INBOX}"}])
        base = {"AWS_ENDPOINT_URL": endpoint, "GIT_SOURCE": str(repo),
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "BRANCH_ENVIRONMENTS": json.dumps({"main": ENVIRONMENT}),
                "CLUSTER_NAME": CLUSTER, "POWERTOOLS_METRICS_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": "WARNING"}
        say(f"seeded {n} services' world in {time.perf_counter() - started:.0f}s")

        # Set-up: every service created through the same handler, unthrottled.
        started = time.perf_counter()
        setup_bus = Bus(template, refs, clients, {**base, "PACING_SCALE": "1000000"})
        setup_bus.functions["ReconcileFunction"] = replace(
            setup_bus.functions["ReconcileFunction"], timeout=24 * 3600)
        (created,) = setup_bus.deliver(reconcile_event("push"))
        if created.error or (created.result or {}).get("kind") != "applied":
            raise SystemExit(f"set-up reconcile failed: {created.summary}")
        store = DynamoStore(clients, refs["StateTable"])
        names = [s["name"] for s in v1["services"]]
        latest = store.latest_releases(ENVIRONMENT, names)
        store.record_releases([replace(r, outcome=ReleaseState.HEALTHY) for r in latest.values()])
        say(f"set-up: {n} services created and healthy in {time.perf_counter() - started:.0f}s")
        if os.environ.get("BENCH_DEBUG"):
            remembered = store.task_definition_documents(
                [latest[nm].task_definition for nm in names])
            say(f"DEBUG remembered task definitions: {len(remembered)} of {n}")

        # The measured run: one commit changes every image; ECS throttles from here on.
        tip = commit_file(repo, v2, "every image v1 -> v2")
        timeout = template.function("ReconcileFunction").timeout / scale
        margin = 20.0 / scale
        env_extra = {**base, "PACING_SCALE": str(scale), "DEADLINE_MARGIN_SECONDS": str(margin)}
        bus = Bus(template, refs, clients, env_extra)
        spec = replace(bus.functions["ReconcileFunction"], timeout=timeout)  # type: ignore[arg-type]
        bus.functions["ReconcileFunction"] = spec
        function_env = bus.environments["ReconcileFunction"]

        def pump() -> int:
            added = 0
            while True:
                messages = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10,
                                               WaitTimeSeconds=0).get("Messages", [])
                if not messages:
                    return added
                for message in messages:
                    event = json.loads(message["Body"])
                    event.setdefault("version", "0")
                    event.setdefault("account", ACCOUNT)
                    event.setdefault("region", REGION)
                    event.setdefault("resources", [])
                    bus.put(event)
                    added += 1
                    sqs.delete_message(QueueUrl=inbox, ReceiptHandle=message["ReceiptHandle"])

        def delivered(delivery: Delivery) -> None:
            with environment(function_env):
                ports = wiring.ports_from_environment()
            calls = Counter(ports.cloud.clients.calls)  # type: ignore[attr-defined]
            ports.cloud.clients.calls.clear()  # type: ignore[attr-defined]
            result = delivery.result if isinstance(delivery.result, dict) else {}
            invocation = Invocation(len(run.invocations) + 1, delivery.seconds, timeout,
                                    str(result.get("kind", "error")), result.get("left"),
                                    calls, delivery.attempts, delivery.error)
            run.invocations.append(invocation)
            say(f"  invocation {invocation.n}: {invocation.kind} in {delivery.seconds:.1f}s "
                f"(deadline {timeout:.0f}s), {sum(calls.values())} calls, "
                f"{calls['ecs:RegisterTaskDefinition']} registered, left {invocation.left}"
                + (f", error {delivery.error}" if delivery.error else ""))
            if os.environ.get("BENCH_DEBUG"):
                say(f"    {dict(sorted(calls.items()))}")
            if args.container == "cold":
                wiring.forget_container()
                ecs_adapter.clear_cache()

        bus.on_delivery = delivered
        wiring.forget_container()
        ecs_adapter.clear_cache()
        throttle.enforce(scale)
        say(f"measured run: {n} image changes, ECS throttled (x{scale:g}), function timeout "
            f"{timeout:.0f}s, margin {margin:.0f}s, {args.container} containers")
        started, origin = time.perf_counter(), time.monotonic()
        bus.put(reconcile_event("push"))
        bus.run(pump)
        run.seconds = time.perf_counter() - started
        seen = throttle.stats()
        run.throttled, run.accepted = seen["throttled"], seen["accepted"]
        run.admitted = [t - origin for t in throttle.admitted("RegisterTaskDefinition")]
        throttle.enforce(None)
        dlq = sqs.get_queue_attributes(QueueUrl=refs["DeadLetterQueue"],
                                       AttributeNames=["ApproximateNumberOfMessages"])
        run.dead_letters = int(dlq["Attributes"]["ApproximateNumberOfMessages"])

        # Checks: converged, everything recorded, nothing registered twice.
        services = AwsCloud(clients).describe_services(CLUSTER, names)
        latest = store.latest_releases(ENVIRONMENT, names)
        recorded = [nm for nm in names if nm in latest and latest[nm].commit == tip
                    and latest[nm].task_definition == services[nm].task_definition
                    and latest[nm].deployment_id == next(
                        (d.id for d in services[nm].deployments if d.status == "PRIMARY"), None)]
        ecs_client = clients.ecs
        twice = [nm for nm in names if len(ecs_client.list_task_definitions(
            familyPrefix=nm)["taskDefinitionArns"]) != 2]
        ecs_adapter.clear_cache()
        left = preview(Environment.model_validate(v2), AwsCloud(clients), store=None)
        late = [i.n for i in run.invocations if i.seconds > i.deadline]
        if os.environ.get("BENCH_DEBUG"):
            for nm in names[:3]:
                say(f"DEBUG {nm}: {latest.get(nm)} / {services.get(nm)}")
        run.checks += [
            ("every service on the new image (plan empty)", left.plan.empty,
             f"{len(left.plan.actions)} actions left"),
            ("every release recorded (commit, task definition, deployment id)",
             len(recorded) == n, f"{len(recorded)} of {n}"),
            ("each family registered once (two revisions: v1, v2)", not twice,
             f"{len(twice)} families with another count"),
            ("no dead letters", run.dead_letters == 0, f"{run.dead_letters} in the DLQ"),
            ("no invocation past its deadline", not late, f"late: {late or 'none'}"),
            ("no call throttled by ECS", not run.throttled, dict(run.throttled) or "none"),
        ]
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    report(run, n=n, scale=scale, container=args.container)
    return 0 if all(ok for _, ok, _ in run.checks) else 1


def report(run: Run, *, n: int, scale: float, container: str) -> None:
    calls = run.calls
    floor, category = floor_seconds(calls, scale)
    total = sum(calls.values())
    print(f"# reconcile at scale: {' '.join(sys.argv)}\n")
    print(f"{n} services, time scale x{scale:g}, {container} containers: "
          f"{len(run.invocations)} invocations in {run.seconds:.1f}s; throttling floor "
          f"{floor:.1f}s ({category}); ratio {run.seconds / floor if floor else math.nan:.3f} "
          f"(on AWS: {run.seconds * scale:.0f}s against {floor * scale:.0f}s)\n")
    gaps = sorted((b - a for a, b in zip(run.admitted, run.admitted[1:], strict=False)),
                  reverse=True)
    window = 20 / scale  # what ECS's bucket (20) refills in: a pause up to this costs nothing
    lost = sum(g - window for g in gaps if g > window)
    print(f"Registrations: the first {run.admitted[0] if run.admitted else 0:.1f}s after the "
          f"run started (its bucket refills in {window:.1f}s); the longest pauses between two "
          f"of them {', '.join(f'{g:.1f}s' for g in gaps[:5])}; refill time lost in pauses "
          f"longer than the refill: {lost:.1f}s\n")
    print("| invocation | outcome | seconds | deadline | calls | registered | updated | left |")
    print("|---|---|---|---|---|---|---|---|")
    for i in run.invocations:
        print(f"| {i.n} | {i.kind} | {i.seconds:.1f} | {i.deadline:.0f} | "
              f"{sum(i.calls.values())} | {i.calls['ecs:RegisterTaskDefinition']} | "
              f"{i.calls['ecs:UpdateService']} | {i.left if i.left is not None else 0} |")
    print("\n| operation | calls | per service |\n|---|---|---|")
    for op, count in sorted(calls.items()):
        print(f"| {op} | {count} | {count / n:.3f} |")
    print(f"| **total** | **{total}** | **{total / n:.3f}** |\n")
    for name, ok, detail in run.checks:
        print(f"- [{'met' if ok else 'NOT MET'}] {name}: {detail}")
    goal = total / n <= 3.2
    print(f"- [{'met' if goal else 'NOT MET'}] at most 3.2 calls per service: {total / n:.3f}")
    ratio_ok = floor and run.seconds <= 1.1 * floor
    print(f"- [{'met' if ratio_ok else 'NOT MET'}] within 1.1x the throttling floor: "
          f"{run.seconds:.1f}s / {floor:.1f}s")


if __name__ == "__main__":
    sys.exit(main())
