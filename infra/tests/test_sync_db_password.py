"""infra/sync_db_password.py on moto: the SecureString /simpleweb/db-password is
written from the secret that the stack generates (moto's CloudFormation skips the
secret, so each test creates it as CloudFormation would: JSON with username and
password)."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

SCRIPT = Path(__file__).resolve().parents[1] / "sync_db_password.py"
PASSWORD = "Zq7mW2pX9kL4vB8nR3tY6uH1jF5gD0sA"  # generated-looking, letters and digits


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sync_db_password", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sync = _load_script()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        secrets.create_secret(
            Name="simpleweb/db-credentials",
            SecretString=json.dumps({"username": "simpleweb_admin", "password": PASSWORD}),
        )
        yield {"secrets": secrets, "ssm": boto3.client("ssm", region_name="us-east-1")}


def _parameter(ssm: Any) -> dict[str, Any]:
    found: dict[str, Any] = ssm.get_parameter(
        Name="/simpleweb/db-password", WithDecryption=True)["Parameter"]
    return found


def test_writes_the_secure_string(aws: dict[str, Any]) -> None:
    assert sync.sync_password(secrets=aws["secrets"], ssm=aws["ssm"]) is True
    parameter = _parameter(aws["ssm"])
    assert (parameter["Type"], parameter["Value"]) == ("SecureString", PASSWORD)


def test_second_run_writes_nothing(aws: dict[str, Any]) -> None:
    sync.sync_password(secrets=aws["secrets"], ssm=aws["ssm"])
    assert sync.sync_password(secrets=aws["secrets"], ssm=aws["ssm"]) is False
    assert _parameter(aws["ssm"])["Version"] == 1


def test_follows_a_changed_secret(aws: dict[str, Any]) -> None:
    sync.sync_password(secrets=aws["secrets"], ssm=aws["ssm"])
    aws["secrets"].put_secret_value(
        SecretId="simpleweb/db-credentials",
        SecretString=json.dumps({"username": "simpleweb_admin", "password": "New0ne" * 6}),
    )
    assert sync.sync_password(secrets=aws["secrets"], ssm=aws["ssm"]) is True
    assert _parameter(aws["ssm"])["Value"] == "New0ne" * 6


def test_replaces_a_plain_string_parameter(aws: dict[str, Any]) -> None:
    aws["ssm"].put_parameter(Name="/simpleweb/db-password", Value=PASSWORD, Type="String")
    assert sync.sync_password(secrets=aws["secrets"], ssm=aws["ssm"]) is True
    assert _parameter(aws["ssm"])["Type"] == "SecureString"


def test_refuses_a_secret_without_password(aws: dict[str, Any]) -> None:
    aws["secrets"].put_secret_value(SecretId="simpleweb/db-credentials",
                                    SecretString=json.dumps({"username": "u"}))
    with pytest.raises(sync.SyncError, match="password"):
        sync.sync_password(secrets=aws["secrets"], ssm=aws["ssm"])


def test_command_line_never_prints_the_password(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert sync.main(["--region", "us-east-1"]) == 0
    assert sync.main(["--region", "us-east-1"]) == 0
    out, err = capsys.readouterr()
    assert PASSWORD not in out + err
    assert out.splitlines() == [
        "/simpleweb/db-password: SecureString written (from simpleweb/db-credentials)",
        "/simpleweb/db-password: SecureString already up to date (from simpleweb/db-credentials)",
    ]


def test_command_line_reports_a_missing_secret(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    aws["secrets"].delete_secret(SecretId="simpleweb/db-credentials",
                                 ForceDeleteWithoutRecovery=True)
    assert sync.main(["--region", "us-east-1"]) == 1
    err = capsys.readouterr().err
    assert "ResourceNotFoundException" in err
    assert "is the environment stack deployed" in err
