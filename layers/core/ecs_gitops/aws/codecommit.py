"""`GitSource` on CodeCommit's API (no clone, no work tree).

moto implements no CodeCommit branch, file or diff call, so this adapter is tested
with botocore's Stubber against the response shapes of the API reference.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ecs_gitops.aws.clients import Clients, translate
from ecs_gitops.errors import ConflictError, MergeConflictError, SourceError
from ecs_gitops.source import Commit, PullRequest, PullRequestComment

AUTHOR = "ecs-gitops"
EMAIL = "ecs-gitops@users.noreply.local"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class CodeCommitSource:
    """The `GitSource` port on CodeCommit's API, for one repository."""

    def __init__(self, clients: Clients, repository: str) -> None:
        self.repository = repository
        self.cc: Any = clients.client("codecommit")

    def branch_tip(self, branch: str) -> str:
        """GetBranch (SourceError if there is no such branch)."""
        try:
            response = self.cc.get_branch(repositoryName=self.repository, branchName=branch)
        except ClientError as exc:
            if _code(exc) == "BranchDoesNotExistException":
                raise SourceError(f"no branch {branch!r} in {self.repository}") from exc
            with translate("GetBranch"):
                raise
        return str(response["branch"]["commitId"])

    def changed_paths(self, before: str | None, after: str) -> list[str]:
        """GetDifferences, every page (both sides of renames)."""
        kwargs: dict[str, Any] = {"repositoryName": self.repository,
                                  "afterCommitSpecifier": after}
        if before is not None:
            kwargs["beforeCommitSpecifier"] = before
        paths: list[str] = []
        with translate("GetDifferences"):
            for page in self.cc.get_paginator("get_differences").paginate(**kwargs):
                for difference in page.get("differences", ()):
                    for side in ("afterBlob", "beforeBlob"):
                        path = (difference.get(side) or {}).get("path")
                        if path and path not in paths:
                            paths.append(path)
        return paths

    def read_file(self, commit: str, path: str) -> str | None:
        """GetFile, or None when the file is not there."""
        try:
            response = self.cc.get_file(repositoryName=self.repository, commitSpecifier=commit,
                                        filePath=path)
        except ClientError as exc:
            if _code(exc) == "FileDoesNotExistException":
                return None
            with translate("GetFile"):
                raise
        content = response["fileContent"]
        # Not UTF-8? Keep the bytes (as surrogateescape): the loader reports them, located.
        return content.decode("utf-8", "surrogateescape") if isinstance(content, bytes) \
            else str(content)

    def commit(self, commit_id: str) -> Commit:
        """GetCommit."""
        with translate("GetCommit"):
            raw = self.cc.get_commit(repositoryName=self.repository, commitId=commit_id)["commit"]
        return Commit(id=raw.get("commitId", commit_id), message=raw.get("message", ""),
                      parents=tuple(raw.get("parents", ())))

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Via GetMergeCommit's merge base: `ancestor` is one iff it is the merge base."""
        if ancestor == descendant:
            return True
        try:
            response = self.cc.get_merge_commit(
                repositoryName=self.repository, sourceCommitSpecifier=ancestor,
                destinationCommitSpecifier=descendant)
        except ClientError as exc:
            if _code(exc) in ("CommitDoesNotExistException", "InvalidCommitIdException",
                              "InvalidCommitException", "CommitRequiredException"):
                return False
            with translate("GetMergeCommit"):
                raise
        return bool(response.get("baseCommitId") == ancestor)

    def file_history(self, tip: str, path: str, *, limit: int) -> list[str]:
        """ListFileCommitHistory from `tip` (newest first), at most `limit` commits."""
        ids: list[str] = []
        token: str | None = None
        while len(ids) < limit:
            kwargs: dict[str, Any] = {"repositoryName": self.repository, "commitSpecifier": tip,
                                      "filePath": path, "maxResults": min(100, limit)}
            if token:
                kwargs["nextToken"] = token
            try:
                response = self.cc.list_file_commit_history(**kwargs)
            except ClientError as exc:
                if _code(exc) in ("FileDoesNotExistException", "PathDoesNotExistException"):
                    return ids
                with translate("ListFileCommitHistory"):
                    raise
            ids += [str(v["commit"]["commitId"]) for v in response.get("revisionDag", ())]
            token = response.get("nextToken")
            if not token:
                break
        return ids[:limit]

    def put_file(self, *, branch: str, parent: str, path: str, content: str, message: str) -> str:
        """CreateCommit naming `parent` (ConflictError when the branch moved past it)."""
        try:
            response = self.cc.create_commit(
                repositoryName=self.repository, branchName=branch, parentCommitId=parent,
                authorName=AUTHOR, email=EMAIL, commitMessage=message,
                putFiles=[{"filePath": path, "fileContent": content.encode("utf-8")}])
        except ClientError as exc:
            code = _code(exc)
            if code in ("ParentCommitIdOutdatedException", "ParentCommitDoesNotExistException"):
                raise ConflictError(f"branch {branch} moved past {parent[:12]}") from exc
            if code == "NoChangeException":
                return parent
            with translate("CreateCommit"):
                raise
        return str(response["commitId"])


