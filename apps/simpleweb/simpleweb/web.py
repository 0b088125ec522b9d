"""The HTTP surface: the users page and the load balancer's health check.

The page is rendered on the server in one round trip to the api, with its CSS
inline and no script, so it is usable as soon as the HTML arrives.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.middleware.gzip import GZipMiddleware

from simpleweb.client import (
    ApiBadResponseError,
    ApiUnavailableError,
    ApiUnreachableError,
    UserPage,
    UsersApi,
)
from simpleweb.settings import Settings

log = logging.getLogger(__name__)

MAX_OFFSET = 100_000

templates = Environment(
    loader=PackageLoader("simpleweb", "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

MESSAGES = {
    ApiUnreachableError: (
        "The user service cannot be reached right now.",
        "The page will work again as soon as the service is back; please retry in a minute.",
    ),
    ApiUnavailableError: (
        "The user service is up but cannot read its data right now.",
        "Its database is unavailable; please retry in a minute.",
    ),
    ApiBadResponseError: (
        "The user service gave an answer this page does not understand.",
        "This is a fault on our side and has been logged.",
    ),
}


def create_app(
    settings: Settings,
    *,
    api_factory: Callable[[Settings], UsersApi] | None = None,
) -> FastAPI:
    def default_api(s: Settings) -> UsersApi:
        return UsersApi(s.api_base_url, timeout=s.api_timeout)

    make_api = api_factory or default_api

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.api = make_api(settings)
        log.info("simpleweb starting: api=%s port=%s", settings.api_base_url, settings.port)
        try:
            yield
        finally:
            app.state.api.close()

    app = FastAPI(title="simpleweb", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.add_middleware(GZipMiddleware, minimum_size=1024)

    def page(status: int, **context: object) -> HTMLResponse:
        html = templates.get_template("users.html").render(**context)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    @app.get("/health", include_in_schema=False)
    def health() -> dict[str, str]:
        """Liveness for the load balancer: never depends on the api."""
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse)
    def users(request: Request) -> HTMLResponse:
        raw = request.query_params.get("offset", "0")
        if not raw.isdigit() or int(raw) > MAX_OFFSET:
            return page(
                400,
                error=("That page does not exist.", "Go back to the first page."),
                users_page=None,
            )
        offset = int(raw)
        api: UsersApi = request.app.state.api
        started = time.perf_counter()
        try:
            users_page: UserPage = api.list_users(limit=settings.page_size, offset=offset)
        except (ApiUnreachableError, ApiUnavailableError, ApiBadResponseError) as exc:
            log.warning("users page: %s: %s", type(exc).__name__, exc)
            status = 502 if isinstance(exc, ApiBadResponseError) else 503
            return page(status, error=MESSAGES[type(exc)], users_page=None)
        elapsed_ms = (time.perf_counter() - started) * 1000
        return page(
            200,
            error=None,
            users_page=users_page,
            page_size=settings.page_size,
            api_ms=f"{elapsed_ms:.0f}",
        )

    return app
