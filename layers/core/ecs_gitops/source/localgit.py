"""A local git repository as the source (the embedded cloud's CodeCommit).

Writes never touch a work tree: the new commit is built with a temporary index
(read-tree, update-index, write-tree, commit-tree) and the branch moves with a
compare-and-swap `update-ref`, which is exactly CodeCommit's `parentCommitId` rule.

Commit ids come from events (untrusted): they are checked to be hexadecimal object
names before git sees them, and user-supplied names always follow a `--` or an
explicit `refs/heads/` prefix, so that an id such as `--output=FILE` is never an option.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from ecs_gitops.errors import AwsError, ConflictError, MergeConflictError, SourceError
from ecs_gitops.source import Commit, PullRequest, PullRequestComment

AUTHOR = {"GIT_AUTHOR_NAME": "ecs-gitops", "GIT_AUTHOR_EMAIL": "ecs-gitops@localhost",
          "GIT_COMMITTER_NAME": "ecs-gitops", "GIT_COMMITTER_EMAIL": "ecs-gitops@localhost"}
_OBJECT = re.compile(r"^[0-9a-f]{4,64}$")
_BRANCH = re.compile(r"^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]{1,200}$")
_PATH = re.compile(r"^(?![-/])(?!.*\.\.)[A-Za-z0-9._/ -]{1,500}$")


def _object(commit: str) -> str:
    """`commit` if it is a hexadecimal object name, else SourceError."""
    if not _OBJECT.match(commit):
        raise SourceError(f"not a commit id: {commit[:80]!r}")
    return commit


def _branch(name: str) -> str:
    if not _BRANCH.match(name):
        raise SourceError(f"not a branch name: {name[:80]!r}")
    return name


def _path(path: str) -> str:
    if not _PATH.match(path):
        raise SourceError(f"not a repository path: {path[:80]!r}")
    return path


class LocalGitSource:
    """The `GitSource` port on a local (bare or not) git repository."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _git(self, *args: str, env: dict[str, str] | None = None, check: bool = True,
             stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            # Bytes that are not UTF-8 (in a file's content) travel as surrogateescape:
            # the loader reports them, where they are, instead of a UnicodeDecodeError here.
            ["git", "-C", str(self.path), *args], capture_output=True, text=True,
            encoding="utf-8", errors="surrogateescape",
            env={**os.environ, **AUTHOR, **(env or {})}, input=stdin, check=False,
        )
        if check and result.returncode != 0:
            raise SourceError(f"git {' '.join(args[:2])}: {result.stderr.strip()}")
        return result

    def branch_tip(self, branch: str) -> str:
        """`git rev-parse` of refs/heads/BRANCH (SourceError if there is none)."""
        result = self._git("rev-parse", "--verify", "--quiet",
                           f"refs/heads/{_branch(branch)}^{{commit}}", check=False)
        if result.returncode != 0:
            raise SourceError(f"no branch {branch!r} in {self.path}")
        return result.stdout.strip()

    def changed_paths(self, before: str | None, after: str) -> list[str]:
        """`git diff --name-only` (every file of `after` when `before` is None)."""
        if before is None:
            out = self._git("ls-tree", "-r", "--name-only", _object(after), "--").stdout
        else:
            out = self._git("diff", "--name-only", "--no-renames", _object(before),
                            _object(after), "--").stdout
        return [line for line in out.splitlines() if line]

    def read_file(self, commit: str, path: str) -> str | None:
        """`git show COMMIT:PATH`, or None when the file is not there."""
        result = self._git("show", f"{_object(commit)}:{_path(path)}", check=False)
        return result.stdout if result.returncode == 0 else None

    def commit(self, commit_id: str) -> Commit:
        """The commit's id, parents and message."""
        out = self._git("show", "-s", "--format=%H%n%P%n%B", _object(commit_id), "--").stdout
        sha, parents, *message = out.split("\n")
        return Commit(id=sha, message="\n".join(message).strip(),
                      parents=tuple(p for p in parents.split() if p))

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """`git merge-base --is-ancestor`; False for unknown or malformed ids."""
        if not (_OBJECT.match(ancestor) and _OBJECT.match(descendant)):
            return False
        result = self._git("merge-base", "--is-ancestor", ancestor, descendant, check=False)
        return result.returncode == 0

    def file_history(self, tip: str, path: str, *, limit: int) -> list[str]:
        """`git log --format=%H -n LIMIT TIP -- PATH`."""
        out = self._git("log", "--format=%H", f"-n{int(limit)}", _object(tip), "--",
                        _path(path)).stdout
        return [line for line in out.splitlines() if line]

    def put_file(self, *, branch: str, parent: str, path: str, content: str, message: str) -> str:
        """Commit `content` at `path` on top of `parent` and move `branch` to it, only if
        the branch is still at `parent` (ConflictError otherwise)."""
        blob = self._git("hash-object", "-w", "--stdin", stdin=content).stdout.strip()
        with tempfile.TemporaryDirectory() as tmp:
            index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self._git("read-tree", _object(parent), env=index)
            self._git("update-index", "--add", "--cacheinfo", f"100644,{blob},{_path(path)}",
                      env=index)
            tree = self._git("write-tree", env=index).stdout.strip()
        new = self._git("commit-tree", tree, "-p", parent, "-m", message).stdout.strip()
        moved = self._git("update-ref", f"refs/heads/{_branch(branch)}", new, parent,
                          check=False)
        if moved.returncode != 0:
            raise ConflictError(f"branch {branch} moved past {parent[:12]}: {moved.stderr.strip()}")
        return new


