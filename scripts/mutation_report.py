#!/usr/bin/env python3
"""The surviving mutants of a scripts/mutation.sh run, each with its diff and a class,
as Markdown (docs/mutation.md carries the last one).

    .venv/bin/python scripts/mutation_report.py [EARLIER_RESULTS [KILLED_LATER]]

Run from the repository root after scripts/mutation.sh (it reads .mutation/). With
EARLIER_RESULTS (a `mutmut results --all true` listing of an earlier run on the same
source), mutants that survived then and are killed now are listed as killed by a new
test. With KILLED_LATER (lines `NAME: failed`, from applying a survivor by hand and
running tests added after the run), those survivors are marked "(killed later)". The
classes are rules over the mutant's diff, each with its reason; what no rule
matches is listed as "left", unclassified, so that nothing is hidden.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".mutation"
PYTHON = str(ROOT / ".venv" / "bin" / "python")

# (class, reason, pattern over the removed+added lines of the diff)
RULES: list[tuple[str, str, re.Pattern[str]]] = [
    ("equivalent", "JSON key order: the record is read back by key",
     re.compile(r"sort_keys")),
    ("equivalent", "maxsplit or index of a split whose string has that one separator (ARNs "
     "`.../NAME`, build ids `PROJECT:N`, `repo:tag`): same result",
     re.compile(r"^\+.*(rsplit\([^)]*\b2\)|rsplit\([^,)]*, \)|\.split\([^)]*1\)|\[\+1\])", re.M)),
    ("left", "wording of a message, a notification subject or a fact's key: outcomes are "
     "asserted by kind and reason, messages by the tests of the printers and the loader's "
     "located problems, not every fact",
     re.compile(r"XX|^\+.*\"[A-Z_]{3,}\"|^\+.*'[A-Z][A-Z ]+'|^\+.*\"[a-z]+[-_][a-z_-]*\"(?!:)"
                r"|ascii|ASCII|UNICODE|utf-8|UTF-8|KB\)|kb\)|\.upper\(\)|\.lower\(\)", re.M)),
    ("left", "a fact, reason text or location detail of an ignored/reported outcome set to "
     "None or dropped: the controllers' decisions do not read it",
     re.compile(r"^\+.*(ignore|Outcome|notify|Problem|WriteBack|BadImage|ConflictError|"
                r"_Refused|DesiredStateError|set_outcome)\(.*(None|, \)|\(\)|\(\*\*)", re.M)),
    ("left", "a short id or bounded length in a text (`[:12]`, `[:200]`, `n=1`): display only",
     re.compile(r"\[:1[23]\]|\[:20[01]\]|n=[12]\b")),
    ("left", "one retry more or less of an idempotent compare-and-set loop",
     re.compile(r"range\([34]\)")),
]


def _results() -> dict[str, str]:
    out = subprocess.run([PYTHON, "-m", "mutmut", "results", "--all", "true"], cwd=WORK,
                         capture_output=True, text=True, check=True).stdout
    return _parse(out)


def _parse(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if "__mutmut_" in name:
            found[name] = status
    return found


_DIFFS: dict[str, str] = {}


def _diff(name: str) -> str:
    """The mutant's diff lines (`- ` removed, `+ ` added), read in this process from
    mutmut's files under .mutation/ (one `mutmut show` per mutant takes seconds)."""
    if name not in _DIFFS:
        from mutmut.mutation.diff_apply import get_diff_for_mutant

        path = Path("src", *module(name).split(".")).with_suffix(".py")
        cwd = Path.cwd()
        os.chdir(WORK)
        try:
            text = get_diff_for_mutant(name, path=path)
        finally:
            os.chdir(cwd)
        _DIFFS[name] = "\n".join(line for line in text.splitlines()
                                 if line.startswith(("+ ", "- ")) or line in ("+", "-"))
    return _DIFFS[name]


def classify(diff: str) -> tuple[str, str]:
    for kind, reason, pattern in RULES:
        if pattern.search(diff):
            return kind, reason
    return "left", "unclassified: a behaviour no test pins down (see the notes)"


def module(name: str) -> str:
    return re.split(r"\.x[_ǁ]", name)[0]


def main(argv: list[str]) -> int:
    now = _results()
    earlier = _parse(Path(argv[0]).read_text()) if argv else {}
    later = {line.split(": ")[0].strip() for line in
             (Path(argv[1]).read_text().splitlines() if len(argv) > 1 else [])
             if line.strip().endswith(": failed")}
    rows: dict[str, list[str]] = defaultdict(list)
    for name, status in sorted(now.items()):
        if status != "survived":
            continue
        kind, reason = classify(_diff(name))
        rows[f"{kind}: {reason}"].append(name)
    killed_now = sorted(n for n, s in earlier.items() if s == "survived"
                        and now.get(n) in ("killed", "timeout"))
    print(f"### Killed by the new tests ({len(killed_now)})\n")
    print("Survived the first run, killed in this one (the tests added with it: "
          "tests/unit/test_mutants.py, test_loader_mutants.py, test_claims.py, "
          "tests/functional/test_localgit_ids.py, test_build_pages.py).\n")
    for name in killed_now:
        print(f"- `{name}`")
    for group, names in sorted(rows.items(), key=lambda kv: -len(kv[1])):
        killed = sum(n in later for n in names)
        extra = f", of which {killed} killed later" if killed else ""
        print(f"\n### {group[0].upper()}{group[1:]} ({len(names)}{extra})\n")
        for name in names:
            diff = _diff(name).replace("|", "\\|").splitlines()
            removed = next((d[2:].strip() for d in diff if d.startswith("- ")), "")
            added = next((d[2:].strip() for d in diff if d.startswith("+ ")), "")
            mark = " (killed later)" if name in later else ""
            print(f"- `{name}`{mark}: `{removed[:90]}` → `{added[:90]}`")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
