"""The environment template deployed on moto's CloudFormation, asserted through the
AWS APIs: network, cluster, load balancer, database, parameters, roles, and every
security group rule.

moto's CloudFormation does not create every resource of this template. Where it
skips a resource type or ignores a property, the same assertion is made on the
template itself (``resolved``: the template with its conditions decided) and the
test says so. The skipped types are pinned below, so a moto upgrade that starts
creating one of them fails here and asks for the assertion to move to the stack.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import Deployed

# What moto 5.2's CloudFormation skips in this template; test_template.py asserts these.
MOTO_SKIPS = {
    "AWS::EC2::SecurityGroupEgress",  # every egress rule is asserted from the template
    "AWS::ECS::CapacityProvider",
    "AWS::ECS::ClusterCapacityProviderAssociations",
    "AWS::SecretsManager::Secret",
    "AWS::SecretsManager::SecretTargetAttachment",
}

WORLD = "0.0.0.0/0"
# The public load balancer's ports: HTTPS, and the original HTTP ports, which redirect.
LISTENER_PORTS = (80, 443, 7000, 7443)
DYNAMIC_PORTS = (32768, 60999)  # ECS_DYNAMIC_HOST_PORT_RANGE in the launch template

# (load balancer, listener port) -> (target group name, container port)
LISTENERS = {
    ("LoadBalancer", 443): ("simpleweb-production", 80),
    ("InternalLoadBalancer", 5000): ("api-production", 5000),
    ("LoadBalancer", 7443): ("simpleweb-development", 80),
    ("InternalLoadBalancer", 8000): ("api-development", 5000),
}
# The original HTTP ports: a permanent redirect to HTTPS, nothing served.
REDIRECTS = {80: "443", 7000: "7443"}

Rule = tuple[str, int, int, str]  # protocol, from port, to port, peer (CIDR or "sg:<logical id>")


def _sg(name: str) -> str:
    return f"sg:{name}"


# Every inbound rule of every security group, per network mode. Nothing else may exist.
_LB_INGRESS = {("tcp", p, p, WORLD) for p in LISTENER_PORTS}
_ADMIN_TO_DB = ("tcp", 3306, 3306, _sg("DbAdminSecurityGroup"))


def _api_clients(group: str) -> set[Rule]:
    """The internal load balancer admits simpleweb (the cluster's group) on 5000 and 8000."""
    return {("tcp", 5000, 5000, _sg(group)), ("tcp", 8000, 8000, _sg(group))}


EXPECTED_INGRESS: dict[str, dict[str, set[Rule]]] = {
    "bridge": {
        "LoadBalancerSecurityGroup": _LB_INGRESS,
        "InternalLoadBalancerSecurityGroup": _api_clients("InstancesSecurityGroup"),
        "InstancesSecurityGroup": {("tcp", *DYNAMIC_PORTS, _sg("LoadBalancerSecurityGroup")),
                                   ("tcp", *DYNAMIC_PORTS, _sg("InternalLoadBalancerSecurityGroup"))},
        "DatabaseSecurityGroup": {("tcp", 3306, 3306, _sg("InstancesSecurityGroup")), _ADMIN_TO_DB},
        "DbAdminSecurityGroup": set(),
    },
    "awsvpc": {
        "LoadBalancerSecurityGroup": _LB_INGRESS,
        "InternalLoadBalancerSecurityGroup": _api_clients("TasksSecurityGroup"),
        "TasksSecurityGroup": {
            ("tcp", 80, 80, _sg("LoadBalancerSecurityGroup")),
            ("tcp", 5000, 5000, _sg("InternalLoadBalancerSecurityGroup")),
        },
        "InstancesSecurityGroup": set(),
        "DatabaseSecurityGroup": {("tcp", 3306, 3306, _sg("TasksSecurityGroup")), _ADMIN_TO_DB},
        "DbAdminSecurityGroup": set(),
    },
}

# Every outbound rule, per network mode (the template's inline egress replaces the
# default allow-all rule).
# What a task calls: AWS APIs on 443, the database, and the api through the internal
# load balancer (no longer the internet on 5000 and 8000).
_TASK_EGRESS = {
    ("tcp", 443, 443, WORLD),
    ("tcp", 3306, 3306, _sg("DatabaseSecurityGroup")),
    ("tcp", 5000, 5000, _sg("InternalLoadBalancerSecurityGroup")),
    ("tcp", 8000, 8000, _sg("InternalLoadBalancerSecurityGroup")),
}
_LOOPBACK_ONLY = ("-1", -1, -1, "127.0.0.1/32")  # replaces the default allow-all egress
EXPECTED_EGRESS: dict[str, dict[str, set[Rule]]] = {
    "bridge": {
        "LoadBalancerSecurityGroup": {("tcp", *DYNAMIC_PORTS, _sg("InstancesSecurityGroup"))},
        "InternalLoadBalancerSecurityGroup": {
            _LOOPBACK_ONLY, ("tcp", *DYNAMIC_PORTS, _sg("InstancesSecurityGroup"))},
        "InstancesSecurityGroup": _TASK_EGRESS,
        "DatabaseSecurityGroup": {_LOOPBACK_ONLY},
        "DbAdminSecurityGroup": {("tcp", 3306, 3306, _sg("DatabaseSecurityGroup"))},
    },
    "awsvpc": {
        "LoadBalancerSecurityGroup": {("tcp", 80, 80, _sg("TasksSecurityGroup"))},
        "InternalLoadBalancerSecurityGroup": {
            _LOOPBACK_ONLY, ("tcp", 5000, 5000, _sg("TasksSecurityGroup"))},
        "TasksSecurityGroup": _TASK_EGRESS,
        "InstancesSecurityGroup": {("tcp", 443, 443, WORLD)},
        "DatabaseSecurityGroup": {_LOOPBACK_ONLY},
        "DbAdminSecurityGroup": {("tcp", 3306, 3306, _sg("DatabaseSecurityGroup"))},
    },
}


# ---------------------------------------------------------------- helpers
def _template_peer(rule: dict[str, Any]) -> str:
    for key in ("CidrIp", "CidrIpv6", "SourcePrefixListId", "DestinationPrefixListId"):
        if key in rule:
            return str(rule[key])
    for key in ("SourceSecurityGroupId", "DestinationSecurityGroupId"):
        if key in rule:
            return _sg(rule[key]["Ref"])
    raise AssertionError(f"rule without a peer: {rule}")


def _template_rule(rule: dict[str, Any]) -> Rule:
    return (
        str(rule["IpProtocol"]),
        int(rule.get("FromPort", -1)),
        int(rule.get("ToPort", -1)),
        _template_peer(rule),
    )


def template_rules(resolved: dict[str, Any], direction: str) -> dict[str, set[Rule]]:
    """Rules of every security group in the resolved template, inline and standalone.
    direction: "Ingress" or "Egress"."""
    resources = resolved["Resources"]
    rules: dict[str, set[Rule]] = {
        name: {_template_rule(r) for r in body["Properties"].get(f"SecurityGroup{direction}", [])}
        for name, body in resources.items() if body["Type"] == "AWS::EC2::SecurityGroup"
    }
    for body in resources.values():
        if body["Type"] == f"AWS::EC2::SecurityGroup{direction}":
            rules[body["Properties"]["GroupId"]["Ref"]].add(_template_rule(body["Properties"]))
    return rules


def deployed_ingress(stack: Deployed) -> dict[str, set[Rule]]:
    """Inbound rules of the stack's security groups as EC2 reports them."""
    ec2 = stack.client("ec2")
    groups = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [stack.outputs["VpcId"]]}]
    )["SecurityGroups"]
    out: dict[str, set[Rule]] = {}
    for group in groups:
        if group["GroupName"] == "default":
            continue  # the VPC's own default group; nothing in the stack uses it
        rules: set[Rule] = set()
        for perm in group["IpPermissions"]:
            head = (perm["IpProtocol"], perm.get("FromPort", -1), perm.get("ToPort", -1))
            rules |= {(*head, r["CidrIp"]) for r in perm.get("IpRanges", [])}
            rules |= {(*head, r["CidrIpv6"]) for r in perm.get("Ipv6Ranges", [])}
            rules |= {(*head, _sg(stack.logical_of(p["GroupId"])))
                      for p in perm.get("UserIdGroupPairs", [])}
        out[stack.logical_of(group["GroupId"])] = rules
    return out


