"""Settings from the environment: what ECS injects from SSM, and what it must never print."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from api_service.settings import BUNDLED_CA, Settings, SettingsError, from_env

SECRET = "pa55-word-that-must-not-leak"
ENV = {
    "DB_ENDPOINT": "db.example.internal",
    "DB_NAME": "simpleweb",
    "DB_USERNAME": "app",
    "DB_PASSWORD": SECRET,
    "DB_PORT": "3307",
}


def test_reads_the_variables_ecs_injects_from_ssm() -> None:
    s = from_env(ENV)
    assert (s.db_host, s.db_name, s.db_user, s.db_password, s.db_port) == (
        "db.example.internal",
        "simpleweb",
        "app",
        SECRET,
        3307,
    )
    assert s.port == 5000
    assert s.db_ssl_ca is None
    assert s.migrate_on_start


def test_endpoint_with_port_is_split_when_db_port_is_unset() -> None:
    env = {**ENV, "DB_ENDPOINT": "db.example.internal:3308"}
    del env["DB_PORT"]
    s = from_env(env)
    assert (s.db_host, s.db_port) == ("db.example.internal", 3308)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as info:
        from_env({"DB_PORT": "abc", "PORT": "70000", "DB_SSL_CA": "/nonexistent/ca.pem"})
    message = str(info.value)
    for expected in (
        "DB_ENDPOINT is not set",
        "DB_NAME is not set",
        "DB_USERNAME is not set",
        "DB_PASSWORD is not set",
        "DB_PORT must be a number",
        "PORT must be between 1 and 65535",
        "DB_SSL_CA does not name a readable file",
    ):
        assert expected in message


def test_tls_ca_and_tuning(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    s = from_env(
        {
            **ENV,
            "DB_SSL_CA": str(ca),
            "DB_CONNECT_TIMEOUT": "1.5",
            "DB_READ_TIMEOUT": "2",
            "PORT": "8081",
            "DB_MIGRATE_ON_START": "false",
        }
    )
    assert (s.db_ssl_ca, s.db_connect_timeout, s.db_read_timeout, s.port) == (
        str(ca),
        1.5,
        2.0,
        8081,
    )
    assert not s.migrate_on_start
    assert f"tls=verified ca={ca} host=db.example.internal " in s.describe()


def test_tls_is_verified_by_default_and_the_log_says_so() -> None:
    s = from_env(ENV)
    assert s.db_tls == "verify"
    assert s.ca_bundle == BUNDLED_CA
    assert f"tls=verified ca={BUNDLED_CA}" in s.describe()
    assert "host=db.example.internal" in s.describe()


def test_plain_text_is_an_explicit_opt_out_and_the_log_says_so() -> None:
    s = from_env({**ENV, "DB_TLS": "off"})
    assert s.db_tls == "off"
    assert "tls=off (DB_TLS=off: plain text, for tests and a local database only)" in s.describe()


@pytest.mark.parametrize(("env", "problem"), [
    ({"DB_TLS": "preferred"}, "DB_TLS must be verify or off"),
    ({"DB_TLS": "required"}, "DB_TLS must be verify or off"),
    ({"DB_TLS": "off", "DB_SSL_CA": __file__}, "DB_SSL_CA is set but DB_TLS=off: remove one"),
])
def test_tls_settings_that_cannot_be_meant(env: dict[str, str], problem: str) -> None:
    with pytest.raises(SettingsError, match=problem):
        from_env({**ENV, **env})


def test_password_is_in_neither_repr_nor_description() -> None:
    s = from_env(ENV)
    assert SECRET not in repr(s)
    assert SECRET not in s.describe()
    assert isinstance(s, Settings)


def test_serve_refuses_to_start_without_configuration() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "api_service", "serve"],
        cwd=Path(__file__).parents[1],
        env={"PATH": "/usr/bin:/bin", "DB_PORT": "x"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "DB_ENDPOINT is not set" in result.stderr
    assert "DB_PORT must be a number" in result.stderr
