"""Pull request preview: what merging a pull request into a tracked branch of the
configuration repository would do, posted on the pull request where the review happens.

A CodeCommit "Pull Request State Change" (created, or its source branch updated) only
names the pull request: the controller reads it as it is now (invariant 1), takes the
merge of its source into the destination branch's tip (a fast-forward, or a merge commit
on no branch: see `PullRequests.merge_commit`), loads the environment's file from it and
runs the read-only start of a reconcile (`engine.preview`) against what runs. The
comment carries the plan in the text `ecs-gitops plan` prints (`report.plan_text`, the
same function), or every problem of the file as `file:line:column: field: message`, or
the conflicts that keep the merge from happening.

One comment per pull request, updated in place at every push: its id is kept in the
store, a run killed after posting is found again by the comment's marker, and
PostCommentForPullRequest's idempotency token (one per pull request) refuses a second
post by a concurrent run (a transient conflict: its retry updates the comment; a
token whose comment a person deleted is replaced by the next one). The work
is claimed per (pull request, source commit, destination commit), so duplicate and late
events post nothing twice; the pair the comment shows is kept too, so that a source
branch pushed back to an earlier commit is previewed again. A run whose pull request's
source moved on while it worked posts nothing: the newer push's event posts its preview
(an older plan never overwrites a newer one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ecs_gitops.controllers.lookup import desired_at, not_ours, token
from ecs_gitops.controllers.outcome import Kind, Outcome, Reason, ignore
from ecs_gitops.controllers.ports import Ports
from ecs_gitops.desired import Environment, load_environment_text
from ecs_gitops.errors import (
    ConflictError,
    DesiredStateError,
    MergeConflictError,
    Problem,
    SourceError,
)
from ecs_gitops.events import CodeCommitPullRequestEvent
from ecs_gitops.source import PullRequest, PullRequests
from ecs_gitops.store import (
    claimed,
    preview_comment_key,
    preview_key,
    preview_shown_key,
    preview_token_key,
)

HANDLED = ("pullRequestCreated", "pullRequestSourceBranchUpdated")
# The comment's first line: how a run finds the comment an earlier, killed run posted.
MARKER = "<!-- ecs-gitops plan preview -->"
# PostCommentForPullRequest / UpdateComment refuse longer content
# (CommentContentSizeLimitExceededException: "Comments are limited to 10,240 characters").
CONTENT_LIMIT = 10_240


def handle(event: CodeCommitPullRequestEvent, ports: Ports) -> Outcome:
    """A CodeCommit "Pull Request State Change": preview the merge, post or update the
    pull request's one comment."""
    detail = event.detail
    names = detail.repository_names
    expected = ports.settings.repository
    repository = expected if expected in names else (names[0] if names else None)
    app = repository in ports.settings.app_repositories and repository != expected
    foreign = not_ours(ports, event, repository=None if app else repository)
    if foreign is not None:
        return foreign
    if detail.event not in HANDLED:
        return ignore(Reason.EVENT_NOT_HANDLED, event=detail.event)
    if app and repository is not None:
        return preview_app_pull_request(ports, repository, detail.pull_request_id)
    if ports.pull_requests is None:
        return ignore(Reason.NOT_CONFIGURED, what="pull requests port")
    pull_request = _open(ports.pull_requests, detail.pull_request_id)
    if isinstance(pull_request, Outcome):
        return pull_request
    environment = ports.settings.branches.get(pull_request.destination_branch)
    if environment is None:
        return ignore(Reason.UNTRACKED_BRANCH, branch=pull_request.destination_branch)
    destination = ports.source.branch_tip(pull_request.destination_branch)
    return preview_pull_request(ports, ports.pull_requests, pull_request,
                                environment=environment, destination=destination)


def preview_pull_request(ports: Ports, pull_requests: PullRequests, pull_request: PullRequest,
                         *, environment: str, destination: str) -> Outcome:
    """Post (or update) the preview of merging `pull_request` into `destination` (the
    destination branch's tip), once per pair of commits. Idempotent."""
    repository = pull_request.repository or ports.settings.repository or ""
    source = pull_request.source_commit
    facts: dict[str, Any] = {"environment": environment, "pull_request": pull_request.id,
                             "commit": source, "destination": destination}
    return _post_once(ports, pull_requests, repository, pull_request, destination, facts,
                      lambda: comment(ports, pull_requests, pull_request,
                                      environment=environment, destination=destination),
                      what=f"pull request {pull_request.id} at {source[:12]}")


