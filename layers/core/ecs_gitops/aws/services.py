"""Small adapters the controllers use: CodeBuild, ECR, SNS, EventBridge."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ecs_gitops.aws.clients import Clients, translate
from ecs_gitops.errors import AwsError, NotFoundError

if TYPE_CHECKING:  # the event models (pydantic) are imported where used, not at cold start
    from ecs_gitops.events import CodeBuildStateChange, Trigger

# CodeBuild's terminal build statuses (BatchGetBuilds `buildStatus`).
FINISHED = ("SUCCEEDED", "FAILED", "FAULT", "STOPPED", "TIMED_OUT")


class CodeBuildBuilds:
    """The controllers' `Builds` port on CodeBuild."""

    def __init__(self, clients: Clients) -> None:
        self.cb: Any = clients.client("codebuild")

    def start_build(self, *, project: str, source_version: str, token: str,
                    environment: Mapping[str, str] | None = None,
                    source_repository: str | None = None, buildspec: str | None = None
                    ) -> str:
        """StartBuild of `source_version` with an idempotency token (CodeBuild starts no
        second build for the same token within 5 minutes); returns the build id.

        `source_repository`: an application repository, given as StartBuild's
        sourceTypeOverride CODECOMMIT and sourceLocationOverride (its HTTPS clone URL,
        CodeBuild API Reference, ProjectSource.location), with `buildspec` as
        buildspecOverride (a path in that repository).
        """
        kwargs: dict[str, Any] = {"projectName": project, "sourceVersion": source_version,
                                  "idempotencyToken": token}
        if source_repository:
            region = self.cb.meta.region_name
            kwargs["sourceTypeOverride"] = "CODECOMMIT"
            kwargs["sourceLocationOverride"] = (
                f"https://git-codecommit.{region}.amazonaws.com/v1/repos/{source_repository}")
            if buildspec:
                kwargs["buildspecOverride"] = buildspec
        if environment:
            kwargs["environmentVariablesOverride"] = [
                {"name": k, "value": v, "type": "PLAINTEXT"} for k, v in environment.items()]
        with translate("StartBuild"):
            return str(self.cb.start_build(**kwargs)["build"]["id"])

    def resolved_commit(self, build_id: str) -> str | None:
        """BatchGetBuilds' resolvedSourceVersion of one build (None if unknown)."""
        with translate("BatchGetBuilds"):
            builds = self.cb.batch_get_builds(ids=[build_id.rsplit(":build/", 1)[-1]])
        found = builds.get("builds") or [{}]
        version = found[0].get("resolvedSourceVersion")
        return str(version) if version else None

    def builds_of(self, project: str, commit: str) -> list[str]:
        """Ids of the project's last 100 builds whose source is `commit` (newest first)."""
        with translate("ListBuildsForProject"):
            ids = self.cb.list_builds_for_project(projectName=project).get("ids", [])
        if not ids:
            return []
        with translate("BatchGetBuilds"):
            builds = self.cb.batch_get_builds(ids=ids[:100]).get("builds", [])
        return [b["id"] for b in builds
                if commit in (b.get("resolvedSourceVersion"), b.get("sourceVersion"))]

    def finished_since(self, project: str, since: datetime) -> list[CodeBuildStateChange]:
        """ListBuildsForProject pages (ids newest first, 100 a page) and BatchGetBuilds
        (at most 100 ids a call), until a page's oldest build started before `since`;
        the finished builds, shaped as their "Build State Change" events' details."""
        out: list[CodeBuildStateChange] = []
        kwargs: dict[str, Any] = {"projectName": project}
        while True:
            # No sortOrder: the default is newest first, and ListBuildsForProject refuses
            # a sortOrder on projects with more than 100 builds.
            with translate("ListBuildsForProject"):
                page = self.cb.list_builds_for_project(**kwargs)
            ids = page.get("ids", [])
            if not ids:
                return out
            with translate("BatchGetBuilds"):
                builds = self.cb.batch_get_builds(ids=ids[:100]).get("builds", [])
            oldest = None
            for b in builds:
                start = b.get("startTime")
                if isinstance(start, datetime):
                    oldest = start if oldest is None or start < oldest else oldest
                    if start < since:
                        continue
                if b.get("buildStatus") in FINISHED:
                    out.append(_as_event(b, project))
            if page.get("nextToken") is None or (oldest is not None and oldest < since):
                return out
            kwargs["nextToken"] = page["nextToken"]