def _open_to_world(rules: dict[str, set[Rule]]) -> set[tuple[str, Rule]]:
    return {(group, r) for group, rs in rules.items() for r in rs if r[3] in (WORLD, "::/0")}


# ---------------------------------------------------------------- the stack
def test_stack_is_created(deployed: Deployed) -> None:
    assert deployed.status == "CREATE_COMPLETE"


def test_moto_skips_only_the_known_resource_types(deployed: Deployed) -> None:
    # Each of these is asserted from the template in test_template.py instead.
    assert deployed.skipped_types == MOTO_SKIPS


def test_two_public_and_two_private_subnets_in_two_zones(deployed: Deployed) -> None:
    ec2 = deployed.client("ec2")
    ids = {name: deployed.physical[name] for name in
           ("PublicSubnetA", "PublicSubnetB", "PrivateSubnetA", "PrivateSubnetB")}
    in_vpc = [{"Name": "vpc-id", "Values": [deployed.outputs["VpcId"]]}]
    subnets = {s["SubnetId"]: s for s in ec2.describe_subnets(Filters=in_vpc)["Subnets"]}
    assert set(subnets) == set(ids.values())
    assert len(ec2.describe_nat_gateways(Filter=in_vpc)["NatGateways"]) == 2
    zone = {name: subnets[sid]["AvailabilityZone"] for name, sid in ids.items()}
    assert zone["PublicSubnetA"] == zone["PrivateSubnetA"]
    assert zone["PublicSubnetB"] == zone["PrivateSubnetB"]
    assert zone["PublicSubnetA"] != zone["PublicSubnetB"]
    assert {s["CidrBlock"] for s in subnets.values()} == {
        "10.0.0.0/24", "10.0.1.0/24", "10.0.10.0/24", "10.0.11.0/24"}
    assert not any(s["MapPublicIpOnLaunch"] for s in subnets.values())
    assert deployed.outputs["PrivateSubnetIds"] == f"{ids['PrivateSubnetA']},{ids['PrivateSubnetB']}"
    assert deployed.outputs["PublicSubnetIds"] == f"{ids['PublicSubnetA']},{ids['PublicSubnetB']}"


