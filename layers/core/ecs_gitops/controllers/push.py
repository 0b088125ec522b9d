"""Push: a new commit on a tracked branch starts the builds of the apps it changed,
and a reconcile when the environment's desired-state file changed.

A push to an application repository (`Settings.app_repositories`) starts the builds of
the services whose `build.repository` names it and whose environment that branch feeds
(`process_app_commit`), from that repository; it never requests a reconcile (the
write-back of the build does).

Tags, untracked branches, deletions and the controller's own write-back commits
start no build (invariant 4). One build per (commit, app): a processed-event
record per push and per build, plus StartBuild's idempotency token (invariant 2).
"""

from __future__ import annotations

from typing import Any

from ecs_gitops.controllers.lookup import desired_at, not_ours, notify_once, token
from ecs_gitops.controllers.outcome import Kind, Outcome, Reason, ignore
from ecs_gitops.controllers.ports import Ports
from ecs_gitops.desired import Environment
from ecs_gitops.desired.model import Service
from ecs_gitops.errors import DesiredStateError, SourceError
from ecs_gitops.events import CodeCommitEvent, Trigger
from ecs_gitops.source import GitSource, is_write_back
from ecs_gitops.store import build_start_key, claimed, push_key, tip_key

HANDLED = ("referenceCreated", "referenceUpdated")
# Every CodeBuild project of the stack reads its buildspec from the app's folder
# (template.yaml: `BuildSpec: apps/<app>/buildspec.yml`).
BUILDSPEC = "buildspec.yml"


def handle(event: CodeCommitEvent, ports: Ports) -> Outcome:
    """A CodeCommit "Repository State Change": builds and reconcile for its commits."""
    detail = event.detail
    app = detail.repository_name in ports.settings.app_repositories \
        and detail.repository_name != ports.settings.repository
    foreign = not_ours(ports, event, repository=None if app else detail.repository_name)
    if foreign is not None:
        return foreign
    if detail.reference_type != "branch":
        return ignore(Reason.NOT_A_BRANCH, reference_type=detail.reference_type,
                      reference=detail.reference_name)
    if detail.event not in HANDLED:
        return ignore(Reason.REFERENCE_EVENT, event=detail.event, reference=detail.reference_name)
    if not detail.commit_id:
        return ignore(Reason.NO_COMMIT_ID, branch=detail.reference_name)
    if app:
        return process_app_commit(ports, repository=detail.repository_name,
                                  branch=detail.reference_name, before=detail.old_commit_id,
                                  after=detail.commit_id, origin=Trigger.PUSH)
    environment = ports.settings.branches.get(detail.reference_name)
    if environment is None:
        return ignore(Reason.UNTRACKED_BRANCH, branch=detail.reference_name)
    return process_commit(ports, branch=detail.reference_name, environment=environment,
                          before=detail.old_commit_id, after=detail.commit_id,
                          origin=Trigger.PUSH)


def process_commit(ports: Ports, *, branch: str, environment: str, before: str | None,
                   after: str, origin: Trigger) -> Outcome:
    """Builds and reconcile for the commits (before, after] on `branch`. Idempotent.

    Also the sweep's entry point for a branch tip whose push event was lost."""
    with claimed(ports.store, push_key(branch, after), seconds=ports.clock.remaining()) \
            as claim:
        if claim.done_before:
            outcome = ignore(Reason.ALREADY_PROCESSED, what=f"commit {after[:12]} on {branch}",
                             environment=environment, commit=after)
        else:
            last = ports.store.get_value(tip_key(branch))
            if last and last != after and ports.source.is_ancestor(last, after):
                # Build from the last tip handled, not only from the event's oldCommitId:
                # an earlier push's event may have been lost (CodeCommit delivers best
                # effort).
                before = last
            outcome = _process(ports, branch=branch, environment=environment, before=before,
                               after=after, origin=origin)
            claim.outcome = outcome.text()
            if outcome.kind is Kind.INVALID_DESIRED_STATE:
                # Nothing was built from an invalid file: keep the range open, so that the
                # push that fixes the file builds what this one changed.
                claim.release()
                return outcome
    advance_tip(ports, branch, after)
    return outcome


