"""`ecs-gitops local up`: the embedded cloud kept running in the background.

Runs moto on 127.0.0.1 (default port 4566), the git remote, the builder, the
rollout simulator and the bus, and ticks the template's schedules. A user pushes to
the remote with plain git and follows along with `ecs-gitops status ENV --local`
and `ecs-gitops local status`. State (endpoint, remote, stack references, pid) is
in `<dir>/state.json`; the timeline in `<dir>/timeline.log`; the functions' own log
lines in `<dir>/functions.log`.

What it did survives a stop: the git remote, moto's state (`aws-state.pickle`, saved
after every burst of events and at the end), the images built, the timeline. The next
start resumes it; `--reset` forgets it. A lock in the folder and one per port (fcntl,
released by the OS when the process dies) make it one daemon per folder and per port.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import IO

from ecs_gitops_tools.local.cloud import EmbeddedCloud, PortBusyError
from ecs_gitops_tools.local.timeline import timeline_line

STATE = "state.json"
IDLE = "idle.json"  # {"time": when last quiet, "since": timeline offset of the last burst}
EXIT_BUSY = 3  # `local up` reads it: the folder or the port is another daemon's
EXIT_REFUSED = 4  # `local up` reads it: the checkout or --app-repository cannot be served


def schedule_seconds(expression: str) -> float:
    """`rate(5 minutes)` -> 300. (cron() schedules tick every 5 minutes locally.)"""
    match = re.match(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)", expression)
    if not match:
        return 300.0
    unit = {"minute": 60, "hour": 3600, "day": 86400}[match.group(2).rstrip("s")]
    return float(match.group(1)) * unit


def deliver(cloud: EmbeddedCloud, clock: Callable[[], float] = time.time
            ) -> tuple[int, float | None]:
    """One pass of the daemon: deliver what is waiting. Returns (events delivered, the
    time the cloud is known quiet since, or None when it is not quiet).

    Quiet: nothing delivered, no ref change or spooled event waiting in any repository,
    no blue/green, canary or linear deployment walking (one that waits for an approval is
    quiet: only a person moves it). The time is read *before* looking: a push spooled
    while this pass looked is then older than the time `local wait` compares, never
    newer (reading it after the checks let a wait that began after such a push end
    before the push was delivered)."""
    looked = clock()
    delivered = cloud.run()
    if delivered or cloud.pending() or cloud.rollouts.busy():
        return delivered, None
    return 0, looked


def read_state(directory: Path) -> dict[str, object] | None:
    """The running daemon's state file in `directory` (endpoint, pid, port, ...), or None."""
    path = directory / STATE
    if not path.exists():
        return None
    data: dict[str, object] = json.loads(path.read_text())
    return data


def alive(pid: int) -> bool:
    """True when a process `pid` exists (signal 0; a process of another user counts as gone)."""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


LOCK = "daemon.lock"
PORT_LOCKS = Path(os.environ.get("XDG_RUNTIME_DIR") or "/tmp")
# What --reset clears; the lock (held) and the daemon's own log (being written) stay.
KEEP_ON_RESET = (LOCK, "daemon.log")


class Busy(Exception):
    """Another daemon holds the folder or the port."""


