"""Fetch the RDS CA bundle into the image: ``python -m api_service fetch-ca``.

The Dockerfile runs it at build time, so the image carries the bundle that verifies
the database's certificate (settings.BUNDLED_CA). The URL is the one AWS documents in
"Using SSL/TLS to encrypt a connection to a DB instance or cluster" (Amazon RDS User
Guide): the global bundle, which holds the root and intermediate CAs of every region.

Only ``https://`` is accepted, verified against the system's trust store (python slim
images ship ca-certificates); the answer must be PEM certificates that are all CAs,
and is written atomically, readable by the unprivileged user the image runs as.
"""

from __future__ import annotations

import os
import re
import ssl
import tempfile
import urllib.request
from pathlib import Path

RDS_GLOBAL_BUNDLE_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
MAX_BYTES = 2_000_000  # the global bundle is about 160 kB
_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----", re.S)


class FetchError(RuntimeError):
    """The bundle could not be fetched or is not a CA bundle (the message says why)."""


def count_cas(pem: bytes) -> int:
    """The number of CA certificates in a PEM bundle.

    Raises FetchError unless the data is one or more PEM certificates, every one of
    them a CA (what OpenSSL loads as a trust anchor).
    """
    blocks = _PEM.findall(pem)
    if not blocks:
        raise FetchError("no PEM certificate in the answer")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_verify_locations(cadata=b"\n".join(blocks).decode("ascii"))
    except (ssl.SSLError, ValueError) as exc:
        raise FetchError(f"not a valid PEM bundle ({exc})") from None
    stats = context.cert_store_stats()
    if stats["x509_ca"] != len(blocks):
        raise FetchError(f"{len(blocks) - stats['x509_ca']} of {len(blocks)} certificates are not CAs")
    return int(stats["x509_ca"])


def fetch(url: str, output: Path, *, timeout: float = 30.0,
          context: ssl.SSLContext | None = None) -> int:
    """Download ``url`` into ``output``; return the number of CA certificates.

    ``context`` verifies the server (default: the system's trust store). Raises
    FetchError for a non-https URL, a failed download, an answer over MAX_BYTES or one
    that is not a CA bundle; ``output`` is then left as it was.
    """
    if not url.startswith("https://"):
        raise FetchError(f"only https:// URLs are fetched, not {url!r}")
    try:
        with urllib.request.urlopen(  # noqa: S310 - https only, checked above
                url, timeout=timeout, context=context or ssl.create_default_context()) as answer:
            data = answer.read(MAX_BYTES + 1)
    except OSError as exc:  # URLError, HTTPError, TLS and socket errors
        raise FetchError(f"{url}: {exc}") from None
    if len(data) > MAX_BYTES:
        raise FetchError(f"{url}: answer larger than {MAX_BYTES} bytes")
    count = count_cas(data)
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=output.parent, prefix=".ca-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return count