@pytest.mark.parametrize("zone", ["A", "B"])
def test_one_nat_gateway_per_zone_and_the_zone_routes_through_it(deployed: Deployed, zone: str) -> None:
    ec2 = deployed.client("ec2")
    nat_id = deployed.physical[f"NatGateway{zone}"]
    nat = ec2.describe_nat_gateways(NatGatewayIds=[nat_id])["NatGateways"][0]
    assert nat["SubnetId"] == deployed.physical[f"PublicSubnet{zone}"]
    assert nat["NatGatewayAddresses"][0]["AllocationId"]  # its own Elastic IP

    def default_route(table: str) -> dict[str, Any]:
        [found] = ec2.describe_route_tables(RouteTableIds=[deployed.physical[table]])["RouteTables"]
        [route] = [r for r in found["Routes"] if r.get("DestinationCidrBlock") == WORLD]
        return dict(route)

    assert default_route(f"PrivateRouteTable{zone}")["NatGatewayId"] == nat_id
    assert default_route("PublicRouteTable")["GatewayId"] == deployed.physical["InternetGateway"]


def test_each_subnet_uses_its_zone_route_table(resolved: dict[str, Any]) -> None:
    # From the template: moto keeps CloudFormation's subnet associations apart from its
    # route tables, so DescribeRouteTables does not show them.
    associations = {
        body["Properties"]["SubnetId"]["Ref"]: body["Properties"]["RouteTableId"]["Ref"]
        for body in resolved["Resources"].values()
        if body["Type"] == "AWS::EC2::SubnetRouteTableAssociation"
    }
    assert associations == {
        "PublicSubnetA": "PublicRouteTable",
        "PublicSubnetB": "PublicRouteTable",
        "PrivateSubnetA": "PrivateRouteTableA",
        "PrivateSubnetB": "PrivateRouteTableB",
    }


