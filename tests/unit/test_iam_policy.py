"""The static IAM evaluator the template tests rely on (tests/support/iam_policy.py),
checked case by case against the rules of the IAM User Guide ("Policy evaluation
logic", "Condition operators", "Single-valued vs. multivalued context keys")."""

from __future__ import annotations

from typing import Any

import pytest
from iam_policy import (
    Decision,
    Request,
    TemplateResolver,
    UnsupportedPolicyError,
    aws_managed_policy,
    evaluate,
    matches,
)

REPO = "arn:aws:codecommit:us-east-1:123456789012:ecs-gitops"
SERVICE = "arn:aws:ecs:us-east-1:123456789012:service/dbscluster/api"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def decide(policy: dict[str, Any], action: str, resource: str, **context: Any) -> Decision:
    return evaluate([policy], Request(action, resource, context))


# ---------------------------------------------------------------- wildcards


@pytest.mark.parametrize(("pattern", "value", "expected"), [
    ("*", "anything", True),
    ("arn:aws:ecs:*:*:service/dbscluster/*", SERVICE, True),
    ("arn:aws:ecs:*:*:service/other/*", SERVICE, False),
    ("refs/heads/mai?", "refs/heads/main", True),
    ("refs/heads/mai?", "refs/heads/mainline", False),
    # Regex metacharacters are literal: "." is not "any character".
    ("a.c", "abc", False),
    ("a+c", "a+c", True),
    ("", "", True),
])
def test_wildcards(pattern: str, value: str, expected: bool) -> None:
    assert matches(pattern, value) is expected


def test_actions_are_case_insensitive_resources_are_not() -> None:
    policy = doc({"Effect": "Allow", "Action": "ECS:updateservice", "Resource": SERVICE})
    assert decide(policy, "ecs:UpdateService", SERVICE) is Decision.ALLOWED
    assert decide(policy, "ecs:UpdateService", SERVICE.upper()) is Decision.IMPLICIT_DENY


def test_action_wildcards() -> None:
    policy = doc({"Effect": "Allow", "Action": ["codecommit:Get*", "codecommit:Merge*"], "Resource": "*"})
    assert decide(policy, "codecommit:GetBranch", REPO) is Decision.ALLOWED
    assert decide(policy, "codecommit:MergePullRequestBySquash", REPO) is Decision.ALLOWED
    assert decide(policy, "codecommit:GitPush", REPO) is Decision.IMPLICIT_DENY


# ---------------------------------------------------------------- evaluation logic


def test_nothing_allowed_is_an_implicit_deny() -> None:
    assert evaluate([], Request("s3:GetObject", "arn:aws:s3:::b/k")) is Decision.IMPLICIT_DENY


def test_an_explicit_deny_wins_over_any_allow() -> None:
    allow = doc({"Effect": "Allow", "Action": "codecommit:*", "Resource": REPO})
    deny = doc({"Effect": "Deny", "Action": "codecommit:DeleteRepository", "Resource": "*"})
    assert evaluate([allow, deny], Request("codecommit:DeleteRepository", REPO)) is Decision.EXPLICIT_DENY
    assert evaluate([deny, allow], Request("codecommit:GitPull", REPO)) is Decision.ALLOWED


def test_not_action_and_not_resource() -> None:
    policy = doc({"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::secret/*"})
    assert decide(policy, "s3:GetObject", "arn:aws:s3:::public/k") is Decision.ALLOWED
    assert decide(policy, "s3:GetObject", "arn:aws:s3:::secret/k") is Decision.IMPLICIT_DENY
    assert decide(policy, "iam:PassRole", "arn:aws:s3:::public/k") is Decision.IMPLICIT_DENY


def test_a_deny_whose_condition_does_not_match_does_not_apply() -> None:
    # moto's evaluator gets this wrong (an unmatched condition becomes a deny).
    allow = doc({"Effect": "Allow", "Action": "codecommit:GitPush", "Resource": REPO})
    deny = doc({"Effect": "Deny", "Action": "codecommit:GitPush", "Resource": REPO,
                "Condition": {"StringEqualsIfExists": {"codecommit:References": "refs/heads/main"}}})
    push = Request("codecommit:GitPush", REPO, {"codecommit:References": "refs/heads/development"})
    assert evaluate([allow, deny], push) is Decision.ALLOWED


