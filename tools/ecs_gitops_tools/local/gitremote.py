"""The embedded cloud's CodeCommit: a bare git repository on disk.

A `reference-transaction` hook (git >= 2.28) records every committed ref change,
whether it came from a `git push` or from the controllers' own write-back commits
(`update-ref`), into a spool folder; the bus turns each record into the same
"CodeCommit Repository State Change" event that CodeCommit emits.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ZERO = "0" * 40
# CodeCommit's repository names: letters, digits, '.', '_' and '-', at most 100, not
# ending in '.git'.
_REPOSITORY_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
HOOK = """#!/bin/sh
# ecs-gitops embedded cloud: report committed ref changes (push or update-ref).
[ "$1" = committed ] || exit 0
spool="$(dirname "$0")/../ecs-gitops-spool"
stamp="$(date +%s%N)-$$"
mkdir -p "$spool"
cat > "$spool/$stamp.tmp" && mv "$spool/$stamp.tmp" "$spool/$stamp.refs"
"""


@dataclass(frozen=True, slots=True)
class Seeded:
    """A branch of the remote and where its first commit came from."""

    branch: str
    commit: str
    origin: str  # "checkout", "main's commit", "HEAD"


@dataclass(frozen=True, slots=True)
class RefChange:
    """One ref's move in a push: its old and new commit ids (40 zeros when created or
    deleted) and the full ref name (`refs/heads/main`)."""

    old: str
    new: str
    ref: str


class GitRemote:
    """A bare git repository playing a CodeCommit repository: its reference-transaction hook spools
    each ref change, which `take_changes` turns into CodeCommit's events."""
    def __init__(self, path: Path) -> None:
        self.path = path
        self.spool = path / "ecs-gitops-spool"

    @classmethod
    def open(cls, path: Path) -> GitRemote:
        """The remote a previous `local up` left at `path` (pushed commits kept)."""
        if not (path / "HEAD").is_file():
            raise ValueError(f"{path} is not a bare git repository")
        remote = cls(path)
        remote._install_hook()
        return remote

    @classmethod
    def create(cls, path: Path, *, source: Path, branches: dict[str, str]) -> GitRemote:
        """A bare repository holding `source`'s tracked files as one commit per branch.

        `branches` maps branch -> the branch it starts from ("" = the first commit).
        For throw-away worlds (the demo, tests): the working tree as it is, uncommitted
        changes included, with no history."""
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
        remote._install_hook()
        return remote

    @classmethod
    def from_checkout(cls, path: Path, *, source: Path, branches: list[str],
                      production: str = "main") -> tuple[GitRemote, list[Seeded]]:
        """A bare repository carrying `source`'s history: each tracked branch at the
        checkout's commit of that branch, so that pushes from the checkout fast-forward.

        A branch is taken from the checkout's local branch, else from its
        `origin/<branch>`; a tracked branch the checkout has neither of starts at
        `production`'s commit, or at HEAD's merge base with it when HEAD is on a branch
        that forked earlier (so that `git push <remote> HEAD:<branch>` fast-forwards).
        Only commits travel: uncommitted changes are not in the remote. Raises
        ValueError when `source` is not a git checkout with at least one commit."""
        head = _resolve(source, "HEAD")
        if head is None:
            raise ValueError(f"{source} is not a git checkout with a commit")
        found = {b: _resolve(source, f"refs/heads/{b}") or _resolve(source, f"refs/remotes/origin/{b}")
                 for b in branches}
        # A missing branch starts where HEAD left production's line: production's commit
        # when HEAD is on it or ahead of it, else their merge base, so that pushing HEAD
        # to it always fast-forwards.
        base = found.get(production)
        fork = _git(source, "merge-base", head, base).strip() if base else head
        fallback = fork or head
        path.mkdir(parents=True, exist_ok=True)
        _git(path, "init", "-q", "--bare", "-b", production)
        seeded: list[Seeded] = []
        specs = []
        for branch in branches:
            commit = found[branch] or fallback
            origin = "checkout" if found[branch] else (
                "HEAD" if not base else f"{production}'s commit" if fallback == base
                else f"where HEAD forked from {production}")
            seeded.append(Seeded(branch, commit, origin))
            specs.append(f"{commit}:refs/heads/{branch}")
        # Objects travel with a plain push (no hook is installed yet: the seed is not an event).
        _git(source, "push", "-q", "--no-verify", str(path.resolve()), *specs)
        remote = cls(path)
        remote._install_hook()
        return remote, seeded

    @classmethod
    def application(cls, path: Path, *, remote: GitRemote, folder: str,
                    branches: list[str]) -> GitRemote:
        """An application repository split off `remote`: each of `branches` as one commit
        holding only `folder` (at the same path, so that its buildspec, which names its
        paths, builds as it is). Kept as it is when `path` already holds one split off
        the same folder (pushed commits are never thrown away).

        Raises:
            ValueError: `folder` is not a folder on each of `remote`'s `branches`, or
                `path` holds a repository split off another folder; nothing is
                written then.
        """
        parts = [p for p in folder.strip("/").split("/") if p]
        if (path / "HEAD").is_file():
            kept = subprocess.run(["git", "-C", str(path), "config", "ecs-gitops.folder"],
                                  capture_output=True, text=True, check=False).stdout.strip()
            if kept and kept != "/".join(parts):
                raise ValueError(f"application repository {path.stem} ({path}) was split "
                                 f"off {kept}, not {'/'.join(parts)}: 'local up --reset' "
                                 "starts afresh")
            return cls.open(path)
        for branch in branches:
            if _object_type(remote.path, f"refs/heads/{branch}:{'/'.join(parts)}") != "tree":
                raise ValueError(f"application repository {path.stem}: {folder} is not a "
                                 f"folder on the configuration repository's {branch}")
        # Split in a folder of its own, moved into place when whole: a split that fails
        # halfway leaves nothing that the next 'local up' would take for a repository.
        building = path.with_name(path.name + ".partial")
        shutil.rmtree(building, ignore_errors=True)
        _git(path.parent, "clone", "-q", "--bare", str(remote.path), str(building))
        for ref in _git(building, "for-each-ref", "--format=%(refname)", "refs/heads/").split():
            if ref.removeprefix("refs/heads/") not in branches:
                _git(building, "update-ref", "-d", ref)
        _git(building, "config", "ecs-gitops.folder", "/".join(parts))
        cls._split(building, parts, folder=folder, branches=branches, name=path.stem)
        building.rename(path)
        app = cls(path)
        app._install_hook()
        return app

    @staticmethod
    def _split(path: Path, parts: list[str], *, folder: str, branches: list[str],
               name: str) -> None:
        # Its own test settings: the configuration repository's pyproject.toml puts its
        # apps' folders on pytest's path; an application repository says it itself.
        settings = _store(path, "[pytest]\n# this repository's app, on the tests' import path\n"
                                f"pythonpath = {'/'.join(parts)}\n", blob=True)
        for branch in branches:
            tree = _git(path, "rev-parse", f"refs/heads/{branch}:{'/'.join(parts)}").strip()
            for depth, part in enumerate(reversed(parts)):  # its folders, innermost first
                extra = f"100644 blob {settings}\tpytest.ini\n" if depth == len(parts) - 1 \
                    else ""
                tree = _store(path, f"040000 tree {tree}\t{part}\n{extra}")
            commit = _git(path, "commit-tree", tree, "-m",
                          f"{name}: {folder} of the configuration repository's {branch}"
                          ).strip()
            _git(path, "update-ref", f"refs/heads/{branch}", commit)

    def _install_hook(self) -> None:
        hook = self.path / "hooks" / "reference-transaction"
        hook.parent.mkdir(exist_ok=True)
        hook.write_text(HOOK)
        hook.chmod(0o755)
        self.spool.mkdir(exist_ok=True)

    def tip(self, branch: str) -> str | None:
        """The commit `branch` points at, or None."""
        return _resolve(self.path, f"refs/heads/{branch}")

    def show(self, commit: str, path: str) -> str | None:
        """A file's text at a commit, or None when it is not there."""
        result = subprocess.run(["git", "--git-dir", str(self.path), "show", f"{commit}:{path}"],
                                capture_output=True, text=True, check=False)
        return result.stdout if result.returncode == 0 else None

    def pending(self) -> bool:
        """Whether a ref change (or a spooled event) waits to be taken."""
        return self.spool.is_dir() and (any(self.spool.glob("*.refs"))
                                        or any(self.spool.glob("*.event")))

    def spool_event(self, event: Mapping[str, Any]) -> None:
        """Hand an event to the running cloud (a pull request's, put by the CLI): the
        daemon takes it with the ref changes and puts it on the bus."""
        self.spool.mkdir(parents=True, exist_ok=True)
        stamp = f"{time.time_ns()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        temporary = self.spool / f"{stamp}.tmp"
        temporary.write_text(json.dumps(event))
        temporary.replace(self.spool / f"{stamp}.event")

    def take_events(self) -> list[dict[str, Any]]:
        """Every spooled event, oldest first."""
        if not self.spool.is_dir():
            return []
        events: list[dict[str, Any]] = []
        for file in sorted(self.spool.glob("*.event")):
            events.append(json.loads(file.read_text()))
            file.unlink()
        return events

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
        """Clone the remote into `target` (which must not exist); returns `target`."""
        _git(target.parent, "clone", "-q", str(self.path), str(target))
        return target


