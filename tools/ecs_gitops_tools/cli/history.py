"""`ecs-gitops history` and `ecs-gitops rollback`: the audit trail is git.

Every deployment is a commit of a desired-state file (the build controller's
write-backs, reverts after failed rollouts, people's edits), so history reads the
file's git log, and a rollback is one more commit, pushed like any change.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
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
from ecs_gitops.store import BadImage, Operation, bad_image_key
from ecs_gitops_tools import output
from ecs_gitops_tools.cli.options import Endpoint, Local, Region
from ecs_gitops_tools.cli.target import resolve_file
from ecs_gitops_tools.output import release_command

console = Console()
err = Console(stderr=True)


@dataclass(frozen=True, slots=True)
class Revision:
    """One commit of an environment's desired-state file, as `ecs-gitops history` lists it.

    `date` is the commit's ISO-8601 author date; `write_back` is True for the
    controllers' own commits; `tags` maps each service to its image tag at that commit.
    """
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
    top = Path(_git("rev-parse", "--show-toplevel").strip()).resolve()
    relative = path.resolve().relative_to(top).as_posix()  # `git show` wants it from the root
    found: list[Revision] = []
    for record in filter(str.strip, out.split("\x1e")):
        commit, author, date, body = record.strip().split("\x1f", 3)
        try:
            text = _git("show", f"{commit}:{relative}")
            env = load_environment_text(text, f"{path}@{commit[:12]}")
            tags = {s.name: s.image.tag for s in env.services}
        except (EcsGitopsError, DesiredStateError):
            tags = {}
        found.append(Revision(commit, date, author, body.strip().splitlines()[0] if body.strip()
                              else "", is_write_back(body), tags))
    return found


def _known_bad(environment: str, found: list[Revision], *, local: bool,
               endpoint_url: str | None, region: str | None,
               services: list[str] | None = None, table: str | None = None
               ) -> tuple[dict[str, BadImage], list[Operation], str]:
    """The known-bad records of every (service, tag) in `found`, one batched read, the
    approvals and aborts of `services`; and, when the state table cannot be read, why
    (history itself needs git only)."""
    from ecs_gitops_tools.cli.main import _store
    from ecs_gitops_tools.cli.target import make_clients

    keys = sorted({bad_image_key(environment, name, tag) for rev in found
                   for name, tag in rev.tags.items()})
    try:
        store = _store(make_clients(local=local, endpoint_url=endpoint_url, region=region),
                       table=table, stack="ecs-gitops", local=local)
        if store is None:
            return {}, [], "no ecs-gitops stack found"
        from ecs_gitops_tools.operations import recorded

        operations = recorded(store, environment, services) if services else []
        return store.bad_images(keys), operations, ""
    except EcsGitopsError as exc:
        return {}, [], str(exc)


def history(
    environment: Annotated[str, typer.Argument(help="Environment name or desired-state file.")],
    service: Annotated[str | None, typer.Option(help="Only this service's changes.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many commits to read.")] = 30,
    local: Local = False,
    endpoint_url: Endpoint = None,
    region: Region = None,
    state_table: Annotated[str | None, typer.Option(
        "--table", metavar="TABLE", help="The controllers' state table (default: found from "
        "the stack 'ecs-gitops', or from 'local up').")] = None,
) -> None:
    """The deployments of an environment, from the git log of its desired-state file.

    Images that failed a rollout are marked, and the one a reconcile holds back now (the
    pinned image failed) is named with since when, why, and how to release it; the
    approvals and aborts of blue-green, canary and linear deployments follow, with who
    and when (from the controllers' state table: your AWS account, or --local)."""
    try:
        path = resolve_file(environment)
        found = revisions(path, limit)
        env = load_environment(path)
    except (EcsGitopsError, DesiredStateError) as exc:
        output.error(err, exc)
        raise typer.Exit(1) from None
    bad, operations, unknown = _known_bad(env.environment, found, local=local, endpoint_url=endpoint_url,
                              region=region or env.region,
                              services=[s.ecs_name for s in env.services
                                        if service is None or service in (s.name, s.ecs_name)],
                                              table=state_table)
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
        tags = ", ".join(
            f"{k}={v[:12]}" + (" (failed a rollout)" if bad_image_key(env.environment, k, v)
                               in bad else "") for k, v in changed.items()) or "-"
        who = "ecs-gitops" if rev.write_back else rev.author
        table.add_row(*(output.styled(cell) for cell in (
            rev.commit[:10], rev.date[:19], who, rev.subject, tags)))
    console.print(table)
    for svc in env.services:
        record = bad.get(bad_image_key(env.environment, svc.name, svc.image.tag))
        if record is not None and (service is None or service == svc.name):
            console.print(f"! held back {svc.name}: the pinned {svc.image.tag[:12]} failed a "
                          f"rollout ({record.describe()}); reconciles keep what runs; to "
                          f"deploy it again: {release_command(env.environment, svc.name)}",
                          highlight=False, soft_wrap=True, markup=False)
    for operation in operations:
        console.print(f"{operation.service}: {operation.describe()} ({operation.deployment})",
                      highlight=False, soft_wrap=True, markup=False)
    if unknown:
        console.print(f"(images held back after a failed rollout are not shown: {unknown})",
                      style="dim", highlight=False, soft_wrap=True, markup=False)


def _previous_tag(ran: list[str], current: str, service: str, path: str) -> str:
    for tag in ran:
        if tag != current:
            return tag
    raise EcsGitopsError(f"no earlier tag of {service} in the history of {path}: use --to TAG")


@dataclass(frozen=True, slots=True)
class Branch:
    """The environment's branch in this repository: its tip and the file's path in it."""

    name: str
    ref: str  # refs/heads/<name>
    tip: str
    path: str  # the desired-state file, relative to the repository's root
    checked_out_here: bool  # HEAD is this branch in the current worktree


def _branch(path: Path, branch: str) -> Branch:
    """Where the rollback commits: the environment's branch, whatever is checked out."""
    top = Path(_git("rev-parse", "--show-toplevel").strip())
    relative = path.resolve().relative_to(top.resolve()).as_posix()
    ref = f"refs/heads/{branch}"
    tip = subprocess.run(["git", "rev-parse", "--verify", "-q", f"{ref}^{{commit}}"],
                         capture_output=True, text=True, check=False).stdout.strip()
    if not tip:
        raise EcsGitopsError(
            f"there is no branch {branch!r} here (the environment's branch): fetch it first, "
            f"e.g. 'git fetch origin {branch}:{branch}'")
    head = subprocess.run(["git", "symbolic-ref", "-q", "HEAD"], capture_output=True, text=True,
                          check=False).stdout.strip()
    elsewhere = [block.splitlines()[0].removeprefix("worktree ")
                 for block in _git("worktree", "list", "--porcelain").split("\n\n")
                 if f"branch {ref}" in block.splitlines()]
    here = head == ref
    if not here and elsewhere:
        raise EcsGitopsError(f"{branch} is checked out in {elsewhere[0]}: run the rollback "
                             "there (its working tree would not see a commit made from here)")
    return Branch(branch, ref, tip, relative, here)


def _ran(branch: Branch, service: str) -> list[str]:
    """The tags `service` had on the branch, newest first (each once): what it ran."""
    out = _git("log", "--format=%H", branch.tip, "--", branch.path)
    seen: dict[str, None] = {}
    for commit in out.split():
        try:
            text = _git("show", f"{commit}:{branch.path}")
            tag = load_environment_text(text, f"{branch.path}@{commit[:12]}").service(
                service).image.tag
        except (EcsGitopsError, DesiredStateError, KeyError):
            continue
        seen.setdefault(tag, None)
    return list(seen)


def _expand(to: str, ran: list[str], *, force: bool, service: str, environment: str) -> str:
    """A tag this environment ran, from a full tag or a unique prefix (a short commit id)."""
    if to in ran:
        return to
    matches = [t for t in ran if t.startswith(to)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise EcsGitopsError(f"{to!r} is ambiguous: it starts " + ", ".join(
            t[:12] for t in matches) + "; give more of it")
    if force:
        return to
    shown = ", ".join(t[:12] for t in ran[:8]) + (" ..." if len(ran) > 8 else "")
    raise EcsGitopsError(f"{to!r} is not a tag {service} ran in {environment} (it ran: "
                         f"{shown or 'nothing'}); --force rolls to it anyway")


def _in_ecr(env: Environment, service: str, tag: str, *, local: bool,
            endpoint_url: str | None, region: str | None) -> None:
    from ecs_gitops.aws.services import EcrRegistry
    from ecs_gitops_tools.cli.target import make_clients

    repository = env.service(service).image.repository
    clients = make_clients(local=local, endpoint_url=endpoint_url, region=region or env.region)
    if not EcrRegistry(clients).image_exists(repository, tag):
        raise EcsGitopsError(f"image {repository}:{tag[:12]} is not in ECR (it may have "
                             "expired); --force rolls to it anyway")


def _commit(branch: Branch, content: str, message: str) -> str:
    """One commit of the file on the branch. With the branch checked out here, through the
    working tree (refused when the file has uncommitted changes); else with plumbing (a
    temporary index), so that whatever is checked out stays as it is."""
    if branch.checked_out_here:
        top = Path(_git("rev-parse", "--show-toplevel").strip())
        if _git("status", "--porcelain", "--", str(top / branch.path)).strip():
            raise EcsGitopsError(f"{branch.path} has uncommitted changes: commit or stash "
                                 "them first")
        (top / branch.path).write_text(content, encoding="utf-8")
        _git("add", str(top / branch.path))
        _git("commit", "-q", "-m", message, "--", str(top / branch.path))
        return _git("rev-parse", "HEAD").strip()
    with tempfile.TemporaryDirectory(prefix="ecs-gitops-rollback-") as tmp:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(tmp) / "index")}

        def git(*args: str, stdin: str | None = None) -> str:
            done = subprocess.run(["git", *args], input=stdin, capture_output=True, text=True,
                                  check=False, env=env)
            if done.returncode != 0:
                raise EcsGitopsError(f"git {args[0]}: {done.stderr.strip() or 'failed'}")
            return done.stdout.strip()

        git("read-tree", branch.tip)
        blob = git("hash-object", "-w", "--stdin", stdin=content)
        mode = git("ls-files", "-s", "--", branch.path).split(" ", 1)[0] or "100644"
        git("update-index", "--cacheinfo", f"{mode},{blob},{branch.path}")
        tree = git("write-tree")
        commit = git("commit-tree", tree, "-p", branch.tip, stdin=message)
        # Compare-and-swap: refused if the branch moved meanwhile.
        git("update-ref", "-m", "ecs-gitops rollback", branch.ref, commit, branch.tip)
    return commit


