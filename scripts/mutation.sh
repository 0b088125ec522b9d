#!/usr/bin/env bash
# Mutation testing (mutmut) of the controllers, the store and the loader: NOT part of the
# test suite (docs/mutation.md has the last score, the surviving mutants and why).
#
#   scripts/mutation.sh                 # all mutants, 2 workers (MUTATION_JOBS=N to change)
#   scripts/mutation.sh 'ecs_gitops.store*'   # only some mutants (mutmut name globs)
#
# mutmut finds mutated code under ./, src/ or source/, so the run happens in a copy of the
# tree (.mutation/, git-ignored) with layers/core laid out as src/; the [tool.mutmut] table
# in pyproject.toml says what is mutated and which tests run (tests/unit and the store's
# contract test on the embedded DynamoDB). Results: .mutation/mutation-results.txt
# (one line per mutant: name: status) and the score per module on stdout.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${MUTATION_DIR:-$ROOT/.mutation}"
JOBS="${MUTATION_JOBS:-2}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
"$PY" -c "import mutmut" 2>/dev/null || {
    echo "mutmut is not installed: scripts/setup.sh installs the dev extras (mutmut among them)" >&2
    exit 2
}

rm -rf "$WORK"
mkdir -p "$WORK/src"
# the working tree as it is (uncommitted changes included), without caches and virtualenvs
tar -C "$ROOT" -cf - --exclude=./.git --exclude=./.venv --exclude=./.tools \
    --exclude=./.mutation --exclude=./mutants --exclude='__pycache__' \
    --exclude=./.hypothesis --exclude=./.local-cloud --exclude=./.aws-sam . | tar -C "$WORK" -xf -
mv "$WORK/layers/core/ecs_gitops" "$WORK/src/ecs_gitops"
# tests import ecs_gitops from src/ (the mutated copy), never from layers/core
sed -i 's|"layers/core"|"src"|' "$WORK/pyproject.toml"

cd "$WORK"
start=$(date -u +%s)
"$PY" -m mutmut run --max-children "$JOBS" "$@" > mutmut-run.log 2>&1 || {
    tail -30 mutmut-run.log >&2
    exit 1
}
"$PY" -m mutmut results --all true > mutation-results.txt 2>/dev/null
end=$(date -u +%s)
echo "mutmut over $(grep -c . mutation-results.txt) mutants in $(( (end - start) / 60 )) min," \
     "$JOBS workers, $(date -u +%F)"
"$PY" - <<'PY'
"""Score per module: killed (incl. timeouts, segfaults) / all mutants that were run."""
import collections
import re

rows = collections.defaultdict(collections.Counter)
for line in open("mutation-results.txt"):
    name, _, status = line.strip().rpartition(": ")
    if "__mutmut_" in name:
        rows[re.split(r"\.x[_ǁ]", name)[0]][status] += 1
print(f"{'module':45} {'mutants':>8} {'killed':>7} {'survived':>9} {'no tests':>9} {'score':>7}")
for module, counts in sorted(rows.items()):
    total = sum(counts.values())
    killed = counts["killed"] + counts["timeout"] + counts["segfault"]
    print(f"{module:45} {total:8} {killed:7} {counts['survived']:9} {counts['no tests']:9} "
          f"{100 * killed / total:6.1f}%")
PY
