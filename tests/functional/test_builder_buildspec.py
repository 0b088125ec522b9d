"""The embedded builder fails a build whose buildspec is missing or broken (FAILED, as
CodeBuild reports YAML_FILE_ERROR in DOWNLOAD_SOURCE), never crashes leaving the build
IN_PROGRESS (issue 10, point 8)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, cast

import pytest

from ecs_gitops_tools.local.builder import LocalBuilder
from ecs_gitops_tools.local.gitremote import GitRemote

GIT_ENV = {"GIT_AUTHOR_NAME": "dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
           "GIT_COMMITTER_NAME": "dev", "GIT_COMMITTER_EMAIL": "dev@example.com",
           "PATH": "/usr/bin:/bin"}


def _repo(tmp: Path, files: dict[str, str]) -> tuple[GitRemote, str]:
    work = tmp / "work"
    work.mkdir()
    for path, text in files.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(text)

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(work), *args], check=True, text=True,
                              capture_output=True, env=GIT_ENV).stdout.strip()

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "c")
    return GitRemote(work / ".git"), git("rev-parse", "HEAD")


SPEC: dict[str, Any] = {"source": {"buildspec": "apps/api/buildspec.yml"}, "environment": {}}


@pytest.mark.parametrize(("files", "why"), [
    ({"apps/api/main.py": "print(1)\n"}, "no such file or directory"),
    ({"apps/api/buildspec.yml": "version: [0.2\n"}, "apps/api/buildspec.yml"),
    ({"apps/api/buildspec.yml": "- just a list\n"}, "not a mapping"),
], ids=["missing", "broken YAML", "not a mapping"])
def test_a_bad_buildspec_fails_the_build(tmp_path: Path, files: dict[str, str], why: str
                                         ) -> None:
    remote, commit = _repo(tmp_path, files)
    builder = LocalBuilder(cast(Any, None), remote, tmp_path / "builder")
    result = builder.run("api-dev:1", "api-dev", commit, SPEC)
    assert result.status == "FAILED"
    assert result.image is None
    assert "YAML_FILE_ERROR" in result.log.read_text()
    assert why in result.log.read_text()
    assert builder.results == [result]
