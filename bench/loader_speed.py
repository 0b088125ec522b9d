"""How long the desired-state loader takes, on real files, large ones and hostile ones.

Not a test: a measurement, run by hand and written up in docs/benchmarks.md.

Each input is loaded with `load_environment_text` R times (default 5) and the
median wall time reported, with the outcome (valid, or the first problem). Inputs:

  real files       desired_state/*.yaml as committed
  N services       a generated environment of N services in the short form (10, 100,
                   1000, 5000 when it fits the size bound), each with a build,
                   scaling, two variables and two secrets
  near the bounds  aliases that expand to just under MAX_ALIAS_EXPANSION values (the
                   first service's `environment: &env` aliased by 999 others); nesting
                   just under MAX_DEPTH; a file of MAX_CHARS characters
  hostile          the issue's alias bomb (nested aliases, 9 copies a level, then a
                   duplicate key) at 5 to 10 levels; merge-key bombs; 3,000 levels of
                   `[`, `{a: ` and `- `; a 5,000-digit and a base-60 number; a NUL byte;
                   a file of 2 MiB + 1 characters

The goal (issue 10): every hostile input answered in well under a second (we
check < 0.1 s), and loading stays linear in the size of the file. It exits 1 if a
goal check fails.

    .venv/bin/python bench/loader_speed.py [--repeat 5]
    # the same inputs against another checkout's loader (e.g. before issue 10):
    PYTHONPATH=/path/to/checkout/layers/core .venv/bin/python bench/loader_speed.py \\
        --hostile-only --repeat 1 --give-up 60
"""

from __future__ import annotations

import argparse
import platform
import signal
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import ecs_gitops
from ecs_gitops.desired import load_environment_text
from ecs_gitops.errors import DesiredStateError

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = (ROOT / "desired_state/production.yaml").read_text()
HOSTILE_GOAL = 0.1  # seconds
# The bounds of ecs_gitops.desired.document (repeated, so that an older loader without
# them can be measured on the same inputs).
MAX_ALIAS_EXPANSION, MAX_DEPTH, MAX_CHARS = 100_000, 100, 2 * 1024 * 1024

HEADER = """\
schemaVersion: 1
environment: bench
branch: main
region: us-east-1
cluster: bench
services:
"""


def service(index: int, extra: str = "") -> str:
    return f"""\
  - name: svc-{index:05d}
    image: {{repository: bench, tag: v{index}}}
    build: {{project: bench-{index}, source: apps/svc-{index}}}
{extra}    cpu: 256
    memory: 512
    port: {1024 + index % 60000}
    environment: {{LOG_LEVEL: info, REGION: us-east-1}}
    secrets: {{DB_PASSWORD: /bench/db-password, DB_USER: /bench/db-user}}
    scaling: {{min: 1, max: 2}}
"""


def environment(count: int) -> str:
    return HEADER + "".join(service(i) for i in range(count))


