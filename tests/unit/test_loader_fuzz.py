"""Fuzzing the loader: any mutation of the real files gives an Environment or located problems.

The reconcile reads these files unattended, so the loader must never raise anything
but `DesiredStateError` and never take long, whatever was pushed. Each example
takes a committed file from desired_state/, applies a few random edits of the kinds
people (and bad merges) make -- lines deleted, duplicated, swapped, re-indented;
YAML tokens inserted; values and keys replaced by odd ones -- and loads it.

The time bound per load (2 s) is generous on purpose: a loaded 2-core machine must
not make it flaky. It catches hangs and exponential blow-ups (an alias bomb takes
minutes), not slowness; the speed goal is measured in bench/loader_speed.py.

More examples for a longer hunt: LOADER_FUZZ_EXAMPLES=20000 pytest tests/unit/test_loader_fuzz.py
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecs_gitops.desired import Environment, load_environment_text
from ecs_gitops.errors import DesiredStateError, Problem

ROOT = Path(__file__).resolve().parents[2]
FILES = {p.name: p.read_text() for p in sorted((ROOT / "desired_state").glob("*.yaml"))}
EXAMPLES = int(os.environ.get("LOADER_FUZZ_EXAMPLES", "150"))
SECONDS = 2.0

TOKENS = [
    "[", "]", "{", "}", ":", ": ", ",", "- ", "? ", "&a ", "*a", "<<: *a", "<<: ", "!!int ",
    "!!str ", "!!binary ", "!!set ", "!!omap ", "!foo ", "!!python/object:os.system ", "'",
    '"', "|", ">-", "#", "---", "...", "%YAML 1.1", "\t", "@", "`", "&", "*", "!", "%",
    "\\", "\ufeff", "\u2028", "\x85",
]
ODD_VALUES = [
    "-.inf", ".inf", ".nan", "-.NaN", "1e400", "-1e400", "99999999999999999999999999",
    "9" * 200, "0x" + "f" * 300, "1:2:3:4:5", "-0", "0.0001", "0o777", "[api]", "[]", "{}",
    "{a: 1}", "[[[[1]]]]", "*a", "&a x", "&a [1, 2]", "~", "null", "yes", "off", "y",
    "2020-01-01", "2001-12-14t21:59:43.10-05:00", "!!binary /w==", "!!set {a, b}",
    "!!omap [a: 1]", "'0.25 vCPU'", "'1e400 vcpu'", "'" + "9" * 500 + " GB'", "'{x}'",
    '"\\x00"', '"\\u202e"', '"\\e[31m"', "'[/red]'", "日本語", "🚀", "'\u00a0'", "\"'\"",
    "|\n  block", ">\n  folded",
]
ODD_KEYS = ["1", "1.5", "true", "on", "~", "null", "[a]", "{a: 1}", "? [a]\n", "'1'", "<<",
            "=", "2020-01-01", "!!int 3", "&k key", "*a"]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A committed desired-state file after 1 to 6 random edits."""
    name = draw(st.sampled_from(sorted(FILES)))
    lines = FILES[name].split("\n")
    for _ in range(draw(st.integers(1, 6))):
        if not lines:
            lines = [""]
        i = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(
            ["delete", "duplicate", "swap", "token", "indent", "value", "key", "text", "alias"]))
        line = lines[i]
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, line)
        elif kind == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "token":
            at = draw(st.integers(0, len(line)))
            lines[i] = line[:at] + draw(st.sampled_from(TOKENS)) + line[at:]
        elif kind == "indent":
            change = draw(st.sampled_from([-4, -2, -1, 1, 2, 4]))
            lines[i] = (" " * change + line) if change > 0 else line[-change:]
            if draw(st.booleans()) and line.startswith(" "):
                lines[i] = "\t" + line.lstrip(" ")
        elif kind == "value":
            key, sep, _ = line.partition(": ")
            odd = draw(st.sampled_from(ODD_VALUES) | st.text(max_size=20))
            lines[i] = f"{key}{sep or ': '}{odd}"
        elif kind == "key":
            indent = len(line) - len(line.lstrip(" "))
            _, sep, value = line.partition(":")
            lines[i] = " " * indent + draw(st.sampled_from(ODD_KEYS)) + ":" + (value if sep else "")
        elif kind == "text":
            lines.insert(i, draw(st.text(max_size=40)))
        else:  # an anchor on one value, aliases to it elsewhere, nested
            lines.insert(i, " " * (len(line) - len(line.lstrip(" "))) + draw(st.sampled_from([
                "x: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]",
                "y: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
                "z: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
                "w: &d {<<: [*a], k: *c}",
                "v: *v",
            ])))
    return "\n".join(lines)


def check(text: str) -> None:
    """Load `text`: an Environment or a DesiredStateError of located problems, in time."""
    problems: tuple[Problem, ...] = ()
    started = time.perf_counter()
    try:
        result: object = load_environment_text(text, "f.yaml")
    except DesiredStateError as exc:  # anything else fails the test, with its traceback
        result, problems = exc, exc.problems
    elapsed = time.perf_counter() - started
    assert elapsed < SECONDS, f"took {elapsed:.2f} s:\n{text}"
    if isinstance(result, DesiredStateError):
        assert problems, "a DesiredStateError without problems"
    else:
        assert isinstance(result, Environment)
    lines = text.count("\n") + 2
    for problem in problems:
        assert problem.path == "f.yaml"
        assert 1 <= problem.line <= lines, problem
        assert problem.column >= 1, problem
        assert "internal error" not in problem.message, (problem, text)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_any_mutation_of_the_real_files_loads_or_reports(text: str) -> None:
    check(text)


@settings(max_examples=EXAMPLES // 3, deadline=None)
@given(st.text(max_size=300))
def test_any_text_loads_or_reports(text: str) -> None:
    check(text)
