"""infra/people.yaml: who may change what, asserted as IAM would decide.

moto's CloudFormation cannot create this stack (it skips AWS::IAM::Group, then fails
on the policy attached to it), so every policy is resolved from the template and
evaluated request by request with the static evaluator in tests/support/iam_policy.py;
the requests carry the context CodeCommit gives them (``codecommit:References``, the
ref a call changes: Service Authorization Reference, CodeCommit).
"""

from __future__ import annotations

from typing import Any

import pytest
from iam_policy import Decision, Request, TemplateResolver, evaluate

ACCOUNT, REGION = "123456789012", "us-east-1"
REPO = f"arn:aws:codecommit:{REGION}:{ACCOUNT}:ecs-gitops"
OTHER_REPO = f"arn:aws:codecommit:{REGION}:{ACCOUNT}:payments"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecs-gitops-platform-owner"
MAIN, DEVELOPMENT, FEATURE = "refs/heads/main", "refs/heads/development", "refs/heads/feature/x"
READ_VERBS = ("Describe", "Get", "List", "BatchGet", "Query", "Scan", "FilterLogEvents")


@pytest.fixture(scope="module")
def policies(people: dict[str, Any]) -> Any:
    physical = {name: f"{name}-physical" for name in people["Resources"]}
    physical["PlatformOwnerRole.Arn"] = ROLE
    resolver = TemplateResolver(
        people, values={"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": "aws"},
        physical=physical)
    return resolver.role_policies


@pytest.fixture(scope="module")
def developer(policies: Any) -> Any:
    return policies("DevelopersGroup")


def decide(policy: Any, action: str, resource: str = REPO, **context: Any) -> Decision:
    return evaluate(policy, Request(action, resource, context))


def refs(ref: str | list[str]) -> dict[str, Any]:
    return {"codecommit:References": ref}


# ---------------------------------------------------------------- developers
@pytest.mark.parametrize("ref", [DEVELOPMENT, FEATURE])
@pytest.mark.parametrize("action", [
    "codecommit:GitPush", "codecommit:PutFile", "codecommit:CreateCommit", "codecommit:DeleteFile",
    "codecommit:CreateBranch", "codecommit:MergeBranchesByThreeWay",
])
def test_developers_change_development_and_feature_branches(developer: Any, action: str, ref: str) -> None:
    assert decide(developer, action, **refs(ref)) is Decision.ALLOWED


@pytest.mark.parametrize("action", [
    "codecommit:GitPush", "codecommit:PutFile", "codecommit:CreateCommit", "codecommit:DeleteFile",
    "codecommit:CreateBranch", "codecommit:DeleteBranch", "codecommit:MergeBranchesByFastForward",
    "codecommit:MergeBranchesBySquash", "codecommit:MergeBranchesByThreeWay",
    "codecommit:CreateUnreferencedMergeCommit",
])
def test_nothing_changes_main_directly(developer: Any, action: str) -> None:
    assert decide(developer, action, **refs(MAIN)) is Decision.EXPLICIT_DENY
    # One push of several refs, main among them, is refused whole.
    assert decide(developer, action, **refs([DEVELOPMENT, MAIN])) is Decision.EXPLICIT_DENY


def test_main_changes_by_a_reviewed_pull_request(developer: Any) -> None:
    # Open a pull request, review (approve others'), merge: CodeCommit refuses the merge
    # while the pull request's approval rules are not met, so an allowed merge into
    # main is an approved one (review_rules.py puts the rules there).
    for action in ("codecommit:CreatePullRequest", "codecommit:PostCommentForPullRequest",
                   "codecommit:UpdatePullRequestApprovalState", "codecommit:GetPullRequest",
                   "codecommit:EvaluatePullRequestApprovalRules"):
        assert decide(developer, action) is Decision.ALLOWED, action
    for action in ("codecommit:MergePullRequestByFastForward", "codecommit:MergePullRequestBySquash",
                   "codecommit:MergePullRequestByThreeWay"):
        assert decide(developer, action, **refs(MAIN)) is Decision.ALLOWED, action


@pytest.mark.parametrize("action", [
    "codecommit:OverridePullRequestApprovalRules", "codecommit:DeletePullRequestApprovalRule",
    "codecommit:UpdatePullRequestApprovalRuleContent",
    "codecommit:DisassociateApprovalRuleTemplateFromRepository",
    "codecommit:BatchDisassociateApprovalRuleTemplateFromRepositories",
    "codecommit:AssociateApprovalRuleTemplateWithRepository",
    "codecommit:CreateApprovalRuleTemplate", "codecommit:DeleteApprovalRuleTemplate",
    "codecommit:UpdateApprovalRuleTemplateContent", "codecommit:UpdateApprovalRuleTemplateName",
    "codecommit:DeleteRepository", "codecommit:UpdateRepositoryName",
    "codecommit:UpdateDefaultBranch", "codecommit:PutRepositoryTriggers",
])
def test_no_way_around_the_review(developer: Any, action: str) -> None:
    # Denied outright, even should another policy of the user allow it.
    assert decide(developer, action) is Decision.EXPLICIT_DENY
    assert decide(developer, action, "*") is Decision.EXPLICIT_DENY


@pytest.mark.parametrize("ref", [MAIN, DEVELOPMENT, FEATURE])
def test_no_branch_is_deleted_through_the_api(developer: Any, ref: str) -> None:
    assert decide(developer, "codecommit:DeleteBranch", **refs(ref)) is Decision.EXPLICIT_DENY


