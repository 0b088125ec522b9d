"""The database adapter with a fake driver: connection options, pooling, start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pymysql
import pytest
from api_service.db import Database, DatabaseUnavailableError
from api_service.settings import BUNDLED_CA, Settings
from api_service.web import create_app
from fastapi.testclient import TestClient


class FakeCursor:
    def __init__(self, log: list[str], fail: BaseException | None) -> None:
        self.log, self.fail = log, fail

    def __enter__(self) -> FakeCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def execute(self, statement: str, params: tuple[Any, ...] = ()) -> int:
        self.log.append(statement)
        if self.fail is not None:
            raise self.fail
        return 0

    def fetchall(self) -> list[dict[str, Any]]:
        return []

    def fetchone(self) -> dict[str, Any] | None:
        return {"got": 1}


class FakeConnection:
    def __init__(self, fail: BaseException | None = None, *, secure: bool = False) -> None:
        self.statements: list[str] = []
        self.fail = fail
        self.closed = False
        self._secure = secure  # what PyMySQL sets once the socket is wrapped in TLS

    def cursor(self, *_: object) -> FakeCursor:
        return FakeCursor(self.statements, self.fail)

    def close(self) -> None:
        self.closed = True


class FakeDriver:
    """Stands in for ``pymysql.connect``: records the options, hands out connections."""

    def __init__(self, *connections: FakeConnection) -> None:
        self.calls: list[dict[str, Any]] = []
        self.connections = list(connections)

    def __call__(self, **options: Any) -> Any:  # a pymysql Connection look-alike
        self.calls.append(options)
        return self.connections.pop(0) if self.connections else FakeConnection()


# The opt-out, as the tests of pooling and time-outs need no TLS.
SETTINGS = Settings(db_host="db.internal", db_name="app", db_user="u", db_password="p", db_tls="off")


def test_connections_have_time_outs_utf8mb4_and_utc() -> None:
    driver = FakeDriver()
    Database(SETTINGS, connect=driver).ping()
    [options] = driver.calls
    assert options["connect_timeout"] == 3.0
    assert options["read_timeout"] == options["write_timeout"] == 5.0
    assert options["charset"] == "utf8mb4"
    assert options["init_command"] == "SET time_zone = '+00:00'"


def test_the_opt_out_is_plain_text_not_pymysql_s_unverified_default() -> None:
    # Without any ssl option PyMySQL would encrypt when the server offers it, without
    # checking the certificate; the opt-out turns TLS off altogether instead.
    driver = FakeDriver()
    Database(SETTINGS, connect=driver).ping()
    [options] = driver.calls
    assert {k: v for k, v in options.items() if k.startswith("ssl")} == {"ssl_disabled": True}


def test_verified_tls_is_the_default_with_the_bundled_ca() -> None:
    settings = Settings(db_host="db.internal", db_name="app", db_user="u", db_password="p")
    assert settings.db_tls == "verify"
    assert settings.ca_bundle == BUNDLED_CA
    assert settings.ca_bundle.endswith("api_service/certs/rds-global-bundle.pem")


def test_verify_checks_the_certificate_and_the_host_name(tmp_path: Path) -> None:
    ca = tmp_path / "rds-global-bundle.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    driver = FakeDriver(FakeConnection(secure=True))
    Database(Settings(**{**SETTINGS.__dict__, "db_tls": "verify", "db_ssl_ca": str(ca)}),
             connect=driver).ping()
    [options] = driver.calls
    assert {k: v for k, v in options.items() if k.startswith("ssl")} == {
        "ssl_ca": str(ca), "ssl_verify_cert": True, "ssl_verify_identity": True}


def test_a_connection_that_is_not_encrypted_is_refused(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    plain = FakeConnection(secure=False)
    settings = Settings(**{**SETTINGS.__dict__, "db_tls": "verify", "db_ssl_ca": str(ca)})
    with pytest.raises(DatabaseUnavailableError, match="TLS not in force"):
        Database(settings, connect=FakeDriver(plain)).ping()
    assert plain.closed
    assert plain.statements == []  # nothing was sent over it


def test_a_missing_ca_bundle_refuses_every_connection(tmp_path: Path) -> None:
    driver = FakeDriver()
    settings = Settings(**{**SETTINGS.__dict__, "db_tls": "verify", "db_ssl_ca": str(tmp_path / "none.pem")})
    assert "(missing: every connection is refused)" in settings.describe()
    with pytest.raises(DatabaseUnavailableError, match="CA bundle missing"):
        Database(settings, connect=driver).ping()
    assert driver.calls == []


def test_connections_are_reused_and_a_failed_one_is_not() -> None:
    first = FakeConnection()
    driver = FakeDriver(first)
    db = Database(SETTINGS, connect=driver)
    db.ping()
    db.ping()
    assert len(driver.calls) == 1
    first.fail = pymysql.err.OperationalError(2013, "Lost connection")
    db.ping()  # the stale pooled connection is dropped and a new one made
    assert first.closed
    assert len(driver.calls) == 2


def test_a_failing_fresh_connection_is_unavailable() -> None:
    driver = FakeDriver(FakeConnection(fail=pymysql.err.OperationalError(2013, "Lost")))
    with pytest.raises(DatabaseUnavailableError, match="errno=2013"):
        Database(SETTINGS, connect=driver).ping()


def test_pool_size_zero_means_a_connection_per_request() -> None:
    driver = FakeDriver()
    db = Database(Settings(**{**SETTINGS.__dict__, "db_pool_size": 0}), connect=driver)
    db.ping()
    db.ping()
    assert len(driver.calls) == 2


def test_a_migration_that_fails_at_start_does_not_stop_the_service() -> None:
    """An app user without CREATE rights is normal in production."""
    denied = pymysql.err.OperationalError(1142, "CREATE command denied to user")

    def database(settings: Settings) -> Database:
        return Database(settings, connect=FakeDriver(FakeConnection(fail=denied)))

    with TestClient(create_app(SETTINGS, database=database)) as client:
        assert client.get("/health").status_code == 200
