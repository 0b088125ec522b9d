"""`make demo` needs Python and git only: its set-up (`scripts/setup.sh --demo`) makes the
project's environment and nothing else (no apt-get, no Chromium, no MariaDB, no linters);
`make test` keeps the full set-up. `scripts/test.sh --quick` runs pytest alone."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _shim(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _dry_run(target: str) -> list[str]:
    """`make -n target` as a person at a shell sees it. The suite itself runs under
    `make test` (CI): the parent make's MAKELEVEL/MAKEFLAGS would make this one print
    "Entering directory" lines, so they are removed from the child's environment."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    return subprocess.run(["make", "--no-print-directory", "-n", target], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True).stdout.splitlines()


def test_make_demo_sets_up_python_only_and_make_test_everything() -> None:
    demo = _dry_run("demo")
    assert demo == ["scripts/setup.sh --demo", ".venv/bin/ecs-gitops demo"]
    test = _dry_run("test")
    assert test == ["scripts/setup.sh", "scripts/test.sh"]


def test_the_demo_setup_never_reaches_apt_mariadb_or_the_linters(tmp_path: Path) -> None:
    """The script runs for real against shims: python records what it is asked to do;
    apt-get, chromium's absence, sudo and the MariaDB starter fail loudly if reached."""
    work = tmp_path / "repo"
    (work / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts/setup.sh", work / "scripts/setup.sh")
    calls = tmp_path / "calls.log"
    _shim(work / "scripts/start-mariadb.sh", f"echo MARIADB >> {calls}; exit 97")
    bin_dir = tmp_path / "bin"
    for tool in ("apt-get", "sudo", "mysqld", "mariadbd"):
        _shim(bin_dir / tool, f"echo {tool} >> {calls}; exit 97")
    python = f'echo "python $*" >> {calls}; case "$*" in *"-m venv"*) ' \
             f'mkdir -p .venv/bin && cp "$0" .venv/bin/python;; esac; exit 0'
    _shim(bin_dir / "python3.11", python)
    env = {"PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(["bash", "scripts/setup.sh", "--demo"], cwd=work, env=env,
                          capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    log = calls.read_text()
    assert "python -m pip install --quiet -e .[dev]" in log
    for never in ("apt-get", "sudo", "MARIADB", "aws-sam-cli", "checkov"):
        assert never not in log, log
    assert not (work / ".tools").exists()
    assert "no linters, no Chromium, no MariaDB" in done.stdout


def test_test_sh_quick_runs_pytest_alone() -> None:
    done = subprocess.run(["scripts/test.sh", "--quick", "-q", "tests/unit/test_plan.py",
                           "-k", "golden", "-p", "no:randomly"], cwd=ROOT, capture_output=True,
                          text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "==> pytest (quick: no linters)" in done.stdout
    assert "ruff" not in done.stdout
    assert "passed" in done.stdout
