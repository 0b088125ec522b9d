"""One line per delivery, for `local status`'s timeline and the demo: what happened
(the event, in words), which function it reached, and what it did (the outcome's text,
rendered by the runtime from its kind, reason, environment and service).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ecs_gitops_tools.local.bus import Delivery


def describe_event(event: Mapping[str, Any]) -> str:
    """`push to development (5f2c9e8)`, `build SUCCEEDED (api-development)`, ..."""
    detail = event.get("detail") or {}
    source = event.get("source")
    if source == "aws.codecommit" and "pullRequestId" in detail:
        what = {"pullRequestCreated": "opened", "pullRequestSourceBranchUpdated": "pushed to",
                "pullRequestMergeStatusUpdated": "merged"}.get(str(detail.get("event")),
                                                               str(detail.get("event")))
        source_branch = str(detail.get("sourceReference", "")).removeprefix("refs/heads/")
        into = str(detail.get("destinationReference", "")).removeprefix("refs/heads/")
        return (f"pull request {detail['pullRequestId']} {what} ({source_branch} "
                f"{str(detail.get('sourceCommit', ''))[:7]} into {into})")
    if source == "aws.codecommit":
        name = detail.get("referenceName")
        repository = detail.get("repositoryName")
        if repository and repository != "ecs-gitops":  # an application repository's push
            name = f"{repository}:{name}"
        commit = str(detail.get("commitId") or detail.get("oldCommitId") or "")[:7]
        if detail.get("event") == "referenceUpdated":
            return f"push to {name} ({commit})"
        verb = "deleted" if detail.get("event") == "referenceDeleted" else "created"
        return f"{detail.get('referenceType', 'branch')} {name} {verb} ({commit})"
    if source == "aws.codebuild":
        return f"build {detail.get('build-status')} ({detail.get('project-name')})"
    if source == "aws.ecs":
        name = str((event.get("resources") or [""])[0]).rsplit("/", 1)[-1]
        if event.get("detail-type") == "ECS Hook State Change":
            return (f"deployment waits for approval at {detail.get('lifecycleStage', '?')} "
                    f"({name})" if detail.get("eventName") == "HOOK_AWAITING_ACTION" else
                    f"hook {str(detail.get('eventName', '')).lower()} ({name})")
        what = str(detail.get("eventName", "")).replace("SERVICE_DEPLOYMENT_", "").lower()
        return f"deployment {what} ({name})"
    if source == "ecs-gitops":
        return f"reconcile requested ({detail.get('environment')})"
    if event.get("detail-type") == "Scheduled Event":
        rule = str((event.get("resources") or [""])[0]).rsplit("/", 1)[-1]
        return f"schedule ({rule})"
    return str(event.get("detail-type"))


# Outcome kinds that report a failure (ecs_gitops.controllers.outcome.Outcome.failed).
FAILED_KINDS = frozenset({"failed", "build failed", "invalid desired state", "preflight failed",
                          "refused", "release failed"})


def summary(result: Any, error: str | None = None, attempts: int = 1) -> str:
    """The handler's outcome in one line (`Outcome.text`: kind, reason, environment,
    service), or the error that made every attempt fail."""
    if error:
        return f"error after {attempts} attempt(s): {error}"
    if not isinstance(result, Mapping):
        return str(result)
    return str(result.get("action", result))


def failed(result: Any) -> bool:
    """Whether a handler's result (`Outcome.as_dict`) reports a failure, itself or in one
    of its parts (as `Outcome.failed` says)."""
    if not isinstance(result, Mapping):
        return False
    if result.get("kind") in FAILED_KINDS:
        return True
    return any(failed(part) for part in result.get("outcomes") or ())


def timeline_line(delivery: Delivery) -> str:
    """One line of the timeline: the event (with its environment and service), the function
    it went to, and what the function did.
    """
    return f"{describe_event(delivery.event)} -> {delivery.function}: {delivery.summary}"
