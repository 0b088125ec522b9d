"""The composition root: the controllers' ports built from the function's environment
(the template's `Environment.Variables`), once per container.

AWS_ENDPOINT_URL (honoured by boto3 itself) points every client at the embedded AWS;
GIT_SOURCE=codecommit (the default) or a path to a local git repository.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ecs_gitops.aws.clients import Clients
from ecs_gitops.aws.codecommit import CodeCommitPullRequests, CodeCommitSource
from ecs_gitops.aws.dynamodb import DynamoStore
from ecs_gitops.aws.pacing import Pacer
from ecs_gitops.aws.services import CodeBuildBuilds, EcrRegistry, EventBridgeBus, SnsNotifier
from ecs_gitops.controllers.ports import Ports, Settings
from ecs_gitops.errors import ConfigurationError
from ecs_gitops.source import GitSource, PullRequests
from ecs_gitops.store import TaskDefinitionMemory

if TYPE_CHECKING:
    from ecs_gitops.aws.cloud import AwsCloud


def settings_from(environ: Mapping[str, str]) -> Settings:
    """`Settings` from the function's environment variables.

    Raises:
        ConfigurationError: BRANCH_ENVIRONMENTS is not a JSON object of strings.
    """
    raw = environ.get("BRANCH_ENVIRONMENTS", '{"main": "production", "development": "development"}')
    try:
        branches = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"BRANCH_ENVIRONMENTS is not JSON: {exc}") from exc
    if not isinstance(branches, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in branches.items()):
        raise ConfigurationError('BRANCH_ENVIRONMENTS must map branch to environment, e.g. '
                             '{"main": "production"}')
    roles = frozenset(r for r in (environ.get("TASK_ROLE_ARN"), environ.get("EXECUTION_ROLE_ARN"),
                                  environ.get("INFRASTRUCTURE_ROLE_ARN")) if r)
    try:
        margin = float(environ.get("DEADLINE_MARGIN_SECONDS", "20"))
        continuations = int(environ.get("MAX_CONTINUATIONS", "12"))
    except ValueError as exc:
        raise ConfigurationError(f"DEADLINE_MARGIN_SECONDS / MAX_CONTINUATIONS: {exc}") from exc
    return Settings(branches=branches,
                    deadline_margin=margin, max_continuations=continuations,
                    desired_dir=environ.get("DESIRED_STATE_DIR", "desired_state"),
                    dry_run=environ.get("DRY_RUN", "false").lower() == "true",
                    allowed_roles=roles,
                    account=environ.get("ACCOUNT_ID") or None,
                    region=environ.get("AWS_REGION") or None,
                    repository=environ.get("REPOSITORY_NAME") or None,
                    app_repositories=frozenset(
                        r.strip() for r in environ.get("APPLICATION_REPOSITORIES", "").split(",")
                        if r.strip()),
                    cluster=environ.get("CLUSTER_NAME") or None)


def source_from(environ: Mapping[str, str], clients: Clients) -> GitSource:
    """CodeCommit (GIT_SOURCE=codecommit, the default) or a local git repository (a path,
    the embedded cloud's remote).
    """
    where = environ.get("GIT_SOURCE", "codecommit")
    if where == "codecommit":
        return CodeCommitSource(clients, environ.get("REPOSITORY_NAME", "ecs-gitops"))
    from ecs_gitops.source.localgit import LocalGitSource

    return LocalGitSource(where.removeprefix("file://"))


def app_sources_from(environ: Mapping[str, str], clients: Clients
                     ) -> Callable[[str], GitSource]:
    """The git side of each application repository, by name: CodeCommit, or (GIT_SOURCE a
    path, the embedded cloud) the local repository beside the configuration one, named
    `NAME.git` or `NAME`."""
    where = environ.get("GIT_SOURCE", "codecommit")
    cache: dict[str, GitSource] = {}

    def source(name: str) -> GitSource:
        if name not in cache:
            if where == "codecommit":
                cache[name] = CodeCommitSource(clients, name)
            else:
                from pathlib import Path

                from ecs_gitops.source.localgit import LocalGitSource

                folder = Path(where.removeprefix("file://")).parent
                bare = folder / f"{name}.git"
                cache[name] = LocalGitSource(bare if bare.exists() else folder / name)
        return cache[name]

    return source


def pull_requests_from(environ: Mapping[str, str], clients: Clients,
                       repository: str | None = None) -> PullRequests:
    """The pull requests of the configuration repository (or of the application
    repository `repository`), where its git side is (GIT_SOURCE; an application
    repository beside it, as `app_sources_from` finds it)."""
    where = environ.get("GIT_SOURCE", "codecommit")
    name = repository or environ.get("REPOSITORY_NAME", "ecs-gitops")
    if where == "codecommit":
        return CodeCommitPullRequests(clients, name)
    from pathlib import Path

    from ecs_gitops.source.localgit import LocalPullRequests

    path = Path(where.removeprefix("file://"))
    if repository is not None:
        bare = path.parent / f"{repository}.git"
        path = bare if bare.exists() else path.parent / repository
    return LocalPullRequests(path, name)


def ports_from(environ: Mapping[str, str]) -> Ports:
    """Every port, built from `environ` (clients with standard retries, one per service,
    ECS paced to its token buckets: `PACING`, `PACING_SCALE`).

    Raises:
        ConfigurationError: TABLE_NAME is missing or the settings are invalid.
    """
    try:
        pacer = Pacer.from_environment(environ)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc
    clients = Clients(region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION"),
                      endpoint_url=environ.get("AWS_ENDPOINT_URL") or None, pacer=pacer)
    table = environ.get("TABLE_NAME")
    if not table:
        raise ConfigurationError("TABLE_NAME is not set (the template sets it)")
    store = DynamoStore(clients, table)
    return Ports(
        settings=settings_from(environ),
        source=source_from(environ, clients),
        store=store,
        builds=CodeBuildBuilds(clients),
        registry=EcrRegistry(clients),
        notifier=SnsNotifier(clients, environ.get("TOPIC_ARN") or None),
        bus=EventBridgeBus(clients, environ.get("EVENT_BUS_NAME", "default")),
        cloud=LazyCloud(clients, store),
        pacing=pacer,
        pull_requests=pull_requests_from(environ, clients),
        app_source=app_sources_from(environ, clients),
        app_pull_requests=lambda name: pull_requests_from(environ, clients, name),
    )


class LazyCloud:
    """The `Cloud` port, built (and its modules imported: observe, render, the desired
    state's models) the first time a controller uses it. Push, build and deployment
    events mostly never do, so their cold start does not pay for it."""

    def __init__(self, clients: Clients, memory: TaskDefinitionMemory | None) -> None:
        self._clients = clients
        self._memory = memory
        self._cloud: AwsCloud | None = None

    @property
    def clients(self) -> Clients:
        """The clients every call goes through (their `calls` are counted)."""
        return self._clients

    def __getattr__(self, name: str) -> Any:
        if self._cloud is None:
            from ecs_gitops.aws.cloud import AwsCloud

            self._cloud = AwsCloud(self._clients, memory=self._memory)
        return getattr(self._cloud, name)


_KEYS = ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "TABLE_NAME", "TOPIC_ARN",
         "ACCOUNT_ID", "CLUSTER_NAME",
         "EVENT_BUS_NAME", "REPOSITORY_NAME", "APPLICATION_REPOSITORIES", "GIT_SOURCE", "BRANCH_ENVIRONMENTS",
         "DESIRED_STATE_DIR", "DRY_RUN", "TASK_ROLE_ARN", "EXECUTION_ROLE_ARN",
         "INFRASTRUCTURE_ROLE_ARN",
         "DEADLINE_MARGIN_SECONDS", "MAX_CONTINUATIONS", "PACING", "PACING_SCALE")


@lru_cache(maxsize=4)
def _cached(items: tuple[tuple[str, str], ...]) -> Ports:
    return ports_from(dict(items))


def ports_from_environment() -> Ports:
    """The container's ports (clients are built once; a changed environment rebuilds)."""
    return _cached(tuple((k, os.environ[k]) for k in _KEYS if k in os.environ))


def forget_container() -> None:
    """Drop what this container built (tests: the next invocation is a cold start)."""
    _cached.cache_clear()
