"""Cold import of each Lambda handler against a bare `import boto3`, as the layer ships.

Not a test: a measurement, run by hand and written up in docs/benchmarks.md.

What Lambda does at a cold start, before the first event: start Python 3.12 and import
the handler module (`functions/<name>/app.py`, the layer's `ecs_gitops` on the path) with
the function's environment from template.yaml. This script does the same in a throwaway
virtual environment holding only `layers/core/requirements.txt` (made with pyenv's
Python 3.12 on first use, `--venv`), in a fresh process per sample: each sample times
the import inside the process (`time.perf_counter` around it), so interpreter start-up
is left out of both sides. Samples alternate between the handlers and `import boto3`
(so that a machine that is busier for a while slows both) and the median is reported,
with the ratio handler / boto3; a paired ratio is also measured in one process (import
boto3, then the handler: (both) / boto3), which the load of a shared machine disturbs
less. The first event of each handler then imports its controller and the event models
(and, through them, the desired-state models and the engine): that time is reported
apart, as "first event imports". `-X importtime` of one import per handler lists where
the time goes (self time by package).

    .venv/bin/python bench/cold_start.py [--samples 15] [--venv /tmp/ecs-gitops-layer-312]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYER = ROOT / "layers" / "core"
FUNCTIONS = sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))
GOAL = 1.3

TIMED = ("import sys, time\n"
         "t = time.perf_counter()\n"
         "import {module}\n"
         "sys.stdout.write(str(time.perf_counter() - t))\n")
# What each handler's first event imports besides (its controller and the event models,
# and through them the desired-state models, the engine, the ECS adapters it uses).
FIRST_EVENT = {
    "build_finished": ["ecs_gitops.controllers.build", "ecs_gitops.events"],
    "deployment_events": ["ecs_gitops.controllers.deployment", "ecs_gitops.events",
                          "ecs_gitops.aws.cloud"],
    "push": ["ecs_gitops.controllers.push", "ecs_gitops.events"],
    "reconcile": ["ecs_gitops.controllers.reconcile", "ecs_gitops.events",
                  "ecs_gitops.aws.cloud"],
    "sweep": ["ecs_gitops.controllers.sweep", "ecs_gitops.events", "ecs_gitops.aws.cloud"],
}
PAIRED = ("import sys, time\n"
          "t = time.perf_counter()\n"
          "import boto3\n"
          "a = time.perf_counter() - t\n"
          "t = time.perf_counter()\n"
          "import app\n"
          "sys.stdout.write(str((a + time.perf_counter() - t) / a))\n")
THEN = ("import sys, time\n"
        "import app\n"
        "t = time.perf_counter()\n"
        "{imports}\n"
        "sys.stdout.write(str(time.perf_counter() - t))\n")


def python312(explicit: str | None) -> str:
    if explicit:
        return explicit
    found = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")))
    if not found:
        raise SystemExit("no Python 3.12 (pyenv install 3.12, or --python PATH)")
    return found[-1]


def layer_venv(path: Path, python: str) -> Path:
    """A virtual environment with the layer's requirements only (made once)."""
    interpreter = path / "bin" / "python"
    if not interpreter.exists():
        subprocess.run([python, "-m", "venv", str(path)], check=True)
        subprocess.run([str(interpreter), "-m", "pip", "install", "--quiet", "-r",
                        str(LAYER / "requirements.txt")], check=True)
    return interpreter


