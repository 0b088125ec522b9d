#!/usr/bin/env bash
# The whole test suite: linters, type checks, import contracts, template checks,
# then pytest (unit, functional, e2e, the apps' and infra's tests).
# Extra arguments go to pytest, e.g. `scripts/test.sh -x -k plan`.
# `scripts/test.sh --quick -k plan` runs only pytest (no linters, no sam build), for
# iterating on a subset; the whole command is what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
# Never reach a real AWS account from the tests.
export AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
       AWS_SECURITY_TOKEN=testing AWS_SESSION_TOKEN=testing
unset AWS_PROFILE || true
# The api's TLS tests start a MariaDB of their own; here they must run, not skip.
export API_TLS_TESTS_REQUIRED=1

step() { printf '\n==> %s\n' "$*"; }

if [ "${1:-}" = "--quick" ]; then
  shift
  step "pytest (quick: no linters)"
  exec python -m pytest "$@"
fi

step "ruff"
ruff check .
step "mypy"
mypy layers/core/ecs_gitops tools/ecs_gitops_tools functions
# --- apps (issue 5) ---
# The apps' packages are apps/api/api_service and apps/simpleweb/simpleweb (no src/);
# MYPYPATH lets mypy resolve their imports of themselves.
MYPYPATH=apps/api:apps/simpleweb mypy -p api_service -p simpleweb
# --- end apps (issue 5) ---
step "import contracts"
lint-imports

shopt -s nullglob
dockerfiles=(apps/*/Dockerfile)
if [ ${#dockerfiles[@]} -gt 0 ]; then
  step "hadolint ${dockerfiles[*]}"
  hadolint "${dockerfiles[@]}"
fi

templates=()
[ -f template.yaml ] && templates+=(template.yaml)
templates+=(infra/*.yaml)
if [ ${#templates[@]} -gt 0 ]; then
  step "cfn-lint ${templates[*]}"
  .tools/sam/bin/cfn-lint "${templates[@]}"
  step "checkov ${templates[*]}"
  for t in "${templates[@]}"; do
    .tools/checkov/bin/checkov --quiet --compact --skip-download --framework cloudformation -f "$t"
  done
fi
if [ -f template.yaml ]; then
  step "sam validate --lint"
  .tools/sam/bin/sam validate --lint --template template.yaml --region us-east-1
  step "sam build (python3.12, no container)"
  # sam build needs python3.12 on PATH: take pyenv's if there is one.
  py312_path="$PATH"
  for d in "$HOME"/.pyenv/versions/3.12*/bin; do
    if [ -x "$d/python3.12" ]; then py312_path="$d:$py312_path"; break; fi
  done
  PYENV_VERSION=${PYENV_VERSION_312:-3.12.1} PATH="$PWD/.tools/sam/bin:$py312_path" \
    sam build --template template.yaml --build-dir .aws-sam/build >/dev/null
  touch .aws-sam/build/.built  # tests/functional/test_layer.py: the build is fresh
fi

step "pytest"
python -m pytest -n 2 "$@"
