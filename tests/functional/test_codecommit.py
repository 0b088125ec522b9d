"""The CodeCommit source, with botocore's Stubber (moto implements no branch, file or
diff call), against response shapes from the CodeCommit API reference."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from ecs_gitops.aws.clients import Clients
from ecs_gitops.aws.codecommit import CodeCommitSource
from ecs_gitops.desired import load_environment_text
from ecs_gitops.errors import ConflictError, DesiredStateError, SourceError

REPO = "ecs-gitops"
A, B, C = "a" * 40, "b" * 40, "c" * 40


@pytest.fixture
def source() -> Iterator[tuple[CodeCommitSource, Stubber]]:
    clients = Clients(region="us-east-1")
    source = CodeCommitSource(clients, REPO)
    with Stubber(source.cc) as stub:
        yield source, stub
        stub.assert_no_pending_responses()


def test_branch_tip(source: Any) -> None:
    src, stub = source
    stub.add_response("get_branch", {"branch": {"branchName": "main", "commitId": B}},
                      {"repositoryName": REPO, "branchName": "main"})
    assert src.branch_tip("main") == B


def test_missing_branch(source: Any) -> None:
    src, stub = source
    stub.add_client_error("get_branch", "BranchDoesNotExistException", "no such branch")
    with pytest.raises(SourceError, match="no branch 'nope'"):
        src.branch_tip("nope")


def test_changed_paths_reads_every_page(source: Any) -> None:
    src, stub = source
    stub.add_response("get_differences", {
        "differences": [{"afterBlob": {"path": "apps/api/main.py", "blobId": "1", "mode": "100644"},
                         "beforeBlob": {"path": "apps/api/main.py", "blobId": "0",
                                        "mode": "100644"}, "changeType": "M"}],
        "NextToken": "t1"},
        {"repositoryName": REPO, "beforeCommitSpecifier": A, "afterCommitSpecifier": B})
    stub.add_response("get_differences", {
        "differences": [{"beforeBlob": {"path": "old.txt", "blobId": "2", "mode": "100644"},
                         "changeType": "D"},
                        {"afterBlob": {"path": "desired_state/production.yaml", "blobId": "3",
                                       "mode": "100644"}, "changeType": "A"}]},
        {"repositoryName": REPO, "beforeCommitSpecifier": A, "afterCommitSpecifier": B,
         "NextToken": "t1"})
    assert src.changed_paths(A, B) == ["apps/api/main.py", "old.txt",
                                       "desired_state/production.yaml"]


def test_read_file_and_missing_file(source: Any) -> None:
    src, stub = source
    stub.add_response("get_file", {"commitId": B, "blobId": "1", "filePath": "x.yaml",
                                   "fileMode": "NORMAL", "fileSize": 3, "fileContent": b"a: 1"},
                      {"repositoryName": REPO, "commitSpecifier": B, "filePath": "x.yaml"})
    stub.add_client_error("get_file", "FileDoesNotExistException", "none")
    assert src.read_file(B, "x.yaml") == "a: 1"
    assert src.read_file(B, "y.yaml") is None


def test_a_file_that_is_not_utf8_is_read_and_reported_by_the_loader(source: Any) -> None:
    src, stub = source
    content = b"schemaVersion: 1\nbranch: caf\xe9\n"  # Latin-1, as an old editor saves it
    stub.add_response("get_file", {"commitId": B, "blobId": "1", "filePath": "x.yaml",
                                   "fileMode": "NORMAL", "fileSize": len(content),
                                   "fileContent": content},
                      {"repositoryName": REPO, "commitSpecifier": B, "filePath": "x.yaml"})
    text = src.read_file(B, "x.yaml")  # no UnicodeDecodeError out of the adapter
    assert text is not None
    with pytest.raises(DesiredStateError) as info:
        load_environment_text(text, "x.yaml")
    assert [str(p) for p in info.value.problems] == [
        "x.yaml:2:12: the file is not UTF-8 text: byte 0xE9 here cannot be decoded"]


def test_commit_and_ancestry(source: Any) -> None:
    src, stub = source
    stub.add_response("get_commit", {"commit": {"commitId": B, "message": "m [ecs-gitops write-back]",
                                                "parents": [A], "treeId": "t"}},
                      {"repositoryName": REPO, "commitId": B})
    stub.add_response("get_merge_commit", {"sourceCommitId": A, "destinationCommitId": C,
                                           "baseCommitId": A},
                      {"repositoryName": REPO, "sourceCommitSpecifier": A,
                       "destinationCommitSpecifier": C})
    stub.add_response("get_merge_commit", {"sourceCommitId": C, "destinationCommitId": A,
                                           "baseCommitId": A},
                      {"repositoryName": REPO, "sourceCommitSpecifier": C,
                       "destinationCommitSpecifier": A})
    stub.add_client_error("get_merge_commit", "CommitDoesNotExistException", "unknown")
    commit = src.commit(B)
    assert commit.parents == (A,)
    assert "write-back" in commit.message
    assert src.is_ancestor(A, C) is True
    assert src.is_ancestor(C, A) is False
    assert src.is_ancestor("f" * 40, C) is False
    assert src.is_ancestor(C, C) is True  # no call needed


def test_put_file_names_its_parent_and_maps_conflicts(source: Any) -> None:
    src, stub = source
    expected = {"repositoryName": REPO, "branchName": "main", "parentCommitId": B,
                "authorName": "ecs-gitops", "email": "ecs-gitops@users.noreply.local",
                "commitMessage": "deploy", "putFiles": [
                    {"filePath": "desired_state/production.yaml", "fileContent": b"x: 1\n"}]}
    stub.add_response("create_commit", {"commitId": C, "treeId": "t", "filesAdded": [],
                                        "filesUpdated": [], "filesDeleted": []}, expected)
    stub.add_client_error("create_commit", "ParentCommitIdOutdatedException", "moved")
    assert src.put_file(branch="main", parent=B, path="desired_state/production.yaml",
                        content="x: 1\n", message="deploy") == C
    with pytest.raises(ConflictError):
        src.put_file(branch="main", parent=B, path="desired_state/production.yaml",
                     content="x: 1\n", message="deploy")