def test_cluster_dbscluster(deployed: Deployed) -> None:
    cluster = deployed.client("ecs").describe_clusters(clusters=["dbscluster"])["clusters"][0]
    assert cluster["status"] == "ACTIVE"
    assert deployed.outputs["ClusterName"] == "dbscluster"
    assert deployed.outputs["ClusterArn"] == cluster["clusterArn"]


def test_auto_scaling_group_of_three_to_five_in_the_private_subnets(deployed: Deployed) -> None:
    asg = deployed.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[deployed.physical["AutoScalingGroup"]]
    )["AutoScalingGroups"][0]
    assert (asg["MinSize"], asg["MaxSize"]) == (3, 5)
    assert len(asg["Instances"]) == 3
    assert set(asg["VPCZoneIdentifier"].split(",")) == {
        deployed.physical["PrivateSubnetA"], deployed.physical["PrivateSubnetB"]}


def test_launch_template_joins_the_cluster_with_imdsv2_and_encrypted_disk(deployed: Deployed) -> None:
    version = deployed.client("ec2").describe_launch_template_versions(
        LaunchTemplateId=deployed.physical["LaunchTemplate"])["LaunchTemplateVersions"][0]
    data = version["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    assert data["SecurityGroupIds"] == [deployed.physical["InstancesSecurityGroup"]]
    assert all(m["Ebs"]["Encrypted"] for m in data["BlockDeviceMappings"])
    user_data = base64.b64decode(data["UserData"]).decode()
    assert "ECS_CLUSTER=dbscluster\n" in user_data
    assert f"ECS_DYNAMIC_HOST_PORT_RANGE={DYNAMIC_PORTS[0]}-{DYNAMIC_PORTS[1]}\n" in user_data


def test_internet_facing_load_balancer_in_the_public_subnets(deployed: Deployed) -> None:
    elb = deployed.client("elbv2")
    arn = deployed.physical["LoadBalancer"]
    lb = elb.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]
    assert (lb["Scheme"], lb["Type"]) == ("internet-facing", "application")
    assert {z["SubnetId"] for z in lb["AvailabilityZones"]} == {
        deployed.physical["PublicSubnetA"], deployed.physical["PublicSubnetB"]}
    assert lb["SecurityGroups"] == [deployed.physical["LoadBalancerSecurityGroup"]]


def test_the_api_load_balancer_is_internal_in_the_private_subnets(deployed: Deployed) -> None:
    elb = deployed.client("elbv2")
    arn = deployed.physical["InternalLoadBalancer"]
    lb = elb.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]
    assert (lb["Scheme"], lb["Type"]) == ("internal", "application")
    assert {z["SubnetId"] for z in lb["AvailabilityZones"]} == {
        deployed.physical["PrivateSubnetA"], deployed.physical["PrivateSubnetB"]}
    assert lb["SecurityGroups"] == [deployed.physical["InternalLoadBalancerSecurityGroup"]]
    assert deployed.outputs["ApiProductionUrl"] == f"http://{lb['DNSName']}:5000"
    assert deployed.outputs["ApiDevelopmentUrl"] == f"http://{lb['DNSName']}:8000"


