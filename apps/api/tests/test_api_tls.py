"""Verified TLS to a real MariaDB server, as production talks to RDS.

The fixture starts a MariaDB server of its own (``mariadb-install-db`` into a
temporary data directory, then ``mariadbd`` on a free port of 127.0.0.1) with a CA
and a server certificate generated here, and TLS required for TCP clients
(``require_secure_transport``), as the RDS parameter group of infra/ requires it. The
api connects through its own code (``Database``, the settings it reads from the
environment) and the tests prove: the right CA and host name are accepted and the
session is encrypted; a certificate from another CA, or for another host name, is
refused; a server that offers no TLS is refused; and the log says what is in force.

Needs the MariaDB server binaries (Debian: ``mariadb-server``, which
``scripts/setup.sh`` installs). Where they are missing the tests are skipped, unless
``API_TLS_TESTS_REQUIRED=1`` (``scripts/test.sh`` sets it), which turns that into a
failure.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pymysql
import pytest
from api_service import migrations
from api_service.db import Database, DatabaseUnavailableError
from api_service.settings import Settings, from_env

if TYPE_CHECKING:
    from conftest import Pki

pytestmark = pytest.mark.mariadb

SBIN = ("/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin")
START_TIMEOUT = 30.0


def _binary(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or next(
            (f"{d}/{name}" for d in SBIN if os.access(f"{d}/{name}", os.X_OK)), None)
        if found:
            return found
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# ---------------------------------------------------------------- the server
@dataclass
class Server:
    port: int
    socket: Path
    pki: Pki
    datadir: Path
    process: subprocess.Popen[bytes] | None = None

    def env(self, **overrides: str) -> dict[str, str]:
        """The api's environment for this server (ECS would inject these from SSM)."""
        return {"DB_ENDPOINT": "127.0.0.1", "DB_PORT": str(self.port), "DB_NAME": "tls_test",
                "DB_USERNAME": "app", "DB_PASSWORD": "app-password-for-tests",
                "DB_CONNECT_TIMEOUT": "3", "DB_READ_TIMEOUT": "5", **overrides}

    def admin(self, statement: str) -> list[tuple[Any, ...]]:
        with pymysql.connect(unix_socket=str(self.socket), user="root", autocommit=True) as conn, \
                conn.cursor() as cur:
            cur.execute(statement)
            return list(cur.fetchall())


def _start(server: Server, *, tls: bool, log: Path) -> None:
    mariadbd = _binary("mariadbd", "mysqld")
    assert mariadbd
    args = [mariadbd, "--no-defaults", f"--datadir={server.datadir}", f"--port={server.port}",
            "--bind-address=127.0.0.1", f"--socket={server.socket}",
            f"--pid-file={server.datadir}/mariadbd.pid", f"--log-error={log}",
            "--innodb-buffer-pool-size=16M", "--innodb-log-file-size=4M",
            "--innodb-flush-log-at-trx-commit=0", "--skip-name-resolve"]
    if tls:
        args += [f"--ssl-ca={server.pki.ca}", f"--ssl-cert={server.pki.server_cert}",
                 f"--ssl-key={server.pki.server_key}", "--require-secure-transport=ON"]
    else:
        args += ["--skip-ssl"]
    if os.geteuid() == 0:
        args.append("--user=root")  # mariadbd refuses to run as root unless told to
    server.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"mariadbd exited with {server.process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(pymysql.err.OperationalError):
            server.admin("SELECT 1")
            return
        time.sleep(0.1)
    raise RuntimeError(f"mariadbd did not start in {START_TIMEOUT:.0f}s:\n{log.read_text()}")


def _stop(server: Server) -> None:
    if server.process is not None and server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(5)
    server.process = None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[Server]:
    install = _binary("mariadb-install-db", "mysql_install_db")
    if not (install and _binary("mariadbd", "mysqld")):
        reason = "needs the MariaDB server binaries (mariadbd, mariadb-install-db)"
        if os.environ.get("API_TLS_TESTS_REQUIRED") == "1":
            pytest.fail(reason + "; API_TLS_TESTS_REQUIRED=1")
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("tls-mariadb")
    server = Server(port=_free_port(), socket=base / "mariadbd.sock", pki=pki,
                    datadir=base / "data")
    args = [install, "--no-defaults", f"--datadir={server.datadir}", "--skip-test-db",
            "--auth-root-authentication-method=normal", "--innodb-log-file-size=4M"]
    if os.geteuid() == 0:
        args.append("--user=root")
    result = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    _start(server, tls=True, log=base / "error.log")
    try:
        server.admin("CREATE DATABASE tls_test CHARACTER SET utf8mb4")
        server.admin("CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY 'app-password-for-tests' REQUIRE SSL")
        server.admin("GRANT ALL ON tls_test.* TO 'app'@'127.0.0.1'")
        yield server
    finally:
        _stop(server)