def _open(pulls: PullRequests, pull_request_id: str) -> PullRequest | Outcome:
    """The pull request as it is now, not as the event saw it (level-triggered), or the
    outcome that ignores it: unknown, or no longer open."""
    try:
        pull_request = pulls.get(pull_request_id)
    except SourceError:
        return ignore(Reason.UNKNOWN_PULL_REQUEST, pull_request=pull_request_id)
    if pull_request.status.upper() != "OPEN":
        return ignore(Reason.PULL_REQUEST_CLOSED, pull_request=pull_request.id,
                      status=pull_request.status.lower())
    return pull_request


def _post_once(ports: Ports, pulls: PullRequests, repository: str, pull_request: PullRequest,
               destination: str, facts: dict[str, Any],
               write: Callable[[], tuple[str, str]], *, what: str) -> Outcome:
    """Claim the pair (source, `destination`), `write()` the comment (body, summary) and
    publish it, unless done before (and still shown) or the pull request moved on."""
    key = preview_key(repository, pull_request.id, pull_request.source_commit, destination)
    with claimed(ports.store, key, seconds=ports.clock.remaining()) as claim:
        if claim.done_before and _shown(ports, repository, pull_request, destination):
            return ignore(Reason.ALREADY_PROCESSED, what=what, **facts)
        body, summary = write()
        current = _moved_on(pulls, pull_request)
        if current is not None:
            claim.release()
            return ignore(Reason.SUPERSEDED, current=current, **facts)
        kind, comment_id = _publish(ports, pulls, repository, pull_request, destination,
                                    body[:CONTENT_LIMIT])
        claim.outcome = f"{kind.value} {comment_id}: {summary}"
    return Outcome(kind, None, {**facts, "comment": comment_id, "summary": summary})


def _conflicts(head: str, exc: MergeConflictError) -> str:
    """The comment's text for a merge that has conflicts: the paths (when known), as many
    whole lines as leave room in a comment, then how many more."""
    paths = "\n".join(f"- {_code(p)}" for p in exc.paths) or "- (not listed)"
    paths = _clipped(paths, CONTENT_LIMIT - len(head) - 400, "",
                     more="- ... and {} more file(s)")
    return (f"{head}This pull request cannot be merged without resolving conflicts in:"
            f"\n\n{paths}\n")


def comment(ports: Ports, pull_requests: PullRequests, pull_request: PullRequest, *,
            environment: str, destination: str) -> tuple[str, str]:
    """The comment's content (at most `CONTENT_LIMIT` characters) and a one-line summary.

    Pure but for the reads: git (the merge, the file), and the cloud and the store
    through `engine.preview` (nothing is written)."""
    path = ports.settings.path(environment)
    source = pull_request.source_commit
    head = (f"{MARKER}\n**ecs-gitops plan preview**: merging {_code(pull_request.source_branch)} "
            f"({source[:12]}) into {_code(pull_request.destination_branch)} ({destination[:12]}) "
            f"and reconciling {environment} from {_code(path)}.\n\n")
    try:
        merged = pull_requests.merge_commit(source, destination)
    except MergeConflictError as exc:
        return f"{_conflicts(head, exc)}\nNo plan until it can.\n", "merge conflict"
    text = ports.source.read_file(merged, path)
    try:
        if text is None:
            raise DesiredStateError([Problem(path, 1, 1, "", "no such file after the merge")])
        desired = load_environment_text(text, path)
    except DesiredStateError as exc:
        problems = "\n".join(str(p) for p in exc.problems)
        intro = (f"{head}{_code(path)} would be invalid after this merge ({len(exc.problems)} "
                 f"problem(s)); nothing of it would be applied:\n\n")
        # (thousands of problems must not make CodeCommit refuse the comment)
        shown = _clipped(problems, CONTENT_LIMIT - len(intro) - 200,
                         f"validate {path}", what="ecs-gitops")
        return f"{intro}{_fenced(shown)}", f"{len(exc.problems)} problem(s)"
    from ecs_gitops.engine import preview
    from ecs_gitops.report import plan_text

    seen = preview(desired, ports.cloud, store=ports.store,
                   allowed_roles=ports.settings.allowed_roles)
    plan = plan_text(environment, seen)
    builds = _builds(ports, desired, destination, merged)
    tail = f"\nBuilds the merge starts: {builds}.\n" if builds else ""
    if seen.refused_roles:
        tail += (f"\nRefused: the file names roles the stack may not pass: "
                 f"{', '.join(seen.refused_roles)}.\n")
    room = CONTENT_LIMIT - len(head) - len(tail) - 200
    summary = plan.splitlines()[0] if plan else "no plan"
    return f"{head}{_fenced(_clipped(plan, room, environment))}{tail}", summary


