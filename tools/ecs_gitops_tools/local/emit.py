"""Events shaped exactly like the ones AWS emits (the samples in events/ are the
reference), for the embedded cloud's stand-ins to put on the bus."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ecs_gitops.source import PullRequest
from ecs_gitops_tools.local.gitremote import ZERO, RefChange
from ecs_gitops_tools.local.template import ACCOUNT

REGION = "us-east-1"


def _envelope(source: str, detail_type: str, resources: list[str],
              detail: Mapping[str, Any], region: str) -> dict[str, Any]:
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type, "source": source,
        "account": ACCOUNT, "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region, "resources": resources, "detail": dict(detail),
    }


def codecommit(change: RefChange, repository: str, *, region: str = REGION) -> dict[str, Any]:
    """The "CodeCommit Repository State Change" event of one ref change (referenceCreated,
    referenceUpdated or referenceDeleted), as CodeCommit sends it (AWS CodeCommit User
    Guide, "Monitoring CodeCommit events in Amazon EventBridge")."""
    kind = "branch" if change.ref.startswith("refs/heads/") else "tag"
    name = change.ref.split("/", 2)[2]
    if change.old == ZERO:
        event, detail = "referenceCreated", {"commitId": change.new}
    elif change.new == ZERO:
        event, detail = "referenceDeleted", {"oldCommitId": change.old}
    else:
        event, detail = "referenceUpdated", {"commitId": change.new, "oldCommitId": change.old}
    return _envelope("aws.codecommit", "CodeCommit Repository State Change",
                     [f"arn:aws:codecommit:{region}:{ACCOUNT}:{repository}"], {
                         "callerUserArn": f"arn:aws:iam::{ACCOUNT}:user/local-developer",
                         "event": event, "referenceFullName": change.ref,
                         "referenceName": name, "referenceType": kind,
                         "repositoryId": str(uuid.uuid5(uuid.NAMESPACE_URL, repository)),
                         "repositoryName": repository, **detail}, region)


def codebuild(*, project: str, build_id: str, status: str, commit: str,
              exported: Mapping[str, str], phase: str = "COMPLETED",
              region: str = REGION) -> dict[str, Any]:
    """The "CodeBuild Build State Change" event of a finished build (`exported`: the
    buildspec's exported variables), as CodeBuild sends it (CodeBuild User Guide, "Build
    notifications input format reference")."""
    arn = f"arn:aws:codebuild:{region}:{ACCOUNT}:build/{build_id}"
    return _envelope("aws.codebuild", "CodeBuild Build State Change", [arn], {
        "build-status": status, "project-name": project, "build-id": arn,
        "current-phase": phase, "current-phase-context": "[]", "version": "1",
        "additional-information": {
            "build-complete": status != "IN_PROGRESS", "initiator": "ecs-gitops-local",
            "source-version": commit,
            "exported-environment-variables": [{"name": k, "value": v}
                                               for k, v in exported.items()],
        }}, region)


def ecs_deployment(*, cluster: str, service: str, event_name: str, deployment_id: str,
                   reason: str, region: str = REGION) -> dict[str, Any]:
    """The "ECS Deployment State Change" event (SERVICE_DEPLOYMENT_IN_PROGRESS, _COMPLETED
    or _FAILED), as ECS sends it (ECS Developer Guide, "Amazon ECS service deployment state
    change events")."""
    return _envelope("aws.ecs", "ECS Deployment State Change",
                     [f"arn:aws:ecs:{region}:{ACCOUNT}:service/{cluster}/{service}"], {
                         "eventType": "ERROR" if event_name.endswith("FAILED") else "INFO",
                         "eventName": event_name, "deploymentId": deployment_id,
                         "updatedAt": datetime.now(UTC).isoformat(), "reason": reason},
                     region)


def ecs_hook(*, cluster: str, service: str, detail: Mapping[str, Any],
             region: str = REGION) -> dict[str, Any]:
    """ECS's "ECS Hook State Change" event (developer guide, "Pause hooks for Amazon ECS
    service deployments": emitted with the event name HOOK_AWAITING_ACTION when a
    deployment pauses). The detail's members follow DescribeServiceDeployments'
    lifecycleHookDetails; AWS publishes no full example of this event's detail."""
    return _envelope("aws.ecs", "ECS Hook State Change",
                     [f"arn:aws:ecs:{region}:{ACCOUNT}:service/{cluster}/{service}"],
                     {k: v for k, v in detail.items() if v is not None}, region)


def scheduled(rule_name: str, *, region: str = REGION) -> dict[str, Any]:
    """The "Scheduled Event" EventBridge sends for one tick of the rule `rule_name`."""
    return _envelope("aws.events", "Scheduled Event",
                     [f"arn:aws:events:{region}:{ACCOUNT}:rule/{rule_name}"], {}, region)


def codecommit_pull_request(pull_request: PullRequest, event: str, *, title: str = "",
                            region: str = REGION) -> dict[str, Any]:
    """A "CodeCommit Pull Request State Change" (pullRequestCreated,
    pullRequestSourceBranchUpdated, pullRequestMergeStatusUpdated), as in the CodeCommit
    User Guide's examples (events/codecommit-pull-request-created.json)."""
    repository = pull_request.repository
    caller = f"arn:aws:iam::{ACCOUNT}:user/local-developer"
    now = datetime.now(UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
    return _envelope("aws.codecommit", "CodeCommit Pull Request State Change",
                     [f"arn:aws:codecommit:{region}:{ACCOUNT}:{repository}"], {
                         "author": caller, "callerUserArn": caller, "creationDate": now,
                         "lastModifiedDate": now, "event": event,
                         "destinationCommit": pull_request.destination_commit,
                         "destinationReference": f"refs/heads/{pull_request.destination_branch}",
                         "sourceCommit": pull_request.source_commit,
                         "sourceReference": f"refs/heads/{pull_request.source_branch}",
                         "isMerged": "True" if pull_request.merged else "False",
                         "pullRequestId": pull_request.id,
                         "pullRequestStatus": pull_request.status.capitalize(),
                         "repositoryNames": [repository], "title": title}, region)
