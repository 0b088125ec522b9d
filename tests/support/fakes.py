"""In-memory fakes of every port, for fast unit tests of the controllers and the engine.

Each fake keeps what a test needs to assert (the calls made, the state left) and
behaves like the real service where the controllers depend on it: git ancestry and
compare-and-swap branch moves, conditional writes and expiries in the store,
StartBuild's idempotency token, ECS's PRIMARY deployment per update. `MustNotBeCalled`
stands in for a port that a case must not touch: any call fails loudly.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from builders import REFS

from ecs_gitops.actual import (
    DeploymentSnapshot,
    EnvironmentSnapshot,
    ScalingSnapshot,
    ServiceSnapshot,
    TaskDefinitionSnapshot,
)
from ecs_gitops.controllers.ports import Ports, Settings
from ecs_gitops.desired import Environment
from ecs_gitops.errors import ConflictError, MergeConflictError, PreflightError, SourceError
from ecs_gitops.events import CodeBuildStateChange, Trigger
from ecs_gitops.render import normalize_task_definition, register_input
from ecs_gitops.source import Commit, PullRequest, PullRequestComment
from ecs_gitops.store import (
    PROCESSED_TTL,
    TASK_DEFINITION_TTL,
    BadImage,
    ClaimRecord,
    ClaimStatus,
    Release,
    ReleaseState,
)
from ecs_gitops.verify import Requirements

# CodeBuild StartBuild: "If you repeat the StartBuild request with the same token, but
# change a parameter, CodeBuild returns a parameter mismatch error. The token is valid
# for 5 minutes." (idempotencyToken, CodeBuild API reference).
TOKEN_SECONDS = 300

class MustNotBeCalled:
    """A port no call may reach: every method fails the test ("Must not be called!")."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError(f"Must not be called: {self._name}.{attr}{args}{kwargs}")
        return fail


# --------------------------------------------------------------------------- git
@dataclass
class FakeGit:
    """A git repository in memory: commits with parents and whole file trees."""

    commits: dict[str, tuple[tuple[str, ...], dict[str, str], str]] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    writes: list[str] = field(default_factory=list)  # commits made through put_file
    _counter: itertools.count[int] = field(default_factory=itertools.count)

    def make(self, files: Mapping[str, str], message: str = "change",
             parents: tuple[str, ...] = ()) -> str:
        """A new commit (not on any branch) with exactly `files` as its tree."""
        seed = f"{next(self._counter)}:{message}:{sorted(files.items())}:{parents}"
        sha = hashlib.sha1(seed.encode()).hexdigest()  # noqa: S324 - an id, not security
        self.commits[sha] = (parents, dict(files), message)
        return sha

    def commit(self, branch: str, files: Mapping[str, str | None], message: str = "change"
               ) -> str:
        """Commit on `branch` (created when missing): `files` changes, None deletes.

        Raises ValueError for a commit that changes nothing (as `git commit` refuses
        one), so a test cannot pass on an empty commit."""
        parent = self.branches.get(branch)
        tree = dict(self.commits[parent][1]) if parent else {}
        for path, text in files.items():
            if text is None:
                tree.pop(path, None)
            else:
                tree[path] = text
        if parent and tree == self.commits[parent][1]:
            raise ValueError(f"commit on {branch} changes nothing: {sorted(files)}")
        sha = self.make(tree, message, (parent,) if parent else ())
        self.branches[branch] = sha
        return sha

    # GitSource
    def branch_tip(self, branch: str) -> str:
        if branch not in self.branches:
            raise SourceError(f"no branch {branch!r}")
        return self.branches[branch]

    def _tree(self, commit: str) -> dict[str, str]:
        if commit not in self.commits:
            raise SourceError(f"bad object {commit}")
        return self.commits[commit][1]

    def changed_paths(self, before: str | None, after: str) -> list[str]:
        new = self._tree(after)
        if before is None:
            return sorted(new)
        old = self._tree(before)
        return sorted(p for p in old.keys() | new.keys() if old.get(p) != new.get(p))

    def read_file(self, commit: str, path: str) -> str | None:
        return self._tree(commit).get(path)

    def commit_info(self, commit_id: str) -> Commit:
        if commit_id not in self.commits:
            raise SourceError(f"bad object {commit_id}")
        parents, _, message = self.commits[commit_id]
        return Commit(id=commit_id, message=message, parents=parents)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        if ancestor not in self.commits or descendant not in self.commits:
            return False
        seen, todo = set(), [descendant]
        while todo:
            current = todo.pop()
            if current == ancestor:
                return True
            if current not in seen:
                seen.add(current)
                todo.extend(self.commits[current][0])
        return False

    def file_history(self, tip: str, path: str, *, limit: int) -> list[str]:
        out: list[str] = []
        current: str | None = tip
        while current is not None and len(out) < limit:
            parents = self.commits[current][0]
            parent = parents[0] if parents else None
            before = self.commits[parent][1].get(path) if parent else None
            if self.commits[current][1].get(path) != before:
                out.append(current)
            current = parent
        return out

    def put_file(self, *, branch: str, parent: str, path: str, content: str, message: str) -> str:
        if self.branches.get(branch) != parent:
            raise ConflictError(f"branch {branch} moved past {parent[:12]}")
        tree = dict(self._tree(parent))
        tree[path] = content
        sha = self.make(tree, message, (parent,))
        self.branches[branch] = sha
        self.writes.append(sha)
        return sha


