"""The HTTP surface: routes, response models and the error mapping.

Error bodies are always ``{"error": <short text>, ...}`` and never carry a driver
message, a host name or a credential; the details go to the log instead.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import pymysql
from fastapi import FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, field_serializer
from starlette.exceptions import HTTPException as StarletteHTTPException

from api_service import migrations
from api_service.db import Database, DatabaseError, DatabaseUnavailableError, describe_error
from api_service.settings import Settings

log = logging.getLogger(__name__)

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
# Deep OFFSET scans cost the database a full walk of the skipped rows.
MAX_OFFSET = 100_000
MAX_ID = 2**32 - 1  # INT UNSIGNED
RETRY_AFTER_SECONDS = "5"


class User(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    email: str
    created_at: datetime

    @field_serializer("created_at")
    def _utc(self, value: datetime) -> str:
        # The connection's time zone is UTC, so naive values are UTC.
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class UserPage(BaseModel):
    users: list[User]
    limit: int
    offset: int
    next_offset: int | None


def create_app(
    settings: Settings,
    *,
    database: Callable[[Settings], Database] = Database,
) -> FastAPI:
    """Build the application; the database pool lives for the app's lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = database(settings)
        app.state.db = db
        log.info("api starting: %s", settings.describe())
        if settings.migrate_on_start:
            try:
                applied = migrations.migrate(db)
                log.info("migrations applied at start: %s", applied or "none pending")
            except (DatabaseError, migrations.MigrationLockError, pymysql.MySQLError) as exc:
                # Start anyway: /health stays up and /ready reports the database. An app
                # user without CREATE rights is normal; then run `migrate` as an admin.
                log.warning("migration at start failed: %s", describe_error(exc))
        try:
            yield
        finally:
            db.close()

    app = FastAPI(
        title="api",
        summary="Users, served from the MySQL database the pipeline provisions.",
        version="1.0.0",
        lifespan=lifespan,
    )

    def db_of(request: Request) -> Database:
        db: Database = request.app.state.db
        return db

    @app.exception_handler(DatabaseUnavailableError)
    async def database_unavailable(_: Request, exc: DatabaseUnavailableError) -> JSONResponse:
        return JSONResponse(
            {"error": "database unavailable"},
            status_code=503,
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Say which parameter and why, without echoing the input back.
        problems = [
            {"parameter": ".".join(str(p) for p in e["loc"][1:]) or "body", "problem": e["msg"]}
            for e in exc.errors()
        ]
        return JSONResponse({"error": "invalid request", "problems": problems}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": str(exc.detail).lower()}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return JSONResponse({"error": "internal error"}, status_code=500)

    @app.get("/health", summary="Liveness: the process answers; the database is not checked.")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/ready",
        summary="Readiness: the database answers and the users table exists.",
        responses={503: {"description": "database unavailable"}},
    )
    def ready(request: Request) -> dict[str, str]:
        db_of(request).ping()
        return {"status": "ready"}

    @app.get("/users", responses={503: {"description": "database unavailable"}})
    def list_users(
        request: Request,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> UserPage:
        # One row more than asked tells whether there is a next page, without COUNT(*).
        rows = db_of(request).list_users(limit=limit + 1, offset=offset)
        more = len(rows) > limit
        return UserPage(
            users=[User(**row) for row in rows[:limit]],
            limit=limit,
            offset=offset,
            next_offset=offset + limit if more else None,
        )

    @app.get(
        "/users/{user_id}",
        responses={404: {"description": "no such user"}, 503: {"description": "unavailable"}},
    )
    def get_user(request: Request, user_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> User:
        row: dict[str, Any] | None = db_of(request).get_user(user_id)
        if row is None:
            raise HTTPException(status_code=404, detail="user not found")
        return User(**row)

    return app
