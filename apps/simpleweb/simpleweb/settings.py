"""The frontend's settings, read once from the environment.

``API_BASE_URL`` is where the api answers, e.g. the load balancer's listener for
the api (``http://<alb-dns-name>:5000``) in ECS, or ``http://127.0.0.1:5000``
locally. It is configuration, not a secret, so it goes in the desired state's
``environment:``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORT = 80
DEFAULT_API_BASE_URL = "http://127.0.0.1:5000"


class SettingsError(ValueError):
    """The environment does not describe a usable configuration."""


@dataclass(frozen=True)
class Settings:
    api_base_url: str = DEFAULT_API_BASE_URL
    # Total budget per api call; the page must answer quickly even when the api hangs.
    api_timeout: float = 3.0
    page_size: int = 20
    port: int = DEFAULT_PORT


def from_env(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    problems: list[str] = []

    base = env.get("API_BASE_URL", DEFAULT_API_BASE_URL).strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        problems.append("API_BASE_URL must be an http(s) URL such as http://api.internal:5000")

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
        api_base_url=base,
        api_timeout=number("API_TIMEOUT", 3.0, low=0.1, high=60),
        page_size=int(number("PAGE_SIZE", 20, low=1, high=100)),
        port=int(number("PORT", DEFAULT_PORT, low=1, high=65535)),
    )
    if problems:
        raise SettingsError("; ".join(problems))
    return settings
