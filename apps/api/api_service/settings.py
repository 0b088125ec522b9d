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

TLS to the database is verified by default (``DB_TLS=verify``): the server must present
a certificate signed by a CA of ``DB_SSL_CA`` (default: the RDS global bundle that the
image downloads at build time, :data:`BUNDLED_CA`) for the host name the api connects
to, and a server that does not offer TLS is refused. ``DB_TLS=off`` is the explicit,
logged opt-out for tests and a local database without TLS; it is never the default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PORT = 5000
DEFAULT_DB_PORT = 3306
# Where the Dockerfile puts the RDS global CA bundle (``python -m api_service fetch-ca``
# at build time, from the URL AWS documents in "Using SSL/TLS to encrypt a connection
# to a DB instance": https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem).
BUNDLED_CA = str(Path(__file__).resolve().parent / "certs" / "rds-global-bundle.pem")
TLS_MODES = ("verify", "off")


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
    # "verify": TLS required, the certificate checked against ca_bundle and the host
    # name against db_host. "off": plain text (tests and a local database only).
    db_tls: str = "verify"
    # Path to a PEM CA bundle; None means the bundled RDS one (BUNDLED_CA).
    db_ssl_ca: str | None = None
    db_connect_timeout: float = 3.0
    db_read_timeout: float = 5.0
    db_pool_size: int = 4
    port: int = DEFAULT_PORT
    migrate_on_start: bool = True

    @property
    def ca_bundle(self) -> str:
        """The CA bundle that verifies the database's certificate."""
        return self.db_ssl_ca or BUNDLED_CA

    def describe_tls(self) -> str:
        """What is in force for TLS to the database, as the log says it."""
        if self.db_tls == "off":
            return "tls=off (DB_TLS=off: plain text, for tests and a local database only)"
        missing = "" if os.path.isfile(self.ca_bundle) else " (missing: every connection is refused)"
        return f"tls=verified ca={self.ca_bundle}{missing} host={self.db_host}"

    def describe(self) -> str:
        """One log line that says where the service connects, without the password."""
        return (
            f"db={self.db_user}@{self.db_host}:{self.db_port}/{self.db_name} {self.describe_tls()} "
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
        db_tls=env.get("DB_TLS", "").strip().lower() or "verify",
        db_ssl_ca=env.get("DB_SSL_CA", "").strip() or None,
        db_connect_timeout=number("DB_CONNECT_TIMEOUT", 3.0, low=0.1, high=60),
        db_read_timeout=number("DB_READ_TIMEOUT", 5.0, low=0.1, high=300),
        db_pool_size=int(number("DB_POOL_SIZE", 4, low=0, high=100)),
        port=int(number("PORT", DEFAULT_PORT, low=1, high=65535)),
        migrate_on_start=env.get("DB_MIGRATE_ON_START", "true").strip().lower()
        not in {"0", "false", "no", "off"},
    )
    if settings.db_tls not in TLS_MODES:
        problems.append("DB_TLS must be verify or off")
    if settings.db_ssl_ca and not os.path.isfile(settings.db_ssl_ca):
        problems.append("DB_SSL_CA does not name a readable file")
    if settings.db_ssl_ca and settings.db_tls == "off":
        problems.append("DB_SSL_CA is set but DB_TLS=off: remove one")
    if problems:
        raise SettingsError("; ".join(problems))
    return settings
