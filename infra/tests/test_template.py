"""Assertions made on the template itself, for what moto's CloudFormation skips:
the ECS capacity provider and its association with the cluster, the Secrets Manager
secret and the database password wiring, and the developers' IAM group (see
MOTO_SKIPS in test_stack.py), plus the cluster settings and launch configuration
that moto ignores, the outputs of those skipped resources, and the linters' skips.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

READ_VERBS = ("Describe", "Get", "List", "BatchGet", "Query", "Scan", "FilterLogEvents")


def _resources_of(tpl: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in tpl["Resources"].items() if body["Type"] == kind}


# ---------------------------------------------------------------- ECS on EC2
def test_cluster_is_dbscluster_with_container_insights(template: dict[str, Any]) -> None:
    # moto creates the cluster but ignores ClusterSettings.
    props = template["Resources"]["Cluster"]["Properties"]
    assert props["ClusterName"] == {"Ref": "ClusterName"}
    assert template["Parameters"]["ClusterName"]["Default"] == "dbscluster"
    assert props["ClusterSettings"] == [{"Name": "containerInsights",
                                         "Value": {"Ref": "ContainerInsights"}}]


def test_capacity_provider_scales_the_group_to_80_percent(template: dict[str, Any]) -> None:
    props = template["Resources"]["CapacityProvider"]["Properties"]
    # ECS refuses names starting with "ecs"; a generated one would start with the stack's.
    assert props["Name"] == {"Fn::Sub": "${ClusterName}-ec2"}
    provider = props["AutoScalingGroupProvider"]
    assert provider["AutoScalingGroupArn"] == {"Ref": "AutoScalingGroup"}
    assert provider["ManagedScaling"]["Status"] == "ENABLED"
    assert provider["ManagedScaling"]["TargetCapacity"] == 80
    assert provider["ManagedDraining"] == "ENABLED"


def test_capacity_provider_is_the_cluster_default(template: dict[str, Any]) -> None:
    props = template["Resources"]["ClusterCapacityProviders"]["Properties"]
    assert props["Cluster"] == {"Ref": "Cluster"}
    assert props["CapacityProviders"] == [{"Ref": "CapacityProvider"}]
    assert props["DefaultCapacityProviderStrategy"] == [
        {"CapacityProvider": {"Ref": "CapacityProvider"}, "Weight": 1, "Base": 0}]


def test_group_leaves_its_desired_capacity_to_the_capacity_provider(template: dict[str, Any]) -> None:
    props = template["Resources"]["AutoScalingGroup"]["Properties"]
    assert "DesiredCapacity" not in props
    assert (template["Parameters"]["ClusterMinSize"]["Default"],
            template["Parameters"]["ClusterMaxSize"]["Default"]) == (3, 5)


def test_dynamic_host_port_range_matches_the_security_group(template: dict[str, Any]) -> None:
    user_data = template["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"][
        "UserData"]["Fn::Base64"]["Fn::Sub"]
    found = re.search(r"ECS_DYNAMIC_HOST_PORT_RANGE=(\d+)-(\d+)\n", user_data)
    assert found is not None
    low, high = int(found[1]), int(found[2])
    rule = template["Resources"]["InstancesIngressFromLoadBalancer"]["Properties"]
    assert (rule["FromPort"], rule["ToPort"]) == (low, high)


# ---------------------------------------------------------------- database credentials
def test_password_is_generated_in_secrets_manager(template: dict[str, Any]) -> None:
    secret = template["Resources"]["DbSecret"]["Properties"]
    assert secret["Name"] == "simpleweb/db-credentials"
    generate = secret["GenerateSecretString"]
    assert generate["GenerateStringKey"] == "password"
    assert generate["PasswordLength"] >= 32
    assert generate["SecretStringTemplate"] == {"Fn::Sub": '{"username": "${DbUsername}"}'}


def test_database_reads_the_password_from_the_secret(template: dict[str, Any]) -> None:
    props = template["Resources"]["Database"]["Properties"]
    assert props["MasterUserPassword"] == {
        "Fn::Sub": "{{resolve:secretsmanager:${DbSecret}:SecretString:password}}"}
    assert props["MasterUsername"] == {"Ref": "DbUsername"}
    attachment = template["Resources"]["DbSecretAttachment"]["Properties"]
    assert (attachment["SecretId"], attachment["TargetId"]) == (
        {"Ref": "DbSecret"}, {"Ref": "Database"})


def test_no_password_anywhere_in_clear(template: dict[str, Any]) -> None:
    assert not any("Password" in name and "NoEcho" not in p
                   for name, p in template["Parameters"].items())
    names = [body["Properties"]["Name"]
             for body in _resources_of(template, "AWS::SSM::Parameter").values()]
    assert sorted(names) == ["/simpleweb/db-endpoint", "/simpleweb/db-name",
                             "/simpleweb/db-port", "/simpleweb/db-username"]


def test_multi_az_is_a_parameter(template: dict[str, Any]) -> None:
    assert template["Resources"]["Database"]["Properties"]["MultiAZ"] == {
        "Fn::If": ["MultiAz", True, False]}
    assert template["Conditions"]["MultiAz"] == {"Fn::Equals": [{"Ref": "DbMultiAz"}, "true"]}
    assert template["Parameters"]["DbMultiAz"]["AllowedValues"] == ["true", "false"]


# ---------------------------------------------------------------- developers
def _statements(template: dict[str, Any], policy: str) -> list[dict[str, Any]]:
    policies = template["Resources"]["DevelopersGroup"]["Properties"]["Policies"]
    [found] = [p for p in policies if p["PolicyName"] == policy]
    statements: list[dict[str, Any]] = found["PolicyDocument"]["Statement"]
    return statements


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_developers_have_two_policies_and_no_managed_one(template: dict[str, Any]) -> None:
    props = template["Resources"]["DevelopersGroup"]["Properties"]
    assert props["GroupName"] == {"Ref": "DevelopersGroupName"}
    assert sorted(p["PolicyName"] for p in props["Policies"]) == [
        "release-system-read-only", "repository-full-access"]
    assert "ManagedPolicyArns" not in props


def test_developers_have_everything_on_the_one_repository(template: dict[str, Any]) -> None:
    assert _statements(template, "repository-full-access") == [{
        "Sid": "Repository",
        "Effect": "Allow",
        "Action": "codecommit:*",
        "Resource": {"Fn::Sub": "arn:${AWS::Partition}:codecommit:${AWS::Region}:"
                                "${AWS::AccountId}:${RepositoryName}"},
    }]


def test_developers_only_read_the_release_system(template: dict[str, Any]) -> None:
    statements = _statements(template, "release-system-read-only")
    assert all(s["Effect"] == "Allow" for s in statements)
    for statement in statements:
        for action in _as_list(statement["Action"]):
            verb = action.split(":", 1)[1]
            assert verb.startswith(READ_VERBS), f"{action} is not a read"


def test_developers_read_wildcards_only_where_aws_offers_no_resource(template: dict[str, Any]) -> None:
    unscoped = {
        action
        for s in _statements(template, "release-system-read-only")
        if "*" in _as_list(s["Resource"]) and "Condition" not in s
        for action in _as_list(s["Action"])
    }
    # ecs:DescribeTaskDefinition and application-autoscaling's reads have no
    # resource-level permissions in IAM; everything else names its resources.
    assert unscoped == {
        "ecs:DescribeTaskDefinition",
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:DescribeScalingPolicies",
        "application-autoscaling:DescribeScalingActivities",
    }


# ---------------------------------------------------------------- outputs
# What the controllers' stack and the desired-state files consume. moto drops the
# outputs of the resources it skips (the capacity provider, the secret, the group).
CONSUMED_OUTPUTS = {
    "ClusterName", "ClusterArn", "CapacityProviderName", "VpcId", "PublicSubnetIds",
    "PrivateSubnetIds", "TasksSecurityGroupId", "InstancesSecurityGroupId",
    "LoadBalancerSecurityGroupId", "DatabaseSecurityGroupId", "DbAdminSecurityGroupId",
    "SimplewebProductionTargetGroupArn", "ApiProductionTargetGroupArn",
    "SimplewebDevelopmentTargetGroupArn", "ApiDevelopmentTargetGroupArn",
    "TaskExecutionRoleArn", "TaskRoleArn", "DbSecretArn", "LoadBalancerDnsName",
}


@pytest.mark.parametrize("name", sorted(CONSUMED_OUTPUTS))
def test_consumed_output_is_exported(template: dict[str, Any], name: str) -> None:
    output = template["Outputs"][name]
    assert output["Export"] == {"Name": {"Fn::Sub": f"${{AWS::StackName}}-{name}"}}


def test_outputs_of_skipped_resources(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert outputs["CapacityProviderName"]["Value"] == {"Ref": "CapacityProvider"}
    assert outputs["DbSecretArn"]["Value"] == {"Ref": "DbSecret"}
    assert outputs["DbPasswordValueFrom"]["Value"] == {"Fn::Sub": "${DbSecret}:password::"}
    assert outputs["DevelopersGroupName"]["Value"] == {"Ref": "DevelopersGroup"}


def test_tasks_security_group_output_only_in_awsvpc_mode(resolved: dict[str, Any]) -> None:
    assert ("TasksSecurityGroupId" in resolved["Outputs"]) is (resolved["Mode"] == "awsvpc")


# ---------------------------------------------------------------- deployability
def test_template_fits_an_inline_deploy() -> None:
    # Above 51,200 bytes `aws cloudformation deploy` needs an S3 bucket (README, "Deploy").
    size = (Path(__file__).resolve().parents[1] / "environment.yaml").stat().st_size
    assert size <= 51_200


# ---------------------------------------------------------------- linters
def test_every_checkov_skip_is_justified(template: dict[str, Any]) -> None:
    skips = [
        (name, skip)
        for name, body in template["Resources"].items()
        for skip in body.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips, "the template skips checks; this test must see them"
    for name, skip in skips:
        assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), (name, skip)
        assert len(skip.get("comment", "").split()) >= 8, f"{name}: {skip['id']} needs a reason"
