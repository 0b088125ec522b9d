"""Deployment events: record the outcome of a rollout; revert git when it failed;
tell people when a deployment waits for their approval (HOOK_AWAITING_ACTION).

Events are matched to releases by the ECS deployment id that UpdateService or
CreateService returned (invariant 13): a late event of a superseded deployment only
closes that deployment's own release, never the current one. COMPLETED marks its
release healthy. FAILED (the circuit breaker rolled back) marks it failed, notifies,
remembers its image as bad, and commits the tag that runs again after the rollback, so
that git says what runs and the next reconcile plans nothing (no redeploy loop). The
revert is written only while git still pins the failed image: a newer tag written
meanwhile is never reverted. An event of a deployment ecs-gitops did not start (a
rollback's own deployment, a change made outside) is noted and changes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ecs_gitops.controllers.lookup import Found, find_service, not_ours
from ecs_gitops.controllers.outcome import Kind, Outcome, Reason, ignore
from ecs_gitops.controllers.ports import Ports
from ecs_gitops.controllers.writeback import Veto, write_tag
from ecs_gitops.desired import Environment
from ecs_gitops.engine import Settled
from ecs_gitops.events import EcsDeploymentEvent
from ecs_gitops.store import (
    BadImage,
    Release,
    ReleaseState,
    bad_image_key,
    claimed,
    deployment_key,
)

# ECS "ECS Deployment State Change" event names this controller acts on.
COMPLETED = "SERVICE_DEPLOYMENT_COMPLETED"
FAILED = "SERVICE_DEPLOYMENT_FAILED"
# ECS "ECS Hook State Change": a deployment paused at a PAUSE hook (a manual approval).
AWAITING = "HOOK_AWAITING_ACTION"
# How many of a service's releases to search for the event's deployment id.
SEARCH = 10


def handle(event: EcsDeploymentEvent, ports: Ports) -> Outcome:
    """An ECS "ECS Deployment State Change" event."""
    detail = event.detail
    if detail.event_name not in (COMPLETED, FAILED, AWAITING):
        return ignore(Reason.EVENT_NOT_HANDLED, event=detail.event_name)
    arn = event.service_arn
    name = arn.rsplit("/", 1)[-1]
    cluster = arn.split("/")[-2] if arn.count("/") >= 2 else None
    foreign = not_ours(ports, event, cluster=cluster)
    if foreign is not None:
        return foreign
    found = find_service(ports, lambda s: s.ecs_name == name, cluster=cluster)
    if found is None:
        return ignore(Reason.UNKNOWN_SERVICE, service=name)
    if detail.event_name == AWAITING:
        return _awaiting(event, ports, found, name)
    key = deployment_key(detail.deployment_id, detail.event_name)
    with claimed(ports.store, key, seconds=ports.clock.remaining()) as claim:
        if claim.done_before:
            return ignore(Reason.ALREADY_PROCESSED,
                          what=f"{detail.event_name} of {detail.deployment_id}",
                          environment=found.environment, service=name)
        outcome = _handle(event, ports, found, cluster or found.desired.cluster, name)
        claim.outcome = outcome.text()
        return outcome


def _awaiting(event: EcsDeploymentEvent, ports: Ports, found: Found, name: str) -> Outcome:
    """A deployment waits at a PAUSE hook (`deployment.approval`): tell people how to
    continue or roll it back. Notified once per hook (a redelivery changes nothing)."""
    detail = event.detail
    hook = detail.hook_id or detail.service_deployment_arn or detail.deployment_id
    facts: dict[str, Any] = {
        "environment": found.environment, "service": name,
        "deployment": detail.deployment_id or detail.service_deployment_arn or "",
        "stage": detail.lifecycle_stage or "", "hook": detail.hook_id or "",
        "expires": detail.expires_at or "", "on_timeout": detail.timeout_action or "",
        "approve": f"ecs-gitops approve {found.environment} {found.service.name}",
        "abort": f"ecs-gitops abort {found.environment} {found.service.name}"}
    with claimed(ports.store, deployment_key(hook, AWAITING),
                 seconds=ports.clock.remaining()) as claim:
        if claim.done_before:
            return ignore(Reason.ALREADY_PROCESSED, what=f"{AWAITING} of {hook}",
                          environment=found.environment, service=name)
        ports.notifier.notify(
            f"ecs-gitops: {name} waits for approval in {found.environment}", facts)
        outcome = Outcome(Kind.AWAITING_APPROVAL, None, facts)
        claim.outcome = outcome.text()
        return outcome


def release_of_deployment(ports: Ports, environment: str, service: str, deployment_id: str
                          ) -> Release | None:
    """The release that started `deployment_id`, among the service's newest releases."""
    for release in ports.store.releases(environment, service, limit=SEARCH):
        if release.deployment_id and release.deployment_id == deployment_id:
            return release
    return None