# ---------------------------------------------------------------- conditions


MAIN_DENY = doc({
    "Effect": "Deny", "Action": "codecommit:GitPush", "Resource": REPO,
    "Condition": {"StringEqualsIfExists": {"codecommit:References": ["refs/heads/main"]},
                  "Null": {"codecommit:References": "false"}},
})


@pytest.mark.parametrize(("refs", "expected"), [
    ("refs/heads/main", Decision.EXPLICIT_DENY),
    (["refs/heads/development", "refs/heads/main"], Decision.EXPLICIT_DENY),  # any value
    ("refs/heads/development", Decision.IMPLICIT_DENY),
    (None, Decision.IMPLICIT_DENY),  # Null false: the key must be present
])
def test_the_documented_branch_protection_pattern(refs: Any, expected: Decision) -> None:
    context = {} if refs is None else {"codecommit:References": refs}
    assert evaluate([MAIN_DENY], Request("codecommit:GitPush", REPO, context)) is expected


def test_condition_key_names_are_case_insensitive_values_are_not() -> None:
    policy = doc({"Effect": "Allow", "Action": "ecs:UpdateService", "Resource": "*",
                  "Condition": {"StringEquals": {"aws:ResourceTag/ecs-gitops:managed-by": "ecs-gitops"}}})
    assert decide(policy, "ecs:UpdateService", SERVICE,
                  **{"AWS:resourcetag/ecs-gitops:managed-by": "ecs-gitops"}) is Decision.ALLOWED
    assert decide(policy, "ecs:UpdateService", SERVICE,
                  **{"aws:ResourceTag/ecs-gitops:managed-by": "ECS-GITOPS"}) is Decision.IMPLICIT_DENY
    assert decide(policy, "ecs:UpdateService", SERVICE) is Decision.IMPLICIT_DENY


CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/dbscluster"


@pytest.mark.parametrize(("operator", "policy_value", "present", "absent"), [
    ("StringEquals", CLUSTER, True, False),
    ("StringEquals", "arn:aws:ecs:*:*:cluster/dbscluster", False, False),  # no wildcards here
    ("StringEqualsIfExists", CLUSTER, True, True),
    ("StringNotEquals", CLUSTER, False, True),
    ("StringLike", "arn:aws:ecs:*:*:cluster/dbscluster", True, False),
    ("StringNotLike", "arn:aws:ecs:*:*:cluster/dbscluster", False, True),
    ("ArnEquals", CLUSTER, True, False),
    ("ArnLike", "arn:aws:ecs:*:*:cluster/db*", True, False),
])
def test_operators_on_a_present_and_an_absent_key(
    operator: str, policy_value: str, present: bool, absent: bool
) -> None:
    policy = doc({"Effect": "Allow", "Action": "ecs:ListServices", "Resource": "*",
                  "Condition": {operator: {"ecs:cluster": policy_value}}})
    with_key = decide(policy, "ecs:ListServices", "*", **{"ecs:cluster": CLUSTER})
    without = decide(policy, "ecs:ListServices", "*")
    assert (with_key is Decision.ALLOWED, without is Decision.ALLOWED) == (present, absent)


def test_keys_of_one_operator_and_operators_are_all_required() -> None:
    policy = doc({"Effect": "Allow", "Action": "ecs:CreateService", "Resource": "*",
                  "Condition": {"StringEquals": {"aws:RequestTag/a": "1", "aws:RequestTag/b": "2"},
                                "Null": {"aws:RequestTag/c": "true"}}})
    both = {"aws:RequestTag/a": "1", "aws:RequestTag/b": "2"}
    assert decide(policy, "ecs:CreateService", "*", **both) is Decision.ALLOWED
    assert decide(policy, "ecs:CreateService", "*", **{"aws:RequestTag/a": "1"}) is Decision.IMPLICIT_DENY
    extra = {**both, "aws:RequestTag/c": "x"}
    assert decide(policy, "ecs:CreateService", "*", **extra) is Decision.IMPLICIT_DENY


