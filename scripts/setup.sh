#!/usr/bin/env bash
# Installs everything ecs-gitops needs on a fresh machine: the project's virtual
# environment (.venv), the template linters in isolated environments (.tools/),
# Debian's Chromium for the browser tests, and starts MariaDB when it is not up.
# Safe to run again: every step skips what is already there.
#
#   scripts/setup.sh          everything `make test` needs
#   scripts/setup.sh --demo   only what `make demo` needs: Python and git (the .venv);
#                             no linters, no apt, no database
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO_ONLY=0
case "${1:-}" in
  --demo) DEMO_ONLY=1 ;;
  "") ;;
  *) echo "usage: scripts/setup.sh [--demo]" >&2; exit 2 ;;
esac

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3

step() { printf '\n==> %s\n' "$*"; }

step "project environment (.venv, $($PY --version))"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
for req in apps/*/requirements.txt apps/*/requirements-dev.txt; do
  [ -f "$req" ] && .venv/bin/python -m pip install --quiet -r "$req"
done

if [ "$DEMO_ONLY" = 1 ]; then
  step "done (demo set-up: no linters, no Chromium, no MariaDB)"
  exit 0
fi

# checkov pins an old boto3 and aws-sam-cli pins boto3 exactly, so each linter
# lives in a virtual environment of its own rather than in .venv.
tool() {
  local name=$1; shift
  if [ ! -x ".tools/$name/bin/python" ]; then
    step "isolated tool: $name"
    "$PY" -m venv ".tools/$name"
  fi
  ".tools/$name/bin/python" -m pip install --quiet --upgrade pip
  ".tools/$name/bin/python" -m pip install --quiet "$@"
}
tool sam 'aws-sam-cli>=1.120' 'cfn-lint>=1.0'
tool checkov 'checkov>=3.2'

if ! command -v chromium >/dev/null; then
  step "Debian packages: chromium (headless browser tests)"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is missing and this is not root: run 'sudo apt-get install chromium'" >&2
  fi
fi

step "MariaDB on 127.0.0.1:3306"
scripts/start-mariadb.sh

step "done"