def advance_tip(ports: Ports, branch: str, commit: str) -> None:
    """Record `commit` as the last handled tip: only forward (events are unordered),
    except after a force push, when `commit` is the branch's tip and the recorded one is
    not its ancestor (left where it was, it would send every later push's range, and
    the sweep, back to a commit that is no longer on the branch)."""
    for _ in range(3):
        last = ports.store.get_value(tip_key(branch))
        if last == commit:
            return
        if last is not None and not ports.source.is_ancestor(last, commit) \
                and ports.source.branch_tip(branch) != commit:
            return  # an older event, or a commit no longer on the branch
        if ports.store.compare_and_set(tip_key(branch), last, commit):
            return


def _process(ports: Ports, *, branch: str, environment: str, before: str | None, after: str,
             origin: Trigger) -> Outcome:
    commit = ports.source.commit(after)
    changed = ports.source.changed_paths(before, after)
    desired_path = ports.settings.path(environment)
    reconcile = desired_path in changed
    facts: dict[str, Any] = {"environment": environment, "branch": branch, "commit": after,
                             "changed": len(changed)}
    only_desired = all(p.startswith(f"{ports.settings.desired_dir}/") for p in changed)
    if is_write_back(commit.message) and only_desired:
        # Our own write-back (it only ever touches desired_state/). A fast-forward push
        # whose tip is a write-back but that also brings app changes still builds.
        if reconcile:
            ports.bus.request_reconcile(environment, reason=origin, commit=after)
        return Outcome(Kind.NO_BUILD, Reason.WRITE_BACK_COMMIT,
                       {**facts, "builds": [], "reconcile_requested": reconcile})
    try:
        desired = desired_at(ports, environment, after)
    except DesiredStateError as exc:
        # The reconcile reports the problems in full; builds need a valid file.
        problems = [str(p) for p in exc.problems]
        notify_once(ports, f"invalid#{environment}#{after}",
                    f"ecs-gitops: invalid {desired_path} on {branch}",
                    {"environment": environment, "commit": after, "problems": problems})
        if reconcile:
            ports.bus.request_reconcile(environment, reason=origin, commit=after)
        return Outcome(Kind.INVALID_DESIRED_STATE, Reason.INVALID_FILE,
                       {**facts, "path": desired_path, "problems": problems,
                        "reconcile_requested": reconcile})
    started: list[dict[str, str]] = []
    skipped: list[dict[str, str]] = []
    for service in desired.services:
        if service.build is None or service.build.repository is not None:
            continue  # an application repository's service builds from its own pushes
        _start_one(ports, environment, service, after=after, changed=changed,
                   started=started, skipped=skipped)
    if reconcile:
        ports.bus.request_reconcile(environment, reason=origin, commit=after)
    facts.update(builds=started, reconcile_requested=reconcile)
    if skipped:
        facts["skipped"] = skipped
    if started:
        return Outcome(Kind.BUILDS_STARTED, None, {**facts, "count": len(started)})
    if skipped:
        return Outcome(Kind.NO_BUILD, Reason.NO_BUILDSPEC,
                       {**facts, "missing": ", ".join(s["missing"] for s in skipped)})
    return Outcome(Kind.NO_BUILD, Reason.NO_APP_CHANGED, facts)


def touches(source: str, changed: list[str]) -> bool:
    """True when a path of `changed` is under the build's `source` folder (`.`: any)."""
    folder = source.strip("/")
    if folder in ("", "."):
        return bool(changed)
    return any(path.startswith(f"{folder}/") for path in changed)


def buildspec_path(source: str) -> str:
    """The buildspec of a build's `source` folder (template.yaml's projects read
    `<source>/buildspec.yml`)."""
    folder = source.strip("/")
    return BUILDSPEC if folder in ("", ".") else f"{folder}/{BUILDSPEC}"


