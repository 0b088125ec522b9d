"""Build finished: write the new image tag back to git, or report the failure.

Only SUCCEEDED builds of a project that a desired-state file names are written
back, only when the image is in ECR, only when the built commit is newer than the
one pinned (git ancestry, invariant 3), and never an image that already failed a
rollout. FAILED, STOPPED, FAULT and TIMED_OUT are recorded and notified.
"""

from __future__ import annotations

import re

from ecs_gitops.controllers.ports import Outcome, Ports, find_service, ignore
from ecs_gitops.controllers.writeback import write_tag
from ecs_gitops.events import CodeBuildStateChange

FINISHED = ("SUCCEEDED", "FAILED", "FAULT", "STOPPED", "TIMED_OUT")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def bad_image_key(environment: str, service: str, tag: str) -> str:
    return f"bad-image#{environment}#{service}#{tag}"


def build_key(build_id: str) -> str:
    """One record per build, whether it is named by its ARN (events) or its id (the API)."""
    return f"build-finished#{build_id.rsplit(':build/', 1)[-1]}"


def handle(detail: CodeBuildStateChange, ports: Ports) -> Outcome:
    status = detail.build_status
    if status not in FINISHED:
        return ignore(f"build {status.lower()}", build=detail.build_id)
    found = find_service(ports, lambda s: s.build is not None
                         and s.build.project == detail.project_name)
    if found is None:
        return ignore(f"project {detail.project_name} is not in any desired state")
    key = build_key(detail.build_id)
    if not ports.store.claim(key):
        return ignore(f"build {detail.build_id} already handled")
    try:
        return _handle(detail, ports, found)
    except Exception:
        ports.store.unclaim(key)
        raise


def _handle(detail: CodeBuildStateChange, ports: Ports, found: tuple) -> Outcome:  # type: ignore[type-arg]
    branch, environment, _tip, _desired, service = found
    commit = detail.additional_information.source_version or ""
    tag = detail.exported("IMAGE_TAG") or commit
    facts = {"environment": environment, "service": service.name, "build": detail.build_id,
             "commit": commit, "tag": tag}
    if detail.build_status != "SUCCEEDED":
        ports.notifier.notify(
            f"ecs-gitops: build {detail.build_status} for {service.name} ({environment})",
            {**facts, "status": detail.build_status})
        return Outcome(f"build {detail.build_status.lower()}: nothing deployed", facts)
    if not tag:
        return ignore("build without a source version or IMAGE_TAG", **facts)
    if ports.store.get_value(bad_image_key(environment, service.name, tag)):
        return ignore(f"image {tag[:12]} failed a rollout before; not deployed again", **facts)
    if not ports.registry.image_exists(service.image.repository, tag):
        ports.notifier.notify(f"ecs-gitops: image missing for {service.name}",
                              {**facts, "repository": service.image.repository})
        # Not consumed: a later delivery or the sweep may find the image pushed by then.
        ports.store.unclaim(build_key(detail.build_id))
        return Outcome(f"image {service.image.repository}:{tag[:12]} is not in ECR: "
                       "nothing written", facts)

    def older(current: str, tip: str) -> str | None:
        if commit and _COMMIT.match(commit) and not ports.source.is_ancestor(commit, tip):
            return f"built commit {commit[:12]} is not on {branch}"
        if commit and _COMMIT.match(current) and current != commit \
                and ports.source.is_ancestor(commit, current):
            return f"built commit {commit[:12]} is not newer than pinned {current[:12]}"
        return None

    result = write_tag(
        ports, branch=branch, environment=environment, service=service.name, tag=tag,
        message=f"deploy {service.name} {tag[:12]} to {environment}\n\n"
                f"Built by {detail.build_id} from {commit or 'unknown commit'}.",
        skip=older)
    if result.commit is None:
        return Outcome(f"no commit: {result.reason}", facts)
    return Outcome("wrote the new tag back to git",
                   {**facts, "write_back": result.commit, "previous": result.previous_tag})