# ------------------------------------------------------------------ pull requests
@dataclass
class FakePullRequests:
    """CodeCommit's pull requests on a FakeGit: an OPEN pull request's source commit is
    its branch's tip; a comment is posted once per idempotency token (the same token
    with other parameters is a ConflictError, as IdempotencyParameterMismatchException);
    the merge is a fast-forward or a per-file three-way merge commit on no branch."""

    git: FakeGit
    repository: str = "ecs-gitops"
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    posted: list[dict[str, Any]] = field(default_factory=list)  # every comment, by id order
    calls: list[str] = field(default_factory=list)

    def create(self, source_branch: str, destination_branch: str) -> str:
        number = str(len(self.requests) + 1)
        self.requests[number] = {"source": source_branch, "destination": destination_branch,
                                 "base": self.git.branches[destination_branch],
                                 "status": "OPEN"}
        return number

    def get(self, pull_request_id: str) -> PullRequest:
        self.calls.append("get")
        if pull_request_id not in self.requests:
            raise SourceError(f"no pull request {pull_request_id}")
        pr = self.requests[pull_request_id]
        return PullRequest(id=pull_request_id, status=pr["status"], repository=self.repository,
                           source_branch=pr["source"], destination_branch=pr["destination"],
                           source_commit=self.git.branches[pr["source"]],
                           destination_commit=pr["base"])

    def merge_commit(self, source: str, destination: str) -> str:
        self.calls.append("merge_commit")
        if self.git.is_ancestor(destination, source):
            return source
        base = next(c for c in self._ancestors(destination) if self.git.is_ancestor(c, source))
        old, ours, theirs = (self.git._tree(c) for c in (base, destination, source))
        merged: dict[str, str] = {}
        conflicts = []
        for path in sorted(old.keys() | ours.keys() | theirs.keys()):
            o, a, b = old.get(path), ours.get(path), theirs.get(path)
            if b == o:
                result = a
            elif a in (o, b):
                result = b
            else:
                conflicts.append(path)
                continue
            if result is not None:
                merged[path] = result
        if conflicts:
            raise MergeConflictError("conflicts", conflicts)
        return self.git.make(merged, "merge", (destination, source))

    def _ancestors(self, commit: str) -> list[str]:
        order, todo, seen = [], [commit], set()
        while todo:
            current = todo.pop(0)
            if current not in seen:
                seen.add(current)
                order.append(current)
                todo.extend(self.git.commits[current][0])
        return order

    def comments(self, pull_request_id: str) -> list[PullRequestComment]:
        self.calls.append("comments")
        return [PullRequestComment(c["id"], c["content"]) for c in self.posted
                if c["pr"] == pull_request_id and not c.get("deleted")]

    def delete_comment(self, comment_id: str) -> None:
        """A person deletes it in the console (DeleteCommentContent): CodeCommit keeps the
        comment, marked deleted, and its idempotency token stays spent."""
        for comment in self.posted:
            if comment["id"] == comment_id:
                comment.update(content="", deleted=True)

    def post_comment(self, pull_request_id: str, *, before: str, after: str, content: str,
                     token: str) -> str:
        self.calls.append("post_comment")
        asked = (pull_request_id, before, after, content)
        for comment in self.posted:
            if comment["token"] == token:
                if comment["asked"] != asked:
                    raise ConflictError("IdempotencyParameterMismatchException")
                return str(comment["id"])
        comment_id = f"comment-{len(self.posted) + 1}"
        self.posted.append({"id": comment_id, "pr": pull_request_id, "content": content,
                            "token": token, "asked": asked})
        return comment_id

    def update_comment(self, comment_id: str, content: str) -> None:
        self.calls.append("update_comment")
        for comment in self.posted:
            if comment["id"] == comment_id and not comment.get("deleted"):
                comment["content"] = content
                return
        raise SourceError(f"no comment {comment_id} (CommentDeletedException)")


