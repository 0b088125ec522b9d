"""Assertions made on the template itself, for what moto's CloudFormation skips:
the ECS capacity provider and its association with the cluster, the Secrets Manager
secret and the database password wiring (see MOTO_SKIPS in test_stack.py), plus the
cluster settings and launch configuration that moto ignores, the outputs of those
skipped resources, who may read which secret (the roles' policies evaluated as IAM
would), the certificate, and the linters' skips.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ecs_gitops_tools.local.template import load_yaml as load_template

INFRA = Path(__file__).resolve().parents[1]
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


# ---------------------------------------------------------------- who reads the secrets
# The roles as deployed (inline policies, and AWS managed policies from moto's copy of
# AWS's documents), evaluated by tests/support/iam_policy.py.
ACCOUNT, REGION = "123456789012", "us-east-1"
PARAMETER = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter"
SECRET_PARAMETERS = ("/simpleweb/db-password", "/docker/password", "/docker/username")
READS = ("ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath")


@pytest.fixture(scope="module")
def policies_of(template: dict[str, Any]) -> Any:
    from iam_policy import TemplateResolver

    physical = {name: f"{name}-physical" for name in template["Resources"]}
    physical |= {f"{name}.Arn": f"arn:aws:test:{REGION}:{ACCOUNT}:{name}" for name in template["Resources"]}
    physical["DbSecret"] = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:simpleweb/db-credentials-AbCdEf"
    resolver = TemplateResolver(
        template,
        values={"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": "aws"},
        conditions={"MultiAz": True, "Awsvpc": False, "Bridge": True},
        physical=physical,
    )
    return resolver.role_policies


def _decide(policies: Any, action: str, resource: str) -> str:
    from iam_policy import Request, evaluate

    return str(evaluate(policies, Request(action, resource)).value)


def test_instances_read_no_parameter(policies_of: Any) -> None:
    # Containers on the instances can reach the instance role's credentials in bridge
    # mode (the hop limit stops only the default route); it must read no secret.
    instance = policies_of("InstanceRole")
    for name in (*SECRET_PARAMETERS, "/simpleweb/db-endpoint"):
        for action in READS:
            assert _decide(instance, action, PARAMETER + name) == "implicitDeny", (action, name)
    assert _decide(instance, "secretsmanager:GetSecretValue",
                   f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:simpleweb/db-credentials-AbCdEf") \
        == "implicitDeny"


def test_instances_keep_the_ecs_agent_and_session_manager(policies_of: Any) -> None:
    instance = policies_of("InstanceRole")
    for action in ("ecs:RegisterContainerInstance", "ecs:Poll", "ecr:GetAuthorizationToken",
                   "ssmmessages:CreateControlChannel", "ssmmessages:OpenDataChannel"):
        assert _decide(instance, action, "*") == "allowed", action
    instance_arn = f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0123456789abcdef0"
    assert _decide(instance, "ssm:UpdateInstanceInformation", instance_arn) == "allowed"


def test_execution_role_reads_exactly_the_parameters_the_task_definitions_name(
    policies_of: Any,
) -> None:
    from ecs_gitops.desired import load_environment

    execution = policies_of("TaskExecutionRole")
    named = {value for env in ("production", "development")
             for service in load_environment(INFRA.parent / "desired_state" / f"{env}.yaml").services
             for value in service.secrets.values()}
    assert named == {"/simpleweb/db-endpoint", "/simpleweb/db-name", "/simpleweb/db-password",
                     "/simpleweb/db-port", "/simpleweb/db-username"}
    for name in named:
        assert _decide(execution, "ssm:GetParameters", PARAMETER + name) == "allowed", name
    for name in ("/docker/username", "/docker/password", "/other/secret", "/simpleweb-other/x"):
        for action in READS:
            assert _decide(execution, action, PARAMETER + name) == "implicitDeny", (action, name)


# ---------------------------------------------------------------- the edge
def test_certificate_is_a_required_acm_arn(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["CertificateArn"]
    assert "Default" not in parameter
    pattern = re.compile(parameter["AllowedPattern"])
    assert pattern.fullmatch(
        "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789")
    assert not pattern.fullmatch("arn:aws:iam::123456789012:server-certificate/x")
    assert not pattern.fullmatch("")


def test_seed_target_groups_are_the_template_s(template: dict[str, Any]) -> None:
    # The embedded cloud's seed creates the same target groups (name and port) as this
    # stack, so a desired state that works there names what exists here.
    from ecs_gitops_tools.seed import PORTS

    groups = {body["Properties"]["Name"]: body["Properties"]["Port"]
              for body in _resources_of(template, "AWS::ElasticLoadBalancingV2::TargetGroup").values()}
    assert groups == PORTS


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
    "InternalLoadBalancerDnsName",
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


def test_tasks_security_group_output_only_in_awsvpc_mode(resolved: dict[str, Any]) -> None:
    assert ("TasksSecurityGroupId" in resolved["Outputs"]) is (resolved["Mode"] == "awsvpc")


# ---------------------------------------------------------------- deployability
def test_template_fits_an_inline_deploy() -> None:
    # Above 51,200 bytes `aws cloudformation deploy` needs an S3 bucket (README, "Deploy").
    size = (Path(__file__).resolve().parents[1] / "environment.yaml").stat().st_size
    assert size <= 51_200


# ---------------------------------------------------------------- linters
@pytest.mark.parametrize("path", ["environment.yaml", "people.yaml"])
def test_every_checkov_skip_is_justified_in_one_line(path: str) -> None:
    template = load_template(INFRA / path)
    skips = [
        (name, skip)
        for name, body in template["Resources"].items()
        for skip in body.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    for name, skip in skips:
        assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), (name, skip)
        assert len(skip.get("comment", "").split()) >= 8, f"{name}: {skip['id']} needs a reason"
    # One line each: the reason is on the `comment:` line itself, never folded.
    text = (INFRA / path).read_text()
    assert len(re.findall(r"^\s+comment: \S.*$", text, re.M)) == len(skips)
    assert not re.search(r"comment: [>|]", text)
    # No other suppression mechanism is used (cfn-lint's Metadata, inline ignores).
    assert "cfn-lint" not in text
    assert "cfn_nag" not in text
