"""The container's HEALTHCHECK probe, with the standard library only (no curl in the image)."""

from __future__ import annotations

import os
import urllib.request

from simpleweb.settings import DEFAULT_PORT


def probe(path: str = "/health", timeout: float = 3.0) -> int:
    """Return 0 when ``GET http://127.0.0.1:$PORT{path}`` answers 200, else 1."""
    url = f"http://127.0.0.1:{os.environ.get('PORT', DEFAULT_PORT)}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 0 if response.status == 200 else 1
    except OSError:
        return 1
