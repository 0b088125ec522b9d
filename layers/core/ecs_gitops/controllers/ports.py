"""The ports controllers act through, bundled in `Ports`, and their settings.

Each port is a Protocol; the adapters in `ecs_gitops.aws` (and the local git source)
implement them on AWS, the unit tests' fakes in memory. The composition root
(`ecs_gitops.wiring`) builds a `Ports` from the function's environment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from ecs_gitops.clock import Clock, FixedBudget

if TYPE_CHECKING:  # types only: a handler imports the engine when it reconciles
    from ecs_gitops.engine import Cloud
    from ecs_gitops.events import CodeBuildStateChange, Trigger
    from ecs_gitops.source import GitSource, PullRequests
    from ecs_gitops.store import Store


class Builds(Protocol):
    """CodeBuild: start a build, list a project's recent builds."""

    def start_build(self, *, project: str, source_version: str, token: str,
                    environment: Mapping[str, str] | None = None,
                    source_repository: str | None = None, buildspec: str | None = None
                    ) -> str:
        """StartBuild of `source_version` (a commit id) with an idempotency token (the
        same token within 5 minutes starts no second build); returns the build id.
        `source_repository`: build from that CodeCommit repository instead of the
        project's (an application repository), with `buildspec` (a path in it)."""

    def resolved_commit(self, build_id: str) -> str | None:
        """The commit a build checked out (BatchGetBuilds' resolvedSourceVersion)."""

    def builds_of(self, project: str, commit: str) -> list[str]:
        """Ids of the project's recent builds of `commit` (newest first)."""

    def finished_since(self, project: str, since: datetime) -> list[CodeBuildStateChange]:
        """The project's finished builds that started after `since` (every page, newest
        first), shaped as their state-change events would be, so that the sweep hands
        them to the build controller."""


class Registry(Protocol):
    """ECR: does an image exist."""

    def image_exists(self, repository: str, tag: str) -> bool:
        """True when `repository:tag` is in the registry."""


class Notifier(Protocol):
    """SNS: tell people."""

    def notify(self, subject: str, message: Mapping[str, Any]) -> None:
        """Publish `message` (JSON-serialisable, never a secret) under `subject`."""


class Bus(Protocol):
    """EventBridge: ask for a reconcile."""

    def request_reconcile(self, environment: str, *, reason: Trigger, commit: str | None,
                          services: list[str] | None = None, continuation: int = 0,
                          pacing: Mapping[str, list[float]] | None = None) -> None:
        """Put a "Reconcile Requested" event for `environment` (see
        `ecs_gitops.events.ReconcileRequest` for a continuation's `services`,
        `continuation` and `pacing`)."""


class Pacing(Protocol):
    """The API pacing's bucket levels, carried from one invocation to its continuation
    (`ecs_gitops.aws.pacing.Pacer`)."""

    def state(self) -> dict[str, list[float]]:
        """Each bucket's level and the epoch second it was read."""

    def restore(self, state: Mapping[str, Any]) -> None:
        """Start from the levels an earlier invocation left (a hint: bad entries ignored)."""


@dataclass(frozen=True, slots=True)
class Settings:
    """What the stack configures (the template's environment variables).

    Attributes:
        branches: branch -> environment it deploys (`BRANCH_ENVIRONMENTS`).
        desired_dir: folder of the desired-state files in the repository.
        dry_run: plan and log, change neither ECS nor git (`DRY_RUN`).
        lease_seconds: how long a reconcile may hold an environment's lease; no
            longer than the function's timeout.
        allowed_roles: task and execution role ARNs the stack may pass (empty: any).
        account, region: the stack's; events from elsewhere are not ours (None: any).
        repository: the CodeCommit repository whose pushes are ours (None: any): the
            configuration repository, holding the desired state.
        app_repositories: the application repositories (`APPLICATION_REPOSITORIES`):
            their pushes build the services whose `build.repository` names them.
        cluster: the ECS cluster whose deployment events are ours (None: any).
        deadline_margin: seconds a reconcile keeps before the invocation's deadline
            to stop cleanly (record, hand over to a continuation, release the lease);
            `DEADLINE_MARGIN_SECONDS`.
        max_continuations: how many continuations one reconcile may chain
            (`MAX_CONTINUATIONS`); past it the scheduled reconcile goes on. Below
            Lambda's recursive loop limit (about 16) in case a loop it detects forms.
    """

    branches: Mapping[str, str]
    desired_dir: str = "desired_state"
    dry_run: bool = False
    lease_seconds: int = 300
    allowed_roles: frozenset[str] = frozenset()
    account: str | None = None
    region: str | None = None
    repository: str | None = None
    app_repositories: frozenset[str] = frozenset()
    cluster: str | None = None
    deadline_margin: float = 20.0
    max_continuations: int = 12

    def path(self, environment: str) -> str:
        """The repository path of `environment`'s desired-state file."""
        return f"{self.desired_dir}/{environment}.yaml"

    def branch_of(self, environment: str) -> str | None:
        """The branch that deploys `environment`, or None when it is not tracked."""
        return next((b for b, e in self.branches.items() if e == environment), None)


@dataclass(frozen=True, slots=True)
class Ports:
    """Everything a controller may touch."""

    settings: Settings
    source: GitSource
    store: Store
    builds: Builds
    registry: Registry
    notifier: Notifier
    bus: Bus
    cloud: Cloud
    # This invocation's clock; the handler replaces it with the Lambda context's.
    clock: Clock = field(default_factory=lambda: FixedBudget(60.0))
    pacing: Pacing | None = None
    # The configuration repository's pull requests (the plan preview's); None where the
    # function does not use them.
    pull_requests: PullRequests | None = None
    # The git side of an application repository, by name (None: no application
    # repositories are configured).
    app_source: Callable[[str], GitSource] | None = None
    # The pull requests of an application repository, by name.
    app_pull_requests: Callable[[str], PullRequests] | None = None

    def source_of(self, repository: str | None) -> GitSource:
        """The git side of `repository`: the configuration repository's for None (or its
        own name), else the application repository's.

        Raises:
            ConfigurationError: `repository` is not one of the stack's repositories.
        """
        if repository is None or repository == self.settings.repository:
            return self.source
        if self.app_source is None or repository not in self.settings.app_repositories:
            from ecs_gitops.errors import ConfigurationError

            raise ConfigurationError(f"{repository} is not one of the stack's application "
                                     "repositories (APPLICATION_REPOSITORIES)")
        return self.app_source(repository)
