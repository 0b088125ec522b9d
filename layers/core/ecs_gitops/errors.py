"""The one exception hierarchy of ecs-gitops.

Every error the library raises on purpose derives from `EcsGitopsError`, so the
handlers and the command line can tell "our" failures (reported, not retried
blindly) from bugs. `transient` says whether trying again later could help: the
handlers use it to decide between logging an event away and letting Lambda retry
it into the dead-letter queue.
"""

from __future__ import annotations

from dataclasses import dataclass


class EcsGitopsError(Exception):
    """Base class of every error ecs-gitops raises on purpose.

    `transient` is the one thing a handler's retry policy looks at: True means a later
    attempt may succeed (throttling, a held lease, a branch that moved), so the error
    is raised for Lambda to retry; False means a retry cannot help, so the failure is
    reported and the event is not retried."""

    transient: bool = False


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a desired-state file, located as precisely as we can."""

    path: str
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        field = f"{self.field}: " if self.field else ""
        return f"{self.path}:{self.line}:{self.column}: {field}{self.message}"


class DesiredStateError(EcsGitopsError):
    """A desired-state file is invalid; `problems` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class PreflightError(EcsGitopsError):
    """Something the desired state refers to does not exist (image, secret, target group)."""

    def __init__(self, missing: list[str]) -> None:
        self.missing = tuple(missing)
        super().__init__("; ".join(self.missing))


class AwsError(EcsGitopsError):
    """An AWS call failed; `code` is the AWS error code."""

    def __init__(self, operation: str, code: str, message: str, *, transient: bool = False) -> None:
        self.operation = operation
        self.code = code
        self.transient = transient
        super().__init__(f"{operation}: {code}: {message}")


class NotFoundError(AwsError):
    """The AWS resource asked for does not exist."""


class LeaseHeldError(EcsGitopsError):
    """Another reconcile holds the environment's lease; try again later."""

    transient = True


class ClaimInProgressError(EcsGitopsError):
    """Another invocation is handling the same event right now; try again later."""

    transient = True


class ConflictError(EcsGitopsError):
    """A concurrent writer got there first (e.g. the branch moved); try again."""

    transient = True


class TimeoutExpiredError(EcsGitopsError):
    """Waiting for services to become stable took longer than allowed."""


class SourceError(EcsGitopsError):
    """The git side (CodeCommit or a local repository) failed or refused."""


class ConfigurationError(EcsGitopsError):
    """The function's configuration (its environment variables) is wrong."""


class EditError(EcsGitopsError):
    """A desired-state file cannot be edited as asked (e.g. an invalid image tag)."""


class UnknownServiceError(EcsGitopsError, LookupError):
    """A desired state has no service of that name."""


class ReplacementRefusedError(PreflightError):
    """The plan replaces a service (a change UpdateService cannot make) and neither the
    file (`replace: true`) nor the operator (`--allow-replace`) allowed it."""


class UnmanagedFieldError(EcsGitopsError):
    """A rendered input holds a member that the managed-fields table does not know: it
    would be dropped silently, so it is refused."""


class MergeConflictError(SourceError):
    """A pull request cannot be merged without a person resolving conflicts; `paths`
    lists the conflicting files (as far as the source says)."""

    def __init__(self, message: str, paths: list[str] | None = None) -> None:
        super().__init__(message)
        self.paths = list(paths or ())
