"""Schema migrations and sample data.

Migrations are numbered SQL statements applied in order and recorded in
``schema_migrations``. Several tasks may start at once during a rolling update,
so the whole run holds a named server lock (``GET_LOCK``); every statement is
also idempotent (``IF NOT EXISTS``) in case a table predates this service.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pymysql.cursors

from api_service.db import Database

log = logging.getLogger(__name__)

LOCK_NAME = "api_service.migrate"
LOCK_WAIT_SECONDS = 30

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
        CREATE TABLE IF NOT EXISTS users (
            id INT UNSIGNED NOT NULL AUTO_INCREMENT,
            name VARCHAR(100) NOT NULL,
            email VARCHAR(255) NOT NULL,
            created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
            PRIMARY KEY (id),
            UNIQUE KEY uq_users_email (email)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
        """,
    ),
)


class MigrationLockError(RuntimeError):
    """Another process held the migration lock for too long."""


def migrate(db: Database) -> list[int]:
    """Apply the migrations not yet recorded; return the versions applied now."""
    with db.cursor() as cur:
        cur.execute("SELECT GET_LOCK(%s, %s) AS got", (LOCK_NAME, LOCK_WAIT_SECONDS))
        row = cur.fetchone()
        if not row or row["got"] != 1:
            raise MigrationLockError(f"could not take the lock {LOCK_NAME!r}")
        try:
            return _apply(cur)
        finally:
            cur.execute("SELECT RELEASE_LOCK(%s)", (LOCK_NAME,))


def _apply(cur: pymysql.cursors.DictCursor) -> list[int]:
    cur.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INT NOT NULL PRIMARY KEY,"
        " applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP"
        ") ENGINE=InnoDB"
    )
    cur.execute("SELECT version FROM schema_migrations")
    done = {int(row["version"]) for row in cur.fetchall()}
    applied: list[int] = []
    for version, statement in MIGRATIONS:
        if version in done:
            continue
        log.info("applying migration %d", version)
        cur.execute(statement)
        cur.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
        applied.append(version)
    return applied


FIRST_NAMES = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken")
LAST_NAMES = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton")
SEED_EPOCH = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)


def sample_users(count: int) -> list[tuple[str, str, datetime]]:
    """Deterministic sample rows: (name, email, created_at in UTC)."""
    rows = []
    for n in range(1, count + 1):
        first = FIRST_NAMES[(n - 1) % len(FIRST_NAMES)]
        last = LAST_NAMES[(n - 1) % len(LAST_NAMES)]
        created = SEED_EPOCH + timedelta(days=n - 1, minutes=n)
        rows.append((f"{first} {last}", f"user{n:04d}@example.com", created))
    return rows


def seed(db: Database, *, count: int = 12) -> int:
    """Insert (or refresh) ``count`` sample users, keyed by email; return ``count``."""
    rows = [(name, email, created.replace(tzinfo=None)) for name, email, created in sample_users(count)]
    with db.cursor() as cur:
        cur.executemany(
            "INSERT INTO users (name, email, created_at) VALUES (%s, %s, %s)"
            " ON DUPLICATE KEY UPDATE name = VALUES(name), created_at = VALUES(created_at)",
            rows,
        )
    return count