_PULL_REQUEST_ID = re.compile(r"^[0-9]{1,12}$")
PULL_REQUESTS = "ecs-gitops-pull-requests"  # the folder, inside the git directory
# CodeCommit API Reference, PostCommentForPullRequest and UpdateComment:
# CommentContentSizeLimitExceededException, "Comments are limited to 10,240 characters";
# CommentContentRequiredException, "The comment is empty".
COMMENT_LIMIT = 10_240


def _comment_content(operation: str, content: str) -> None:
    """Refuse what CodeCommit refuses as a comment's content, as it does (a permanent
    error of the call, nothing written)."""
    if not content:
        raise AwsError(operation, "CommentContentRequiredException", "The comment is empty.")
    if len(content) > COMMENT_LIMIT:
        raise AwsError(operation, "CommentContentSizeLimitExceededException",
                       f"The comment is too large ({len(content)} characters). Comments are "
                       f"limited to {COMMENT_LIMIT:,} characters.")


class LocalPullRequests:
    """The `PullRequests` port on a local git repository: the embedded cloud's
    CodeCommit pull requests (moto has none).

    Each pull request is a JSON file in the repository's git directory (never in a work
    tree), written under a lock. It behaves as CodeCommit does where the controllers can
    tell: an OPEN pull request's source commit is its source branch's tip, a comment is
    posted once per idempotency token (the same token with other parameters is refused),
    and the merge is a fast-forward or a three-way merge commit on no branch.
    """

    def __init__(self, path: str | Path, repository: str = "ecs-gitops") -> None:
        self.git = LocalGitSource(path)
        self.repository = repository
        self._folder: Path | None = None

    @property
    def folder(self) -> Path:
        """Where the pull requests are: inside the git directory (found at first use)."""
        if self._folder is None:
            found = self.git._git("rev-parse", "--absolute-git-dir").stdout.strip()
            self._folder = Path(found) / PULL_REQUESTS
        return self._folder

    # ------------------------------------------------------------- storage
    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _file(self, pull_request_id: str) -> Path:
        if not _PULL_REQUEST_ID.match(pull_request_id):
            raise SourceError(f"not a pull request id: {pull_request_id[:40]!r}")
        return self.folder / f"{pull_request_id}.json"

    def _read(self, pull_request_id: str) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self._file(pull_request_id).read_text())
        except FileNotFoundError:
            raise SourceError(f"no pull request {pull_request_id}") from None
        return data

    def _write(self, data: dict[str, Any]) -> None:
        target = self._file(str(data["pullRequestId"]))
        temporary = target.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=1))
        temporary.replace(target)

    # ------------------------------------------- what the console and git do
    def create(self, *, source_branch: str, destination_branch: str, title: str = "") -> str:
        """CreatePullRequest: a new OPEN pull request; returns its id."""
        source = self.git.branch_tip(source_branch)
        destination = self.git.branch_tip(destination_branch)
        if source == destination:
            raise SourceError(f"{source_branch} and {destination_branch} are the same commit: "
                              "nothing to merge")
        with self._locked():
            ids = [int(p.stem) for p in self.folder.glob("*.json") if p.stem.isdigit()]
            number = str(max(ids, default=0) + 1)
            self._write({"pullRequestId": number, "title": title or f"{source_branch} into "
                         f"{destination_branch}", "pullRequestStatus": "OPEN",
                         "sourceReference": f"refs/heads/{_branch(source_branch)}",
                         "destinationReference": f"refs/heads/{_branch(destination_branch)}",
                         "sourceCommit": source, "destinationCommit": destination,
                         "isMerged": False, "comments": []})
        return number

    def refresh(self, pull_request_id: str) -> PullRequest:
        """Record the branches' tips as the pull request's commits (CodeCommit does it
        when the source branch moves); returns the pull request as it is now."""
        with self._locked():
            data = self._read(pull_request_id)
            if data["pullRequestStatus"] == "OPEN":
                data["sourceCommit"] = self.git.branch_tip(data["sourceReference"][11:])
                data["destinationCommit"] = self.git.branch_tip(
                    data["destinationReference"][11:])
                self._write(data)
        return self.get(pull_request_id)

    def merge(self, pull_request_id: str) -> str:
        """MergePullRequestByFastForward, or by three-way merge when the destination
        moved on: the destination branch moves to the merged commit, the pull request
        is CLOSED and merged. Returns the destination's new tip.

        Raises:
            MergeConflictError: the merge needs a person.
            ConflictError: the destination branch moved while merging.
        """
        current = self.refresh(pull_request_id)
        if current.status != "OPEN":
            raise SourceError(f"pull request {pull_request_id} is already closed")
        merged = self.merge_commit(current.source_commit, current.destination_commit)
        moved = self.git._git("update-ref", f"refs/heads/{_branch(current.destination_branch)}",
                              merged, current.destination_commit, check=False)
        if moved.returncode != 0:
            raise ConflictError(f"{current.destination_branch} moved while merging")
        with self._locked():
            data = self._read(pull_request_id)
            data.update(pullRequestStatus="CLOSED", isMerged=True)
            self._write(data)
        return merged

    def open_requests(self) -> list[PullRequest]:
        """The OPEN pull requests, oldest first (ListPullRequests with status OPEN)."""
        if not self.folder.is_dir():
            return []
        numbers = sorted(int(p.stem) for p in self.folder.glob("*.json") if p.stem.isdigit())
        found = [self.get(str(n)) for n in numbers]
        return [pr for pr in found if pr.status == "OPEN"]

    def recorded_source(self, pull_request_id: str) -> str:
        """The source commit last recorded (at creation or by `refresh`)."""
        return str(self._read(pull_request_id)["sourceCommit"])

    def title(self, pull_request_id: str) -> str:
        """The pull request's title."""
        return str(self._read(pull_request_id).get("title", ""))

    # ----------------------------------------------------- PullRequests port
    def get(self, pull_request_id: str) -> PullRequest:
        """The pull request; an OPEN one's source commit is its source branch's tip."""
        data = self._read(pull_request_id)
        source_branch = str(data["sourceReference"]).removeprefix("refs/heads/")
        source = str(data["sourceCommit"])
        if data["pullRequestStatus"] == "OPEN":
            with suppress(SourceError):
                source = self.git.branch_tip(source_branch)
        return PullRequest(id=str(data["pullRequestId"]), status=str(data["pullRequestStatus"]),
                           repository=self.repository, source_branch=source_branch,
                           destination_branch=str(data["destinationReference"])
                           .removeprefix("refs/heads/"),
                           source_commit=source,
                           destination_commit=str(data["destinationCommit"]),
                           merged=bool(data.get("isMerged")))

    def merge_commit(self, source: str, destination: str) -> str:
        """`source` when `destination` is its ancestor, else `git merge-tree
        --write-tree` (git >= 2.38) and a two-parent commit on no branch."""
        if self.git.is_ancestor(destination, source):
            return _object(source)
        result = self.git._git("merge-tree", "--write-tree", "--name-only", "--no-messages",
                               _object(destination), _object(source), check=False)
        lines = result.stdout.splitlines()
        if result.returncode == 1:
            raise MergeConflictError(
                f"{source[:12]} cannot be merged into {destination[:12]} without resolving "
                "conflicts", [line for line in lines[1:] if line])
        if result.returncode != 0 or not lines:
            raise SourceError(f"git merge-tree: {result.stderr.strip()}")
        return self.git._git("commit-tree", lines[0], "-p", destination, "-p", source, "-m",
                             f"ecs-gitops preview: merge {source[:12]} into {destination[:12]}"
                             ).stdout.strip()

    def comments(self, pull_request_id: str) -> list[PullRequestComment]:
        """The comments, oldest first."""
        return [PullRequestComment(c["commentId"], c["content"])
                for c in self._read(pull_request_id)["comments"]]

    def post_comment(self, pull_request_id: str, *, before: str, after: str, content: str,
                     token: str) -> str:
        """A new comment, or the one posted before with the same token and parameters
        (the same token with other parameters: ConflictError, as CodeCommit's
        IdempotencyParameterMismatchException). Content CodeCommit refuses is refused.
        """
        _comment_content("PostCommentForPullRequest", content)
        with self._locked():
            data = self._read(pull_request_id)
            asked = {"beforeCommitId": before, "afterCommitId": after, "content": content}
            for comment in data["comments"]:
                if token and comment.get("clientRequestToken") == token:
                    if comment["asked"] != asked:
                        raise ConflictError(f"pull request {pull_request_id}: a comment with "
                                            "this token was posted with other content")
                    return str(comment["commentId"])
            number = sum(len(json.loads(p.read_text())["comments"])
                         for p in self.folder.glob("*.json")) + 1
            comment_id = f"{number:08d}-0000-4000-8000-{int(pull_request_id):012d}"
            data["comments"].append({"commentId": comment_id, "content": content,
                                     "clientRequestToken": token, "asked": asked})
            self._write(data)
        return comment_id

    def update_comment(self, comment_id: str, content: str) -> None:
        """Replace the comment's content (SourceError when there is no such comment).
        Content CodeCommit refuses is refused."""
        _comment_content("UpdateComment", content)
        with self._locked():
            for path in self.folder.glob("*.json"):
                data = json.loads(path.read_text())
                for comment in data["comments"]:
                    if comment["commentId"] == comment_id:
                        comment["content"] = content
                        self._write(data)
                        return
        raise SourceError(f"no comment {comment_id}")
