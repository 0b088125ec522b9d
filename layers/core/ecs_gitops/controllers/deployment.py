"""Deployment events: record the outcome of a rollout; revert git when it failed.

SERVICE_DEPLOYMENT_COMPLETED marks the release in progress healthy, when the service
runs that release's task definition (the deployment ECS starts to roll a failed one
back also completes, and events arrive unordered). SERVICE_DEPLOYMENT_FAILED (the
circuit breaker rolled back) marks the release failed, notifies, remembers its image
as bad, and commits the tag that runs again after the rollback, so that git says
what runs and the next reconcile plans nothing (no redeploy loop). The revert is
written only while git still pins the failed image: a newer tag written meanwhile
is never reverted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ecs_gitops.controllers.lookup import Found, find_service
from ecs_gitops.controllers.outcome import Kind, Outcome, Reason, ignore
from ecs_gitops.controllers.ports import Ports
from ecs_gitops.controllers.writeback import Veto, write_tag
from ecs_gitops.events import EcsDeploymentEvent
from ecs_gitops.store import BadImage, Release, ReleaseState, bad_image_key, deployment_key

# ECS "ECS Deployment State Change" event names this controller acts on.
COMPLETED = "SERVICE_DEPLOYMENT_COMPLETED"
FAILED = "SERVICE_DEPLOYMENT_FAILED"


def handle(event: EcsDeploymentEvent, ports: Ports) -> Outcome:
    """An ECS "ECS Deployment State Change" event."""
    detail = event.detail
    if detail.event_name not in (COMPLETED, FAILED):
        return ignore(Reason.EVENT_NOT_HANDLED, event=detail.event_name)
    arn = event.service_arn
    name = arn.rsplit("/", 1)[-1]
    cluster = arn.split("/")[-2] if arn.count("/") >= 2 else None
    found = find_service(ports, lambda s: s.ecs_name == name, cluster=cluster)
    if found is None:
        return ignore(Reason.UNKNOWN_SERVICE, service=name)
    key = deployment_key(detail.deployment_id, detail.event_name)
    if not ports.store.claim(key):
        return ignore(Reason.ALREADY_PROCESSED,
                      what=f"{detail.event_name} of {detail.deployment_id}",
                      environment=found.environment, service=name)
    try:
        return _handle(event, ports, found, cluster or found.desired.cluster, name)
    except Exception:
        ports.store.unclaim(key)  # a retry must be able to do the work (e.g. the revert)
        raise


def _handle(event: EcsDeploymentEvent, ports: Ports, found: Found, cluster: str, name: str
            ) -> Outcome:
    detail = event.detail
    environment, service = found.environment, found.service
    # Only the newest release can be the one this deployment belongs to; an older one
    # left IN_PROGRESS was superseded before its outcome arrived.
    releases = ports.store.releases(environment, name, limit=1)
    latest: Release | None = releases[0] if releases else None
    release = latest if latest is not None and latest.outcome is ReleaseState.IN_PROGRESS \
        else None
    facts: dict[str, Any] = {"environment": environment, "service": name,
                             "deployment": detail.deployment_id,
                             "ecs_reason": detail.reason or ""}
    running_td = ports.cloud.running_task_definition(cluster, name)
    if detail.event_name == COMPLETED:
        if release is None or running_td != release.task_definition:
            return Outcome(Kind.DEPLOYMENT_NOTED, Reason.NOT_THIS_RELEASE, facts)
        ports.store.set_outcome(release, ReleaseState.HEALTHY, detail.reason or "")
        ports.notifier.notify(f"ecs-gitops: {name} deployed in {environment}", facts)
        return Outcome(Kind.RELEASE_HEALTHY, None, {**facts, "image": release.image})

    # The failed image: the newest release's (what was deployed; FAILED already when this
    # is a retry), else what git pins now.
    failed = latest if latest is not None and latest.outcome in (
        ReleaseState.IN_PROGRESS, ReleaseState.FAILED) else None
    failed_tag = failed.tag if failed else service.image.tag
    if release is not None:
        ports.store.set_outcome(release, ReleaseState.FAILED, detail.reason or "")
    ports.store.mark_bad_image(
        bad_image_key(environment, service.name, failed_tag),
        BadImage(detail.deployment_id, at=datetime.now(UTC).isoformat(timespec="seconds"),
                 reason=detail.reason or ""))
    running = ports.cloud.running_image(cluster, name)
    good_tag = running.rsplit(":", 1)[-1] if running and ":" in running else None
    facts.update(bad_tag=failed_tag, running=running)
    ports.notifier.notify(f"ecs-gitops: {name} rollout FAILED in {environment}", facts)
    if not good_tag or good_tag == failed_tag:
        return Outcome(Kind.RELEASE_FAILED, Reason.NOTHING_TO_REVERT, facts)

    def moved_on(current: str, _tip: str) -> Veto:
        if current == failed_tag:
            return None
        return Reason.MOVED_ON, {"failed": failed_tag, "pinned": current}

    result = write_tag(
        ports, branch=found.branch, environment=environment, service=service.name, tag=good_tag,
        message=f"revert {service.name} to {good_tag[:12]} in {environment}\n\n"
                f"Deployment {detail.deployment_id} of {failed_tag[:12]} failed and ECS rolled "
                f"back: {detail.reason or 'no reason given'}.",
        veto=moved_on)
    if result.commit is None:
        return Outcome(Kind.RELEASE_FAILED, result.reason, {**facts, **result.facts})
    return Outcome(Kind.REVERTED, None, {**facts, "reverted_to": good_tag,
                                         "revert_commit": result.commit})