class CodeCommitPullRequests:
    """The `PullRequests` port on CodeCommit's API, for the configuration repository.

    The merged result is made as CodeCommit would merge the pull request: the source
    commit when the destination is its ancestor (fast-forward), else
    CreateUnreferencedMergeCommit (THREE_WAY_MERGE, no conflict resolution): a commit
    object on no branch, so nothing anyone sees moves (CodeCommit API Reference,
    CreateUnreferencedMergeCommit).
    """

    def __init__(self, clients: Clients, repository: str) -> None:
        self.repository = repository
        self.cc: Any = clients.client("codecommit")

    def get(self, pull_request_id: str) -> PullRequest:
        """GetPullRequest, its first target (a CodeCommit pull request has one)."""
        try:
            raw = self.cc.get_pull_request(pullRequestId=pull_request_id)["pullRequest"]
        except ClientError as exc:
            if _code(exc) in ("PullRequestDoesNotExistException",
                              "InvalidPullRequestIdException"):
                raise SourceError(f"no pull request {pull_request_id}") from exc
            with translate("GetPullRequest"):
                raise
        target = (raw.get("pullRequestTargets") or [{}])[0]
        return PullRequest(
            id=str(raw.get("pullRequestId", pull_request_id)),
            status=str(raw.get("pullRequestStatus", "")),
            repository=str(target.get("repositoryName", "")),
            source_branch=str(target.get("sourceReference", "")).removeprefix("refs/heads/"),
            destination_branch=str(target.get("destinationReference", ""))
            .removeprefix("refs/heads/"),
            source_commit=str(target.get("sourceCommit", "")),
            destination_commit=str(target.get("destinationCommit", "")),
            merged=bool((target.get("mergeMetadata") or {}).get("isMerged", False)))

    def merge_commit(self, source: str, destination: str) -> str:
        """The fast-forward (GetMergeCommit's merge base is `destination`) or
        CreateUnreferencedMergeCommit; ManualMergeRequiredException is a
        MergeConflictError."""
        with translate("GetMergeCommit"):
            base = self.cc.get_merge_commit(
                repositoryName=self.repository, sourceCommitSpecifier=source,
                destinationCommitSpecifier=destination).get("baseCommitId")
        if base == destination:
            return source
        try:
            response = self.cc.create_unreferenced_merge_commit(
                repositoryName=self.repository, sourceCommitSpecifier=source,
                destinationCommitSpecifier=destination, mergeOption="THREE_WAY_MERGE",
                authorName=AUTHOR, email=EMAIL,
                commitMessage=f"ecs-gitops preview: merge {source[:12]} into {destination[:12]}")
        except ClientError as exc:
            if _code(exc) == "ManualMergeRequiredException":
                raise MergeConflictError(f"{source[:12]} cannot be merged into "
                                         f"{destination[:12]} without resolving conflicts"
                                         ) from exc
            with translate("CreateUnreferencedMergeCommit"):
                raise
        return str(response["commitId"])

    def comments(self, pull_request_id: str) -> list[PullRequestComment]:
        """GetCommentsForPullRequest, every page; deleted comments left out.

        Only `pullRequestId`: the comments on every pair of commits. With repositoryName
        CodeCommit also requires beforeCommitId and afterCommitId and returns only the
        comments made on that pair; without them it refuses the call with
        CommitIdRequiredException (API Reference, GetCommentsForPullRequest: "Requirement
        is conditional"; aws/aws-sdk#436, renovatebot/renovate#19420)."""
        found: list[PullRequestComment] = []
        with translate("GetCommentsForPullRequest"):
            pages = self.cc.get_paginator("get_comments_for_pull_request").paginate(
                pullRequestId=pull_request_id)
            for page in pages:
                for data in page.get("commentsForPullRequestData", ()):
                    found += [PullRequestComment(str(c["commentId"]), str(c.get("content", "")))
                              for c in data.get("comments", ()) if not c.get("deleted")]
        return found

    def post_comment(self, pull_request_id: str, *, before: str, after: str, content: str,
                     token: str) -> str:
        """PostCommentForPullRequest with `token` as its clientRequestToken."""
        try:
            response = self.cc.post_comment_for_pull_request(
                pullRequestId=pull_request_id, repositoryName=self.repository,
                beforeCommitId=before, afterCommitId=after, content=content,
                clientRequestToken=token)
        except ClientError as exc:
            if _code(exc) == "IdempotencyParameterMismatchException":
                raise ConflictError(f"pull request {pull_request_id}: a comment with this "
                                    "token was posted with other content") from exc
            with translate("PostCommentForPullRequest"):
                raise
        return str(response["comment"]["commentId"])

    def update_comment(self, comment_id: str, content: str) -> None:
        """UpdateComment (SourceError when the comment was deleted or is not there, or
        was not posted by this role: CommentNotCreatedByCallerException, "Only comment
        authors can modify or delete their comments" - e.g. the stack's role was
        replaced; a new comment is then the only way to show the preview)."""
        try:
            self.cc.update_comment(commentId=comment_id, content=content)
        except ClientError as exc:
            if _code(exc) in ("CommentDeletedException", "CommentDoesNotExistException"):
                raise SourceError(f"comment {comment_id} was deleted") from exc
            if _code(exc) == "CommentNotCreatedByCallerException":
                raise SourceError(f"comment {comment_id} was not posted by this role"
                                  ) from exc
            with translate("UpdateComment"):
                raise