def function_environment() -> dict[str, str]:
    """The functions' environment from template.yaml (Globals and each function's own
    variables that are plain strings), as Lambda sets it, plus Lambda's own."""
    sys.path[:0] = [str(LAYER), str(ROOT / "tools")]
    from ecs_gitops_tools.local.template import Template

    template = Template(ROOT / "template.yaml")
    variables = template.data["Globals"]["Function"]["Environment"]["Variables"]
    defaults = {name: p.get("Default") for name, p in template.data["Parameters"].items()}
    env: dict[str, str] = {}
    for key, value in variables.items():
        if isinstance(value, str):
            env[key] = value
        elif isinstance(value, dict) and "Ref" in value and defaults.get(value["Ref"]) is not None:
            env[key] = str(defaults[value["Ref"]])
        else:
            env[key] = "placeholder"
    # The TraceAwsCalls default: tracing off (see the template).
    env["POWERTOOLS_TRACE_DISABLED"] = "true"
    env.update({"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_LAMBDA_FUNCTION_NAME": "ecs-gitops-function",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512", "AWS_EXECUTION_ENV":
                "AWS_Lambda_python3.12", "TABLE_NAME": "state", "PATH": os.environ["PATH"],
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    return env


def sample(interpreter: Path, module: str, cwd: Path, env: dict[str, str]) -> float:
    out = subprocess.run([str(interpreter), "-c", TIMED.format(module=module)], cwd=cwd,
                         env=env, check=True, capture_output=True, text=True).stdout
    return float(out)


def paired(interpreter: Path, function: str, env: dict[str, str]) -> float:
    """In one process: import boto3, then the handler; (both) / boto3. Both halves see the
    same machine load, so this ratio varies less than two processes' times."""
    out = subprocess.run([str(interpreter), "-c", PAIRED], cwd=ROOT / "functions" / function,
                         env=env, check=True, capture_output=True, text=True).stdout
    return float(out)


def first_event(interpreter: Path, function: str, env: dict[str, str]) -> float:
    """Seconds the imports of `function`'s first event take after its cold import."""
    code = THEN.format(imports="\n".join(f"import {m}" for m in FIRST_EVENT[function]))
    out = subprocess.run([str(interpreter), "-c", code], cwd=ROOT / "functions" / function,
                         env=env, check=True, capture_output=True, text=True).stdout
    return float(out)


def importtime(interpreter: Path, module: str, cwd: Path, env: dict[str, str]
               ) -> Counter[str]:
    """Self time (ms) by top-level package (ecs_gitops by module) of one import."""
    err = subprocess.run([str(interpreter), "-X", "importtime", "-c", f"import {module}"],
                         cwd=cwd, env=env, check=True, capture_output=True, text=True).stderr
    by: Counter[str] = Counter()
    for line in err.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _, name = line.split(":", 1)[1].split("|")
        name = name.strip()
        top = ".".join(name.split(".")[:2]) if name.startswith("ecs_gitops.") else name.split(".")[0]
        by[top] += int(own)
    return Counter({k: v / 1000 for k, v in by.items()})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=15)
    parser.add_argument("--venv", type=Path, default=Path("/tmp/ecs-gitops-layer-312"))
    parser.add_argument("--python", help="a Python 3.12 interpreter (default: pyenv's)")
    args = parser.parse_args(argv)
    interpreter = layer_venv(args.venv, python312(args.python))
    env = function_environment()
    env["PYTHONPATH"] = str(LAYER)
    base = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    version = subprocess.run([str(interpreter), "-c", "import sys, boto3, pydantic; print("
                              "sys.version.split()[0], boto3.__version__, pydantic.VERSION)"],
                             check=True, capture_output=True, text=True, env=base).stdout.split()
    # Warm the byte-code caches of both sides once (Lambda's layer ships .pyc files).
    sample(interpreter, "boto3", ROOT, base)
    for name in FUNCTIONS:
        sample(interpreter, "app", ROOT / "functions" / name, env)
    times: dict[str, list[float]] = {name: [] for name in ["boto3", *FUNCTIONS]}
    later: dict[str, list[float]] = {name: [] for name in FUNCTIONS}
    pairs: dict[str, list[float]] = {name: [] for name in FUNCTIONS}
    for _ in range(args.samples):
        times["boto3"].append(sample(interpreter, "boto3", ROOT, base))
        for name in FUNCTIONS:
            times[name].append(sample(interpreter, "app", ROOT / "functions" / name, env))
            later[name].append(first_event(interpreter, name, env))
            pairs[name].append(paired(interpreter, name, env))
    medians = {k: statistics.median(v) * 1000 for k, v in times.items()}
    deferred = {k: statistics.median(v) * 1000 for k, v in later.items()}
    ratios = {k: statistics.median(v) for k, v in pairs.items()}
    load = os.getloadavg()
    print(f"# cold import: {' '.join(sys.argv)}\n")
    print(f"Python {version[0]}, boto3 {version[1]}, pydantic {version[2]}; {args.samples} "
          f"samples each, median; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}\n")
    print("| import | median (ms) | min (ms) | ratio of medians | paired ratio | goal (<= 1.3) | "
          "first event imports (ms) |")
    print("|---|---|---|---|---|---|---|")
    ok = True
    for name in ["boto3", *FUNCTIONS]:
        ratio = medians[name] / medians["boto3"]
        pair = ratios.get(name, 1.0)
        met = ratio <= GOAL and pair <= GOAL
        ok = ok and (met or name == "boto3")
        label = "import boto3" if name == "boto3" else f"functions/{name}/app.py"
        after = "" if name == "boto3" else f"{deferred[name]:.0f}"
        print(f"| {label} | {medians[name]:.0f} | {min(times[name]) * 1000:.0f} | {ratio:.2f} | "
              f"{pair:.2f} | {'' if name == 'boto3' else ('met' if met else 'NOT MET')} | "
              f"{after} |")
    print("\nSelf time by package, one `-X importtime` run each (ms; boto3's own imports are "
          "botocore, urllib3, dateutil, jmespath, s3transfer, the standard library):\n")
    for name in FUNCTIONS:
        by = importtime(interpreter, "app", ROOT / "functions" / name, env)
        top = ", ".join(f"{k} {v:.0f}" for k, v in by.most_common(8))
        print(f"- {name}: total {sum(by.values()):.0f}: {top}")
    nocache = {**base, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": "/nonexistent"}
    uncompiled = statistics.median(sample(interpreter, "boto3", ROOT, nocache)
                                   for _ in range(3)) * 1000
    print(f"\nWithout byte code (a layer without __pycache__ on Lambda's read-only /opt), "
          f"`import boto3` takes {uncompiled:.0f} ms (median of 3).")
    print(f"\n```json\n{json.dumps({k: round(v, 1) for k, v in medians.items()})}\n```")
    print(f"first event imports: {json.dumps({k: round(v, 1) for k, v in deferred.items()})}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
