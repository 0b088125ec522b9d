"""Command line: ``python -m api_service [serve|migrate|seed|healthcheck|fetch-ca]``.

``serve`` (the default, and the image's command) runs uvicorn on ``0.0.0.0:$PORT``;
``migrate`` creates the schema; ``seed`` inserts sample users; ``healthcheck``
is the image's HEALTHCHECK probe; ``fetch-ca`` downloads the RDS CA bundle (the
Dockerfile runs it at build time).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from api_service import migrations
from api_service.db import Database, DatabaseUnavailableError
from api_service.fetch_ca import RDS_GLOBAL_BUNDLE_URL, FetchError, fetch
from api_service.healthcheck import probe
from api_service.settings import BUNDLED_CA, Settings, SettingsError, from_env

log = logging.getLogger("api_service")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api_service", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the HTTP server (default)")
    sub.add_parser("migrate", help="create or upgrade the schema")
    seed = sub.add_parser("seed", help="insert sample users (idempotent)")
    seed.add_argument("--count", type=int, default=12, help="how many users (default 12)")
    sub.add_parser("healthcheck", help="exit 0 when /health answers on 127.0.0.1:$PORT")
    fetch_ca = sub.add_parser("fetch-ca", help="download the RDS CA bundle the database is verified with")
    fetch_ca.add_argument("--url", default=RDS_GLOBAL_BUNDLE_URL, help="https URL of the PEM bundle")
    fetch_ca.add_argument("--output", default=BUNDLED_CA, help="where to write it (default: bundled path)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=log_level().upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "healthcheck":
        return probe()
    if args.command == "fetch-ca":
        try:
            count = fetch(args.url, Path(args.output))
        except FetchError as exc:
            log.error("fetch-ca: %s", exc)
            return 1
        log.info("fetch-ca: %d CA certificates from %s written to %s", count, args.url, args.output)
        return 0
    try:
        settings = from_env()
    except SettingsError as exc:
        log.error("invalid configuration: %s", exc)
        return 2
    if args.command in ("migrate", "seed"):
        log.info("database: %s", settings.describe())
    try:
        if args.command == "migrate":
            applied = migrations.migrate(Database(settings))
            log.info("migrations applied: %s", applied or "none pending")
        elif args.command == "seed":
            db = Database(settings)
            migrations.migrate(db)
            log.info("seeded %d sample users", migrations.seed(db, count=args.count))
        else:
            serve(settings)
    except DatabaseUnavailableError as exc:
        log.error("database unavailable: %s", exc)
        return 1
    return 0


LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def log_level() -> str:
    """LOG_LEVEL from the environment (desired state sets it), ``info`` when unset or unknown."""
    level = os.environ.get("LOG_LEVEL", "info").strip().lower()
    return level if level in LOG_LEVELS else "info"


def serve(settings: Settings) -> None:
    import uvicorn

    from api_service.web import create_app

    uvicorn.run(
        create_app(settings),
        host="0.0.0.0",
        port=settings.port,
        # Behind the load balancer: trust its X-Forwarded-* headers.
        proxy_headers=True,
        forwarded_allow_ips="*",
        timeout_graceful_shutdown=20,
        server_header=False,
        log_level=log_level(),
    )


if __name__ == "__main__":
    sys.exit(main())