def _builds(ports: Ports, desired: Environment, destination: str, merged: str) -> str:
    """`api (project api-production), ...`: the services built from this repository
    whose build source the merge changes (what the push of the merge will build)."""
    from ecs_gitops.controllers.push import touches

    changed = ports.source.changed_paths(destination, merged)
    return ", ".join(f"{s.name} (project {s.build.project})" for s in desired.services
                     if s.build is not None and s.build.repository is None
                     and touches(s.build.source, changed))


def _fenced(text: str) -> str:
    """`text` in a Markdown code block whose fence no line of it can close."""
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}text\n{text}\n{fence}\n"


def _clipped(text: str, room: int, environment: str, *, what: str = "ecs-gitops plan",
             more: str | None = None) -> str:
    """`text` if it fits in `room` characters, else its first whole lines and a last line:
    `more` formatted with how many lines were left out, or by default how many and how
    to see all (`what environment`: the command that prints all of it)."""
    if len(text) <= room:
        return text
    lines = text.splitlines()
    kept: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > room - 120:
            break
        kept.append(line)
        used += len(line) + 1
    left = len(lines) - len(kept)
    kept.append(more.format(left) if more else f"... {left} more line(s): {what} {environment}")
    return "\n".join(kept)


def _code(text: str) -> str:
    """`text` as Markdown inline code that no backtick or line break of it can end
    (branch names and paths come from whoever pushed them)."""
    text = " ".join(text.splitlines()) or " "
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text[0] == "`" or text[-1] == "`" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _shown(ports: Ports, repository: str, pull_request: PullRequest, destination: str) -> bool:
    """True unless the comment is known to show another pair of commits than
    (`pull_request.source_commit`, `destination`): its source branch was pushed back to
    an earlier commit, whose preview was done before and must be shown again."""
    shown = ports.store.get_value(preview_shown_key(repository, pull_request.id))
    return shown in (None, f"{pull_request.source_commit}#{destination}")


def _moved_on(pull_requests: PullRequests, pull_request: PullRequest) -> str | None:
    """The pull request's source commit now if it is no longer `pull_request`'s (or the
    pull request closed meanwhile: "closed"), else None. Read again just before
    publishing, so that a run slower than the run of a newer push does not overwrite
    the newer preview with its older one (every source push emits its own event)."""
    try:
        now = pull_requests.get(pull_request.id)
    except SourceError:
        return "closed"
    if now.status.upper() != "OPEN":
        return "closed"
    return now.source_commit if now.source_commit != pull_request.source_commit else None


def _publish(ports: Ports, pull_requests: PullRequests, repository: str,
             pull_request: PullRequest, destination: str, body: str) -> tuple[Kind, str]:
    """Update the pull request's preview comment, or post it the first time; record
    which commits it shows."""
    kind, comment_id = _post_or_update(ports, pull_requests, repository, pull_request,
                                       destination, body)
    ports.store.put_value(preview_shown_key(repository, pull_request.id),
                          f"{pull_request.source_commit}#{destination}")
    return kind, comment_id