def shared_environment(count: int) -> str:
    """The first service's `environment: &env` (as large as the bound allows) aliased by all
    the others: aliases that expand to just under MAX_ALIAS_EXPANSION values."""
    keys = (MAX_ALIAS_EXPANSION // (count - 1) - 1) // 2  # each alias adds 1 + 2 * keys
    shared = "{" + ", ".join(f"K{i}: v" for i in range(keys)) + "}"
    plain = "    environment: {LOG_LEVEL: info, REGION: us-east-1}\n"
    first = service(0).replace(plain, f"    environment: &env {shared}\n")
    return HEADER + first + "".join(service(i).replace(plain, "    environment: *env\n")
                                    for i in range(1, count))


def alias_bomb(levels: int) -> str:
    lines = ["anchors:", "  l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]"
              for i in range(1, levels + 1)]
    return PRODUCTION + "\n".join(lines) + "\nbranch: main\n"


def merge_bomb(levels: int) -> str:
    lines = ["anchors:", "  m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9}"]
    lines += [f"  m{i}: &m{i} {{<<: [" + ", ".join([f"*m{i - 1}"] * 9) + "]}"
              for i in range(1, levels + 1)]
    return PRODUCTION + "\n".join(lines) + "\nbranch: main\n"


def nested(opening: str, depth: int) -> str:
    if opening == "- ":
        return PRODUCTION.replace("prune: false", "prune:\n  " + "- " * depth + "x", 1)
    closing = "]" if opening == "[" else "}"
    return PRODUCTION.replace("prune: false",
                              "prune: " + opening * depth + "1" + closing * depth, 1)


def under_size_limit() -> str:
    text = environment(1)
    return text + "#" * (MAX_CHARS - len(text) - 1) + "\n"


class GaveUp(BaseException):
    """The --give-up time ran out (for an older loader on an alias bomb)."""


def _give_up(signum: int, frame: object) -> None:
    raise GaveUp


def measure(text: str, repeat: int, give_up: float) -> tuple[float, str]:
    times: list[float] = []
    outcome = ""
    signal.signal(signal.SIGALRM, _give_up)
    for _ in range(repeat):
        started = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, give_up)
        try:
            env = load_environment_text(text, "f.yaml")
            outcome = f"valid ({len(env.services)} services)"
        except DesiredStateError as exc:
            first = str(exc.problems[0]).removeprefix("f.yaml:")
            outcome = f"{len(exc.problems)} problem(s): {first[:90]}"
        except GaveUp:
            outcome = f"gave up after {give_up:g} s"
        except Exception as exc:  # an older loader: show what escaped
            outcome = f"raised {type(exc).__name__}: {str(exc)[:60]}"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        times.append(time.perf_counter() - started)
        if outcome.startswith("gave up"):
            break
    return statistics.median(times), outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--hostile-only", action="store_true")
    parser.add_argument("--give-up", type=float, default=60.0, metavar="SECONDS",
                        help="stop one load after this long (default 60)")
    args = parser.parse_args()
    sys.setrecursionlimit(1000)  # CPython's default, as in a Lambda

    inputs: list[tuple[str, str, Callable[[], str]]] = []
    if not args.hostile_only:
        inputs += [(f"real: {p.name}", "real", lambda p=p: p.read_text())
                   for p in sorted((ROOT / "desired_state").glob("*.yaml"))]
        inputs += [(f"{n} services", "scale", lambda n=n: environment(n))
                   for n in (10, 100, 1000, 5000)]
        inputs += [("aliases just under the bound (1000 services)", "bound",
                    lambda: shared_environment(1000)),
                   (f"nesting {MAX_DEPTH - 5} levels", "bound", lambda: nested("[", MAX_DEPTH - 5)),
                   ("2 MiB - 1 (mostly a comment)", "bound", under_size_limit)]
    inputs += [(f"alias bomb, {n} levels", "hostile", lambda n=n: alias_bomb(n))
               for n in range(4, 11)]
    inputs += [(f"merge-key bomb, {n} levels", "hostile", lambda n=n: merge_bomb(n))
               for n in (6, 8)]
    inputs += [(f"3000 levels of {o.strip()!r}", "hostile", lambda o=o: nested(o, 3000))
               for o in ("[", "{a: ", "- ")]
    inputs += [
        ("5000-digit number", "hostile",
         lambda: PRODUCTION.replace("port: 5000", "port: " + "9" * 5000, 1)),
        ("base-60 number of 2000 parts", "hostile",
         lambda: PRODUCTION.replace("port: 5000", "port: 1" + ":1" * 2000, 1)),
        ("a NUL byte", "hostile", lambda: PRODUCTION + "\x00"),
        ("2 MiB + 1 characters", "hostile", lambda: PRODUCTION + "#" * MAX_CHARS),
        ("cpu: -.inf", "hostile", lambda: PRODUCTION.replace("cpu: 256", "cpu: -.inf", 1)),
        ("name: [api]", "hostile", lambda: PRODUCTION.replace("- name: api", "- name: [api]", 1)),
    ]

    print(f"loader: {Path(ecs_gitops.__file__).parent}; Python {platform.python_version()}; "
          f"median of {args.repeat}\n")
    print("| input | kind | size (chars) | median (ms) | outcome |")
    print("|---|---|---|---|---|")
    failed: list[str] = []
    rates: dict[int, float] = {}
    for name, kind, make in inputs:
        text = make()
        seconds, outcome = measure(text, args.repeat, args.give_up)
        print(f"| {name} | {kind} | {len(text):,} | {seconds * 1000:.1f} | "
              f"{outcome.replace('|', '/')} |", flush=True)
        if kind == "hostile" and seconds >= HOSTILE_GOAL:
            failed.append(f"{name}: {seconds:.3f} s >= {HOSTILE_GOAL} s")
        if kind == "hostile" and outcome.startswith(("raised", "gave up")):
            failed.append(f"{name}: {outcome}")
        if kind == "scale":
            rates[len(text)] = seconds / len(text) * 1e6  # ms per 1,000 characters
    print()
    if rates:
        sizes = sorted(rates)
        print("Time per 1,000 characters: " + ", ".join(
            f"{rates[s]:.2f} ms at {s:,}" for s in sizes))
        if rates[sizes[-1]] > 3 * rates[sizes[1]]:
            failed.append("loading is not linear in the file's size")
    print(f"Goal: every hostile input answered in < {HOSTILE_GOAL} s, without an exception "
          f"other than DesiredStateError: {'met' if not failed else 'NOT met'}")
    for line in failed:
        print(f"- {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
