"""`ecs-gitops local pr create | update | merge | show`: the embedded cloud's CodeCommit
pull requests, played with the events CodeCommit emits (`ecs_gitops_tools.local.
pull_requests`), so the plan preview runs offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ecs_gitops.errors import EcsGitopsError, MergeConflictError
from ecs_gitops_tools import output
from ecs_gitops_tools.cli.local import Dir, _state
from ecs_gitops_tools.cli.target import local_dir

pr_app = typer.Typer(help="Pull requests on the embedded cloud's repositories (create, "
                          "update, merge, show), with CodeCommit's events.",
                     no_args_is_help=True)
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

Number = Annotated[str, typer.Argument(help="The pull request's id (create prints it).")]


Repository = Annotated[str | None, typer.Option(
    "--repository", "-r", show_default=False,
    help="An application repository the cloud hosts ('local up --app-repository "
         "NAME=FOLDER'); default: the configuration repository.")]


def _remote(directory: Path | None, repository: str | None = None) -> tuple[Path, str]:
    """The git directory of `repository` (None: the configuration repository) and the
    name its pull requests' events carry."""
    from ecs_gitops_tools.local.pull_requests import REPOSITORY

    state = _state(directory or local_dir())
    if state is None:
        err.print("[red]error:[/red] the embedded cloud is not running ('ecs-gitops local up')")
        raise typer.Exit(1)
    if repository is None or repository == REPOSITORY:
        return Path(state["remote"]), REPOSITORY
    hosted: dict[str, str] = dict(state.get("app_remotes") or {})
    if repository not in hosted:
        output.error(err, f"the embedded cloud hosts no repository {repository!r} (hosted: "
                          f"{', '.join([REPOSITORY, *sorted(hosted)])}; 'ecs-gitops local up "
                          f"--app-repository {repository}=FOLDER' hosts one)")
        raise typer.Exit(1)
    return Path(hosted[repository]), repository


def _spool(remote: Path, event: dict[str, object]) -> None:
    from ecs_gitops_tools.local.gitremote import GitRemote

    GitRemote(remote).spool_event(event)


@pr_app.command()
def create(
    source: Annotated[str, typer.Option("--from", help="The branch to merge (pushed first).")],
    destination: Annotated[str, typer.Option("--into", help="The branch it merges into.")]
    = "main",
    title: Annotated[str, typer.Option(help="Its title.")] = "",
    repository: Repository = None,
    directory: Dir = None,
) -> None:
    """Open a pull request (pullRequestCreated); prints its id."""
    from ecs_gitops_tools.local import pull_requests

    remote, name = _remote(directory, repository)
    try:
        pull_request, event = pull_requests.create(remote, source=source,
                                                   destination=destination, title=title,
                                                   repository=name)
    except EcsGitopsError as exc:
        where = "local" if repository is None else f"<{name}'s remote>"
        hint = (f" (push it first: git push {where} {source})"
                if f"no branch {source!r}" in str(exc) else "")
        output.error(err, f"{exc}{hint}")
        raise typer.Exit(1) from None
    _spool(remote, event)
    console.print(f"pull request {pull_request.id}: {source} ({pull_request.source_commit[:12]}) "
                  f"into {destination} ({pull_request.destination_commit[:12]})",
                  highlight=False, markup=False)


@pr_app.command()
def update(number: Number, repository: Repository = None,
           directory: Dir = None) -> None:
    """Send pullRequestSourceBranchUpdated again, at the source branch's tip.

    A push to an open pull request's source branch sends it by itself."""
    from ecs_gitops_tools.local import pull_requests

    remote, name = _remote(directory, repository)
    try:
        pull_request, event = pull_requests.update(remote, number, repository=name)
    except EcsGitopsError as exc:
        output.error(err, exc)
        raise typer.Exit(1) from None
    _spool(remote, event)
    console.print(f"pull request {number}: source {pull_request.source_commit[:12]}",
                  highlight=False, markup=False)


@pr_app.command()
def merge(number: Number, repository: Repository = None,
          directory: Dir = None) -> None:
    """Merge it (fast-forward, or a merge commit) into its destination branch.

    The destination branch moves, which is a push like any other (built, reconciled)."""
    from ecs_gitops_tools.local import pull_requests

    remote, name = _remote(directory, repository)
    try:
        pull_request, tip, event = pull_requests.merge(remote, number, repository=name)
    except MergeConflictError as exc:
        output.error(err, f"pull request {number} cannot be merged without resolving "
                          f"conflicts in: {', '.join(exc.paths) or '(not listed)'}; merge "
                          "its destination into its source branch, resolve, push, merge again")
        raise typer.Exit(1) from None
    except EcsGitopsError as exc:
        output.error(err, exc)
        raise typer.Exit(1) from None
    _spool(remote, event)
    console.print(f"pull request {number} merged: {pull_request.destination_branch} is now "
                  f"{tip[:12]}", highlight=False, markup=False)


@pr_app.command()
def show(number: Number, repository: Repository = None,
         directory: Dir = None) -> None:
    """Print its comments (the plan preview among them), oldest first."""
    from ecs_gitops_tools.local import pull_requests

    remote, name = _remote(directory, repository)
    try:
        texts = pull_requests.comments(remote, number, repository=name)
    except EcsGitopsError as exc:
        output.error(err, exc)
        raise typer.Exit(1) from None
    if not texts:
        console.print(f"pull request {number}: no comment yet", highlight=False)
    for text in texts:
        console.print(text, highlight=False, markup=False, soft_wrap=True)
