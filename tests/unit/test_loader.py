"""The loader: every problem of a file, each as path:line:column: field: message."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecs_gitops.desired import load_environment, load_environment_text
from ecs_gitops.errors import DesiredStateError

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
schemaVersion: 1
environment: production
branch: main
region: us-east-1
cluster: dbscluster
services:
  - name: api
    image: {repository: api, tag: abc123}
    cpu: 256
    memory: 512
    port: 5000
"""


def problems(text: str) -> list[str]:
    with pytest.raises(DesiredStateError) as info:
        load_environment_text(text, "f.yaml")
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("path", sorted((ROOT / "desired_state").glob("*.yaml")))
def test_committed_files_are_valid(path: Path) -> None:
    env = load_environment(path)
    assert env.cluster == "dbscluster"
    assert {s.name for s in env.services} == {"simpleweb", "api"}


# (what is wrong, the edit to GOOD, the expected line:column: field: message start)
CASES = [
    ("malformed YAML", ("port: 5000", "port: [5000"), "f.yaml:12:1: malformed YAML"),
    ("duplicate key", ("    port: 5000", "    port: 5000\n    port: 5001"),
     "f.yaml:12:5: services[0].port: duplicate key 'port'"),
    ("unknown key", ("cluster: dbscluster", "cluster: dbscluster\nclustr: x"),
     "f.yaml:6:1: clustr: unknown key 'clustr'; did you mean 'cluster'?"),
    ("wrong type", ("port: 5000", "port: five"),
     "f.yaml:11:11: services[0].port: Input should be a valid integer"),
    ("secret in environment", ("    port: 5000", "    port: 5000\n    environment:\n"
                                "      DB_PASSWORD: hunter2"),
     "f.yaml:13:7: services[0].environment.DB_PASSWORD: 'DB_PASSWORD' looks like a secret"),
    ("api key in environment", ("    port: 5000", "    port: 5000\n    environment:\n"
                                 "      STRIPE_API_KEY: sk"),
     "f.yaml:13:7: services[0].environment.STRIPE_API_KEY: 'STRIPE_API_KEY' looks like a secret"),
    ("latest tag", ("tag: abc123", "tag: latest"),
     "f.yaml:8:35: services[0].image.tag: the tag 'latest' is not allowed"),
    ("min greater than max", ("    port: 5000", "    port: 5000\n    scaling: {min: 5, max: 2}"),
     "f.yaml:12:20: services[0].scaling.min: min (5) is greater than max (2)"),
    ("port out of range", ("port: 5000", "port: 70000"),
     "f.yaml:11:11: services[0].port: Input should be less than or equal to 65535"),
    ("unknown placement", ("    port: 5000", "    port: 5000\n    placement: sideways"),
     "f.yaml:12:16: services[0].placement: Input should be 'spread-az'"),
    ("two services with one name", ("    port: 5000", "    port: 5000\n  - name: api\n"
                                     "    image: {repository: api, tag: b}\n    cpu: 256\n"
                                     "    memory: 512\n    port: 80"),
     "f.yaml:12:11: services[1].name: service 'api' is defined twice"),
    ("cpu/memory pair Fargate refuses", ("cluster: dbscluster",
                                         "cluster: dbscluster\nlaunchType: FARGATE\nnetwork: "
                                         "{subnets: [subnet-0a], securityGroups: [sg-0a]}"),
     None),
    ("cpu EC2 refuses", ("cpu: 256", "cpu: 64"),
     "f.yaml:9:10: services[0].cpu: ECS refuses task cpu 64"),
    ("missing key", ("    memory: 512\n", ""),
     "f.yaml:7:5: services[0].memory: required key is missing"),
    ("desiredCount with scaling", ("    port: 5000", "    port: 5000\n    desiredCount: 2\n"
                                    "    scaling: {min: 1, max: 2}"),
     "f.yaml:12:19: services[0].desiredCount: desiredCount and scaling exclude each other"),
    ("not a mapping", (GOOD, "- just\n- a list\n"),
     "f.yaml:1:1: the file must be a mapping"),
]