def test_set_operators() -> None:
    policy = doc({"Effect": "Allow", "Action": "ecs:TagResource", "Resource": "*",
                  "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}})
    assert decide(policy, "ecs:TagResource", "*", **{"aws:TagKeys": ["a"]}) is Decision.ALLOWED
    assert decide(policy, "ecs:TagResource", "*", **{"aws:TagKeys": ["a", "x"]}) is Decision.IMPLICIT_DENY
    # The documented pitfall: ForAllValues matches when the key is absent.
    assert decide(policy, "ecs:TagResource", "*") is Decision.ALLOWED
    any_of = doc({"Effect": "Allow", "Action": "ecs:TagResource", "Resource": "*",
                  "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}}})
    assert decide(any_of, "ecs:TagResource", "*", **{"aws:TagKeys": ["x", "a"]}) is Decision.ALLOWED
    assert decide(any_of, "ecs:TagResource", "*", **{"aws:TagKeys": ["x"]}) is Decision.IMPLICIT_DENY
    assert decide(any_of, "ecs:TagResource", "*") is Decision.IMPLICIT_DENY


def test_bool_condition() -> None:
    policy = doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*",
                  "Condition": {"Bool": {"aws:MultiFactorAuthPresent": True}}})
    assert decide(policy, "sts:AssumeRole", "*", **{"aws:MultiFactorAuthPresent": "true"}) is Decision.ALLOWED
    assert decide(policy, "sts:AssumeRole", "*", **{"aws:MultiFactorAuthPresent": "false"}) \
        is Decision.IMPLICIT_DENY
    assert decide(policy, "sts:AssumeRole", "*") is Decision.IMPLICIT_DENY


@pytest.mark.parametrize("statement", [
    {"Effect": "Allow", "Action": "a:b", "Resource": "*", "Condition": {"NumericLessThan": {"k": "1"}}},
    {"Effect": "Allow", "Action": "a:b", "Resource": "*",
     "Condition": {"ForSomeValues:StringEquals": {"k": "1"}}},
    {"Effect": "Allow", "Action": "a:b", "Resource": "*", "Condition": {"Null": {"k": "maybe"}}},
    {"Effect": "Allow", "Action": "a:b", "Resource": "*", "Principal": "*"},
    {"Effect": "Allow", "Action": "a:b"},
    {"Effect": "Maybe", "Action": "a:b", "Resource": "*"},
])
def test_what_it_does_not_model_is_refused_not_guessed(statement: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedPolicyError):
        decide(doc(statement), "a:b", "*", k="1")


# ---------------------------------------------------------------- templates


def test_resolver_resolves_what_the_templates_use() -> None:
    template = {
        "Parameters": {"ClusterName": {"Default": "dbscluster"}},
        "Conditions": {},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    }
    resolve = TemplateResolver(template, values={"AWS::Region": "us-east-1"}, conditions={"On": False},
                               physical={"Topic": "arn:aws:sns:us-east-1:1:t", "Table.Arn": "arn:table"})
    assert resolve({"Fn::Sub": "x:${AWS::Region}:${ClusterName}/${Table.Arn}"}) == \
        "x:us-east-1:dbscluster/arn:table"
    assert resolve({"Fn::Sub": ["${A}-${ClusterName}", {"A": {"Ref": "Topic"}}]}) == \
        "arn:aws:sns:us-east-1:1:t-dbscluster"
    assert resolve({"Fn::GetAtt": ["Table", "Arn"]}) == "arn:table"
    joined = {"Fn::Join": [",", ["a", {"Ref": "ClusterName"}]]}
    assert resolve({"Fn::If": ["On", 1, joined]}) == "a,dbscluster"
    with pytest.raises(KeyError):
        resolve({"Ref": "Nowhere"})
    with pytest.raises(UnsupportedPolicyError):
        resolve({"Fn::ImportValue": "x"})


def test_aws_managed_policies_come_from_moto_s_copy() -> None:
    core = aws_managed_policy("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")
    # The reason the instance role no longer carries it: it reads every parameter.
    docker = "arn:aws:ssm:us-east-1:1:parameter/docker/password"
    assert evaluate([core], Request("ssm:GetParameters", docker)) is Decision.ALLOWED
