"""`ecs-gitops local wait` against a folder as the daemon keeps it (this process stands
for the daemon): it ends when the daemon says it is quiet since after the wait began,
and prints every burst of work that happened while it waited."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from typer.testing import CliRunner

from ecs_gitops_tools.cli.main import app
from ecs_gitops_tools.local.daemon import IDLE

runner = CliRunner()


def _daemon(folder: Path) -> None:
    """Two bursts of work after the wait began, the quiet pass between them unseen by the
    wait (it looks every 0.3 s): the last quiet names only the second burst."""
    timeline = folder / "timeline.log"
    time.sleep(0.6)
    since = 0
    for n in (1, 2):
        since = timeline.stat().st_size
        with timeline.open("a") as out:
            out.write(f"12:00:0{n} pull request {n} created -> PullRequestFunction: posted\n")
    (folder / IDLE).write_text(json.dumps({"time": time.time(), "since": since}))


def test_every_burst_while_waiting_is_printed(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text(json.dumps({"pid": os.getpid()}))
    (tmp_path / "timeline.log").write_text("11:59:59 before the wait: not printed\n")
    (tmp_path / IDLE).write_text(json.dumps({"time": time.time() - 60, "since": 0}))
    daemon = threading.Thread(target=_daemon, args=(tmp_path,))
    daemon.start()
    try:
        result = runner.invoke(app, ["local", "wait", "--timeout", "20", "--dir",
                                     str(tmp_path)])
    finally:
        daemon.join()
    assert result.exit_code == 0, result.output
    assert "before the wait" not in result.output
    assert "pull request 1 created" in result.output
    assert "pull request 2 created" in result.output
