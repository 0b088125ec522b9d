"""The only module that talks to MySQL/MariaDB.

Connections come from a small pool of idle connections; every connection is made
with connect and read/write timeouts, so a database that is down or silent turns
into :class:`DatabaseUnavailableError` within seconds instead of a hung request.
Every statement is parameterised (``%s`` placeholders filled in by the driver).
"""

from __future__ import annotations

import logging
import os
import queue
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

import pymysql
import pymysql.cursors
from pymysql.connections import Connection

from api_service.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
Row = dict[str, Any]

# Server error 1146: the table does not exist (the migration has not run).
ER_NO_SUCH_TABLE = 1146


class DatabaseError(Exception):
    """Base of the errors this module raises."""


class DatabaseUnavailableError(DatabaseError):
    """The database cannot serve the request now; the caller should answer 503.

    The message is safe to log: an error class and number, never a credential.
    """


# Client error 2026 (CR_SSL_CONNECTION_ERROR): PyMySQL's refusal of a server that does
# not offer TLS when a CA is configured.
CR_SSL_CONNECTION_ERROR = 2026


def describe_error(exc: BaseException) -> str:
    """The error's class and number: enough for an operator, never a credential.

    TLS failures also say why (the certificate check's reason, or that the server
    offers no TLS): OpenSSL's and PyMySQL's words, which name hosts, never secrets.
    """
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    text = type(exc).__name__ + (f" errno={code}" if code is not None else "")
    # PyMySQL turns an OSError during connect (TLS failures included) into
    # OperationalError 2003 and keeps the original as `original_exception`.
    cause = getattr(exc, "original_exception", None) or exc
    if isinstance(cause, ssl.SSLCertVerificationError):
        text += f" (SSLCertVerificationError: {cause.verify_message})"
    elif isinstance(cause, ssl.SSLError):
        text += f" (SSLError: {cause.reason})"
    elif code == CR_SSL_CONNECTION_ERROR:
        text += " (TLS required but the server does not offer it)"
    return text


# OSError covers refused connections and socket time-outs (TimeoutError).
_UNAVAILABLE = (pymysql.err.OperationalError, pymysql.err.InterfaceError, OSError)


