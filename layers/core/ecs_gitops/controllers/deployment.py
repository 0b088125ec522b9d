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

from ecs_gitops.controllers.build import bad_image_key
from ecs_gitops.controllers.ports import Outcome, Ports, find_service, ignore
from ecs_gitops.controllers.writeback import write_tag
from ecs_gitops.events import EcsDeploymentEvent
from ecs_gitops.store import Release

COMPLETED = "SERVICE_DEPLOYMENT_COMPLETED"
FAILED = "SERVICE_DEPLOYMENT_FAILED"


def handle(event: EcsDeploymentEvent, ports: Ports) -> Outcome:
    detail = event.detail
    if detail.event_name not in (COMPLETED, FAILED):
        return ignore(detail.event_name.lower())
    arn = event.service_arn
    name = arn.rsplit("/", 1)[-1]
    cluster = arn.split("/")[-2] if arn.count("/") >= 2 else None
    found = find_service(ports, lambda s: s.ecs_name == name, cluster=cluster)
    if found is None:
        return ignore(f"service {name} is not in any desired state")
    key = f"deployment#{detail.deployment_id}#{detail.event_name}"
    if not ports.store.claim(key):
        return ignore(f"{detail.event_name} of {detail.deployment_id} already handled")
    try:
        return _handle(event, ports, found, cluster or found[3].cluster, name)
    except Exception:
        ports.store.unclaim(key)  # a retry must be able to do the work (e.g. the revert)
        raise


def _handle(event: EcsDeploymentEvent, ports: Ports, found: tuple,  # type: ignore[type-arg]
            cluster: str, name: str) -> Outcome:
    detail = event.detail
    branch, environment, _tip, _desired, service = found
    # Only the newest release can be the one this deployment belongs to; an older one
    # left IN_PROGRESS was superseded before its outcome arrived.
    releases = ports.store.releases(environment, name, limit=1)
    latest: Release | None = releases[0] if releases else None
    release = latest if latest is not None and latest.outcome == "IN_PROGRESS" else None
    facts = {"environment": environment, "service": name, "deployment": detail.deployment_id,
             "reason": detail.reason or ""}
    running_td = ports.deployer.running_task_definition(cluster, name)
    if detail.event_name == COMPLETED:
        if release is None or running_td != release.task_definition:
            return Outcome("deployment completed; no release in progress runs it (a rollback "
                           "or a change outside ecs-gitops)", facts)
        ports.store.set_outcome(release, "HEALTHY", detail.reason or "")
        ports.notifier.notify(f"ecs-gitops: {name} deployed in {environment}", facts)
        return Outcome("release marked healthy", {**facts, "image": release.image})

    # The failed image: the newest release's (what was deployed; FAILED already when this
    # is a retry), else what git pins now.
    failed = latest if latest is not None and latest.outcome in ("IN_PROGRESS", "FAILED") \
        else None
    failed_tag = failed.image.rsplit(":", 1)[-1] if failed else service.image.tag
    if release is not None:
        ports.store.set_outcome(release, "FAILED", detail.reason or "")
    ports.store.put_value(bad_image_key(environment, service.name, failed_tag),
                          detail.deployment_id)
    running = ports.deployer.running_image(cluster, name)
    good_tag = running.rsplit(":", 1)[-1] if running and ":" in running else None
    ports.notifier.notify(f"ecs-gitops: {name} rollout FAILED in {environment}",
                          {**facts, "bad_tag": failed_tag, "running": running})
    if not good_tag or good_tag == failed_tag:
        return Outcome("release marked failed; nothing to revert", {**facts, "bad_tag": failed_tag})
    result = write_tag(
        ports, branch=branch, environment=environment, service=service.name, tag=good_tag,
        message=f"revert {service.name} to {good_tag[:12]} in {environment}\n\n"
                f"Deployment {detail.deployment_id} of {failed_tag[:12]} failed and ECS rolled "
                f"back: {detail.reason or 'no reason given'}.",
        skip=lambda current, _tip: None if current == failed_tag else
        f"git already moved on from {failed_tag[:12]} (pins {current[:12]})")
    if result.commit is None:
        return Outcome(f"release marked failed; no revert: {result.reason}",
                       {**facts, "bad_tag": failed_tag})
    return Outcome("release marked failed; git reverted to the running image",
                   {**facts, "bad_tag": failed_tag, "reverted_to": good_tag,
                    "revert_commit": result.commit})