# ------------------------------------------------------------------------- store
@dataclass
class FakeStore:
    """The Store port in memory, with a clock for expiries."""

    now: float = 1_800_000_000.0
    claims: dict[str, ClaimRecord] = field(default_factory=dict)
    leases: dict[str, tuple[str, float]] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    release_log: list[Release] = field(default_factory=list)
    latest: dict[tuple[str, str], str] = field(default_factory=dict)  # -> record_key
    documents: dict[str, tuple[str, float]] = field(default_factory=dict)  # arn -> (doc, expiry)

    def begin(self, key: str, *, in_progress_seconds: float, ttl: int = PROCESSED_TTL
              ) -> tuple[bool, ClaimRecord | None]:
        old = self.claims.get(key)
        if old is not None and old.expires_at >= self.now and not (
                old.status is ClaimStatus.IN_PROGRESS and old.in_progress_until < self.now):
            return False, old
        self.claims[key] = ClaimRecord(key, ClaimStatus.IN_PROGRESS,
                                       self.now + in_progress_seconds, self.now + ttl)
        return True, old

    def complete(self, key: str, outcome: str, *, ttl: int = PROCESSED_TTL) -> None:
        self.claims[key] = ClaimRecord(key, ClaimStatus.COMPLETED, 0, self.now + ttl, outcome)

    def forget(self, key: str) -> None:
        self.claims.pop(key, None)

    def claim_record(self, key: str) -> ClaimRecord | None:
        found = self.claims.get(key)
        return found if found is not None and found.expires_at >= self.now else None

    def acquire_lease(self, name: str, owner: str, *, seconds: int) -> bool:
        held = self.leases.get(name)
        if held is not None and held[0] != owner and held[1] >= self.now:
            return False
        self.leases[name] = (owner, self.now + seconds)
        return True

    def release_lease(self, name: str, owner: str) -> None:
        if self.leases.get(name, ("", 0))[0] == owner:
            del self.leases[name]

    def get_value(self, key: str) -> str | None:
        return self.values.get(key)

    def get_values(self, keys: list[str]) -> dict[str, str]:
        return {k: self.values[k] for k in keys if k in self.values}

    def put_value(self, key: str, value: str) -> None:
        self.values[key] = value

    def put_values(self, values: Mapping[str, str]) -> None:
        self.values.update(values)

    def compare_and_set(self, key: str, expected: str | None, value: str) -> bool:
        if self.values.get(key) != expected:
            return False
        self.values[key] = value
        return True

    def record_releases(self, releases: list[Release]) -> None:
        for release in releases:
            self._put_release(release)
            self.latest[(release.environment, release.service)] = release.record_key

    def _put_release(self, release: Release) -> None:
        key = (release.environment, release.service, release.record_key)
        for n, old in enumerate(self.release_log):
            if (old.environment, old.service, old.record_key) == key:
                self.release_log[n] = release
                return
        self.release_log.append(release)

    def latest_releases(self, environment: str, services: list[str]) -> dict[str, Release]:
        out = {}
        for service in services:
            key = self.latest.get((environment, service))
            found = [r for r in self.release_log if (r.environment, r.service, r.record_key)
                     == (environment, service, key)]
            if found:
                out[service] = found[0]
        return out

    def bad_images(self, keys: list[str]) -> dict[str, BadImage]:
        return {k: BadImage.decode(self.values[k]) for k in keys if k in self.values}

    def releases(self, environment: str, service: str, *, limit: int = 20) -> list[Release]:
        mine = [r for r in self.release_log if (r.environment, r.service) == (environment, service)]
        # newest first: by start time, then (one clock tick) by the order written
        order = {id(r): n for n, r in enumerate(self.release_log)}
        return sorted(mine, key=lambda r: (r.started_at, order[id(r)]), reverse=True)[:limit]

    def set_outcome(self, release: Release, outcome: ReleaseState, reason: str = "") -> None:
        self._put_release(replace(release, outcome=outcome, reason=reason))

    def bad_image(self, key: str) -> BadImage | None:
        value = self.values.get(key)
        return BadImage.decode(value) if value is not None else None

    def mark_bad_image(self, key: str, bad: BadImage) -> None:
        self.values[key] = bad.encode()

    def task_definition_documents(self, arns: list[str]) -> dict[str, str]:
        return {a: self.documents[a][0] for a in arns
                if a in self.documents and self.documents[a][1] >= self.now}

    def remember_task_definitions(self, documents: Mapping[str, str]) -> None:
        self.documents.update({a: (d, self.now + TASK_DEFINITION_TTL)
                               for a, d in documents.items()})

    def clear_bad_image(self, key: str) -> None:
        self.values.pop(key, None)