class Database:
    """A pool of connections plus the queries the service runs."""

    def __init__(
        self,
        settings: Settings,
        *,
        connect: Callable[..., Connection[Any]] = pymysql.connect,
    ) -> None:
        self._settings = settings
        self._connect_fn = connect
        self._idle: queue.LifoQueue[Connection[Any]] = queue.LifoQueue(maxsize=max(settings.db_pool_size, 1))

    # -- connections ---------------------------------------------------------

    def _connect(self) -> Connection[Any]:
        s = self._settings
        ssl: dict[str, Any]
        if s.db_tls == "off":
            # Explicit opt-out (settings.DB_TLS): no TLS at all, not PyMySQL's default of
            # "encrypt if the server offers it, unverified".
            ssl = {"ssl_disabled": True}
        else:
            if not os.path.isfile(s.ca_bundle):
                log.error("database connect refused: CA bundle %s missing (DB_SSL_CA)", s.ca_bundle)
                raise DatabaseUnavailableError("TLS CA bundle missing")
            # With a CA given PyMySQL requires TLS: a server that does not offer it is
            # refused (CR_SSL_CONNECTION_ERROR), never spoken to in plain text.
            ssl = {"ssl_ca": s.ca_bundle, "ssl_verify_cert": True, "ssl_verify_identity": True}
        try:
            conn = self._connect_fn(
                host=s.db_host,
                port=s.db_port,
                user=s.db_user,
                password=s.db_password,
                database=s.db_name,
                connect_timeout=s.db_connect_timeout,
                read_timeout=s.db_read_timeout,
                write_timeout=s.db_read_timeout,
                charset="utf8mb4",
                autocommit=True,
                # TIMESTAMP columns are read and written in UTC.
                init_command="SET time_zone = '+00:00'",
                **ssl,
            )
        except _UNAVAILABLE as exc:
            log.warning("database connect to %s:%s failed: %s", s.db_host, s.db_port, describe_error(exc))
            raise DatabaseUnavailableError(describe_error(exc)) from None
        if s.db_tls != "off" and not getattr(conn, "_secure", False):
            # Belt and braces over PyMySQL's own refusal (its private flag; should it
            # be renamed, every connection fails closed here and the tests say so).
            _close(conn)
            log.error("database connect to %s:%s refused: not encrypted", s.db_host, s.db_port)
            raise DatabaseUnavailableError("TLS not in force")
        return conn

    def _take(self) -> Connection[Any] | None:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return None

    def _give_back(self, conn: Connection[Any]) -> None:
        if self._settings.db_pool_size > 0:
            try:
                self._idle.put_nowait(conn)
                return
            except queue.Full:
                pass
        _close(conn)

    def run(self, work: Callable[[Connection[Any]], T]) -> T:
        """Run ``work`` on a connection; retry once on a fresh one if a pooled one is stale.

        Only idempotent reads go through here, so one retry after a dropped
        connection (server restart, idle time-out) is safe.
        """
        with _translated_errors():
            pooled = self._take()
            if pooled is not None:
                try:
                    return self._call(pooled, work)
                except _UNAVAILABLE as exc:
                    log.info("pooled connection unusable (%s); reconnecting", describe_error(exc))
            return self._call(self._connect(), work)

    def _call(self, conn: Connection[Any], work: Callable[[Connection[Any]], T]) -> T:
        """Run ``work``; a connection that raised anything is closed, never pooled."""
        try:
            result = work(conn)
        except BaseException:
            _close(conn)
            raise
        self._give_back(conn)
        return result

    @contextmanager
    def cursor(self) -> Iterator[pymysql.cursors.DictCursor]:
        """A cursor on a fresh, unpooled connection: for the migrate and seed commands."""
        with _translated_errors():
            conn = self._connect()
            try:
                with conn.cursor(pymysql.cursors.DictCursor) as cur:
                    yield cur
            finally:
                _close(conn)

    def close(self) -> None:
        while (conn := self._take()) is not None:
            _close(conn)

    # -- queries -------------------------------------------------------------

    def ping(self) -> None:
        """Raise :class:`DatabaseUnavailableError` unless the users table can be read."""

        def work(conn: Connection[Any]) -> None:
            with conn.cursor(pymysql.cursors.DictCursor) as cur:
                cur.execute("SELECT 1 FROM users LIMIT 1")
                cur.fetchall()

        self.run(work)

    def list_users(self, *, limit: int, offset: int) -> list[Row]:
        """Users ordered by id; ``limit`` and ``offset`` are bound parameters."""

        def work(conn: Connection[Any]) -> list[Row]:
            with conn.cursor(pymysql.cursors.DictCursor) as cur:
                cur.execute(
                    "SELECT id, name, email, created_at FROM users ORDER BY id LIMIT %s OFFSET %s",
                    (limit, offset),
                )
                return list(cur.fetchall())

        return self.run(work)

    def get_user(self, user_id: int) -> Row | None:
        def work(conn: Connection[Any]) -> Row | None:
            with conn.cursor(pymysql.cursors.DictCursor) as cur:
                cur.execute("SELECT id, name, email, created_at FROM users WHERE id = %s", (user_id,))
                return cur.fetchone()

        return self.run(work)


@contextmanager
def _translated_errors() -> Iterator[None]:
    """Driver errors that mean "the database cannot serve now" become one error of ours."""
    try:
        yield
    except _UNAVAILABLE as exc:
        log.warning("database query failed: %s", describe_error(exc))
        raise DatabaseUnavailableError(describe_error(exc)) from None
    except pymysql.err.ProgrammingError as exc:
        if exc.args and exc.args[0] == ER_NO_SUCH_TABLE:
            log.error("database schema missing (run `python -m api_service migrate`)")
            raise DatabaseUnavailableError("schema missing") from None
        raise


def _close(conn: Connection[Any]) -> None:
    with suppress(Exception):
        conn.close()
