"""The embedded cloud's CodeCommit: a bare git repository on disk.

A `reference-transaction` hook (git >= 2.28) records every committed ref change,
whether it came from a `git push` or from the controllers' own write-back commits
(`update-ref`), into a spool folder; the bus turns each record into the same
"CodeCommit Repository State Change" event that CodeCommit emits.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

ZERO = "0" * 40
HOOK = """#!/bin/sh
# ecs-gitops embedded cloud: report committed ref changes (push or update-ref).
[ "$1" = committed ] || exit 0
spool="$(dirname "$0")/../ecs-gitops-spool"
stamp="$(date +%s%N)-$$"
mkdir -p "$spool"
cat > "$spool/$stamp.tmp" && mv "$spool/$stamp.tmp" "$spool/$stamp.refs"
"""


@dataclass(frozen=True, slots=True)
class RefChange:
    old: str
    new: str
    ref: str


class GitRemote:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.spool = path / "ecs-gitops-spool"

    @classmethod
    def create(cls, path: Path, *, source: Path, branches: dict[str, str]) -> GitRemote:
        """A bare repository holding `source`'s tracked files as one commit per branch.

        `branches` maps branch -> the branch it starts from ("" = the first commit)."""
        path.mkdir(parents=True, exist_ok=True)
        _git(path, "init", "-q", "--bare", "-b", "main")
        remote = cls(path)
        work = path.parent / f"seed-{uuid.uuid4().hex[:8]}"
        _git(path.parent, "init", "-q", "-b", "main", str(work))
        files = subprocess.run(["git", "-C", str(source), "ls-files", "-z", "--cached",
                                "--others", "--exclude-standard"],
                               capture_output=True, check=True).stdout.split(b"\0")
        for name in filter(None, files):
            src = source / name.decode()
            if src.is_file():
                dst = work / name.decode()
                dst.parent.mkdir(parents=True, exist_ok=True)
                dst.write_bytes(src.read_bytes())
                dst.chmod(src.stat().st_mode)
        _git(work, "add", "-A")
        _git(work, "commit", "-q", "-m", "ecs-gitops: initial import")
        for branch, start in branches.items():
            if branch != "main":
                _git(work, "branch", "-f", branch, start or "main")
        _git(work, "push", "-q", str(path), *[f"{b}:{b}" for b in branches])
        subprocess.run(["rm", "-rf", str(work)], check=True)
        hook = path / "hooks" / "reference-transaction"
        hook.write_text(HOOK)
        hook.chmod(0o755)
        remote.spool.mkdir(exist_ok=True)
        return remote

    def take_changes(self) -> list[RefChange]:
        """Every ref change recorded since the last call, oldest first."""
        if not self.spool.is_dir():
            return []
        changes: list[RefChange] = []
        for file in sorted(self.spool.glob("*.refs")):
            for line in file.read_text().splitlines():
                parts = line.split()
                if len(parts) == 3 and parts[2].startswith(("refs/heads/", "refs/tags/")):
                    changes.append(RefChange(*parts))
            file.unlink()
        return changes

    def clone(self, target: Path) -> Path:
        _git(target.parent, "clone", "-q", str(self.path), str(target))
        return target


def _git(where: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "ecs-gitops demo",
           "GIT_AUTHOR_EMAIL": "demo@localhost", "GIT_COMMITTER_NAME": "ecs-gitops demo",
           "GIT_COMMITTER_EMAIL": "demo@localhost"}
    return subprocess.run(["git", "-C", str(where), *args], capture_output=True, text=True,
                          check=True, env=env).stdout
