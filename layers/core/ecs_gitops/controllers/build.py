"""Build finished: write the new image tag back to git, or report the failure.

Only SUCCEEDED builds of a project that a desired-state file names are written
back, only when the image is in ECR, and only when git allows it (invariant 12): the
commit the build really built is on the environment's branch, newer than the one
pinned (git ancestry, invariant 3), and not older than a person's later change of the
tag (a rollback, say). A build from an application repository (`build.repository`) is
judged in that repository (see `may_write_app`). Never an image that already failed a
rollout. FAILED, STOPPED, FAULT and TIMED_OUT are notified. Each build is handled once (a claim per build).
"""

from __future__ import annotations

import re
from typing import Any

from ecs_gitops.controllers.lookup import Found, find_service, not_ours
from ecs_gitops.controllers.outcome import Kind, Outcome, Reason, ignore
from ecs_gitops.controllers.ports import Ports
from ecs_gitops.controllers.push import app_branch
from ecs_gitops.controllers.writeback import Veto, tag_setter, write_tag
from ecs_gitops.errors import SourceError
from ecs_gitops.events import CodeBuildEvent, CodeBuildStateChange
from ecs_gitops.source import GitSource, is_write_back
from ecs_gitops.store import bad_image_key, build_key, claimed

# CodeBuild's terminal build statuses (BatchGetBuilds `buildStatus`).
FINISHED = ("SUCCEEDED", "FAILED", "FAULT", "STOPPED", "TIMED_OUT")
COMMIT = re.compile(r"^[0-9a-f]{40}$")


def handle(event: CodeBuildEvent, ports: Ports) -> Outcome:
    """A CodeBuild "Build State Change" event."""
    return not_ours(ports, event) or handle_build(event.detail, ports)


def handle_build(detail: CodeBuildStateChange, ports: Ports) -> Outcome:
    """One finished build, from its event or (the sweep) from BatchGetBuilds."""
    status = detail.build_status
    if status not in FINISHED:
        return ignore(Reason.BUILD_NOT_FINISHED, build=detail.build_id, status=status.lower())
    found = find_service(ports, lambda s: s.build is not None
                         and s.build.project == detail.project_name)
    if found is None:
        return ignore(Reason.UNKNOWN_PROJECT, project=detail.project_name)
    with claimed(ports.store, build_key(detail.build_id), seconds=ports.clock.remaining()) \
            as claim:
        if claim.done_before:
            return ignore(Reason.ALREADY_PROCESSED, what=f"build {detail.build_id}",
                          environment=found.environment, service=found.service.name)
        outcome = _handle(detail, ports, found)
        if outcome.reason is Reason.IMAGE_MISSING:
            # Not consumed: a later delivery or the sweep may find the image pushed by then.
            claim.release()
        claim.outcome = outcome.text()
        return outcome


def built_commit(detail: CodeBuildStateChange, ports: Ports) -> str | None:
    """The commit the build really built: its source version when that is a commit id,
    else CodeBuild's resolvedSourceVersion (a build started by hand may name a branch)."""
    version = detail.additional_information.source_version or ""
    if COMMIT.match(version):
        return version
    return ports.builds.resolved_commit(detail.build_id)


def _handle(detail: CodeBuildStateChange, ports: Ports, found: Found) -> Outcome:
    branch, environment, service = found.branch, found.environment, found.service
    commit = built_commit(detail, ports) or ""
    tag = detail.exported("IMAGE_TAG") or commit
    facts: dict[str, Any] = {"environment": environment, "service": service.name,
                             "build": detail.build_id, "commit": commit, "tag": tag}
    if detail.build_status != "SUCCEEDED":
        ports.notifier.notify(
            f"ecs-gitops: build {detail.build_status} for {service.name} ({environment})",
            {**facts, "status": detail.build_status})
        return Outcome(Kind.BUILD_FAILED, None, {**facts, "status": detail.build_status})
    if not commit:
        return Outcome(Kind.NOT_WRITTEN, Reason.UNRESOLVED_COMMIT, facts)
    if not tag:
        return ignore(Reason.NO_TAG, **facts)
    if ports.store.bad_image(bad_image_key(environment, service.name, tag)) is not None:
        return ignore(Reason.KNOWN_BAD_IMAGE, **facts)
    if not ports.registry.image_exists(service.image.repository, tag):
        ports.notifier.notify(f"ecs-gitops: image missing for {service.name}",
                              {**facts, "repository": service.image.repository})
        return Outcome(Kind.NOT_WRITTEN, Reason.IMAGE_MISSING,
                       {**facts, "repository": service.image.repository})

    repository = service.build.repository if service.build is not None else None

    def may_write_app(current: str, tip: str, repository: str) -> Veto:
        """An application repository's build: on the branch of it that feeds the
        environment and newer than what is pinned, both judged in that repository; a tag a
        person set to one of its commits is replaced only by a build of a commit that
        descends from it (git cannot order a commit of the configuration repository
        against one of another repository; a pin that is no commit of it, as before the
        service moved to its own repository, cannot be ordered and does not stop it)."""
        git = ports.source_of(repository)
        feeding = app_branch(service, found.desired) or branch
        if not git.is_ancestor(commit, git.branch_tip(feeding)):
            return Reason.NOT_ON_BRANCH, {"branch": f"{repository}:{feeding}"}
        if COMMIT.match(current) and current != commit and git.is_ancestor(commit, current):
            return Reason.NOT_NEWER, {"pinned": current}
        setter = tag_setter(ports, tip=tip, environment=environment, service=service.name,
                            tag=current)
        if setter is not None and not is_write_back(setter.message) \
                and _known(git, current) and not git.is_ancestor(current, commit):
            return Reason.PINNED_BY_PERSON, {"pinned": current, "setter": setter.id}
        return None

    def may_write(current: str, tip: str) -> Veto:
        """Git decides (invariant 12): on the branch, newer than what is pinned, and not
        over a later change of the tag made by a person."""
        if repository is not None:
            return may_write_app(current, tip, repository)
        if not ports.source.is_ancestor(commit, tip):
            return Reason.NOT_ON_BRANCH, {"branch": branch}
        if COMMIT.match(current) and current != commit \
                and ports.source.is_ancestor(commit, current):
            return Reason.NOT_NEWER, {"pinned": current}
        setter = tag_setter(ports, tip=tip, environment=environment, service=service.name,
                            tag=current)
        if setter is not None and not is_write_back(setter.message) \
                and not ports.source.is_ancestor(setter.id, commit):
            return Reason.PINNED_BY_PERSON, {"pinned": current, "setter": setter.id}
        return None

    result = write_tag(
        ports, branch=branch, environment=environment, service=service.name, tag=tag,
        message=f"deploy {service.name} {tag[:12]} to {environment}\n\n"
                f"Built by {detail.build_id} from {commit}.",
        veto=may_write)
    if result.commit is None:
        return Outcome(Kind.NOT_WRITTEN, result.reason, {**facts, **result.facts})
    return Outcome(Kind.WROTE_BACK, None,
                   {**facts, "write_back": result.commit, "previous": result.previous_tag})


def _known(git: GitSource, commit: str) -> bool:
    """True when `commit` is a commit of `git`'s repository."""
    if not COMMIT.match(commit):
        return False
    try:
        git.commit(commit)
    except SourceError:
        return False
    return True