def _start_one(ports: Ports, environment: str, service: Service, *, after: str,
               changed: list[str], started: list[dict[str, str]],
               skipped: list[dict[str, str]]) -> None:
    """Start the one build of `service` for commit `after` when `changed` touches its
    source (once per (environment, service, commit), invariant 2), noting it in
    `started` or `skipped`."""
    build = service.build
    if build is None or not touches(build.source, changed):
        return
    git = ports.source_of(build.repository)
    spec = buildspec_path(build.source)
    if git.read_file(after, spec) is None:
        # The folder (or its buildspec) was deleted: a build could only fail.
        skipped.append({"service": service.name, "missing": spec})
        return
    if ports.settings.dry_run:
        started.append({"service": service.name, "project": build.project,
                        "build": "dry run: not started"})
        return
    key = build_start_key(environment, service.name, after)
    with claimed(ports.store, key, seconds=ports.clock.remaining()) as claim:
        if claim.done_before:
            return
        # A worker killed after StartBuild leaves its build running: find it rather
        # than start another once StartBuild's idempotency token has lapsed.
        found = ports.builds.builds_of(build.project, after) if claim.redo else []
        extra: dict[str, Any] = {}
        if build.repository is not None:
            extra = {"source_repository": build.repository, "buildspec": spec}
        build_id = found[0] if found else ports.builds.start_build(
            project=build.project, source_version=after,
            token=token(after, environment, service.name),
            environment={"IMAGE_REPO_NAME": service.image.repository}, **extra)
        claim.outcome = build_id
    started.append({"service": service.name, "project": build.project, "build": build_id})


def app_branch(service: Service, environment: Environment) -> str | None:
    """The branch of the service's application repository that feeds `environment`
    (None: the service builds from the configuration repository)."""
    if service.build is None or service.build.repository is None:
        return None
    return service.build.branch or environment.branch


def app_tip_key(repository: str, branch: str) -> str:
    """The last handled tip of an application repository's branch."""
    return tip_key(f"{repository}:{branch}")


def process_app_commit(ports: Ports, *, repository: str, branch: str, before: str | None,
                       after: str, origin: Trigger) -> Outcome:
    """Builds for the commits (before, after] on `branch` of the application repository
    `repository`: each service of a tracked environment whose `build.repository` is it,
    fed by this branch, and whose source the commits change. Idempotent.

    The environments' files are read at their branches' tips in the configuration
    repository (what they say now decides what is built). Also the sweep's entry point.
    """
    git = ports.source_of(repository)
    facts: dict[str, Any] = {"repository": repository, "branch": branch, "commit": after}
    with claimed(ports.store, push_key(f"{repository}:{branch}", after),
                 seconds=ports.clock.remaining()) as claim:
        if claim.done_before:
            return ignore(Reason.ALREADY_PROCESSED,
                          what=f"commit {after[:12]} on {repository}:{branch}", commit=after)
        last = ports.store.get_value(app_tip_key(repository, branch))
        if last and last != after and git.is_ancestor(last, after):
            before = last  # an earlier push's event may have been lost
        changed = git.changed_paths(before, after)
        started: list[dict[str, str]] = []
        skipped: list[dict[str, str]] = []
        environments: list[str] = []
        for config_branch, environment in ports.settings.branches.items():
            try:
                desired = desired_at(ports, environment, ports.source.branch_tip(config_branch))
            except (DesiredStateError, SourceError):
                continue  # the push of that file reports it
            for service in desired.services:
                if service.build is None or service.build.repository != repository \
                        or app_branch(service, desired) != branch:
                    continue
                environments.append(environment)
                _start_one(ports, environment, service, after=after, changed=changed,
                           started=started, skipped=skipped)
        facts.update(builds=started, changed=len(changed),
                     environment=", ".join(sorted(set(environments))))
        if skipped:
            facts["skipped"] = skipped
        if started:
            outcome = Outcome(Kind.BUILDS_STARTED, None, {**facts, "count": len(started)})
        elif not environments:
            outcome = ignore(Reason.UNTRACKED_BRANCH, branch=f"{repository}:{branch}")
        else:
            outcome = Outcome(Kind.NO_BUILD, Reason.NO_APP_CHANGED, facts)
        claim.outcome = outcome.text()
    _advance_app_tip(ports, git, repository, branch, after)
    return outcome


def _advance_app_tip(ports: Ports, git: GitSource, repository: str, branch: str,
                     commit: str) -> None:
    """`advance_tip` for an application repository's branch (forward only, or a force
    push's new tip)."""
    key = app_tip_key(repository, branch)
    for _ in range(3):
        last = ports.store.get_value(key)
        if last == commit:
            return
        if last is not None and not git.is_ancestor(last, commit) \
                and git.branch_tip(branch) != commit:
            return
        if ports.store.compare_and_set(key, last, commit):
            return