# ----------------------------------------------------------- builds, ECR, SNS, bus
@dataclass
class FakeBuilds:
    """CodeBuild: StartBuild keyed by idempotency token; builds a test finishes."""

    started: list[dict[str, Any]] = field(default_factory=list)
    finished: dict[str, list[CodeBuildStateChange]] = field(default_factory=dict)
    resolved: dict[str, str] = field(default_factory=dict)  # build id -> commit
    now: Callable[[], float] = lambda: 0.0  # the store's clock (Fakes wires it)

    def start_build(self, *, project: str, source_version: str, token: str,
                    environment: Mapping[str, str] | None = None,
                    source_repository: str | None = None, buildspec: str | None = None
                    ) -> str:
        """StartBuild: the same idempotency token within `TOKEN_SECONDS` returns the
        build it started; after that it starts another, as CodeBuild does."""
        now = self.now()
        for build in self.started:
            if build["token"] == token and now - build["at"] < TOKEN_SECONDS:
                return str(build["id"])
        build_id = f"{project}:{len(self.started) + 1}"
        self.started.append({"id": build_id, "project": project, "source_version":
                             source_version, "token": token, "environment": dict(environment or {}),
                             "at": now, "source_repository": source_repository,
                             "buildspec": buildspec})
        self.resolved[build_id] = source_version
        return build_id

    def resolved_commit(self, build_id: str) -> str | None:
        return self.resolved.get(build_id.rsplit(":build/", 1)[-1])

    def builds_of(self, project: str, commit: str) -> list[str]:
        return [b["id"] for b in reversed(self.started)
                if b["project"] == project and b["source_version"] == commit]

    def finished_since(self, project: str, since: Any) -> list[CodeBuildStateChange]:
        return list(reversed(self.finished.get(project, [])))

    def finish(self, project: str, build_id: str, *, status: str, commit: str,
               tag: str | None = None) -> CodeBuildStateChange:
        detail = build_detail(project, build_id, status=status, commit=commit, tag=tag)
        self.finished.setdefault(project, []).append(detail)
        return detail


