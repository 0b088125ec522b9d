"""What a controller did, as data: a kind, a reason, and the facts it acted on.

Controllers never return prose. An `Outcome` says *what happened* (`Kind`), *why*
(`Reason`, for everything that was skipped, ignored or refused) and carries the
facts (environment, service, commit, build, ...). Its one-line text is rendered from
those fields (`Outcome.text`), so logs, the timeline of the embedded cloud and the
CLI read the same way, and tests compare kinds and reasons, never wording. Enums
rather than strings, as kopf does for its causes, "to prevent a direct usage of
strings, and typos".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """What a controller did with one event (or one environment of it)."""

    IGNORED = "ignored"  # not ours, not for us, or already done: nothing happened
    # push
    BUILDS_STARTED = "builds started"
    NO_BUILD = "no build"
    INVALID_DESIRED_STATE = "invalid desired state"
    # build finished
    WROTE_BACK = "wrote back"
    NOT_WRITTEN = "not written"
    BUILD_FAILED = "build failed"
    # reconcile
    IN_SYNC = "in sync"
    APPLIED = "applied"
    PAUSED = "paused"  # stopped before the deadline; a continuation goes on
    DRY_RUN = "dry run"
    DRIFT_REPORTED = "drift reported"
    PREFLIGHT_FAILED = "preflight failed"
    REFUSED = "refused"
    # deployment events
    RELEASE_HEALTHY = "release healthy"
    RELEASE_FAILED = "release failed"
    REVERTED = "reverted"
    DEPLOYMENT_NOTED = "deployment noted"
    AWAITING_APPROVAL = "awaiting approval"  # a PAUSE hook holds the deployment
    # sweep
    SWEPT = "swept"
    # pull request preview
    PREVIEW_POSTED = "preview posted"
    PREVIEW_UPDATED = "preview updated"
    # a controller that handles several environments (reconcile of all, sweep)
    EACH = "each"
    # an error of ours that a retry cannot fix (reported, not retried)
    FAILED = "failed"


class Reason(StrEnum):
    """Why something was skipped, ignored, refused or not written.

    Each value's text is a template over the outcome's facts (see `Outcome.text`)."""

    # events that are not for this controller
    NOT_A_BRANCH = "{reference_type} {reference} is not a branch"
    REFERENCE_EVENT = "{event} of {reference}"
    UNTRACKED_BRANCH = "branch {branch} is not tracked"
    NO_COMMIT_ID = "the event carries no commit id"
    BUILD_NOT_FINISHED = "build {build} is {status}"
    UNKNOWN_PROJECT = "project {project} is not in any desired state"
    UNKNOWN_SERVICE = "service {service} is not in any desired state"
    UNTRACKED_ENVIRONMENT = "environment {environment} is not tracked"
    EVENT_NOT_HANDLED = "{event} is not an event this function acts on"
    NOT_OURS = "{what} is not this stack's (expected {expected})"
    # duplicates
    ALREADY_PROCESSED = "{what} was already handled"
    LEASE_HELD = "another reconcile of {environment} holds the lease"
    # push
    WRITE_BACK_COMMIT = "write-back commit: only a reconcile"
    NO_APP_CHANGED = "no file under a service's build source changed"
    INVALID_FILE = "{path} at {commit:.12} is invalid"
    NO_BUILDSPEC = "{missing} does not exist at {commit:.12} (folder deleted?)"
    # build finished / write-back
    NO_TAG = "the build has neither a source version nor an IMAGE_TAG"
    KNOWN_BAD_IMAGE = "image {tag:.12} failed a rollout before; not deployed again"
    IMAGE_MISSING = "image {repository}:{tag:.12} is not in ECR"
    ALREADY_PINNED = "{service} already pins {tag:.12}"
    NOT_ON_BRANCH = "built commit {commit:.12} is not on {branch}"
    NOT_NEWER = "built commit {commit:.12} is not newer than pinned {pinned:.12}"
    PINNED_BY_PERSON = ("a person pinned {pinned:.12} in {setter:.12}, after built commit "
                        "{commit:.12}")
    UNRESOLVED_COMMIT = "the commit build {build} built is unknown"
    MOVED_ON = "git already moved on from {failed:.12} (pins {pinned:.12})"
    DRY_RUN = "dry run: would write {service}={tag:.12}"
    NOTHING_TO_REVERT = "nothing to revert: the running image is the failed one"
    # reconcile
    ROLES_NOT_ALLOWED = "the file names roles the stack may not pass: {roles}"
    SELF_HEAL_OFF = "selfHeal is false: drift reported, not corrected"
    NOT_CONFIRMED = "not confirmed"
    MISSING = "missing: {missing}"
    DEADLINE = ("applied {count} change(s) before the deadline; {left} service(s) left "
                "for continuation {continuation}")
    NOT_CONTINUED = ("applied {count} change(s); {left} service(s) left, not continued "
                     "after {why}: the schedule goes on")
    # deployment events
    NOT_THIS_RELEASE = "deployment {deployment} was not started by ecs-gitops"
    # sweep
    FIRST_SWEEP = "first sweep of {branch}: tip recorded"
    RELEASES_SETTLED = "releases found ended without their ECS event: {settled}"
    DRY_RUN_SETTLED = "dry run: would settle {settled}"
    # pull request preview
    PULL_REQUEST_CLOSED = "pull request {pull_request} is {status}"
    UNKNOWN_PULL_REQUEST = "no pull request {pull_request} in the repository"
    NOT_CONFIGURED = "this function has no {what}"
    SUPERSEDED = ("pull request {pull_request} moved on ({current:.12}) while previewed: "
                  "not posted, the newer event posts its own")
    # errors
    ERROR = "{error}"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One controller decision.

    Attributes:
        kind: what happened.
        reason: why, when the kind is a skip, a refusal or an ignore; None otherwise.
        facts: what the decision was about (environment, service, commit, build,
            tag, plan lines, ...); JSON-serialisable values only.
        parts: for `Kind.EACH`, one outcome per environment or item handled.
    """

    kind: Kind
    reason: Reason | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)
    parts: tuple[Outcome, ...] = ()

    @property
    def ignored(self) -> bool:
        """True when nothing happened (the event was not for us or already handled)."""
        if self.kind is Kind.EACH:
            return all(p.ignored for p in self.parts)
        return self.kind is Kind.IGNORED

    @property
    def failed(self) -> bool:
        """True when the outcome (or one of its parts) is a failure to report."""
        if self.kind is Kind.EACH:
            return any(p.failed for p in self.parts)
        return self.kind in (Kind.FAILED, Kind.BUILD_FAILED, Kind.INVALID_DESIRED_STATE,
                             Kind.PREFLIGHT_FAILED, Kind.REFUSED, Kind.RELEASE_FAILED)

    def get(self, key: str, default: Any = None) -> Any:
        """A fact by name."""
        return self.facts.get(key, default)

    def text(self) -> str:
        """One line for people: `kind: reason` with the subject (environment, service).

        Example: `no build: no file under a service's build source changed
        (development, commit 0a1b2c3d4e5f)`."""
        if self.kind is Kind.EACH:
            return "; ".join(p.text() for p in self.parts) or "nothing to do"
        head = self.kind.value
        count = self.facts.get("count")
        if count is not None and self.kind is Kind.BUILDS_STARTED:
            head = f"{count} build{'s' if count != 1 else ''} started"
        elif count is not None and self.kind is Kind.APPLIED:
            head = f"applied {count} change{'s' if count != 1 else ''}"
        if self.reason is not None:
            head = f"{head}: {_render(self.reason, self.facts)}"
        if self.facts.get("reconcile_requested"):
            head = f"{head}; reconcile requested"
        subject = ", ".join(str(self.facts[k])[:12] if k == "commit" else str(self.facts[k])
                            for k in ("environment", "service", "commit")
                            if self.facts.get(k))
        return f"{head} ({subject})" if subject else head

    def as_dict(self) -> dict[str, Any]:
        """The handler's return value and log record: text, kind, reason and facts."""
        out: dict[str, Any] = {"action": self.text(), "kind": self.kind.value,
                               "ignored": self.ignored}
        if self.reason is not None:
            out["reason"] = self.reason.name
        out.update(self.facts)
        if self.kind is Kind.EACH:
            out["outcomes"] = [p.as_dict() for p in self.parts]
        return out


class _Facts(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return f"<{key}?>"


def _render(reason: Reason, facts: Mapping[str, Any]) -> str:
    values = _Facts({k: ("" if v is None else v) for k, v in facts.items()})
    try:
        return reason.value.format_map(values)
    except (ValueError, TypeError):  # a fact of an unexpected type for its format spec
        return reason.value.format_map(_Facts({k: str(v) for k, v in values.items()}))


def ignore(reason: Reason, **facts: Any) -> Outcome:
    """An `IGNORED` outcome with its reason and facts."""
    return Outcome(Kind.IGNORED, reason, facts)


def each(parts: list[Outcome] | tuple[Outcome, ...]) -> Outcome:
    """One outcome for several (per environment, per build): `Kind.EACH`."""
    return Outcome(Kind.EACH, parts=tuple(parts))