def _as_event(b: Mapping[str, Any], project: str) -> CodeBuildStateChange:
    from ecs_gitops.events import CodeBuildStateChange

    return CodeBuildStateChange.model_validate({
        "build-status": b.get("buildStatus", ""),
        "project-name": b.get("projectName", project),
        "build-id": b["id"],
        "additional-information": {
            "source-version": b.get("resolvedSourceVersion") or b.get("sourceVersion"),
            "exported-environment-variables": [
                {"name": v["name"], "value": v.get("value", "")}
                for v in b.get("exportedEnvironmentVariables", ())],
        },
    })


class EcrRegistry:
    """The controllers' `Registry` port on ECR."""

    def __init__(self, clients: Clients) -> None:
        self.ecr: Any = clients.client("ecr")

    def image_exists(self, repository: str, tag: str) -> bool:
        """DescribeImages of `repository:tag`; False when either is missing."""
        try:
            with translate("DescribeImages"):
                self.ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
        except NotFoundError:
            return False
        return True


# SNS Publish: "Messages must be UTF-8 encoded strings and at most 256 KB in size
# (262,144 bytes, not 262,144 characters)" (Amazon SNS API Reference, Publish).
SNS_MESSAGE_BYTES = 262_144


def bounded_message(message: Mapping[str, Any], limit: int = SNS_MESSAGE_BYTES) -> str:
    """`message` as JSON of at most `limit` UTF-8 bytes: while it is too long, the
    longest value (a list, a text) is halved and says how much was left out, so that a
    notification about 1,000 services is sent shortened rather than refused.

    Raises:
        ValueError: even with every value emptied it does not fit (`limit` too small).
    """
    data: dict[str, Any] = dict(message)

    def encoded() -> bytes:
        return json.dumps(data, sort_keys=True, default=str).encode()

    while len(encoded()) > limit:
        key = max(data, key=lambda k: len(json.dumps(data[k], default=str)))
        value = data[key]
        if isinstance(value, list) and len(value) > 1:
            kept = value[:len(value) // 2]
            data[key] = [*kept, f"... and {len(value) - len(kept)} more"]
        elif isinstance(value, str) and len(value) > 64:
            cut = len(value) // 2
            data[key] = f"{value[:cut]}... ({len(value) - cut} more characters)"
        elif isinstance(value, dict) and value:
            data[key] = json.dumps(value, sort_keys=True, default=str)
        else:
            raise ValueError(f"a message of {len(encoded())} bytes cannot be shortened to "
                             f"{limit}")
    return encoded().decode()


class SnsNotifier:
    """The controllers' `Notifier` port on SNS (a no-op without a topic)."""

    def __init__(self, clients: Clients, topic_arn: str | None) -> None:
        self.sns: Any = clients.client("sns")
        self.topic_arn = topic_arn

    def notify(self, subject: str, message: Mapping[str, Any]) -> None:
        """Publish `message` as JSON under `subject` (SNS caps subjects at 100 characters
        and messages at 256 KB: a longer message is shortened, `bounded_message`)."""
        if not self.topic_arn:
            return
        with translate("Publish"):
            self.sns.publish(TopicArn=self.topic_arn, Subject=subject[:100],
                             Message=bounded_message({"subject": subject, **message}))


class EventBridgeBus:
    """The controllers' `Bus` port on EventBridge."""

    def __init__(self, clients: Clients, bus_name: str = "default") -> None:
        self.events: Any = clients.client("events")
        self.bus_name = bus_name

    def request_reconcile(self, environment: str, *, reason: Trigger, commit: str | None,
                          services: list[str] | None = None, continuation: int = 0,
                          pacing: Mapping[str, list[float]] | None = None) -> None:
        """PutEvents of a "Reconcile Requested" event (source `ecs-gitops`); a
        continuation's extra fields only when set.

        Raises:
            AwsError: the entry was not accepted (transient: Lambda retries).
        """
        from ecs_gitops.events import EVENT_SOURCE, RECONCILE_REQUESTED

        detail: dict[str, Any] = {"environment": environment, "reason": reason.value,
                                  "commit": commit}
        if services is not None:
            detail["services"] = services
        if continuation:
            detail["continuation"] = continuation
        if pacing:
            detail["pacing"] = dict(pacing)
        with translate("PutEvents"):
            response = self.events.put_events(Entries=[{
                "Source": EVENT_SOURCE, "DetailType": RECONCILE_REQUESTED,
                "Detail": json.dumps(detail), "EventBusName": self.bus_name}])
        if response.get("FailedEntryCount"):
            entry = response["Entries"][0]
            raise AwsError("PutEvents", entry.get("ErrorCode", "Failed"),
                           entry.get("ErrorMessage", ""), transient=True)