def build_detail(project: str, build_id: str, *, status: str, commit: str,
                 tag: str | None = None) -> CodeBuildStateChange:
    """A "Build State Change" detail as CodeBuild sends it."""
    return CodeBuildStateChange.model_validate({
        "build-status": status, "project-name": project, "build-id": build_id,
        "additional-information": {
            "source-version": commit,
            "exported-environment-variables": [{"name": "IMAGE_TAG", "value": tag or commit}],
        }})


@dataclass
class FakeRegistry:
    images: set[tuple[str, str]] = field(default_factory=set)

    def image_exists(self, repository: str, tag: str) -> bool:
        return (repository, tag) in self.images


@dataclass
class FakeNotifier:
    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def notify(self, subject: str, message: Mapping[str, Any]) -> None:
        self.sent.append((subject, dict(message)))

    def subjects(self) -> list[str]:
        return [s for s, _ in self.sent]


@dataclass
class FakeBus:
    requests: list[tuple[str, Trigger, str | None]] = field(default_factory=list)
    details: list[dict[str, Any]] = field(default_factory=list)  # as the event carries them

    def request_reconcile(self, environment: str, *, reason: Trigger, commit: str | None,
                          services: list[str] | None = None, continuation: int = 0,
                          pacing: Mapping[str, list[float]] | None = None) -> None:
        self.requests.append((environment, reason, commit))
        self.details.append({"environment": environment, "reason": reason.value,
                             "commit": commit, "services": services,
                             "continuation": continuation, "pacing": pacing})


