"""Everything ECS can run, on the embedded AWS: a service with a sidecar, a command, an
EFS volume and ARM64 validates, plans, applies and plans empty afterwards; service tags
change in place; a change UpdateService cannot make is a replacement, applied only
when allowed; preflight finds what is missing before the first write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from ecs_gitops_tools.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def cli(*args: str, url: str | None = None) -> Any:
    extra = ["--endpoint-url", url] if url else []
    return runner.invoke(app, [*args, *extra], catch_exceptions=False)


def base_file() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "desired_state/production.yaml").read_text())
    data["services"] = [s for s in data["services"] if s["name"] == "api"]
    return data


def write(tmp_path: Path, data: dict[str, Any]) -> str:
    path = tmp_path / "production.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return str(path)


def full_service(file_system: str) -> dict[str, Any]:
    data = base_file()
    api = data["services"][0]
    api["container"] = {
        "command": ["python", "-m", "api_service", "--workers", "2"],
        "mountPoints": [{"sourceVolume": "data", "containerPath": "/data"}],
        "dependsOn": [{"containerName": "log-router", "condition": "START"}],
        "linuxParameters": {"initProcessEnabled": True},
        "stopTimeout": 30,
    }
    api["environment"] = {"LOG_LEVEL": "info", "BANNER": " | ", "CERT": "-----BEGIN CERT-----\nx\n"}
    api["sidecars"] = [{
        "name": "log-router",
        "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0",
        "essential": True,
        "memoryReservation": 50,
        "firelensConfiguration": {"type": "fluentbit"},
    }]
    api["taskDefinition"] = {
        "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
        "volumes": [{"name": "data", "efsVolumeConfiguration": {
            "fileSystemId": file_system, "transitEncryption": "ENABLED"}}],
    }
    return data


@pytest.fixture
def file_system(seeded: Any) -> str:
    efs = seeded.client("efs")
    return str(efs.create_file_system(CreationToken="api-data")["FileSystemId"])


def test_sidecar_command_efs_arm64_apply_then_plan_empty(
        seeded: Any, moto_url: str, file_system: str, tmp_path: Path) -> None:
    path = write(tmp_path, full_service(file_system))
    assert cli("validate", path).exit_code == 0
    first = cli("plan", path, url=moto_url)
    assert first.exit_code == 2, first.output
    assert "container log-router" in first.output
    applied = cli("apply", path, "--yes", url=moto_url)
    assert applied.exit_code == 0, applied.output
    again = cli("plan", path, url=moto_url)
    assert again.exit_code == 0, again.output
    described = seeded.ecs.describe_task_definition(taskDefinition="api")["taskDefinition"]
    assert described["runtimePlatform"]["cpuArchitecture"] == "ARM64"
    app_container = next(c for c in described["containerDefinitions"] if c["name"] == "api")
    assert app_container["command"] == ["python", "-m", "api_service", "--workers", "2"]
    values = {e["name"]: e["value"] for e in app_container["environment"]}
    assert values["BANNER"] == " | "  # values kept exactly
    assert values["CERT"] == "-----BEGIN CERT-----\nx\n"


def test_a_missing_file_system_is_found_before_any_write(
        seeded: Any, moto_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, full_service("fs-0123456789abcdef0"))
    result = cli("apply", path, "--yes", url=moto_url)
    assert result.exit_code == 1
    assert "EFS file system fs-0123456789abcdef0 does not exist" in result.output
    assert seeded.ecs.list_task_definitions()["taskDefinitionArns"] == []


def test_preflight_names_missing_network_secrets_and_log_groups(
        seeded: Any, moto_url: str, tmp_path: Path) -> None:
    data = base_file()
    api = data["services"][0]
    api["secrets"]["API_TOKEN"] = (
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:api/token-AbCdEf")
    api["container"] = {"logConfiguration": {"logDriver": "awslogs", "options": {
        "awslogs-group": "/ecs/none", "awslogs-region": "us-east-1",
        "awslogs-stream-prefix": "api"}}}
    del api["logGroup"]
    data["network"] = {"subnets": ["subnet-0abc"], "securityGroups": ["sg-0abc"]}
    result = cli("apply", write(tmp_path, data), "--yes", url=moto_url)
    assert result.exit_code == 1, result.output
    for missing in ("secret:api/token-AbCdEf does not exist", "log group /ecs/none",
                    "subnet subnet-0abc does not exist", "security group sg-0abc does not exist"):
        assert missing in result.output.replace("\n", " "), result.output
    assert seeded.ecs.list_services(cluster="dbscluster")["serviceArns"] == []


def test_service_tags_change_in_place(seeded: Any, moto_url: str, tmp_path: Path) -> None:
    data = base_file()
    path = write(tmp_path, data)
    assert cli("apply", path, "--yes", url=moto_url).exit_code == 0
    data["services"][0]["service"] = {"tags": [{"key": "team", "value": "payments [eu]"}],
                                      "enableExecuteCommand": True}
    path = write(tmp_path, data)
    changed = cli("plan", path, url=moto_url)
    assert "tags.team: payments [eu]" in changed.output, changed.output
    assert cli("apply", path, "--yes", url=moto_url).exit_code == 0
    assert cli("plan", path, url=moto_url).exit_code == 0
    service = seeded.ecs.describe_services(cluster="dbscluster", services=["api"],
                                           include=["TAGS"])["services"][0]
    assert {"key": "team", "value": "payments [eu]"} in service["tags"]


def _network(aws: Any) -> dict[str, Any]:
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="api", Description="api", VpcId=vpc)["GroupId"]
    return {"subnets": [subnet], "securityGroups": [group]}


def test_a_launch_type_change_is_a_replacement_applied_only_when_allowed(
        seeded: Any, moto_url: str, tmp_path: Path) -> None:
    data = base_file()
    data["services"][0].pop("loadBalancer")  # the seeded target group is of type instance
    assert cli("apply", write(tmp_path, data), "--yes", url=moto_url).exit_code == 0
    data["launchType"] = "FARGATE"
    data["network"] = _network(seeded)
    path = write(tmp_path, data)
    planned = cli("plan", path, url=moto_url)
    assert planned.exit_code == 2
    assert "-/+ replace service api" in planned.output
    assert "launchType EC2 -> FARGATE: UpdateService cannot change it" in planned.output
    assert "interruption" in planned.output
    refused = cli("apply", path, "--yes", url=moto_url)
    assert refused.exit_code == 1
    assert "--allow-replace" in refused.output
    service = seeded.ecs.describe_services(cluster="dbscluster", services=["api"])["services"][0]
    assert service["launchType"] == "EC2"  # nothing was written
    assert cli("apply", path, "--yes", "--allow-replace", url=moto_url).exit_code == 0
    assert cli("plan", path, url=moto_url).exit_code == 0
    services = seeded.ecs.describe_services(cluster="dbscluster", services=["api"])["services"]
    assert [s["launchType"] for s in services if s["status"] == "ACTIVE"] == ["FARGATE"]
