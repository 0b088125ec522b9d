"""Fixtures for the api's tests.

The ``mariadb`` tests use the MariaDB/MySQL server named by TEST_DB_HOST,
TEST_DB_PORT, TEST_DB_USER and TEST_DB_PASSWORD (default: root, no password, on
127.0.0.1:3306, as scripts/setup.sh provides). Each pytest process (xdist
worker) creates a database of its own, with a unique name, and drops it at the end.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
import pytest
from api_service import migrations
from api_service.db import Database
from api_service.settings import Settings
from api_service.web import create_app
from fastapi.testclient import TestClient

SEEDED_USERS = 25


def server_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "db_host": os.environ.get("TEST_DB_HOST", "127.0.0.1"),
        "db_port": int(os.environ.get("TEST_DB_PORT", "3306")),
        "db_user": os.environ.get("TEST_DB_USER", "root"),
        "db_password": os.environ.get("TEST_DB_PASSWORD", ""),
        "db_name": "",
        # The machine's MariaDB speaks no TLS: the explicit opt-out, logged as such.
        # test_api_tls.py runs a MariaDB with TLS for the verified default.
        "db_tls": "off",
        "db_connect_timeout": 2.0,
        "db_read_timeout": 5.0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def admin_connection(database: str | None = None) -> pymysql.connections.Connection[Any]:
    s = server_settings()
    return pymysql.connect(
        host=s.db_host,
        port=s.db_port,
        user=s.db_user,
        password=s.db_password,
        database=database,
        connect_timeout=s.db_connect_timeout,
        autocommit=True,
    )


@pytest.fixture(scope="session")
def database_name() -> Iterator[str]:
    """A database for this test process, migrated and seeded; dropped afterwards."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"api_test_{worker}_{uuid.uuid4().hex[:8]}"
    with admin_connection() as conn, conn.cursor() as cur:
        # Identifiers cannot be bound parameters; the name is built above from safe parts.
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        db = Database(server_settings(db_name=name))
        migrations.migrate(db)
        migrations.seed(db, count=SEEDED_USERS)
        yield name
    finally:
        with admin_connection() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


AdminSql = Callable[..., list[tuple[Any, ...]]]


@pytest.fixture
def admin_sql(database_name: str) -> AdminSql:
    """Run one statement in the test database as the admin user (not through the app)."""

    def run(statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with admin_connection(database_name) as conn, conn.cursor() as cur:
            cur.execute(statement, params)
            return list(cur.fetchall())

    return run


@pytest.fixture
def seeded_users(database_name: str) -> int:
    return SEEDED_USERS


@pytest.fixture
def db_settings(database_name: str) -> Settings:
    return server_settings(db_name=database_name)


@pytest.fixture
def client(db_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(db_settings)) as test_client:
        yield test_client


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def make_settings() -> Callable[..., Settings]:
    """Settings for the test server, with any field overridden."""
    return server_settings


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections (through the backlog) and never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


# ---------------------------------------------------------------- certificates
@dataclass(frozen=True)
class Pki:
    ca: Path  # the CA that signed the server's certificate
    other_ca: Path  # a CA that did not
    server_cert: Path
    server_key: Path


def _make_pki(directory: Path) -> Pki:
    """A CA, a server certificate it signed (for 127.0.0.1 and mariadb.test), and an
    unrelated CA, as PEM files in ``directory``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def ca(common: str) -> tuple[Any, Any]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder().subject_name(name(common)).issuer_name(name(common))
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                             content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False,
                                             encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        return cert, key

    def pem(cert: Any) -> bytes:
        return bytes(cert.public_bytes(serialization.Encoding.PEM))

    ca_cert, ca_key = ca("ecs-gitops test CA")
    other_cert, _ = ca("some other CA")
    server_key = ec.generate_private_key(ec.SECP256R1())
    # Valid for the address the api connects to (127.0.0.1) and a DNS name; not for
    # "localhost", which the wrong-host test uses.
    server_cert = (
        x509.CertificateBuilder().subject_name(name("mariadb.test")).issuer_name(ca_cert.subject)
        .public_key(server_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("mariadb.test"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256()))
    pki = Pki(directory / "ca.pem", directory / "other-ca.pem",
              directory / "server-cert.pem", directory / "server-key.pem")
    pki.ca.write_bytes(pem(ca_cert))
    pki.other_ca.write_bytes(pem(other_cert))
    pki.server_cert.write_bytes(pem(server_cert))
    pki.server_key.write_bytes(server_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()))
    return pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Certificates made for this test run (no network: never the real RDS bundle)."""
    return _make_pki(tmp_path_factory.mktemp("pki"))