def _post_or_update(ports: Ports, pull_requests: PullRequests, repository: str,
                    pull_request: PullRequest, destination: str, body: str
                    ) -> tuple[Kind, str]:
    key = preview_comment_key(repository, pull_request.id)
    comment_id = ports.store.get_value(key)
    if comment_id is None:
        # A run killed between the post and the store's write left a comment with no
        # record: find it rather than post a second one.
        comment_id = next((c.id for c in pull_requests.comments(pull_request.id)
                           if c.content.startswith(MARKER)), None)
    if comment_id is None:
        spent = preview_token_key(repository, pull_request.id)
        generation = ports.store.get_value(spent)
        try:
            comment_id = pull_requests.post_comment(
                pull_request.id, before=pull_request.destination_commit or destination,
                after=pull_request.source_commit, content=body,
                token=token(repository, pull_request.id, "preview",
                            *([generation] if generation else [])))
        except ConflictError:
            # The token was used with other content: by a concurrent run (whose comment
            # the retry finds and updates), or by a run killed before recording its
            # comment, which a person then deleted (the token is then spent for good,
            # IdempotencyParameterMismatchException on every post). The retry posts
            # under the next token unless it finds a comment to update.
            ports.store.put_value(spent, str(int(generation or 0) + 1))
            raise
        ports.store.put_value(key, comment_id)
        return Kind.PREVIEW_POSTED, comment_id
    try:
        pull_requests.update_comment(comment_id, body)
    except SourceError:
        # A person deleted it: post a new one (its own token, the old one's is spent).
        comment_id = pull_requests.post_comment(
            pull_request.id, before=pull_request.destination_commit or destination,
            after=pull_request.source_commit, content=body,
            token=token(repository, pull_request.id, "preview", comment_id))
        ports.store.put_value(key, comment_id)
        return Kind.PREVIEW_POSTED, comment_id
    ports.store.put_value(key, comment_id)
    return Kind.PREVIEW_UPDATED, comment_id


def preview_app_pull_request(ports: Ports, repository: str, pull_request_id: str) -> Outcome:
    """A pull request of an application repository: its comment says which builds the
    merge will start and which environments they feed (their write-back and deployment
    follow the push of the merge). Idempotent, one comment, as for the configuration
    repository."""
    if ports.app_pull_requests is None:
        return ignore(Reason.NOT_CONFIGURED, what="application pull requests port")
    pulls = ports.app_pull_requests(repository)
    pull_request = _open(pulls, pull_request_id)
    if isinstance(pull_request, Outcome):
        return pull_request
    from ecs_gitops.controllers.push import app_branch, touches

    fed: list[tuple[str, Any]] = []  # (environment, service) this branch feeds
    for config_branch, environment in ports.settings.branches.items():
        try:
            desired = desired_at(ports, environment, ports.source.branch_tip(config_branch))
        except (DesiredStateError, SourceError):
            continue
        fed += [(environment, s) for s in desired.services
                if s.build is not None and s.build.repository == repository
                and app_branch(s, desired) == pull_request.destination_branch]
    if not fed:
        return ignore(Reason.UNTRACKED_BRANCH,
                      branch=f"{repository}:{pull_request.destination_branch}")
    git = ports.source_of(repository)
    destination = git.branch_tip(pull_request.destination_branch)
    source = pull_request.source_commit
    facts: dict[str, Any] = {"environment": ", ".join(sorted({e for e, _ in fed})),
                             "pull_request": pull_request.id, "commit": source,
                             "destination": destination, "repository": repository}
    head = (f"{MARKER}\n**ecs-gitops preview**: merging "
            f"{_code(pull_request.source_branch)} ({source[:12]}) into "
            f"{_code(pull_request.destination_branch)} of {_code(repository)} "
            f"({destination[:12]}).\n\n")

    def write() -> tuple[str, str]:
        try:
            merged = pulls.merge_commit(source, destination)
        except MergeConflictError as exc:
            return _conflicts(head, exc), "merge conflict"
        changed = git.changed_paths(destination, merged)
        lines = [f"- {service.name}: build {service.build.project}, then written back to "
                 f"{_code(ports.settings.path(environment))} and deployed to {environment}"
                 for environment, service in fed
                 if service.build is not None and touches(service.build.source, changed)]
        if not lines:
            return (f"{head}The merge changes no service's build source: no build, nothing "
                    "deployed.\n"), "0 build(s)"
        # (an application repository that feeds hundreds of services: whole lines only)
        listed = _clipped("\n".join(lines), CONTENT_LIMIT - len(head) - 200, "",
                          more="- ... and {} more build(s)")
        return f"{head}The push of the merge starts:\n\n{listed}\n", f"{len(lines)} build(s)"

    return _post_once(ports, pulls, repository, pull_request, destination, facts, write,
                      what=f"pull request {pull_request.id} of {repository} at {source[:12]}")
