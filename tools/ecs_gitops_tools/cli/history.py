"""`ecs-gitops history` and `ecs-gitops rollback`: the audit trail is git.

Every deployment is a commit of a desired-state file (the build controller's
write-backs, reverts after failed rollouts, people's edits), so history reads the
file's git log, and a rollback is one more commit, pushed like any change.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ecs_gitops.desired import Environment, load_environment, load_environment_text
from ecs_gitops.desired.edit import set_image_tag
from ecs_gitops.errors import DesiredStateError, EcsGitopsError
from ecs_gitops.source import is_write_back
from ecs_gitops_tools import output
from ecs_gitops_tools.cli.target import resolve_file

console = Console()
err = Console(stderr=True)


@dataclass(frozen=True, slots=True)
class Revision:
    commit: str
    date: str
    author: str
    subject: str
    write_back: bool
    tags: dict[str, str]  # service -> image tag in the file at that commit


def _git(*args: str) -> str:
    result = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise EcsGitopsError(f"git {args[0]}: {result.stderr.strip() or 'failed'}")
    return result.stdout


def revisions(path: Path, limit: int) -> list[Revision]:
    """The commits that changed `path`, newest first, with each service's tag then."""
    out = _git("log", f"-n{limit}", "--format=%H%x1f%an%x1f%ad%x1f%B%x1e", "--date=iso",
               "--", str(path))
    found: list[Revision] = []
    for record in filter(str.strip, out.split("\x1e")):
        commit, author, date, body = record.strip().split("\x1f", 3)
        try:
            text = _git("show", f"{commit}:{path}")
            env = load_environment_text(text, f"{path}@{commit[:12]}")
            tags = {s.name: s.image.tag for s in env.services}
        except (EcsGitopsError, DesiredStateError):
            tags = {}
        found.append(Revision(commit, date, author, body.strip().splitlines()[0] if body.strip()
                              else "", is_write_back(body), tags))
    return found


def history(
    environment: Annotated[str, typer.Argument(help="Environment name or desired-state file.")],
    service: Annotated[str | None, typer.Option(help="Only this service's changes.")] = None,
    limit: Annotated[int, typer.Option("-n", help="How many commits to read.")] = 30,
) -> None:
    """The deployments of an environment, from the git log of its desired-state file."""
    try:
        path = resolve_file(environment)
        found = revisions(path, limit)
    except EcsGitopsError as exc:
        output.error(err, exc)
        raise typer.Exit(1) from None
    table = Table(title=output.styled(f"history of {path}"))
    for column in ("commit", "date", "by", "what", "image tags"):
        table.add_column(column)
    for index, rev in enumerate(found):
        older = found[index + 1].tags if index + 1 < len(found) else {}
        changed = {k: v for k, v in rev.tags.items() if older.get(k) != v}
        if service:
            if service not in changed:
                continue
            changed = {service: changed[service]}
        tags = ", ".join(f"{k}={v[:12]}" for k, v in changed.items()) or "-"
        who = "ecs-gitops" if rev.write_back else rev.author
        table.add_row(*(output.styled(cell) for cell in (
            rev.commit[:10], rev.date[:19], who, rev.subject, tags)))
    console.print(table)


def _previous_tag(path: Path, service: str, current: str) -> str:
    for rev in revisions(path, 200):
        tag = rev.tags.get(service)
        if tag and tag != current:
            return tag
    raise EcsGitopsError(f"no earlier tag of {service} in the history of {path}: use --to TAG")


def rollback(
    environment: Annotated[str, typer.Argument(help="Environment name or desired-state file.")],
    service: Annotated[str, typer.Argument(help="The service's name in the file.")],
    to: Annotated[str | None, typer.Option(
        "--to", help="The image tag to go back to (default: the one before the current).")] = None,
    push: Annotated[str | None, typer.Option(
        help="Push the commit to this remote (e.g. origin) so the controllers deploy it.")] = None,
) -> None:
    """Go back to an earlier image: one git commit of the desired-state file, like any change."""
    try:
        path = resolve_file(environment)
        env: Environment = load_environment(path)
        try:
            current = env.service(service).image.tag
        except KeyError:
            raise EcsGitopsError(f"no service {service!r} in {path}; services: "
                                 + ", ".join(s.name for s in env.services)) from None
        target = to or _previous_tag(path, service, current)
        if target == current:
            console.print(output.styled(f"{service} is already at {current[:12]}: nothing to do"))
            return
        text = path.read_text(encoding="utf-8")
        new_text = set_image_tag(text, service, target, path=str(path))
        load_environment_text(new_text, str(path))
        if _git("status", "--porcelain", "--", str(path)).strip():
            raise EcsGitopsError(f"{path} has uncommitted changes: commit or stash them first")
        path.write_text(new_text, encoding="utf-8")
        _git("add", str(path))
        _git("commit", "-q", "-m", f"rollback {service} to {target[:12]} in {env.environment}",
             "-m", f"From {current}. Made with 'ecs-gitops rollback'.", "--", str(path))
        commit = _git("rev-parse", "HEAD").strip()
        if push:
            _git("push", "-q", push, f"HEAD:{env.branch}")
    except (EcsGitopsError, ValueError) as exc:
        output.error(err, exc)
        raise typer.Exit(1) from None
    console.print("[green]committed[/green] " + escape(
        f"{commit[:10]}: {service} {current[:12]} -> {target[:12]} in {path}"), highlight=False)
    if not push:
        console.print(output.styled(f"push it to deploy: git push <remote> HEAD:{env.branch}"),
                      highlight=False)