@pytest.mark.parametrize("balancer", ["LoadBalancer", "InternalLoadBalancer"])
def test_load_balancer_attributes(resolved: dict[str, Any], balancer: str) -> None:
    # From the template: moto's CloudFormation ignores LoadBalancerAttributes.
    props = resolved["Resources"][balancer]["Properties"]
    attributes = {a["Key"]: a["Value"] for a in props["LoadBalancerAttributes"]}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["deletion_protection.enabled"] == {"Ref": "LoadBalancerDeletionProtection"}
    assert resolved["Parameters"]["LoadBalancerDeletionProtection"]["Default"] == "true"


def _listeners(deployed: Deployed, balancer: str) -> dict[int, dict[str, Any]]:
    found = deployed.client("elbv2").describe_listeners(
        LoadBalancerArn=deployed.physical[balancer])["Listeners"]
    return {listener["Port"]: listener for listener in found}


def test_the_listeners_of_each_load_balancer(deployed: Deployed) -> None:
    assert sorted(_listeners(deployed, "LoadBalancer")) == sorted(LISTENER_PORTS)
    assert sorted(_listeners(deployed, "InternalLoadBalancer")) == [5000, 8000]


@pytest.mark.parametrize(("port", "to"), sorted(REDIRECTS.items()))
def test_http_redirects_to_https(deployed: Deployed, port: int, to: str) -> None:
    listener = _listeners(deployed, "LoadBalancer")[port]
    assert listener["Protocol"] == "HTTP"
    [action] = listener["DefaultActions"]
    assert action["Type"] == "redirect"
    assert action["RedirectConfig"] == {"Protocol": "HTTPS", "Port": to, "StatusCode": "HTTP_301"}