@pytest.mark.parametrize(("what", "edit", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_file(what: str, edit: tuple[str, str], expected: str | None) -> None:
    text = GOOD.replace(*edit, 1)
    assert text != GOOD, f"the edit for {what!r} did not apply"
    if expected is None:  # Fargate: 256 CPU with 512 MiB is fine, 4096 MiB is not
        assert load_environment_text(text, "f.yaml")
        found = problems(text.replace("memory: 512", "memory: 4096"))
        assert found == ["f.yaml:12:13: services[0].memory: Fargate refuses memory 4096 MiB "
                         "with cpu 256: allowed 512, 1024, 2048 MiB"]
        return
    found = problems(text)
    assert any(p.startswith(expected) for p in found), found


def test_every_problem_at_once() -> None:
    text = GOOD.replace("tag: abc123", "tag: latest").replace("port: 5000", "port: 0\n"
           "    environment: {API_TOKEN: x}\n    scaling: {min: 3, max: 1}\n    colour: red")
    found = problems(text)
    assert [p.split(": ")[1] for p in found] == [
        "services[0].image.tag", "services[0].port", "services[0].environment.API_TOKEN",
        "services[0].scaling.min", "services[0].colour",
    ]


def test_missing_file_is_reported_not_raised_as_oserror(tmp_path: Path) -> None:
    with pytest.raises(DesiredStateError, match="no such file"):
        load_environment(tmp_path / "nope.yaml")


@pytest.mark.parametrize(("cpu", "memory", "units", "mib"), [
    (256, 512, 256, 512), ("256", "512", 256, 512), ("0.25 vCPU", "0.5 GB", 256, 512),
    ("1 vcpu", "2GB", 1024, 2048), ("2vCPU", "4096 MiB", 2048, 4096),
])
def test_cpu_and_memory_notations(cpu: object, memory: object, units: int, mib: int) -> None:
    text = GOOD.replace("cpu: 256", f"cpu: {cpu!r}" if isinstance(cpu, str) else f"cpu: {cpu}")
    text = text.replace("memory: 512", f"memory: {memory!r}" if isinstance(memory, str)
                        else f"memory: {memory}")
    service = load_environment_text(text).services[0]
    assert (service.cpu, service.memory) == (units, mib)


@pytest.mark.parametrize("value", [
    "mysql://admin:hunter2@db.internal:3306/app", "AKIAIOSFODNN7EXAMPLE",
    "-----BEGIN RSA PRIVATE KEY-----",
])
def test_secret_values_are_refused_whatever_their_name(value: str) -> None:
    text = GOOD.replace("    port: 5000", f"    port: 5000\n    environment:\n      DATABASE_URL: '{value}'")
    found = problems(text)
    assert any("services[0].environment.DATABASE_URL: the value" in p and "credential" in p
               for p in found), found


def test_plain_urls_are_fine() -> None:
    text = GOOD.replace("    port: 5000", "    port: 5000\n    environment:\n"
                        "      API_BASE_URL: http://api.internal:5000/v1")
    assert load_environment_text(text).services[0].environment["API_BASE_URL"]


def test_yaml_merge_keys_are_not_duplicate_keys() -> None:
    text = GOOD.replace("services:\n", "defaults: &d\n  cpu: 256\n  memory: 512\nservices:\n")
    found = problems(text)  # `defaults` is not a field: that is the only problem
    assert len(found) == 1
    assert found[0].startswith("f.yaml:6:1: defaults: unknown key 'defaults'")
    merged = GOOD.replace("    cpu: 256\n    memory: 512\n", "    <<: {cpu: 256, memory: 512}\n")
    assert load_environment_text(merged).services[0].memory == 512


def test_fargate_needs_a_network() -> None:
    text = GOOD.replace("cluster: dbscluster", "cluster: dbscluster\nlaunchType: FARGATE")
    text = text.replace("memory: 512", "memory: 1024")
    found = problems(text)
    assert any("launchType: FARGATE tasks use awsvpc networking" in p for p in found), found
    ok = text.replace("launchType: FARGATE", "launchType: FARGATE\nnetwork:\n"
                      "  subnets: [subnet-0a1b]\n  securityGroups: [sg-0c2d]")
    assert load_environment_text(ok).network is not None
