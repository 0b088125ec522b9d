"""`ecs-gitops local up`: the embedded cloud kept running in the background.

Runs moto on 127.0.0.1 (default port 4566), the git remote, the builder, the
rollout simulator and the bus, and ticks the template's schedules. A user pushes to
the remote with plain git and follows along with `ecs-gitops status ENV --local`
and `ecs-gitops local status`. State (endpoint, remote, stack references, pid) is
in `<dir>/state.json`; the timeline in `<dir>/timeline.log`; the functions' own log
lines in `<dir>/functions.log`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from ecs_gitops_tools.local.cloud import EmbeddedCloud

STATE = "state.json"


def schedule_seconds(expression: str) -> float:
    """`rate(5 minutes)` -> 300. (cron() schedules tick every 5 minutes locally.)"""
    match = re.match(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)", expression)
    if not match:
        return 300.0
    unit = {"minute": 60, "hour": 3600, "day": 86400}[match.group(2).rstrip("s")]
    return float(match.group(1)) * unit


def read_state(directory: Path) -> dict[str, object] | None:
    path = directory / STATE
    if not path.exists():
        return None
    data: dict[str, object] = json.loads(path.read_text())
    return data


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecs_gitops_tools.local.daemon")
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--test-args", default="",
                        help="extra arguments for the apps' tests, separated by '|'")
    parser.add_argument("--schedule-scale", type=float, default=1.0,
                        help="multiply the template's schedule periods (e.g. 0.1: 10x faster)")
    args = parser.parse_args(argv)
    directory: Path = args.dir.resolve()
    timeline = (directory / "timeline.log").open("a", encoding="utf-8", buffering=1)

    def line(text: str) -> None:
        timeline.write(f"{time.strftime('%H:%M:%S')} {text}\n")

    cloud = EmbeddedCloud(directory, source=args.source.resolve(), port=args.port,
                          test_args=[a for a in args.test_args.split("|") if a])
    cloud.observers.delivery.append(
        lambda d: line(f"{d.event.get('detail-type')} -> {d.function}: {d.summary}"))
    cloud.observers.build.append(
        lambda r: line(f"build {r.project} {r.commit[:7]}: {r.status} ({r.seconds:.1f}s, "
                       f"log {r.log})"))
    cloud.observers.rollout.append(
        lambda r: line(f"rollout {r.service} -> {r.image.rsplit(':', 1)[-1][:7]}: "
                       f"{'healthy' if r.healthy else 'FAILED, rolled back'} ({r.reason})"))
    cloud.start()
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    schedules: dict[str, tuple[float, float]] = {}
    for logical_id, spec in cloud.template.functions().items():
        for rule in spec.rules:
            if rule.schedule:
                period = schedule_seconds(rule.schedule) * args.schedule_scale
                # The first tick at once: a fresh cloud gets its services from git
                # without waiting a whole period.
                schedules[logical_id] = (period, time.monotonic())
    (directory / STATE).write_text(json.dumps(cloud.state(), indent=2))
    line(f"embedded cloud up on {cloud.endpoint}; git remote {cloud.remote.path}")
    try:
        while not stopping:
            now = time.monotonic()
            for logical_id, (period, due) in list(schedules.items()):
                if now >= due:
                    cloud.schedule(logical_id)
                    schedules[logical_id] = (period, now + period)
            try:
                cloud.run()
            except Exception as exc:
                line(f"error: {type(exc).__name__}: {exc}")
            time.sleep(0.5)
    finally:
        line("embedded cloud down")
        (directory / STATE).unlink(missing_ok=True)
        cloud.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
