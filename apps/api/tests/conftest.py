"""Fixtures for the api's tests.

The ``mariadb`` tests use the MariaDB/MySQL server named by TEST_DB_HOST,
TEST_DB_PORT, TEST_DB_USER and TEST_DB_PASSWORD (default: root, no password, on
127.0.0.1:3306, as scripts/setup.sh provides). Each pytest process (xdist
worker) creates a database of its own, with a unique name, and drops it at the end.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
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
