"""Deployment events: record the outcome of a rollout; revert git when it failed.

SERVICE_DEPLOYMENT_COMPLETED marks the release healthy. SERVICE_DEPLOYMENT_FAILED
(the circuit breaker rolled back) marks it failed, notifies, remembers the image as
bad, and commits the tag that runs again after the rollback, so that git says what
runs and the next reconcile plans nothing (no redeploy loop).
"""

from __future__ import annotations

from ecs_gitops.controllers.build import bad_image_key
from ecs_gitops.controllers.ports import Outcome, Ports, find_service, ignore
from ecs_gitops.controllers.writeback import write_tag
from ecs_gitops.events import EcsDeploymentEvent

COMPLETED = "SERVICE_DEPLOYMENT_COMPLETED"
FAILED = "SERVICE_DEPLOYMENT_FAILED"


def handle(event: EcsDeploymentEvent, ports: Ports) -> Outcome:
    detail = event.detail
    if detail.event_name not in (COMPLETED, FAILED):
        return ignore(detail.event_name.lower())
    arn = event.service_arn
    name = arn.rsplit("/", 1)[-1]
    cluster = arn.split("/")[-2] if arn.count("/") >= 2 else ""
    found = find_service(ports, lambda s: s.ecs_name == name)
    if found is None:
        return ignore(f"service {name} is not in any desired state")
    branch, environment, _tip, desired, service = found
    if not ports.store.claim(f"deployment#{detail.deployment_id}#{detail.event_name}"):
        return ignore(f"{detail.event_name} of {detail.deployment_id} already handled")
    releases = ports.store.releases(environment, name, limit=5)
    # Only a release still in progress takes this outcome: the deployment that ECS
    # starts to roll back a failed one completes too, and must not mark it healthy.
    release = next((r for r in releases if r.outcome == "IN_PROGRESS"), None)
    facts = {"environment": environment, "service": name, "deployment": detail.deployment_id,
             "reason": detail.reason or ""}
    if detail.event_name == COMPLETED:
        if release is None:
            return Outcome("deployment completed; no release in progress (a rollback or a "
                           "change outside ecs-gitops)", facts)
        ports.store.set_outcome(release, "HEALTHY", detail.reason or "")
        ports.notifier.notify(f"ecs-gitops: {name} deployed in {environment}", facts)
        return Outcome("release marked healthy", {**facts, "image": release.image})

    if release is not None:
        ports.store.set_outcome(release, "FAILED", detail.reason or "")
    bad_tag = service.image.tag
    ports.store.put_value(bad_image_key(environment, service.name, bad_tag), detail.deployment_id)
    running = ports.deployer.running_image(cluster or desired.cluster, name)
    good_tag = running.rsplit(":", 1)[-1] if running and ":" in running else None
    ports.notifier.notify(f"ecs-gitops: {name} rollout FAILED in {environment}",
                          {**facts, "bad_tag": bad_tag, "running": running})
    if not good_tag or good_tag == bad_tag:
        return Outcome("release marked failed; nothing to revert", {**facts, "bad_tag": bad_tag})
    result = write_tag(
        ports, branch=branch, environment=environment, service=service.name, tag=good_tag,
        message=f"revert {service.name} to {good_tag[:12]} in {environment}\n\n"
                f"Deployment {detail.deployment_id} of {bad_tag[:12]} failed and ECS rolled "
                f"back: {detail.reason or 'no reason given'}.")
    return Outcome("release marked failed; git reverted to the running image",
                   {**facts, "bad_tag": bad_tag, "reverted_to": good_tag,
                    "revert_commit": result.commit})