def test_only_the_one_repository(developer: Any) -> None:
    for action in ("codecommit:GitPull", "codecommit:GitPush", "codecommit:CreatePullRequest"):
        assert decide(developer, action, OTHER_REPO, **refs(DEVELOPMENT)) is Decision.IMPLICIT_DENY


def test_developers_cannot_act_as_platform_owners(developer: Any) -> None:
    assert decide(developer, "sts:AssumeRole", ROLE, **{"aws:MultiFactorAuthPresent": "true"}) \
        is Decision.IMPLICIT_DENY


def test_developers_only_read_the_release_system(people: dict[str, Any]) -> None:
    [policy] = people["Resources"]["DevelopersGroup"]["Properties"]["Policies"]
    assert policy["PolicyName"] == "release-system-read-only"
    for statement in policy["PolicyDocument"]["Statement"]:
        assert statement["Effect"] == "Allow"
        for action in statement["Action"]:
            assert action.split(":", 1)[1].startswith(READ_VERBS), f"{action} is not a read"


def test_developers_read_wildcards_only_where_aws_offers_no_resource(people: dict[str, Any]) -> None:
    [policy] = people["Resources"]["DevelopersGroup"]["Properties"]["Policies"]
    unscoped = {action for s in policy["PolicyDocument"]["Statement"]
                if s["Resource"] == "*" and "Condition" not in s for action in s["Action"]}
    # ecs:DescribeTaskDefinition and application-autoscaling's reads have no
    # resource-level permissions in IAM; everything else names its resources.
    assert unscoped == {
        "ecs:DescribeTaskDefinition",
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:DescribeScalingPolicies",
        "application-autoscaling:DescribeScalingActivities",
    }


def test_developers_policies_are_these_and_no_managed_one(people: dict[str, Any]) -> None:
    group = people["Resources"]["DevelopersGroup"]["Properties"]
    assert group["GroupName"] == {"Ref": "DevelopersGroupName"}
    assert "ManagedPolicyArns" not in group
    attached = [name for name, body in people["Resources"].items()
                if body["Type"] == "AWS::IAM::Policy"
                and {"Ref": "DevelopersGroup"} in body["Properties"].get("Groups", [])]
    assert attached == ["DevelopersRepositoryPolicy"]


# ---------------------------------------------------------------- platform owners
def test_platform_owners_assume_their_role_only_with_mfa(policies: Any) -> None:
    owners = policies("PlatformOwnersGroup")
    assert decide(owners, "sts:AssumeRole", ROLE, **{"aws:MultiFactorAuthPresent": "true"}) \
        is Decision.ALLOWED
    assert decide(owners, "sts:AssumeRole", ROLE, **{"aws:MultiFactorAuthPresent": "false"}) \
        is Decision.IMPLICIT_DENY
    assert decide(owners, "sts:AssumeRole", ROLE) is Decision.IMPLICIT_DENY
    other = f"arn:aws:iam::{ACCOUNT}:role/admin"
    assert decide(owners, "sts:AssumeRole", other, **{"aws:MultiFactorAuthPresent": "true"}) \
        is Decision.IMPLICIT_DENY


def test_the_role_trusts_the_account_with_mfa_only(people: dict[str, Any]) -> None:
    role = people["Resources"]["PlatformOwnerRole"]["Properties"]
    assert role["RoleName"] == {"Ref": "PlatformOwnerRoleName"}
    [statement] = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    assert statement["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}


def test_platform_owners_review_and_merge_but_never_push_or_bypass(policies: Any) -> None:
    role = policies("PlatformOwnerRole")
    assert decide(role, "codecommit:UpdatePullRequestApprovalState") is Decision.ALLOWED
    assert decide(role, "codecommit:MergePullRequestBySquash", **refs(MAIN)) is Decision.ALLOWED
    for action in ("codecommit:GitPush", "codecommit:PutFile", "codecommit:CreateCommit",
                   "codecommit:MergeBranchesByThreeWay"):
        assert decide(role, action, **refs(MAIN)) is not Decision.ALLOWED, action
    for action in ("codecommit:OverridePullRequestApprovalRules", "codecommit:DeleteBranch",
                   "codecommit:DisassociateApprovalRuleTemplateFromRepository",
                   "codecommit:DeleteRepository"):
        assert decide(role, action) is Decision.EXPLICIT_DENY, action


def test_platform_owners_approve_and_abort_deployments_developers_only_read_them(
        policies: Any) -> None:
    deployment = (f"arn:aws:ecs:us-east-1:{ACCOUNT}:service-deployment/dbscluster/api/"
                  "4793810537205612845")
    owner = policies("PlatformOwnerRole")
    for action in ("ecs:ContinueServiceDeployment", "ecs:StopServiceDeployment",
                   "ecs:DescribeServiceDeployments"):
        assert decide(owner, action, deployment) is Decision.ALLOWED, action
    other = deployment.replace("/dbscluster/", "/othercluster/")
    assert decide(owner, "ecs:ContinueServiceDeployment", other) is not Decision.ALLOWED
    developer = policies("DevelopersGroup")
    assert decide(developer, "ecs:DescribeServiceDeployments", deployment) is Decision.ALLOWED
    for action in ("ecs:ContinueServiceDeployment", "ecs:StopServiceDeployment"):
        assert decide(developer, action, deployment) is not Decision.ALLOWED, action
