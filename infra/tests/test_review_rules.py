"""infra/review_rules.py against botocore's Stubber: moto implements no CodeCommit
approval rule template call, so each test states the exact calls CodeCommit receives
(botocore checks every request against the service model) and the answers it gives."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

SCRIPT = Path(__file__).resolve().parents[1] / "review_rules.py"
ACCOUNT = "123456789012"
ROLE_POOL = f"arn:aws:sts::{ACCOUNT}:assumed-role/ecs-gitops-platform-owner/*"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("review_rules", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


rules = _load_script()
TEMPLATES = rules.rule_templates(partition="aws", account=ACCOUNT)


@pytest.fixture
def codecommit() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("codecommit", region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def _stored(template: Any, content: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"approvalRuleTemplate": {
        "approvalRuleTemplateName": template.name,
        "approvalRuleTemplateContent": json.dumps(content or template.content, indent=2),
        "ruleContentSha256": "a" * 64,
    }}


def _missing(stub: Stubber, name: str) -> None:
    stub.add_client_error("get_approval_rule_template", "ApprovalRuleTemplateDoesNotExistException",
                          expected_params={"approvalRuleTemplateName": name})


def test_the_rules_guard_main_with_a_peer_and_a_platform_owner() -> None:
    peer, owners = TEMPLATES
    for template in TEMPLATES:
        assert template.content["Version"] == "2018-11-08"
        assert template.content["DestinationReferences"] == ["refs/heads/main"]
        [statement] = template.content["Statements"]
        assert (statement["Type"], statement["NumberOfApprovalsNeeded"]) == ("Approvers", 1)
        assert len(template.content_text()) <= 3000  # the API's limit on content
    assert peer.content["Statements"][0]["ApprovalPoolMembers"] == [f"arn:aws:iam::{ACCOUNT}:user/*"]
    assert owners.content["Statements"][0]["ApprovalPoolMembers"] == [ROLE_POOL]


def test_pool_names_the_role_of_the_people_stack(people: dict[str, Any]) -> None:
    assert people["Parameters"]["PlatformOwnerRoleName"]["Default"] == rules.DEFAULT_ROLE
    assert people["Parameters"]["ProductionBranch"]["Default"] == rules.DEFAULT_BRANCH
    assert people["Parameters"]["RepositoryName"]["Default"] == rules.DEFAULT_REPOSITORY


def test_creates_and_associates_what_is_missing(codecommit: tuple[Any, Stubber]) -> None:
    client, stub = codecommit
    for template in TEMPLATES:
        _missing(stub, template.name)
        stub.add_response("create_approval_rule_template", _stored(template), {
            "approvalRuleTemplateName": template.name,
            "approvalRuleTemplateContent": template.content_text(),
            "approvalRuleTemplateDescription": template.description,
        })
    stub.add_response("list_associated_approval_rule_templates_for_repository",
                      {"approvalRuleTemplateNames": []}, {"repositoryName": "ecs-gitops"})
    for template in TEMPLATES:
        stub.add_response("associate_approval_rule_template_with_repository", {},
                          {"approvalRuleTemplateName": template.name, "repositoryName": "ecs-gitops"})
    said: list[str] = []
    changes = rules.ensure(client, TEMPLATES, repository="ecs-gitops", say=said.append)
    assert changes == said == [
        "created ecs-gitops-peer-review", "created ecs-gitops-platform-owners",
        "associated ecs-gitops-peer-review with ecs-gitops",
        "associated ecs-gitops-platform-owners with ecs-gitops",
    ]


def test_changes_nothing_when_everything_is_in_place(codecommit: tuple[Any, Stubber]) -> None:
    client, stub = codecommit
    for template in TEMPLATES:
        # Stored with other whitespace: the same content all the same.
        stub.add_response("get_approval_rule_template", _stored(template),
                          {"approvalRuleTemplateName": template.name})
    stub.add_response("list_associated_approval_rule_templates_for_repository",
                      {"approvalRuleTemplateNames": ["other"], "nextToken": "t1"},
                      {"repositoryName": "ecs-gitops"})
    stub.add_response("list_associated_approval_rule_templates_for_repository",
                      {"approvalRuleTemplateNames": [t.name for t in TEMPLATES]},
                      {"repositoryName": "ecs-gitops", "nextToken": "t1"})
    assert rules.ensure(client, TEMPLATES, repository="ecs-gitops", say=lambda _: None) == []


def test_updates_a_template_that_says_something_else(codecommit: tuple[Any, Stubber]) -> None:
    client, stub = codecommit
    peer, owners = TEMPLATES
    loosened = {**owners.content, "Statements": [{"Type": "Approvers", "NumberOfApprovalsNeeded": 1}]}
    stub.add_response("get_approval_rule_template", _stored(peer), {"approvalRuleTemplateName": peer.name})
    stub.add_response("get_approval_rule_template", _stored(owners, loosened),
                      {"approvalRuleTemplateName": owners.name})
    stub.add_response("update_approval_rule_template_content", _stored(owners), {
        "approvalRuleTemplateName": owners.name,
        "newRuleContent": owners.content_text(),
        "existingRuleContentSha256": "a" * 64,
    })
    stub.add_response("list_associated_approval_rule_templates_for_repository",
                      {"approvalRuleTemplateNames": [t.name for t in TEMPLATES]},
                      {"repositoryName": "ecs-gitops"})
    assert rules.ensure(client, TEMPLATES, repository="ecs-gitops", say=lambda _: None) == [
        "updated ecs-gitops-platform-owners"]


def test_a_missing_repository_is_a_clear_error(codecommit: tuple[Any, Stubber]) -> None:
    client, stub = codecommit
    for template in TEMPLATES:
        stub.add_response("get_approval_rule_template", _stored(template),
                          {"approvalRuleTemplateName": template.name})
    stub.add_client_error("list_associated_approval_rule_templates_for_repository",
                          "RepositoryDoesNotExistException")
    with pytest.raises(rules.ReviewRulesError, match="repository nowhere does not exist"):
        rules.ensure(client, TEMPLATES, repository="nowhere", say=lambda _: None)


def test_other_aws_errors_are_not_swallowed(codecommit: tuple[Any, Stubber]) -> None:
    client, stub = codecommit
    stub.add_client_error("get_approval_rule_template", "AccessDeniedException")
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError):
        rules.ensure(client, TEMPLATES, repository="ecs-gitops", say=lambda _: None)


def test_account_must_be_twelve_digits() -> None:
    with pytest.raises(rules.ReviewRulesError):
        rules.rule_templates(partition="aws", account="12345")


class _Session:
    def __init__(self, clients: dict[str, Any]) -> None:
        self.clients = clients

    def client(self, name: str) -> Any:
        return self.clients[name]


def test_main_reads_the_account_from_the_caller(
    codecommit: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    client, stub = codecommit
    sts = boto3.client("sts", region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    with Stubber(sts) as sts_stub:
        sts_stub.add_response("get_caller_identity", {
            "Account": ACCOUNT, "UserId": "AIDA", "Arn": f"arn:aws:iam::{ACCOUNT}:user/admin"})
        for template in TEMPLATES:
            stub.add_response("get_approval_rule_template", _stored(template),
                              {"approvalRuleTemplateName": template.name})
        stub.add_response("list_associated_approval_rule_templates_for_repository",
                          {"approvalRuleTemplateNames": [t.name for t in TEMPLATES]},
                          {"repositoryName": "ecs-gitops"})
        assert rules.main([], session=_Session({"sts": sts, "codecommit": client})) == 0
    assert capsys.readouterr().out == (
        "ecs-gitops: ecs-gitops-peer-review, ecs-gitops-platform-owners already in place\n")


def test_main_reports_errors_without_a_traceback(
    codecommit: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    client, stub = codecommit
    sts = boto3.client("sts", region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    with Stubber(sts) as sts_stub:
        sts_stub.add_response("get_caller_identity", {
            "Account": ACCOUNT, "UserId": "AIDA", "Arn": f"arn:aws:iam::{ACCOUNT}:user/admin"})
        for template in TEMPLATES:
            stub.add_response("get_approval_rule_template", _stored(template),
                              {"approvalRuleTemplateName": template.name})
        stub.add_client_error("list_associated_approval_rule_templates_for_repository",
                              "RepositoryDoesNotExistException")
        code = rules.main(["--repository", "ecs-gitops"],
                          session=_Session({"sts": sts, "codecommit": client}))
    assert code == 1
    err = capsys.readouterr().err
    assert err == "error: repository ecs-gitops does not exist in this account and region\n"
