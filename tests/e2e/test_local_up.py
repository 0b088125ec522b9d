"""`ecs-gitops local up / wait / status / down` as a user runs them: one cloud per folder
and per port, a busy port refused at once, `--local` found from any folder inside the
repository, what it did kept across `down`/`up`, and `--reset` starting afresh."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ecs_gitops_tools.local.net import free_port

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "ecs_gitops_tools.cli.main"]
# The refusal itself is a bind and a lock test (milliseconds; it used to wait 120 s for a
# daemon that never came up); the bound leaves room for the interpreter's start on a
# loaded 2-core machine, where one `ecs-gitops` start alone can take seconds.
LIMIT = 15
GIT_ENV = {"GIT_AUTHOR_NAME": "U", "GIT_AUTHOR_EMAIL": "u@example.com",
           "GIT_COMMITTER_NAME": "U", "GIT_COMMITTER_EMAIL": "u@example.com"}


def _cli(cwd: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False, env={**os.environ, **GIT_ENV})


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True,
                          check=True, env={**os.environ, **GIT_ENV}).stdout.strip()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    clone = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    return clone


@pytest.mark.e2e
def test_one_cloud_per_folder_and_per_port(checkout: Path, tmp_path: Path) -> None:
    port = str(free_port())
    try:
        with ThreadPoolExecutor(2) as pool:  # two `local up` at once
            ups = list(pool.map(lambda _: _cli(checkout, "local", "up", "--port", port),
                                range(2)))
        assert sorted(u.returncode for u in ups) == [0, 1], [u.stderr for u in ups]
        loser = next(u for u in ups if u.returncode == 1)
        assert "already running" in loser.stderr or f"port {port}" in loser.stderr
        state = json.loads((checkout / ".local-cloud/state.json").read_text())
        # again, after the fact: names the running one
        again = _cli(checkout, "local", "up", "--port", port)
        assert again.returncode == 1
        assert f"already running (pid {state['pid']}" in again.stderr
        # another folder, the same port: refused at once, naming the holder
        started = time.monotonic()
        other = _cli(checkout, "local", "up", "--port", port, "--dir", str(tmp_path / "other"))
        assert other.returncode == 1
        assert f"port {port} is used by another embedded cloud (pid {state['pid']})" in \
            other.stderr
        assert time.monotonic() - started < LIMIT
        # --local from a folder deep inside the repository finds it
        status = _cli(checkout / "apps/api/api_service", "local", "status")
        assert status.returncode == 0
        assert f"pid {state['pid']}" in status.stdout
        plan = _cli(checkout / "apps/api", "plan", "development", "--local")
        assert plan.returncode in (0, 2), plan.stderr
    finally:
        down = _cli(checkout, "local", "down")
    assert "stopped" in down.stdout
    assert _cli(checkout, "local", "down").stdout.strip() == "not running"


@pytest.mark.e2e
def test_a_busy_port_fails_within_5_seconds_with_its_reason(checkout: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        up = _cli(checkout, "local", "up", "--port", str(port))
        elapsed = time.monotonic() - started
    assert up.returncode == 1
    assert f"port {port} on 127.0.0.1 is busy (Address already in use)" in up.stderr
    assert elapsed < LIMIT
    assert not (checkout / ".local-cloud/state.json").exists()


@pytest.mark.e2e
def test_state_survives_down_and_up_and_reset_forgets_it(checkout: Path) -> None:
    port = str(free_port())
    try:
        up = _cli(checkout, "local", "up", "--port", port, "--quick-tests")
        assert "started afresh (nothing saved)" in up.stdout, up.stderr
        _git(checkout, "remote", "add", "local", ".local-cloud/remote.git")
        # on a work branch, whatever branch the repository under test is on (a clean
        # clone of main in CI): the checkout's tracked branches stay as they were
        _git(checkout, "checkout", "-q", "-b", "work")
        web = checkout / "apps/api/api_service/web.py"
        web.write_text(web.read_text() + "\n# a change pushed for real\n")
        _git(checkout, "commit", "-qam", "api: change")
        change = _git(checkout, "rev-parse", "HEAD")
        _git(checkout, "push", "-q", "local", "HEAD:development")
        waited = _cli(checkout, "local", "wait", "--timeout", "300", timeout=320)
        assert f"rollout api-development -> {change[:7]}: healthy" in waited.stdout, waited
        assert "1 build started (development, " in waited.stdout
        assert "BuildFinishedFunction: wrote back (development, api, " in waited.stdout
        assert _cli(checkout, "local", "down").returncode == 0

        again = _cli(checkout, "local", "up", "--port", port, "--quick-tests")
        assert "resumed what it kept" in again.stdout, again.stdout + again.stderr
        # pushed commits, releases (the status of what runs) and the timeline are still there
        tip = _git(checkout, "--git-dir", ".local-cloud/remote.git", "log", "-1",
                   "--format=%s", "development")
        assert tip == f"deploy api {change[:12]} to development"
        status = _cli(checkout, "status", "development", "--local")
        assert change[:12] in status.stdout, status.stdout + status.stderr
        timeline = (checkout / ".local-cloud/timeline.log").read_text()
        assert f"build api-development {change[:7]}: SUCCEEDED" in timeline
        assert "resuming the saved state" in timeline
        assert _cli(checkout, "local", "down").returncode == 0

        fresh = _cli(checkout, "local", "up", "--port", port, "--reset")
        assert "started afresh (--reset)" in fresh.stdout, fresh.stdout + fresh.stderr
        # seeded from the checkout again: the pushed commits and their write-back are gone
        known = subprocess.run(["git", "--git-dir", str(checkout / ".local-cloud/remote.git"),
                                "cat-file", "-e", f"{change}^{{commit}}"], check=False)
        assert known.returncode != 0
        assert "build api-development" not in (checkout / ".local-cloud/timeline.log").read_text()
    finally:
        _cli(checkout, "local", "down")