def _settings(server: Server, **env: str) -> Settings:
    return from_env(server.env(**env))


# ---------------------------------------------------------------- the tests
def test_the_right_ca_and_host_are_accepted_and_the_session_is_encrypted(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(server, DB_SSL_CA=str(server.pki.ca))
    assert settings.describe_tls() == f"tls=verified ca={server.pki.ca} host=127.0.0.1"
    db = Database(settings)
    migrations.migrate(db)
    assert db.list_users(limit=5, offset=0) == []

    def tls_status(conn: Any) -> dict[str, str]:
        with conn.cursor() as cur:
            cur.execute("SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_version', 'Ssl_cipher')")
            return {name: value for name, value in cur.fetchall()}

    status = db.run(tls_status)
    assert status["Ssl_version"].startswith("TLSv1.")
    assert status["Ssl_cipher"]
    db.close()


def test_a_certificate_from_another_ca_is_refused(server: Server, caplog: pytest.LogCaptureFixture) -> None:
    db = Database(_settings(server, DB_SSL_CA=str(server.pki.other_ca)))
    with caplog.at_level(logging.WARNING), pytest.raises(DatabaseUnavailableError) as info:
        db.list_users(limit=1, offset=0)
    assert "SSLCertVerificationError" in str(info.value)
    # OpenSSL's reason: the server sends its chain, whose root this CA bundle lacks.
    assert ("self-signed certificate in certificate chain" in caplog.text
            or "unable to get local issuer certificate" in caplog.text), caplog.text
    assert "app-password-for-tests" not in caplog.text


def test_a_certificate_for_another_host_name_is_refused(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    # The right CA, but the api connects to "localhost", a name the certificate does
    # not carry (it names 127.0.0.1 and mariadb.test): a stolen certificate of another
    # host signed by the same CA (the RDS CA signs every RDS endpoint) must not pass.
    settings = _settings(server, DB_SSL_CA=str(server.pki.ca), DB_ENDPOINT="localhost")
    assert settings.describe_tls() == f"tls=verified ca={server.pki.ca} host=localhost"
    with caplog.at_level(logging.WARNING), pytest.raises(DatabaseUnavailableError) as info:
        Database(settings).list_users(limit=1, offset=0)
    assert "SSLCertVerificationError" in str(info.value)
    assert "Hostname mismatch" in caplog.text


def test_plain_text_is_refused_by_the_api_and_by_the_server(server: Server) -> None:
    # The opt-out against a server that requires TLS: the server refuses the login
    # (1045, the user REQUIRE SSL; or 4036, require_secure_transport, which the RDS
    # parameter group of infra/ sets).
    with pytest.raises(DatabaseUnavailableError, match=r"^OperationalError errno=(1045|4036)$"):
        Database(_settings(server, DB_TLS="off")).list_users(limit=1, offset=0)


def test_a_server_without_tls_is_refused_not_spoken_to_in_plain_text(
    server: Server, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The same server restarted without TLS: what a man in the middle that strips TLS
    # (or a misconfigured server) looks like to the api. PyMySQL's default would talk
    # plain text to it; the api refuses before sending the credentials.
    _stop(server)
    _start(server, tls=False, log=tmp_path / "plain.log")
    try:
        assert server.admin("SELECT @@have_ssl") == [("DISABLED",)]
        with caplog.at_level(logging.WARNING), pytest.raises(DatabaseUnavailableError) as info:
            Database(_settings(server, DB_SSL_CA=str(server.pki.ca))).list_users(limit=1, offset=0)
        assert "TLS required but the server does not offer it" in str(info.value)
        assert "TLS required but the server does not offer it" in caplog.text
    finally:
        _stop(server)
        _start(server, tls=True, log=tmp_path / "tls-again.log")


def test_the_start_log_says_what_is_in_force(server: Server) -> None:
    # The service's own start line, from `python -m api_service migrate` as ECS would run
    # it: the environment only, as the task definition gives it.
    api = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-m", "api_service", "migrate"],
        cwd=api, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(api),
                      **server.env(DB_SSL_CA=str(server.pki.ca))},
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert f"tls=verified ca={server.pki.ca} host=127.0.0.1" in result.stderr
    assert "app-password-for-tests" not in result.stderr
