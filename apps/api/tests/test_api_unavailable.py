"""A database that is down, silent or refusing us: 503 within the time-outs, no secret leaked.

"Down" is a closed port on 127.0.0.1 and "silent" a socket that accepts and never
answers, so these tests need no database server and never stop the real one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from api_service.settings import Settings
from api_service.web import create_app
from fastapi.testclient import TestClient

SECRET = "pa55-word-that-must-not-leak"
DB_PATHS = ["/ready", "/users", "/users?limit=5&offset=5", "/users/1"]


@pytest.fixture
def unreachable(make_settings: Callable[..., Settings]) -> Callable[..., Settings]:
    """Settings for a database on ``port`` with short time-outs and a recognisable password."""

    def build(port: int, **overrides: object) -> Settings:
        return make_settings(
            db_port=port,
            db_name="nothing_here",
            db_password=SECRET,
            db_connect_timeout=0.5,
            db_read_timeout=0.5,
            **overrides,
        )

    return build


@pytest.fixture
def down_client(unreachable: Callable[..., Settings], closed_port: int) -> Iterator[TestClient]:
    # migrate_on_start stays on: a database that is down must not stop the start either.
    with TestClient(create_app(unreachable(closed_port))) as client:
        yield client


def test_health_stays_up_when_the_database_is_down(down_client: TestClient) -> None:
    assert down_client.get("/health").json() == {"status": "ok"}


@pytest.mark.parametrize("path", DB_PATHS)
def test_database_down_is_a_fast_503(down_client: TestClient, path: str) -> None:
    started = time.monotonic()
    response = down_client.get(path)
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json() == {"error": "database unavailable"}
    assert response.headers["retry-after"] == "5"
    assert elapsed < 1.0, f"took {elapsed:.2f}s"


def test_bad_input_is_still_422_when_the_database_is_down(down_client: TestClient) -> None:
    assert down_client.get("/users", params={"limit": 1000}).status_code == 422
    assert down_client.get("/users/0").status_code == 422


@pytest.mark.parametrize("path", DB_PATHS)
def test_silent_database_is_a_503_after_the_read_timeout(
    unreachable: Callable[..., Settings], silent_server: int, path: str
) -> None:
    """A server that accepts the connection but never answers must not hang the request."""
    settings = unreachable(silent_server, migrate_on_start=False)
    with TestClient(create_app(settings)) as client:
        started = time.monotonic()
        response = client.get(path)
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert 0.4 < elapsed < 2.0, f"took {elapsed:.2f}s"


def test_no_secret_in_bodies_or_logs_when_the_database_is_down(
    unreachable: Callable[..., Settings],
    closed_port: int,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(unreachable(closed_port))) as client:
        bodies = [client.get(path).text for path in DB_PATHS]
    out, err = capfd.readouterr()
    for text in [*bodies, caplog.text, out, err]:
        assert SECRET not in text
    assert "database connect to 127.0.0.1" in caplog.text  # the log does say what failed


@pytest.mark.mariadb
def test_wrong_password_is_503_without_the_password_anywhere(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str], db_settings: Settings
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = replace(db_settings, db_user="nobody_here", db_password=SECRET)
    with TestClient(create_app(settings)) as client:
        responses = [client.get(path) for path in DB_PATHS]
    assert [r.status_code for r in responses] == [503] * len(DB_PATHS)
    out, err = capfd.readouterr()
    for text in [*(r.text for r in responses), caplog.text, out, err]:
        assert SECRET not in text
    assert "errno=1045" in caplog.text  # access denied, said without the credential
