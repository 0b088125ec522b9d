"""The users endpoints against a real MariaDB: listing, paging, lookups, bad input."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from api_service import migrations
from api_service.db import Database
from api_service.settings import Settings
from api_service.web import create_app
from fastapi.testclient import TestClient

pytestmark = pytest.mark.mariadb


def test_health_needs_no_database_and_ready_checks_it(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"status": "ready"}


def test_list_returns_the_first_page_with_dates_as_utc_iso8601(client: TestClient) -> None:
    response = client.get("/users")
    assert response.status_code == 200
    body = response.json()
    assert (body["limit"], body["offset"], body["next_offset"]) == (20, 0, 20)
    assert [u["id"] for u in body["users"]] == list(range(1, 21))
    name, email, created = migrations.sample_users(1)[0]
    assert body["users"][0] == {
        "id": 1,
        "name": name,
        "email": email,
        "created_at": created.isoformat().replace("+00:00", "Z"),
    }
    assert datetime.fromisoformat(body["users"][0]["created_at"]) == datetime(2024, 1, 1, 9, 1, tzinfo=UTC)


def test_paging_walks_every_user_exactly_once(client: TestClient, seeded_users: int) -> None:
    seen: list[int] = []
    offset: int | None = 0
    pages = 0
    while offset is not None:
        body = client.get("/users", params={"limit": 7, "offset": offset}).json()
        seen += [u["id"] for u in body["users"]]
        offset = body["next_offset"]
        pages += 1
    assert seen == list(range(1, seeded_users + 1))
    assert pages == 4  # 7 + 7 + 7 + 4


def test_offset_past_the_end_is_an_empty_last_page(client: TestClient) -> None:
    body = client.get("/users", params={"offset": 1000}).json()
    assert body == {"users": [], "limit": 20, "offset": 1000, "next_offset": None}


def test_user_by_id(client: TestClient) -> None:
    response = client.get("/users/3")
    assert response.status_code == 200
    assert response.json()["email"] == "user0003@example.com"


def test_missing_user_is_404(client: TestClient) -> None:
    response = client.get("/users/999999")
    assert response.status_code == 404
    assert response.json() == {"error": "user not found"}


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/users", {"limit": "0"}),
        ("/users", {"limit": "101"}),
        ("/users", {"limit": "-1"}),
        ("/users", {"limit": "ten"}),
        ("/users", {"offset": "-1"}),
        ("/users", {"offset": "100001"}),
        ("/users", {"offset": "1.5"}),
        ("/users/0", {}),
        ("/users/-4", {}),
        ("/users/4294967296", {}),
        ("/users/abc", {}),
    ],
)
def test_out_of_bounds_or_malformed_input_is_422(
    client: TestClient, path: str, params: dict[str, str]
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid request"
    assert body["problems"][0]["parameter"] in {"limit", "offset", "user_id"}


INJECTIONS = [
    "1;DROP TABLE users",
    "1 OR 1=1",
    "1' OR '1'='1",
    '1" OR "1"="1',
    "1) UNION SELECT user, password, 1, NOW() FROM mysql.user -- ",
    "1/**/OR/**/1=1",
    "0x31",
    "1%00",
    "SLEEP(5)",
]


@pytest.mark.parametrize("payload", INJECTIONS)
@pytest.mark.parametrize("parameter", ["limit", "offset", "user_id"])
def test_injection_attempts_are_rejected_and_change_nothing(
    client: TestClient,
    db_settings: Settings,
    admin_sql: Any,
    seeded_users: int,
    parameter: str,
    payload: str,
) -> None:
    if parameter == "user_id":
        response = client.get(f"/users/{payload}")
    else:
        response = client.get("/users", params={parameter: payload})
    assert response.status_code in {404, 422}, response.text
    assert "users" not in response.json()
    assert "mysql" not in response.text.lower()
    # The table is still there, with the same rows.
    assert admin_sql("SELECT COUNT(*) FROM users") == [(seeded_users,)]


def test_text_with_sql_in_it_is_served_as_data(
    client: TestClient, db_settings: Settings, admin_sql: Any
) -> None:
    """Quotes, comments and markup in stored values come back verbatim."""
    name = "Robert'); DROP TABLE users;-- <b>"
    admin_sql("INSERT INTO users (name, email) VALUES (%s, %s)", (name, "bobby@example.com"))
    [(new_id,)] = admin_sql("SELECT id FROM users WHERE email = %s", ("bobby@example.com",))
    try:
        assert client.get(f"/users/{new_id}").json()["name"] == name
    finally:
        admin_sql("DELETE FROM users WHERE id = %s", (new_id,))


def test_migration_and_seed_are_idempotent(db_settings: Settings, seeded_users: int) -> None:
    db = Database(db_settings)
    assert migrations.migrate(db) == []
    assert migrations.seed(db, count=seeded_users) == seeded_users
    assert len(db.list_users(limit=100, offset=0)) == seeded_users


def test_a_dropped_pooled_connection_is_replaced_transparently(client: TestClient, admin_sql: Any) -> None:
    """After a database restart or idle time-out, the next request still succeeds."""
    assert client.get("/users/1").status_code == 200  # leaves a connection in the pool
    db: Database = client.app.state.db  # type: ignore[attr-defined]
    pooled = db._idle.queue[-1]
    with pooled.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID()")
        (connection_id,) = cur.fetchone() or (None,)
    admin_sql("KILL %s", (connection_id,))
    response = client.get("/users/1")
    assert response.status_code == 200
    assert response.json()["id"] == 1


def test_missing_schema_is_503_not_500_and_recovers_after_migrate(
    db_settings: Settings, admin_sql: Any
) -> None:
    """Never migrated, then migrated, then the table dropped under a pooled connection."""
    name = f"{db_settings.db_name}_empty"
    admin_sql(f"CREATE DATABASE `{name}`")
    try:
        settings = replace(db_settings, db_name=name, migrate_on_start=False)
        with TestClient(create_app(settings)) as client:
            assert client.get("/ready").status_code == 503
            response = client.get("/users")
            assert response.status_code == 503
            assert response.json() == {"error": "database unavailable"}

            migrations.migrate(Database(settings))
            assert client.get("/ready").status_code == 200  # leaves a pooled connection
            admin_sql(f"DROP TABLE `{name}`.users")
            assert client.get("/users").status_code == 503
            assert client.get("/users/1").status_code == 503
    finally:
        admin_sql(f"DROP DATABASE IF EXISTS `{name}`")
