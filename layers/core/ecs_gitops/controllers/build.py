"""Build finished: write the new image tag back to git, or report the failure.

Only SUCCEEDED builds of a project that a desired-state file names are written
back, only when the image is in ECR, only when the built commit is newer than the
one pinned (git ancestry, invariant 3), and never an image that already failed a
rollout. FAILED, STOPPED, FAULT and TIMED_OUT are recorded and notified.
"""

from __future__ import annotations

import re
from typing import Any

from ecs_gitops.controllers.lookup import Found, find_service
from ecs_gitops.controllers.outcome import Kind, Outcome, Reason, ignore
from ecs_gitops.controllers.ports import Ports
from ecs_gitops.controllers.writeback import Veto, write_tag
from ecs_gitops.events import CodeBuildEvent, CodeBuildStateChange
from ecs_gitops.store import bad_image_key, build_key

# CodeBuild's terminal build statuses (BatchGetBuilds `buildStatus`).
FINISHED = ("SUCCEEDED", "FAILED", "FAULT", "STOPPED", "TIMED_OUT")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def handle(event: CodeBuildEvent, ports: Ports) -> Outcome:
    """A CodeBuild "Build State Change" event."""
    return handle_build(event.detail, ports)


def handle_build(detail: CodeBuildStateChange, ports: Ports) -> Outcome:
    """One finished build, from its event or (the sweep) from BatchGetBuilds."""
    status = detail.build_status
    if status not in FINISHED:
        return ignore(Reason.BUILD_NOT_FINISHED, build=detail.build_id, status=status.lower())
    found = find_service(ports, lambda s: s.build is not None
                         and s.build.project == detail.project_name)
    if found is None:
        return ignore(Reason.UNKNOWN_PROJECT, project=detail.project_name)
    key = build_key(detail.build_id)
    if not ports.store.claim(key):
        return ignore(Reason.ALREADY_PROCESSED, what=f"build {detail.build_id}",
                      environment=found.environment, service=found.service.name)
    try:
        return _handle(detail, ports, found, key)
    except Exception:
        ports.store.unclaim(key)
        raise


def _handle(detail: CodeBuildStateChange, ports: Ports, found: Found, key: str) -> Outcome:
    branch, environment, service = found.branch, found.environment, found.service
    commit = detail.additional_information.source_version or ""
    tag = detail.exported("IMAGE_TAG") or commit
    facts: dict[str, Any] = {"environment": environment, "service": service.name,
                             "build": detail.build_id, "commit": commit, "tag": tag}
    if detail.build_status != "SUCCEEDED":
        ports.notifier.notify(
            f"ecs-gitops: build {detail.build_status} for {service.name} ({environment})",
            {**facts, "status": detail.build_status})
        return Outcome(Kind.BUILD_FAILED, None, {**facts, "status": detail.build_status})
    if not tag:
        return ignore(Reason.NO_TAG, **facts)
    if ports.store.bad_image(bad_image_key(environment, service.name, tag)) is not None:
        return ignore(Reason.KNOWN_BAD_IMAGE, **facts)
    if not ports.registry.image_exists(service.image.repository, tag):
        ports.notifier.notify(f"ecs-gitops: image missing for {service.name}",
                              {**facts, "repository": service.image.repository})
        # Not consumed: a later delivery or the sweep may find the image pushed by then.
        ports.store.unclaim(key)
        return Outcome(Kind.NOT_WRITTEN, Reason.IMAGE_MISSING,
                       {**facts, "repository": service.image.repository})

    def older(current: str, tip: str) -> Veto:
        if commit and _COMMIT.match(commit) and not ports.source.is_ancestor(commit, tip):
            return Reason.NOT_ON_BRANCH, {"branch": branch}
        if commit and _COMMIT.match(current) and current != commit \
                and ports.source.is_ancestor(commit, current):
            return Reason.NOT_NEWER, {"pinned": current}
        return None

    result = write_tag(
        ports, branch=branch, environment=environment, service=service.name, tag=tag,
        message=f"deploy {service.name} {tag[:12]} to {environment}\n\n"
                f"Built by {detail.build_id} from {commit or 'unknown commit'}.",
        veto=older)
    if result.commit is None:
        return Outcome(Kind.NOT_WRITTEN, result.reason, {**facts, **result.facts})
    return Outcome(Kind.WROTE_BACK, None,
                   {**facts, "write_back": result.commit, "previous": result.previous_tag})