def hold_lock(path: Path) -> IO[str]:
    """An exclusive lock for the life of the process (the OS drops it when we die, so a
    crash never leaves a stale lock). Raises Busy with the holder's pid."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise Busy(holder) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file and a rename, so that a reader
    never sees half a file.
    """
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def reset_folder(directory: Path) -> None:
    """Everything a previous run left, except the lock, the daemon's log and the git
    worktrees a person made there (the README's `.local-cloud/review`: their work, and
    a worktree the checkout still lists)."""
    for entry in directory.iterdir():
        if entry.name in KEEP_ON_RESET or (entry / ".git").is_file():
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def main(argv: list[str] | None = None) -> int:
    """The daemon's entry point (`local up` starts it): holds the folder's and the port's
    locks, serves the embedded AWS and runs the pump until stopped.

    Returns:
        The exit status (non-zero when the folder or port is busy).
    """
    parser = argparse.ArgumentParser(prog="python -m ecs_gitops_tools.local.daemon")
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--reset", action="store_true",
                        help="forget what a previous run left in --dir and start afresh")
    parser.add_argument("--test-args", default="",
                        help="extra arguments for the apps' tests, separated by '|'")
    parser.add_argument("--app-repository", action="append", default=[],
                        help="NAME=FOLDER: an application repository split off FOLDER")
    parser.add_argument("--schedule-scale", type=float, default=1.0,
                        help="multiply the template's schedule periods (e.g. 0.1: 10x faster)")
    args = parser.parse_args(argv)
    directory: Path = args.dir.resolve()
    # One daemon per folder and one per port, whoever starts it and however many at once.
    try:
        _folder_lock = hold_lock(directory / LOCK)
    except Busy as busy:
        print(f"busy: already running (pid {busy}) in {directory}", file=sys.stderr)
        return EXIT_BUSY
    try:
        _port_lock = hold_lock(PORT_LOCKS / f"ecs-gitops-local-{args.port}.lock")
    except Busy as busy:
        print(f"busy: another embedded cloud (pid {busy}) uses port {args.port}",
              file=sys.stderr)
        return EXIT_BUSY
    if args.reset:
        reset_folder(directory)
    timeline = (directory / "timeline.log").open("a", encoding="utf-8", buffering=1)

    def line(text: str) -> None:
        timeline.write(f"{time.strftime('%H:%M:%S')} {text}\n")

    cloud = EmbeddedCloud(directory, source=args.source.resolve(), port=args.port,
                          test_args=[a for a in args.test_args.split("|") if a],
                          history=True, resume=not args.reset,
                          app_repositories=dict(a.split("=", 1) for a in args.app_repository))
    cloud.observers.delivery.append(lambda d: line(timeline_line(d)))
    cloud.observers.build.append(
        lambda r: line(f"build {r.project} {r.commit[:7]}: {r.status} ({r.seconds:.1f}s, "
                       f"log {r.log})"))
    cloud.observers.rollout.append(
        lambda r: line(f"rollout {r.service} -> {r.image.rsplit(':', 1)[-1][:7]}: "
                       f"{'healthy' if r.healthy else 'FAILED, rolled back'} ({r.reason})"))
    try:
        cloud.start()
    except PortBusyError as exc:
        print(f"busy: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except ValueError as exc:  # what it was given cannot be served (`local up` checks first)
        print(f"refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
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
    state = {**cloud.state(), "resumed": cloud.resumed,
             "seeded": [{"branch": s.branch, "commit": s.commit, "origin": s.origin}
                        for s in cloud.seeded],
             "fresh_reason": "" if cloud.resumed else
             ("--reset" if args.reset else cloud.resume_note)}
    (directory / STATE).write_text(json.dumps(state, indent=2))
    if cloud.resumed:
        line(f"embedded cloud up again on {cloud.endpoint}, resuming the saved state "
             f"(git remote {cloud.remote.path})")
    elif not cloud.seeded:
        line(f"embedded cloud up on {cloud.endpoint}; AWS made again from the kept git remote "
             f"({state['fresh_reason']})")
    else:
        line(f"embedded cloud up on {cloud.endpoint}, afresh ({state['fresh_reason']}); "
             f"git remote {cloud.remote.path} seeded from "
             + ", ".join(f"{s.branch}={s.commit[:7]}" for s in cloud.seeded))
    burst = timeline.tell()  # where the last burst of deliveries began in the timeline
    try:
        while not stopping:
            now = time.monotonic()
            for logical_id, (period, due) in list(schedules.items()):
                if now >= due:
                    cloud.schedule(logical_id)
                    schedules[logical_id] = (period, now + period)
            started_at = timeline.tell()
            try:
                delivered, quiet_since = deliver(cloud)
                if delivered:
                    burst = started_at
                    cloud.save()  # a kill -9 loses at most what is being delivered
                elif quiet_since is not None:
                    write_atomic(directory / IDLE, json.dumps(
                        {"time": quiet_since, "since": burst}))
            except Exception as exc:
                line(f"error: {type(exc).__name__}: {exc}")
            time.sleep(0.5)
    finally:
        line("embedded cloud down (state saved; 'local up' resumes it, --reset forgets it)")
        (directory / STATE).unlink(missing_ok=True)
        (directory / IDLE).unlink(missing_ok=True)
        cloud.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