def _handle(event: EcsDeploymentEvent, ports: Ports, found: Found, cluster: str, name: str
            ) -> Outcome:
    detail = event.detail
    environment = found.environment
    facts: dict[str, Any] = {"environment": environment, "service": name,
                             "deployment": detail.deployment_id,
                             "ecs_reason": detail.reason or ""}
    release = release_of_deployment(ports, environment, name, detail.deployment_id)
    if release is None:
        return Outcome(Kind.DEPLOYMENT_NOTED, Reason.NOT_THIS_RELEASE, facts)
    facts["image"] = release.image
    if detail.event_name == COMPLETED:
        if release.outcome in (ReleaseState.IN_PROGRESS, ReleaseState.STUCK):
            ports.store.set_outcome(release, ReleaseState.HEALTHY, detail.reason or "")
        ports.notifier.notify(f"ecs-gitops: {name} deployed in {environment}", facts)
        return Outcome(Kind.RELEASE_HEALTHY, None, facts)
    return revert_failed(ports, found, cluster=cluster, release=release,
                         deployment_id=detail.deployment_id, why=detail.reason or "")


def revert_failed(ports: Ports, found: Found, *, cluster: str, release: Release,
                  deployment_id: str, why: str) -> Outcome:
    """A release's rollout failed: record it, remember the image as bad, notify, and
    commit the tag that runs again after ECS's rollback while git still pins the failed
    one. Shared by the FAILED event and the reconcile that finds a lost one.

    Raises:
        ConflictError: the branch kept moving (transient).
    """
    environment, service = found.environment, found.service
    failed_tag = release.tag
    facts: dict[str, Any] = {"environment": environment, "service": release.service,
                             "deployment": deployment_id, "ecs_reason": why,
                             "bad_tag": failed_tag}
    if release.outcome is not ReleaseState.FAILED:
        ports.store.set_outcome(release, ReleaseState.FAILED, why)
    ports.store.mark_bad_image(
        bad_image_key(environment, service.name, failed_tag),
        BadImage(deployment_id, at=datetime.now(UTC).isoformat(timespec="seconds"), reason=why))
    running = ports.cloud.running_image(cluster, release.service)
    good_tag = running.rsplit(":", 1)[-1] if running and ":" in running else None
    facts["running"] = running
    ports.notifier.notify(f"ecs-gitops: {release.service} rollout FAILED in {environment}",
                          facts)
    if not good_tag or good_tag == failed_tag:
        return Outcome(Kind.RELEASE_FAILED, Reason.NOTHING_TO_REVERT, facts)

    def moved_on(current: str, _tip: str) -> Veto:
        if current == failed_tag:
            return None
        return Reason.MOVED_ON, {"failed": failed_tag, "pinned": current}

    result = write_tag(
        ports, branch=found.branch, environment=environment, service=service.name, tag=good_tag,
        message=f"revert {service.name} to {good_tag[:12]} in {environment}\n\n"
                f"Deployment {deployment_id} of {failed_tag[:12]} failed and ECS rolled "
                f"back: {why or 'no reason given'}.",
        veto=moved_on)
    if result.commit is None:
        return Outcome(Kind.RELEASE_FAILED, result.reason, {**facts, **result.facts})
    return Outcome(Kind.REVERTED, None, {**facts, "reverted_to": good_tag,
                                         "revert_commit": result.commit})


def act_on_settled(ports: Ports, *, branch: str, tip: str, desired: Environment,
                   settled: tuple[Settled, ...]) -> list[str]:
    """What people and git must hear of releases found ended without their event
    (already recorded by `engine.record_settled`): a FAILED one is reverted like a
    FAILED event would have been; a STUCK one is notified. Returns one line each."""
    lines: list[str] = []
    for done in settled:
        release = done.release
        lines.append(f"{release.service}: {done.state.value} ({done.why})")
        if done.state is ReleaseState.STUCK:
            ports.notifier.notify(
                f"ecs-gitops: {release.service} rollout STUCK in {release.environment}",
                {"environment": release.environment, "service": release.service,
                 "deployment": release.deployment_id, "deadline": release.deadline,
                 "why": done.why})
        elif done.state is ReleaseState.FAILED:
            try:
                service = desired.service(release.service)
            except LookupError:
                continue
            found = Found(branch, release.environment, tip, desired, service)
            revert_failed(ports, found, cluster=desired.cluster,
                          release=replace(release, outcome=ReleaseState.FAILED),
                          deployment_id=release.deployment_id, why=done.why)
    return lines
