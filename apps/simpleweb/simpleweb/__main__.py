"""Command line: ``python -m simpleweb [serve|healthcheck]``.

``serve`` (the default, and the image's command) runs uvicorn on ``0.0.0.0:$PORT``;
``healthcheck`` is the image's HEALTHCHECK probe.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from simpleweb.healthcheck import probe
from simpleweb.settings import Settings, SettingsError, from_env

log = logging.getLogger("simpleweb")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simpleweb", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the HTTP server (default)")
    sub.add_parser("healthcheck", help="exit 0 when /health answers on 127.0.0.1:$PORT")
    args = parser.parse_args(argv)
    logging.basicConfig(level=log_level().upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "healthcheck":
        return probe()
    try:
        settings = from_env()
    except SettingsError as exc:
        log.error("invalid configuration: %s", exc)
        return 2
    serve(settings)
    return 0


LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def log_level() -> str:
    """LOG_LEVEL from the environment (desired state sets it), ``info`` when unset or unknown."""
    level = os.environ.get("LOG_LEVEL", "info").strip().lower()
    return level if level in LOG_LEVELS else "info"


def serve(settings: Settings) -> None:
    import uvicorn

    from simpleweb.web import create_app

    uvicorn.run(
        create_app(settings),
        host="0.0.0.0",
        port=settings.port,
        proxy_headers=True,
        forwarded_allow_ips="*",
        timeout_graceful_shutdown=20,
        server_header=False,
        log_level=log_level(),
    )


if __name__ == "__main__":
    sys.exit(main())