# ------------------------------------------------------------------------- ECS
@dataclass
class FakeCloud:
    """ECS and Application Auto Scaling in memory, as the engine's `Cloud` port.

    Services are stored as DescribeServices would return their managed fields; every
    CreateService and every UpdateService that changes the task definition starts a new
    PRIMARY deployment (ECS does the same), whose id the call returns.
    """

    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    task_definitions: dict[str, TaskDefinitionSnapshot] = field(default_factory=dict)
    scaling: dict[str, ScalingSnapshot] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # what preflight reports missing
    calls: list[tuple[str, Any]] = field(default_factory=list)
    tick: Callable[[], None] | None = None  # called by every mutating call (time passes)
    observed: list[tuple[tuple[str, ...] | None, bool]] = field(default_factory=list)
    _deployments: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _snapshots(self, cluster: str) -> dict[str, ServiceSnapshot]:
        services = {}
        for name, raw in self.services.items():
            services[name] = ServiceSnapshot(
                name=name, arn=f"arn:aws:ecs:us-east-1:123456789012:service/{cluster}/{name}",
                status="ACTIVE", task_definition=raw["taskDefinition"],
                desired_count=raw.get("desiredCount", 1), running_count=raw.get("desiredCount", 1),
                pending_count=0, raw_fields={k: v for k, v in raw.items()
                                             if k not in ("taskDefinition", "deployments")},
                tags={t["key"]: t["value"] for t in raw.get("tags", ())},
                deployments=tuple(raw.get("deployments", ())))
        return services

    def observe(self, env: Environment, *, only: Collection[str] | None = None,
                latest_revisions: bool = True) -> EnvironmentSnapshot:
        self.calls.append(("observe", tuple(only) if only is not None else env.environment))
        self.observed.append((tuple(only) if only is not None else None, latest_revisions))
        services = {n: s for n, s in self._snapshots(env.cluster).items()
                    if only is None or n in only}
        latest: dict[str, TaskDefinitionSnapshot] = {}
        for snapshot in self.task_definitions.values() if latest_revisions else ():
            if snapshot.revision >= latest.get(snapshot.family, snapshot).revision:
                latest[snapshot.family] = snapshot
        return EnvironmentSnapshot(
            cluster=env.cluster, refs=REFS, services=services,
            task_definitions={s.task_definition: self.task_definitions[s.task_definition]
                              for s in services.values()
                              if s.task_definition in self.task_definitions},
            scaling=dict(self.scaling), family_latest=latest)

    def flush(self) -> None:
        self.calls.append(("flush", None))

    def _tick(self) -> None:
        if self.tick is not None:
            self.tick()

    def preflight(self, needs: Requirements) -> None:
        self.calls.append(("preflight", needs))
        if self.missing or needs.refused:  # as aws.preflight.check: refusals are reported too
            raise PreflightError([*needs.refused, *self.missing])

    def register_task_definition(self, spec: Mapping[str, Any]) -> TaskDefinitionSnapshot:
        self._tick()
        family = spec["family"]
        revision = 1 + sum(1 for s in self.task_definitions.values() if s.family == family)
        arn = f"arn:aws:ecs:us-east-1:123456789012:task-definition/{family}:{revision}"
        snapshot = TaskDefinitionSnapshot(arn=arn, family=family, revision=revision,
                                          spec=normalize_task_definition(register_input(spec)))
        self.task_definitions[arn] = snapshot
        self.calls.append(("register_task_definition", family))
        return snapshot

    def _deploy(self, name: str, task_definition: str) -> str:
        deployment_id = f"ecs-svc/{next(self._deployments)}"
        self.services[name]["deployments"] = [DeploymentSnapshot(
            id=deployment_id, status="PRIMARY", task_definition=task_definition,
            rollout_state="IN_PROGRESS", desired_count=1, running_count=0)]
        return deployment_id

    def create_service(self, inputs: Mapping[str, Any]) -> str | None:
        self._tick()
        name = inputs["serviceName"]
        self.services[name] = {k: v for k, v in inputs.items()
                               if k not in ("cluster", "serviceName")}
        self.calls.append(("create_service", name))
        return self._deploy(name, inputs["taskDefinition"])

    def update_service(self, cluster: str, service: str, fields: Mapping[str, Any]) -> str | None:
        self._tick()
        current = self.services[service]
        self.calls.append(("update_service", service))
        changed_td = "taskDefinition" in fields and fields["taskDefinition"] != current[
            "taskDefinition"]
        current.update(fields)
        if changed_td:
            return self._deploy(service, fields["taskDefinition"])
        deployments = current.get("deployments") or []
        return deployments[0].id if deployments else None

    def delete_service(self, cluster: str, service: str) -> None:
        self._tick()
        self.calls.append(("delete_service", service))
        del self.services[service]

    def replace_service(self, cluster: str, service: str, inputs: Mapping[str, Any]
                        ) -> str | None:
        self.calls.append(("replace_service", service))
        del self.services[service]
        return self.create_service(inputs)

    def tag_service(self, arn: str, set_tags: Mapping[str, str], remove: tuple[str, ...]
                    ) -> None:
        name = arn.rsplit("/", 1)[-1]
        tags = {t["key"]: t["value"] for t in self.services[name].get("tags", ())}
        tags.update(set_tags)
        for key in remove:
            tags.pop(key, None)
        self.services[name]["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
        self.calls.append(("tag_service", name))

    def register_scalable_target(self, inputs: Mapping[str, Any]) -> None:
        self._tick()
        name = inputs["ResourceId"].rsplit("/", 1)[-1]
        old = self.scaling.get(name)
        self.scaling[name] = ScalingSnapshot(inputs["ResourceId"], inputs["MinCapacity"],
                                             inputs["MaxCapacity"], old.policies if old else {})
        self.calls.append(("register_scalable_target", name))

    def put_scaling_policy(self, inputs: Mapping[str, Any]) -> None:
        self._tick()
        name = inputs["ResourceId"].rsplit("/", 1)[-1]
        target = self.scaling[name]
        policies = {**target.policies,
                    inputs["PolicyName"]: inputs["TargetTrackingScalingPolicyConfiguration"]}
        self.scaling[name] = replace(target, policies=policies)
        self.calls.append(("put_scaling_policy", name))

    def deregister_scalable_target(self, resource_id: str) -> None:
        self._tick()
        self.scaling.pop(resource_id.rsplit("/", 1)[-1], None)
        self.calls.append(("deregister_scalable_target", resource_id))

    def describe_services(self, cluster: str, names: list[str]) -> dict[str, ServiceSnapshot]:
        self.calls.append(("describe_services", tuple(names)))
        return {n: s for n, s in self._snapshots(cluster).items() if n in names}

    def running_task_definition(self, cluster: str, service: str) -> str | None:
        found = self.services.get(service)
        return found["taskDefinition"] if found else None

    def running_image(self, cluster: str, service: str) -> str | None:
        arn = self.running_task_definition(cluster, service)
        return self.task_definitions[arn].image() if arn in self.task_definitions else None

    def writes(self) -> list[tuple[str, Any]]:
        """The mutating calls made, in order."""
        return [c for c in self.calls
                if c[0] not in ("observe", "preflight", "describe_services", "flush")]


# ------------------------------------------------------------------------ world
@dataclass
class Fakes:
    """All ports in memory, and the `Ports` bundle the controllers take."""

    git: FakeGit = field(default_factory=FakeGit)
    store: FakeStore = field(default_factory=FakeStore)
    builds: FakeBuilds = field(default_factory=FakeBuilds)
    registry: FakeRegistry = field(default_factory=FakeRegistry)
    notifier: FakeNotifier = field(default_factory=FakeNotifier)
    bus: FakeBus = field(default_factory=FakeBus)
    cloud: FakeCloud = field(default_factory=FakeCloud)
    settings: Settings = field(default_factory=lambda: Settings(
        branches={"main": "production", "development": "development"}))
    pull_requests: FakePullRequests | None = None
    # The application repositories, by name (Settings.app_repositories names them).
    app_gits: dict[str, FakeGit] = field(default_factory=dict)
    app_pulls: dict[str, FakePullRequests] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.pull_requests is None:
            self.pull_requests = FakePullRequests(self.git)
        self.builds.now = lambda: self.store.now

    def ports(self, **override: Any) -> Ports:
        """The bundle; `override` replaces ports (e.g. cloud=MustNotBeCalled("cloud"))."""
        source = _SourceView(self.git)
        ports = {"settings": self.settings, "source": source, "store": self.store,
                 "builds": self.builds, "registry": self.registry, "notifier": self.notifier,
                 "bus": self.bus, "cloud": self.cloud, "clock": FakeClock(self.store),
                 "pull_requests": self.pull_requests,
                 "app_source": lambda name: _SourceView(self.app_gits[name]),
                 "app_pull_requests": lambda name: self.app_pulls.setdefault(
                     name, FakePullRequests(self.app_gits[name], repository=name))}
        ports.update(override)
        return Ports(**ports)


class DeadlineClock:
    """The store's clock as the controllers' `Clock`, for an invocation that ends
    `seconds` after it starts (time passes as the store's `now` moves)."""

    def __init__(self, store: FakeStore, seconds: float) -> None:
        self._store = store
        self.deadline = store.now + seconds

    def now(self) -> float:
        return self._store.now

    def remaining(self) -> float:
        return max(0.0, self.deadline - self._store.now)


class FakeClock:
    """The store's clock as the controllers' `Clock`, with a fixed budget per call."""

    def __init__(self, store: FakeStore, budget: float = 60.0) -> None:
        self._store = store
        self.budget = budget

    def now(self) -> float:
        return self._store.now

    def remaining(self) -> float:
        return self.budget


class _SourceView:
    """FakeGit seen through the GitSource protocol (whose `commit` reads a commit)."""

    def __init__(self, git: FakeGit) -> None:
        self._git = git

    def __getattr__(self, name: str) -> Any:
        return getattr(self._git, name)

    def commit(self, commit_id: str) -> Commit:
        return self._git.commit_info(commit_id)
