"""The users page with a fake api (httpx.MockTransport): no browser, no database."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from simpleweb.client import UsersApi
from simpleweb.settings import Settings, SettingsError, from_env
from simpleweb.web import create_app

Handler = Callable[[httpx.Request], httpx.Response]


def users_body(count: int, *, offset: int = 0, next_offset: int | None = None) -> dict[str, object]:
    return {
        "users": [
            {
                "id": offset + n,
                "name": f"User {offset + n}",
                "email": f"u{offset + n}@example.com",
                "created_at": "2024-03-05T10:00:00Z",
            }
            for n in range(1, count + 1)
        ],
        "limit": 20,
        "offset": offset,
        "next_offset": next_offset,
    }


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], TestClient]]:
    """simpleweb wired to an api that answers with ``handler``."""
    clients: list[TestClient] = []

    def build(handler: Handler) -> TestClient:
        def fake_api(s: Settings) -> UsersApi:
            return UsersApi("http://api.test", timeout=s.api_timeout, transport=httpx.MockTransport(handler))

        client = TestClient(create_app(Settings(page_size=20), api_factory=fake_api))
        clients.append(client.__enter__())
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


def test_lists_users_and_asks_the_api_for_one_page(
    serve: Callable[[Handler], TestClient],
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=users_body(3, offset=20, next_offset=None))

    response = serve(handler).get("/?offset=20")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.count("<tr data-user-id=") == 3
    assert "User 21" in response.text
    assert "05 Mar 2024" in response.text
    assert 'rel="prev" href="?offset=0"' in response.text
    assert 'rel="next"' not in response.text
    assert [str(r.url) for r in seen] == ["http://api.test/users?limit=20&offset=20"]


def test_markup_from_the_api_is_escaped(serve: Callable[[Handler], TestClient]) -> None:
    body = users_body(1)
    body["users"][0]["name"] = "<script>alert(1)</script>"  # type: ignore[index]
    response = serve(lambda _: httpx.Response(200, json=body)).get("/")
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_no_users_yet(serve: Callable[[Handler], TestClient]) -> None:
    response = serve(lambda _: httpx.Response(200, json=users_body(0))).get("/")
    assert response.status_code == 200
    assert 'id="no-users"' in response.text


def refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def time_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


@pytest.mark.parametrize(
    ("handler", "status", "message"),
    [
        (refuse, 503, "cannot be reached"),
        (time_out, 503, "cannot be reached"),
        (lambda _: httpx.Response(503, json={"error": "database unavailable"}), 503, "its data"),
        (lambda _: httpx.Response(500, text="boom"), 502, "does not understand"),
        (lambda _: httpx.Response(200, text="not json"), 502, "does not understand"),
        (lambda _: httpx.Response(200, json={"users": "nope"}), 502, "does not understand"),
    ],
)
def test_api_failures_show_a_clear_message(
    serve: Callable[[Handler], TestClient], handler: Handler, status: int, message: str
) -> None:
    response = serve(handler).get("/")
    assert response.status_code == status
    assert 'id="api-error"' in response.text
    assert message in response.text
    assert "<table" not in response.text


@pytest.mark.parametrize("offset", ["-1", "abc", "1.5", "100001", "1;DROP TABLE users"])
def test_bad_offset_is_400_without_calling_the_api(
    serve: Callable[[Handler], TestClient], offset: str
) -> None:
    response = serve(refuse).get("/", params={"offset": offset})
    assert response.status_code == 400
    assert "That page does not exist" in response.text


def test_health_does_not_depend_on_the_api(serve: Callable[[Handler], TestClient]) -> None:
    assert serve(refuse).get("/health").json() == {"status": "ok"}


def test_security_headers(serve: Callable[[Handler], TestClient]) -> None:
    response = serve(lambda _: httpx.Response(200, json=users_body(1))).get("/")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_unreachable_api_on_a_real_closed_port_answers_fast() -> None:
    """No mock: a refused TCP connection turns into the message in well under a second."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(api_base_url=f"http://127.0.0.1:{port}", api_timeout=2.0)
    with TestClient(create_app(settings)) as client:
        started = time.monotonic()
        response = client.get("/")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert "cannot be reached" in response.text
    assert elapsed < 1.0


def test_settings_from_the_environment() -> None:
    s = from_env({"API_BASE_URL": "http://api.internal:5000/", "PORT": "8080", "API_TIMEOUT": "2"})
    assert (s.api_base_url, s.port, s.api_timeout) == ("http://api.internal:5000", 8080, 2.0)
    assert from_env({}).port == 80
    with pytest.raises(SettingsError, match="API_BASE_URL must be an http"):
        from_env({"API_BASE_URL": "api.internal:5000"})
    with pytest.raises(SettingsError, match="PAGE_SIZE must be between"):
        from_env({"PAGE_SIZE": "1000"})


def test_api_client_sends_json_accept_header() -> None:
    captured: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(200, content=json.dumps(users_body(0)).encode())

    api = UsersApi("http://api.test", timeout=1, transport=httpx.MockTransport(handler))
    try:
        assert api.list_users(limit=5, offset=0).users == []
    finally:
        api.close()
    assert captured[0].headers["accept"] == "application/json"
