"""``python -m api_service fetch-ca``, the Dockerfile's download of the RDS CA bundle,
against a local HTTPS server with certificates made for the test (there is no network
here: the real URL is only checked to be the documented one)."""

from __future__ import annotations

import http.server
import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from api_service.fetch_ca import RDS_GLOBAL_BUNDLE_URL, FetchError, count_cas, fetch

if TYPE_CHECKING:
    from conftest import Pki

API = Path(__file__).resolve().parents[1]


@pytest.fixture
def https(pki: Pki) -> Iterator[tuple[str, dict[str, bytes]]]:
    """A local HTTPS server (its certificate signed by the test CA) serving ``pages``."""
    pages: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(body or b"not found")

        def log_message(self, *args: object) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", pages
    finally:
        server.shutdown()
        server.server_close()


def _trusting(pki: Pki) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(pki.ca))


def test_the_default_url_is_the_one_aws_documents() -> None:
    assert RDS_GLOBAL_BUNDLE_URL == "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"


def test_fetches_a_bundle_of_cas(https: tuple[str, dict[str, bytes]], pki: Pki, tmp_path: Path) -> None:
    url, pages = https
    pages["/global/global-bundle.pem"] = pki.ca.read_bytes() + pki.other_ca.read_bytes()
    output = tmp_path / "certs" / "rds-global-bundle.pem"
    assert fetch(url + "/global/global-bundle.pem", output, context=_trusting(pki)) == 2
    assert output.read_bytes() == pages["/global/global-bundle.pem"]
    assert output.stat().st_mode & 0o777 == 0o644  # readable by the image's user 10001


@pytest.mark.parametrize(("body", "problem"), [
    (b"<html>maintenance</html>", "no PEM certificate"),
    (b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", "not a valid PEM bundle"),
])
def test_an_answer_that_is_not_a_ca_bundle_is_refused(
    https: tuple[str, dict[str, bytes]], pki: Pki, tmp_path: Path, body: bytes, problem: str
) -> None:
    url, pages = https
    pages["/bundle.pem"] = body
    output = tmp_path / "bundle.pem"
    output.write_bytes(b"the previous bundle")
    with pytest.raises(FetchError, match=problem):
        fetch(url + "/bundle.pem", output, context=_trusting(pki))
    assert output.read_bytes() == b"the previous bundle"


def test_a_server_certificate_is_not_a_ca(pki: Pki) -> None:
    with pytest.raises(FetchError, match="1 of 2 certificates are not CAs"):
        count_cas(pki.ca.read_bytes() + pki.server_cert.read_bytes())


def test_an_unverified_server_is_refused(https: tuple[str, dict[str, bytes]], tmp_path: Path) -> None:
    url, pages = https
    pages["/bundle.pem"] = b"anything"
    # The default context trusts the system's CAs, not the test CA: the download fails.
    with pytest.raises(FetchError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        fetch(url + "/bundle.pem", tmp_path / "bundle.pem")


@pytest.mark.parametrize("url", ["http://truststore.pki.rds.amazonaws.com/global/global-bundle.pem",
                                 "file:///etc/ssl/certs/ca-certificates.crt"])
def test_only_https(url: str, tmp_path: Path) -> None:
    with pytest.raises(FetchError, match=r"only https://"):
        fetch(url, tmp_path / "bundle.pem")


def test_the_command_the_dockerfile_runs(
    https: tuple[str, dict[str, bytes]], pki: Pki, tmp_path: Path
) -> None:
    url, pages = https
    pages["/global/global-bundle.pem"] = pki.ca.read_bytes()
    output = tmp_path / "bundle.pem"
    # SSL_CERT_FILE: OpenSSL's default trust store, as the image's would be.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "SSL_CERT_FILE": str(pki.ca)}
    result = subprocess.run(
        [sys.executable, "-m", "api_service", "fetch-ca", "--url", url + "/global/global-bundle.pem",
         "--output", str(output)],
        cwd=API, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert f"fetch-ca: 1 CA certificates from {url}/global/global-bundle.pem written to {output}" \
        in result.stderr
    assert output.read_bytes() == pki.ca.read_bytes()
    failed = subprocess.run(
        [sys.executable, "-m", "api_service", "fetch-ca", "--url", url + "/missing", "--output", str(output)],
        cwd=API, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert failed.returncode == 1
    assert "fetch-ca: " in failed.stderr
    assert "Traceback" not in failed.stderr
