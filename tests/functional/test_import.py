"""`ecs-gitops import` on the embedded AWS: services that run (here: applied by
ecs-gitops from the repository's production file, then changed by hand with fields the
short form does not have) are written as a file that plans empty against them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from ecs_gitops_tools.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_import_of_a_live_cluster_plans_empty(seeded: Any, moto_url: str, tmp_path: Path
                                              ) -> None:
    url = ["--endpoint-url", moto_url]
    assert cli("apply", str(ROOT / "desired_state/production.yaml"), "--yes", *url
               ).exit_code == 0
    ecs = seeded.ecs
    # Someone changed the service by hand, with fields the short form does not have.
    ecs.update_service(cluster="dbscluster", service="api", enableExecuteCommand=True,
                       placementStrategy=[{"type": "binpack", "field": "cpu"},
                                          {"type": "spread", "field": "instanceId"}])
    out = tmp_path / "production.yaml"
    result = cli("import", "--cluster", "dbscluster", "--environment", "production",
                 "-o", str(out), *url)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "enableExecuteCommand: true" in text
    assert "/simpleweb/db-password" in text  # secrets stay references
    planned = cli("plan", str(out), *url)
    assert planned.exit_code == 0, planned.output + text
    assert "no changes" in planned.output


def test_import_marks_the_services_only_when_asked(seeded: Any, moto_url: str, tmp_path: Path
                                                   ) -> None:
    ecs = seeded.ecs
    ecs.register_task_definition(family="legacy", containerDefinitions=[{
        "name": "legacy", "image": "public.ecr.aws/nginx/nginx:1.27", "memory": 128}],
        cpu="256", memory="512")
    ecs.create_service(cluster="dbscluster", serviceName="legacy", taskDefinition="legacy",
                       desiredCount=1)
    url = ["--endpoint-url", moto_url]
    out = tmp_path / "legacy.yaml"

    def tags() -> dict[str, str]:
        found = ecs.describe_services(cluster="dbscluster", services=["legacy"],
                                      include=["TAGS"])["services"][0].get("tags", [])
        return {t["key"]: t["value"] for t in found}

    assert cli("import", "--cluster", "dbscluster", "-s", "legacy", "-o", str(out), *url
               ).exit_code == 0
    assert tags() == {}  # an import alone writes nothing to AWS
    result = cli("import", "--cluster", "dbscluster", "-s", "legacy", "--environment",
                 "production", "--mark", "-o", str(out), *url)
    assert result.exit_code == 0, result.output
    assert tags() == {"ecs-gitops:managed-by": "ecs-gitops",
                      "ecs-gitops:environment": "production"}
    planned = cli("plan", str(out), *url)
    assert planned.exit_code == 0, planned.output + out.read_text()


def test_import_of_some_services_only(seeded: Any, moto_url: str, tmp_path: Path) -> None:
    url = ["--endpoint-url", moto_url]
    assert cli("apply", str(ROOT / "desired_state/production.yaml"), "--yes", *url
               ).exit_code == 0
    out = tmp_path / "api.yaml"
    assert cli("import", "--cluster", "dbscluster", "-s", "api", "--environment", "production",
               "-o", str(out), *url).exit_code == 0
    planned = cli("plan", str(out), *url)
    assert planned.exit_code == 0, planned.output
    assert "orphaned service simpleweb" in planned.output  # production's, not in this file


def test_import_of_a_task_definition_file_flags_secrets(tmp_path: Path) -> None:
    corpus = json.loads((ROOT / "tests/corpus/awscli-describe-task-definition-hello-world.json"
                         ).read_text())
    path = tmp_path / "td.json"
    path.write_text(json.dumps({"taskDefinition": corpus["response"]}))
    result = runner.invoke(app, ["import", "--task-definition", str(path)])
    assert result.exit_code == 0, result.output
    assert "MYSQL_ROOT_PASSWORD holds a plain value that looks like a secret" in result.output
    assert ": password" not in result.output  # the plain value is never printed
    assert "name: wordpress" in result.stdout


def test_import_needs_a_source() -> None:
    result = runner.invoke(app, ["import"])
    assert result.exit_code == 1
    assert "--cluster" in result.output


def test_import_of_an_awsvpc_task_definition_file_with_its_network(tmp_path: Path) -> None:
    from ecs_gitops.desired import load_environment

    corpus = json.loads((ROOT / "tests/corpus/ecspresso-ecs-task-def.json").read_text())
    path, out = tmp_path / "td.json", tmp_path / "imported.yaml"
    path.write_text(json.dumps(corpus["request"]))
    result = runner.invoke(app, ["import", "--task-definition", str(path), "--subnet",
                                 "subnet-0a", "--security-group", "sg-0a", "-o", str(out),
                                 "--region", "ap-northeast-1"])
    assert result.exit_code == 0, result.output
    env = load_environment(out)
    assert env.launch_type == "FARGATE"
    assert [s.name for s in env.services[0].sidecars] == ["bash"]
    assert "Not expressed exactly" not in out.read_text()