@pytest.mark.parametrize("port", [443, 7443])
def test_https_listener_with_the_certificate_and_a_tls_1_2_policy(deployed: Deployed, port: int) -> None:
    listener = _listeners(deployed, "LoadBalancer")[port]
    assert listener["Protocol"] == "HTTPS"
    assert listener["Certificates"] == [{"CertificateArn": deployed.parameters["CertificateArn"]}]
    assert listener["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"


@pytest.mark.parametrize(("balancer", "port"), sorted(LISTENERS))
def test_listener_forwards_to_its_target_group_with_health_checks(
    deployed: Deployed, balancer: str, port: int
) -> None:
    name, container_port = LISTENERS[(balancer, port)]
    elb = deployed.client("elbv2")
    listener = _listeners(deployed, balancer)[port]
    assert listener["Protocol"] == ("HTTPS" if balancer == "LoadBalancer" else "HTTP")
    [action] = listener["DefaultActions"]
    assert action["Type"] == "forward"
    group = elb.describe_target_groups(TargetGroupArns=[action["TargetGroupArn"]])["TargetGroups"][0]
    assert group["TargetGroupName"] == name
    assert group["Port"] == container_port
    assert group["TargetType"] == ("ip" if deployed.mode == "awsvpc" else "instance")
    assert group["VpcId"] == deployed.outputs["VpcId"]
    assert (group["HealthCheckProtocol"], group["HealthCheckPath"]) == ("HTTP", "/health")
    assert group["Matcher"] == {"HttpCode": "200"}
    output = "".join(part.capitalize() for part in name.split("-")) + "TargetGroupArn"
    assert deployed.outputs[output] == action["TargetGroupArn"]


def test_mysql_encrypted_private_backed_up_multi_az_as_asked(deployed: Deployed) -> None:
    rds = deployed.client("rds")
    db = rds.describe_db_instances(DBInstanceIdentifier=deployed.physical["Database"])["DBInstances"][0]
    assert db["Engine"] == "mysql"
    assert db["EngineVersion"].startswith("8.4.")
    assert db["StorageEncrypted"] is True
    assert db["PubliclyAccessible"] is False
    assert db["BackupRetentionPeriod"] == 7
    assert db["MultiAZ"] is (deployed.parameters.get("DbMultiAz", "true") == "true")
    assert {s["SubnetIdentifier"] for s in db["DBSubnetGroup"]["Subnets"]} == {
        deployed.physical["PrivateSubnetA"], deployed.physical["PrivateSubnetB"]}
    # The password is a dynamic reference that only real CloudFormation resolves
    # (moto skips the secret): asserted from the template in test_template.py.


def test_mysql_behind_its_security_group(resolved: dict[str, Any]) -> None:
    # From the template: moto's CloudFormation reads the security groups from a property
    # name that CloudFormation does not have, and gives the instance the VPC's default group.
    props = resolved["Resources"]["Database"]["Properties"]
    assert props["VPCSecurityGroups"] == [{"Ref": "DatabaseSecurityGroup"}]


def test_mysql_deletion_safety(resolved: dict[str, Any]) -> None:
    # From the template: moto's CloudFormation ignores DeletionProtection.
    database = resolved["Resources"]["Database"]
    assert database["Properties"]["DeletionProtection"] == {"Ref": "DbDeletionProtection"}
    assert resolved["Parameters"]["DbDeletionProtection"]["Default"] == "true"
    assert database["DeletionPolicy"] == database["UpdateReplacePolicy"] == "Snapshot"


def test_mysql_requires_tls(deployed: Deployed) -> None:
    rds = deployed.client("rds")
    db = rds.describe_db_instances(DBInstanceIdentifier=deployed.physical["Database"])["DBInstances"][0]
    [group] = db["DBParameterGroups"]
    parameters = {
        p["ParameterName"]: p["ParameterValue"]
        for p in rds.describe_db_parameters(
            DBParameterGroupName=group["DBParameterGroupName"], Source="user")["Parameters"]
    }
    assert parameters["require_secure_transport"] == "1"


def test_the_api_settings_in_parameter_store(deployed: Deployed) -> None:
    ssm = deployed.client("ssm")
    db = deployed.client("rds").describe_db_instances(
        DBInstanceIdentifier=deployed.physical["Database"])["DBInstances"][0]
    found = {p["Name"]: p for p in ssm.get_parameters_by_path(Path="/simpleweb")["Parameters"]}
    assert {name: p["Value"] for name, p in found.items()} == {
        "/simpleweb/db-endpoint": db["Endpoint"]["Address"],
        "/simpleweb/db-port": str(db["Endpoint"]["Port"]),
        "/simpleweb/db-name": "simpleweb",
        "/simpleweb/db-username": "simpleweb_admin",
    }
    # No plain-text password: /simpleweb/db-password is a SecureString, which CloudFormation
    # cannot create; sync_db_password.py writes it (test_sync_db_password.py).
    assert "/simpleweb/db-password" not in found


def test_task_roles_trust_only_ecs_tasks(deployed: Deployed) -> None:
    iam = deployed.client("iam")
    for name, arn_output in (("ecs-gitops-execution", "TaskExecutionRoleArn"),
                             ("ecs-gitops-task", "TaskRoleArn")):
        role = iam.get_role(RoleName=name)["Role"]
        assert deployed.outputs[arn_output] == role["Arn"]
        principals = [s["Principal"] for s in role["AssumeRolePolicyDocument"]["Statement"]]
        assert principals == [{"Service": "ecs-tasks.amazonaws.com"}]
    assert iam.list_role_policies(RoleName="ecs-gitops-task")["PolicyNames"] == []


def test_role_managed_policies(resolved: dict[str, Any]) -> None:
    # From the template: moto's CloudFormation does not attach ManagedPolicyArns.
    def managed(role: str) -> list[str]:
        arns = resolved["Resources"][role]["Properties"].get("ManagedPolicyArns", [])
        return [arn["Fn::Sub"].rsplit("/", 1)[1] for arn in arns]

    assert managed("TaskRole") == []
    assert managed("TaskExecutionRole") == ["AmazonECSTaskExecutionRolePolicy"]
    # Not AmazonSSMManagedInstanceCore: it reads every SSM parameter (test_template.py).
    assert managed("InstanceRole") == ["AmazonEC2ContainerServiceforEC2Role"]


def test_execution_role_has_one_inline_policy(deployed: Deployed) -> None:
    iam = deployed.client("iam")
    assert iam.list_role_policies(RoleName="ecs-gitops-execution")["PolicyNames"] == [
        "simpleweb-settings-and-logs"]


def test_execution_role_reads_only_the_simpleweb_settings_and_the_db_secret(
    resolved: dict[str, Any],
) -> None:
    # From the template: moto keeps the policy document as Python text and drops the
    # Resource that names the secret it skipped.
    [policy] = resolved["Resources"]["TaskExecutionRole"]["Properties"]["Policies"]
    statements = {s["Sid"]: (s["Action"], s["Resource"]) for s in policy["PolicyDocument"]["Statement"]}
    prefix = "arn:${AWS::Partition}:"
    assert statements == {
        "DbSettings": ("ssm:GetParameters", {
            "Fn::Sub": prefix + "ssm:${AWS::Region}:${AWS::AccountId}:parameter/simpleweb/*"}),
        "DbCredentials": ("secretsmanager:GetSecretValue", {"Ref": "DbSecret"}),
        "ServiceLogGroups": ("logs:CreateLogGroup", {
            "Fn::Sub": prefix + "logs:${AWS::Region}:${AWS::AccountId}:log-group:"
                                "${TaskLogGroupPrefix}/*"}),
    }
    assert all(s["Effect"] == "Allow" for s in policy["PolicyDocument"]["Statement"])


def test_service_log_groups_have_a_retention(deployed: Deployed) -> None:
    groups = deployed.client("logs").describe_log_groups(
        logGroupNamePrefix="/ecs/ecs-gitops/")["logGroups"]
    assert {g["logGroupName"]: g.get("retentionInDays") for g in groups} == {
        f"/ecs/ecs-gitops/{name}": 30 for name in (
            "simpleweb-production", "api-production", "simpleweb-development", "api-development")
    }


# ---------------------------------------------------------------- security groups
def test_the_stack_has_exactly_the_expected_security_groups(deployed: Deployed) -> None:
    assert set(deployed_ingress(deployed)) == set(EXPECTED_INGRESS[deployed.mode])


@pytest.mark.parametrize(
    "group",
    ["LoadBalancerSecurityGroup", "InternalLoadBalancerSecurityGroup", "TasksSecurityGroup",
     "InstancesSecurityGroup", "DatabaseSecurityGroup", "DbAdminSecurityGroup"],
)
def test_every_inbound_rule_of_the_deployed_group(deployed: Deployed, group: str) -> None:
    expected = EXPECTED_INGRESS[deployed.mode]
    if group not in expected:
        assert group not in deployed.physical, f"{group} exists only in the other mode"
        return
    assert sorted(deployed_ingress(deployed)[group]) == sorted(expected[group])


def test_every_inbound_rule_in_the_template(resolved: dict[str, Any]) -> None:
    # The same table as the deployed groups above, for the template as written.
    assert template_rules(resolved, "Ingress") == EXPECTED_INGRESS[resolved["Mode"]]


def test_every_outbound_rule_in_the_template(resolved: dict[str, Any]) -> None:
    # From the template: moto's CloudFormation ignores inline SecurityGroupEgress and
    # reports its own default allow-all egress rule on every group.
    assert template_rules(resolved, "Egress") == EXPECTED_EGRESS[resolved["Mode"]]


def test_only_the_load_balancer_ports_are_open_to_the_internet(deployed: Deployed) -> None:
    opened = _open_to_world(deployed_ingress(deployed))
    assert opened == {("LoadBalancerSecurityGroup", ("tcp", p, p, WORLD)) for p in LISTENER_PORTS}


def test_template_opens_only_the_load_balancer_ports_to_the_internet(resolved: dict[str, Any]) -> None:
    opened = _open_to_world(template_rules(resolved, "Ingress"))
    assert opened == {("LoadBalancerSecurityGroup", ("tcp", p, p, WORLD)) for p in LISTENER_PORTS}
