"""Push: a new commit on a tracked branch starts the builds of the apps it changed,
and a reconcile when the environment's desired-state file changed.

Tags, untracked branches, deletions and the controller's own write-back commits
start no build (invariant 4). One build per (commit, app): a processed-event
record per push and per build, plus StartBuild's idempotency token (invariant 2).
"""

from __future__ import annotations

from typing import Any

from ecs_gitops.controllers.lookup import desired_at, not_ours, notify_once, token
from ecs_gitops.controllers.outcome import Kind, Outcome, Reason, ignore
from ecs_gitops.controllers.ports import Ports
from ecs_gitops.errors import DesiredStateError
from ecs_gitops.events import CodeCommitEvent, Trigger
from ecs_gitops.source import is_write_back
from ecs_gitops.store import build_start_key, claimed, push_key, tip_key

HANDLED = ("referenceCreated", "referenceUpdated")
# Every CodeBuild project of the stack reads its buildspec from the app's folder
# (template.yaml: `BuildSpec: apps/<app>/buildspec.yml`).
BUILDSPEC = "buildspec.yml"


def handle(event: CodeCommitEvent, ports: Ports) -> Outcome:
    """A CodeCommit "Repository State Change": builds and reconcile for its commits."""
    detail = event.detail
    foreign = not_ours(ports, event, repository=detail.repository_name)
    if foreign is not None:
        return foreign
    if detail.reference_type != "branch":
        return ignore(Reason.NOT_A_BRANCH, reference_type=detail.reference_type,
                      reference=detail.reference_name)
    if detail.event not in HANDLED:
        return ignore(Reason.REFERENCE_EVENT, event=detail.event, reference=detail.reference_name)
    environment = ports.settings.branches.get(detail.reference_name)
    if environment is None:
        return ignore(Reason.UNTRACKED_BRANCH, branch=detail.reference_name)
    if not detail.commit_id:
        return ignore(Reason.NO_COMMIT_ID, branch=detail.reference_name)
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
        if service.build is None:
            continue
        folder = service.build.source.rstrip("/") + "/"
        if not any(path.startswith(folder) for path in changed):
            continue
        if ports.source.read_file(after, f"{folder}{BUILDSPEC}") is None:
            # The folder (or its buildspec) was deleted: a build could only fail.
            skipped.append({"service": service.name, "missing": f"{folder}{BUILDSPEC}"})
            continue
        if ports.settings.dry_run:
            started.append({"service": service.name, "project": service.build.project,
                            "build": "dry run: not started"})
            continue
        key = build_start_key(environment, service.name, after)
        with claimed(ports.store, key, seconds=ports.clock.remaining()) as claim:
            if claim.done_before:
                continue
            # A worker killed after StartBuild leaves its build running: find it rather
            # than start another once StartBuild's idempotency token has lapsed.
            found = ports.builds.builds_of(service.build.project, after) if claim.redo else []
            build_id = found[0] if found else ports.builds.start_build(
                project=service.build.project, source_version=after,
                token=token(after, environment, service.name),
                environment={"IMAGE_REPO_NAME": service.image.repository})
            claim.outcome = build_id
        started.append({"service": service.name, "project": service.build.project,
                        "build": build_id})
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
