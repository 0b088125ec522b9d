"""The api's settings, read once from the environment.

In ECS the database settings come from SSM Parameter Store through the task
definition's ``secrets`` (``valueFrom``), so the container sees plain environment
variables; the mapping is:

=================  ==============================
variable           SSM parameter
=================  ==============================
``DB_ENDPOINT``    ``/simpleweb/db-endpoint``
``DB_NAME``        ``/simpleweb/db-name``
``DB_USERNAME``    ``/simpleweb/db-username``
``DB_PASSWORD``    ``/simpleweb/db-password``
``DB_PORT``        ``/simpleweb/db-port``
=================  ==============================

The password is kept out of ``repr`` so that logging the settings, or a traceback
that shows them, never prints it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_PORT = 5000
DEFAULT_DB_PORT = 3306


class SettingsError(ValueError):
    """The environment does not describe a usable configuration."""


@dataclass(frozen=True)
class Settings:
    """Everything the service needs to run; built by :func:`from_env` in production."""

    db_host: str
    db_name: str
    db_user: str
    db_password: str = field(repr=False)
    db_port: int = DEFAULT_DB_PORT
    # Path to a PEM bundle (e.g. the RDS global bundle); when set, TLS is required
    # and the server certificate and host name are verified.
    db_ssl_ca: str | None = None
    db_connect_timeout: float = 3.0
    db_read_timeout: float = 5.0
    db_pool_size: int = 4
    port: int = DEFAULT_PORT
    migrate_on_start: bool = True

    def describe(self) -> str:
        """One log line that says where the service connects, without the password."""
        tls = "on" if self.db_ssl_ca else "off"
        return (
            f"db={self.db_user}@{self.db_host}:{self.db_port}/{self.db_name} tls={tls} "
            f"connect_timeout={self.db_connect_timeout}s read_timeout={self.db_read_timeout}s "
            f"pool={self.db_pool_size} port={self.port}"
        )


REQUIRED = ("DB_ENDPOINT", "DB_NAME", "DB_USERNAME", "DB_PASSWORD")


def from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings; every problem is reported at once, naming the variable only."""
    env = os.environ if environ is None else environ
    problems: list[str] = [f"{name} is not set" for name in REQUIRED if name not in env]

    endpoint = env.get("DB_ENDPOINT", "").strip()
    # RDS shows endpoints as host:port in places; accept that when DB_PORT is unset.
    if ":" in endpoint and "DB_PORT" not in env:
        endpoint, _, port_text = endpoint.rpartition(":")
        env = {**env, "DB_PORT": port_text}
    if "DB_ENDPOINT" in env and not endpoint:
        problems.append("DB_ENDPOINT is empty")

    def number(name: str, default: float, *, low: float, high: float) -> float:
        raw = env.get(name, "").strip()
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            problems.append(f"{name} must be a number")
            return default
        if not low <= value <= high:
            problems.append(f"{name} must be between {low:g} and {high:g}")
        return value

    settings = Settings(
        db_host=endpoint,
        db_name=env.get("DB_NAME", "").strip(),
        db_user=env.get("DB_USERNAME", "").strip(),
        db_password=env.get("DB_PASSWORD", ""),
        db_port=int(number("DB_PORT", DEFAULT_DB_PORT, low=1, high=65535)),
        db_ssl_ca=env.get("DB_SSL_CA", "").strip() or None,
        db_connect_timeout=number("DB_CONNECT_TIMEOUT", 3.0, low=0.1, high=60),
        db_read_timeout=number("DB_READ_TIMEOUT", 5.0, low=0.1, high=300),
        db_pool_size=int(number("DB_POOL_SIZE", 4, low=0, high=100)),
        port=int(number("PORT", DEFAULT_PORT, low=1, high=65535)),
        migrate_on_start=env.get("DB_MIGRATE_ON_START", "true").strip().lower()
        not in {"0", "false", "no", "off"},
    )
    if settings.db_ssl_ca and not os.path.isfile(settings.db_ssl_ca):
        problems.append("DB_SSL_CA does not name a readable file")
    if problems:
        raise SettingsError("; ".join(problems))
    return settings