def _store(repository: Path, text: str, *, blob: bool = False) -> str:
    """Write a blob (`text` itself) or a tree (`text` in `git mktree`'s input format)."""
    args = ["hash-object", "-w", "--stdin"] if blob else ["mktree"]
    return subprocess.run(["git", "-C", str(repository), *args], input=text, text=True,
                          capture_output=True, check=True).stdout.strip()


def application_repositories(specs: Sequence[str], *, source: Path,
                             reserved: Collection[str] = ()) -> dict[str, str]:
    """`--app-repository NAME=FOLDER` values -> {NAME: FOLDER}, checked before anything
    is made: NAME a CodeCommit repository name (not one of `reserved`, each once),
    FOLDER a folder of the checkout `source` (relative, committed at its HEAD).

    Raises:
        ValueError: the first value that is not so, and why.
    """
    found: dict[str, str] = {}
    for spec in specs:
        name, sep, folder = spec.partition("=")
        if not sep or "=" in folder or not name or not folder:
            raise ValueError(f"--app-repository wants NAME=FOLDER (e.g. api=apps/api), "
                             f"not {spec!r}")
        if not _REPOSITORY_NAME.fullmatch(name) or name.endswith(".git") \
                or name in (".", ".."):
            raise ValueError(f"--app-repository {spec!r}: {name!r} is not a repository name "
                             "(letters, digits, '.', '_' and '-', at most 100, not ending "
                             "in '.git')")
        if name in reserved:
            raise ValueError(f"--app-repository {spec!r}: {name!r} is the configuration "
                             "repository's name; choose another")
        if name in found:
            raise ValueError(f"--app-repository {spec!r}: {name} is given twice "
                             f"(already {name}={found[name]})")
        parts = [p for p in folder.split("/") if p not in ("", ".")]
        if folder.startswith("/") or ".." in parts or not parts:
            raise ValueError(f"--app-repository {spec!r}: FOLDER must be a folder below the "
                             f"checkout's root, relative to it ({source})")
        if _object_type(source, f"HEAD:{'/'.join(parts)}") != "tree":
            raise ValueError(f"--app-repository {spec!r}: {'/'.join(parts)} is not a folder "
                             f"committed in the checkout ({source}, at HEAD)")
        found[name] = "/".join(parts)
    return found


def is_checkout(source: Path) -> bool:
    """Whether `source` is a git checkout with at least one commit (what `local up`
    seeds its git remote from)."""
    return _resolve(source, "HEAD") is not None


def _object_type(where: Path, spec: str) -> str | None:
    """`git cat-file -t`: blob, tree, commit, tag; None when there is no such object."""
    result = subprocess.run(["git", "-C", str(where), "cat-file", "-t", spec],
                            capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def _resolve(where: Path, ref: str) -> str | None:
    result = subprocess.run(["git", "-C", str(where), "rev-parse", "--verify", "-q",
                             f"{ref}^{{commit}}"], capture_output=True, text=True, check=False)
    return result.stdout.strip() or None if result.returncode == 0 else None


def _git(where: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "ecs-gitops demo",
           "GIT_AUTHOR_EMAIL": "demo@localhost", "GIT_COMMITTER_NAME": "ecs-gitops demo",
           "GIT_COMMITTER_EMAIL": "demo@localhost"}
    return subprocess.run(["git", "-C", str(where), *args], capture_output=True, text=True,
                          check=True, env=env).stdout
