"""`ecs-gitops local up`, a real `git push` to its remote, `invoke --local`, `down`:
what a user does with the embedded cloud kept running."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "ecs_gitops_tools.cli.main"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True, text=True,
                          check=check, timeout=180)


def _wait_for(path: Path, text: str, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = path.read_text() if path.exists() else ""
        if text in content:
            return content
        time.sleep(0.5)
    raise AssertionError(f"{text!r} not in {path} after {timeout}s:\n{content}")


@pytest.mark.e2e
def test_local_up_push_invoke_down(tmp_path: Path) -> None:
    directory = tmp_path / "cloud"
    port = str(_free_port())
    up = _cli("local", "up", "--dir", str(directory), "--port", port, "--quick-tests")
    assert "git remote add local" in up.stdout
    state = json.loads((directory / "state.json").read_text())
    try:
        timeline = directory / "timeline.log"
        # the first schedule tick creates both environments' services
        _wait_for(timeline, "Scheduled Event -> ReconcileFunction: applied 8 changes "
                            "(production, ")
        work = tmp_path / "work"
        subprocess.run(["git", "clone", "-q", state["remote"], str(work)], check=True)
        for args in (["config", "user.name", "U"], ["config", "user.email", "u@example.com"],
                     ["checkout", "-q", "development"]):
            subprocess.run(["git", "-C", str(work), *args], check=True)
        web = work / "apps/api/api_service/web.py"
        web.write_text(web.read_text() + "\n# a change pushed for real\n")
        subprocess.run(["git", "-C", str(work), "commit", "-qam", "api: change"], check=True)
        subprocess.run(["git", "-C", str(work), "push", "-q", "origin", "development"],
                       check=True)
        commit = subprocess.run(["git", "-C", str(work), "rev-parse", "HEAD"], check=True,
                                capture_output=True, text=True).stdout.strip()
        content = _wait_for(timeline, f"rollout api-development -> {commit[:7]}: healthy")
        assert "1 build started (development, " in content
        assert f"build api-development {commit[:7]}: SUCCEEDED" in content
        assert "BuildFinishedFunction: wrote back (development, api, " in content

        invoked = _cli("invoke", "ReconcileFunction", "-e", "events/scheduled-reconcile.json",
                       "--local", "--dir", str(directory))
        outcomes = json.loads(invoked.stdout)["outcomes"]
        assert [o["kind"] for o in outcomes] == ["in sync"] * 2
        assert '"level":"INFO"' in invoked.stderr  # the function's logs, on stderr
        status = _cli("local", "status", "--dir", str(directory))
        assert "running:" in status.stdout
    finally:
        down = _cli("local", "down", "--dir", str(directory))
    assert "stopped" in down.stdout
    assert not (directory / "state.json").exists()