def rollback(
    environment: Annotated[str, typer.Argument(help="Environment name or desired-state file.")],
    service: Annotated[str, typer.Argument(help="The service's name in the file.")],
    to: Annotated[str | None, typer.Option(
        "--to", metavar="TAG", help="The image tag to go back to: one this environment ran "
        "(a unique prefix is enough). Default: the one before the current.")] = None,
    push: Annotated[str | None, typer.Option(
        metavar="REMOTE",
        help="Push the commit to this remote (e.g. origin) so the controllers deploy it.")
    ] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Roll to a tag the environment never ran, or that is not in ECR.")
    ] = False,
    local: Local = False,
    endpoint_url: Endpoint = None,
    region: Region = None,
) -> None:
    """Go back to an earlier image: one git commit of the desired-state file, like any change.

    The tag must be one the environment ran (the file's history on its branch) and be in
    ECR (checked with your AWS credentials, or --local), unless --force. The commit goes on
    the environment's branch whatever is checked out."""
    try:
        path = resolve_file(environment)
        env: Environment = load_environment(path)
        try:
            env.service(service)
        except KeyError:
            raise EcsGitopsError(f"no service {service!r} in {path}; services: "
                                 + ", ".join(s.name for s in env.services)) from None
        branch = _branch(path, env.branch)
        text = _git("show", f"{branch.tip}:{branch.path}")
        at_tip = load_environment_text(text, f"{branch.path}@{branch.name}")
        current = at_tip.service(service).image.tag
        ran = _ran(branch, service)
        target = _expand(to, ran, force=force, service=service, environment=env.environment) \
            if to else _previous_tag(ran, current, service, branch.path)
        if target == current:
            console.print(output.styled(f"{service} is already at {current[:12]} on "
                                        f"{branch.name}: nothing to do"), highlight=False)
            return
        if not force:
            _in_ecr(at_tip, service, target, local=local, endpoint_url=endpoint_url,
                    region=region)
        new_text = set_image_tag(text, service, target, path=branch.path)
        load_environment_text(new_text, branch.path)
        commit = _commit(branch, new_text,
                         f"rollback {service} to {target[:12]} in {env.environment}\n\n"
                         f"From {current}. Made with 'ecs-gitops rollback'.")
        pushed = None
        if push:
            _git("push", "-q", push, f"{branch.ref}:{branch.ref}")
            pushed = _git("ls-remote", push, branch.ref).split()[0:1]
    except (EcsGitopsError, ValueError) as exc:
        output.error(err, exc)
        raise typer.Exit(1) from None
    where = "" if branch.checked_out_here else f" (on {branch.name}; your checkout is untouched)"
    console.print("[green]committed[/green] " + escape(
        f"{commit[:10]}: {service} {current[:12]} -> {target[:12]} in {branch.path}{where}"),
        highlight=False)
    if push:
        if pushed != [commit]:
            output.error(err, f"{push} {branch.name} is at "
                              f"{(pushed or ['nothing'])[0][:10]}, not {commit[:10]}")
            raise typer.Exit(1)
        console.print("[green]pushed[/green] " + escape(
            f"{commit[:10]} to {push} {branch.name}: the controllers deploy it"),
            highlight=False)
    else:
        console.print(output.styled(f"push it to deploy: git push <remote> {branch.name}"),
                      highlight=False)
