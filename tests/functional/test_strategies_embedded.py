"""Blue/green, canary and linear services on the embedded AWS (issue 14): a file with
each strategy validates, applies (CreateService with the strategy, its steps, lifecycle
hooks and the load balancer's advancedConfiguration), plans empty afterwards, and a
change of strategy is an in-place UpdateService that settles too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from ecs_gitops_tools.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
LISTENER = ("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/"
            "50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee")
ROLE = "arn:aws:iam::123456789012:role/ecs-gitops-infrastructure"
HOOK = "arn:aws:lambda:us-east-1:123456789012:function:smoke-test"

DEPLOYMENTS: dict[str, dict[str, Any]] = {
    "blue-green": {"strategy": "blue-green", "bakeMinutes": 5, "approval": "manual"},
    "canary": {"strategy": "canary", "canary": {"percent": 10, "bakeMinutes": 3},
               "alarms": {"alarmNames": ["api-5xx"], "rollback": True, "enable": True}},
    "linear": {"strategy": "linear", "linear": {"stepPercent": 25, "stepBakeMinutes": 2},
               "hooks": [{"lambda": HOOK, "stages": ["POST_SCALE_UP"]}]},
}


def cli(*args: str, url: str | None = None) -> Any:
    extra = ["--endpoint-url", url] if url else []
    return runner.invoke(app, [*args, *extra], catch_exceptions=False)


def strategy_file(tmp_path: Path, deployment: dict[str, Any], *, advanced: bool = True) -> str:
    data: dict[str, Any] = yaml.safe_load((ROOT / "desired_state/production.yaml").read_text())
    data["services"] = [s for s in data["services"] if s["name"] == "simpleweb"]
    data["roles"]["infrastructure"] = ROLE
    web = data["services"][0]
    web["deployment"] = deployment
    if advanced:
        web["loadBalancer"].update({"alternateTargetGroup": "simpleweb-production-green",
                                    "productionListenerRule": LISTENER})
    path = tmp_path / "production.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


@pytest.fixture
def green(seeded: Any) -> Any:
    elbv2 = seeded.client("elbv2")
    blue = elbv2.describe_target_groups(Names=["simpleweb-production"])["TargetGroups"][0]
    elbv2.create_target_group(Name="simpleweb-production-green", Protocol="HTTP", Port=80,
                              VpcId=blue["VpcId"], TargetType="instance")
    return seeded


@pytest.mark.parametrize("strategy", sorted(DEPLOYMENTS))
def test_each_strategy_applies_then_plans_empty(green: Any, moto_url: str, tmp_path: Path,
                                                strategy: str) -> None:
    path = strategy_file(tmp_path, DEPLOYMENTS[strategy])
    assert cli("validate", path).exit_code == 0
    applied = cli("apply", path, "--yes", url=moto_url)
    assert applied.exit_code == 0, applied.output
    again = cli("plan", path, url=moto_url)
    assert again.exit_code == 0, again.output
    (svc,) = green.ecs.describe_services(cluster="dbscluster",
                                         services=["simpleweb"])["services"]
    dc = svc["deploymentConfiguration"]
    assert dc["strategy"] == strategy.upper().replace("-", "_")
    advanced = svc["loadBalancers"][0]["advancedConfiguration"]
    assert advanced["alternateTargetGroupArn"].split("/")[-2] == "simpleweb-production-green"
    assert advanced["productionListenerRule"] == LISTENER
    assert advanced["roleArn"] == ROLE


def test_a_rolling_service_becomes_a_canary_in_place(green: Any, moto_url: str,
                                                     tmp_path: Path) -> None:
    rolling = strategy_file(tmp_path, {"minimumHealthyPercent": 100}, advanced=False)
    applied = cli("apply", rolling, "--yes", url=moto_url)
    assert applied.exit_code == 0, applied.output
    canary = strategy_file(tmp_path, DEPLOYMENTS["canary"])
    plan = cli("plan", canary, url=moto_url)
    assert plan.exit_code == 2, plan.output
    assert "strategy" in plan.output, plan.output
    assert "replace" not in plan.output.lower(), plan.output
    assert cli("apply", canary, "--yes", url=moto_url).exit_code == 0
    assert cli("plan", canary, url=moto_url).exit_code == 0
