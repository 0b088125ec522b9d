"""The README's front door, run as written: every fenced block that follows the marker
`<!-- tests/e2e/test_readme.py runs this block ... -->` is executed line by line by
bash (`set -euo pipefail`) in a fresh clone of this repository, with `ecs-gitops` on
PATH. If the README and the product drift apart, this fails."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ecs_gitops_tools.local.net import free_port

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- tests/e2e/test_readme.py runs this block"


def readme_blocks(readme: str) -> list[str]:
    """The fenced blocks right after the marker (the marker line, then ```sh ... ```)."""
    pattern = re.compile(re.escape(MARKER) + r"[^\n]*\n```(?:sh|bash)\n(.*?)\n```", re.S)
    return pattern.findall(readme)


def test_the_readme_marks_its_local_cloud_block() -> None:
    blocks = readme_blocks((ROOT / "README.md").read_text())
    assert len(blocks) == 1
    assert "git push local HEAD:development" in blocks[0]
    assert "git pull local development" in blocks[0]


@pytest.mark.e2e
def test_the_local_cloud_block_as_written(tmp_path: Path) -> None:
    """A fresh clone, the README's block as written: the pushed change is built, written
    back, deployed, and pulled back; the cloud is down at the end."""
    block = readme_blocks((ROOT / "README.md").read_text())[0]
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = {**os.environ,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "ECS_GITOPS_LOCAL_PORT": str(free_port()),  # 4566 may be someone else's
           "GIT_AUTHOR_NAME": "README reader", "GIT_AUTHOR_EMAIL": "reader@example.com",
           "GIT_COMMITTER_NAME": "README reader", "GIT_COMMITTER_EMAIL": "reader@example.com"}
    script = "set -euo pipefail\nset -x\n" + block + "\n"
    try:
        run = subprocess.run(["bash", "-c", script], cwd=clone, env=env, capture_output=True,
                             text=True, timeout=420, check=False)
    finally:
        subprocess.run([sys.executable, "-m", "ecs_gitops_tools.cli.main", "local", "down"],
                       cwd=clone, env=env, capture_output=True, check=False, timeout=60)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    git = lambda *a: subprocess.run(["git", "-C", str(clone), *a], capture_output=True,  # noqa: E731
                                    text=True, check=True).stdout.strip()
    change = git("rev-parse", "HEAD~1")
    # pulled back: the checkout's HEAD is the write-back commit of the pushed change
    assert git("log", "-1", "--format=%s") == f"deploy api {change[:12]} to development"
    assert f"tag: {change}" in (clone / "desired_state/development.yaml").read_text()
    # deployed: the timeline (printed by 'local wait') and the status table say so
    assert f"rollout api-development -> {change[:7]}: healthy" in out
    assert "BuildFinishedFunction: wrote back (development, api, " in out
    assert re.search(rf"api-development\s.*{change[:12]}.*completed.*yes", run.stdout), out
    # the pull request: previewed in one comment (the plan of its merge), merged, applied
    assert "PullRequestFunction: preview posted (production, " in out
    assert "~ autoscaling simpleweb: max 5 -> 8" in run.stdout
    assert re.search(r"ReconcileFunction: applied 1 change \(production, ", out), out
    assert "stopped" in run.stdout  # local down
