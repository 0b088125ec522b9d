"""Fixtures for simpleweb's tests: real api and simpleweb processes, headless Chromium.

The browser tests start the api the way its README does (``python -m api_service``)
against a database of their own on the MariaDB server of TEST_DB_HOST/TEST_DB_PORT
(default root@127.0.0.1:3306, no password), and simpleweb (``python -m simpleweb``)
in front of it, each on a free port of 127.0.0.1; all are stopped afterwards.
Chromium is CHROMIUM_PATH, else Debian's /usr/bin/chromium, else Playwright's own.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

APPS = Path(__file__).resolve().parents[2]
REPO = APPS.parent
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR", REPO / "test-artifacts"))
SAMPLE_USERS = 30
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass
class Server:
    """A server process on 127.0.0.1; ``stop`` is idempotent."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start(name: str, app_dir: Path, env: dict[str, str], log_dir: Path) -> Server:
    port = free_port()
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", name, "serve"],
            cwd=app_dir,
            env={"PATH": os.environ.get("PATH", ""), **env, "PORT": str(port)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(name, f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{name} did not start; its log:\n{log.read_text()}")


def db_env(database: str, **overrides: str) -> dict[str, str]:
    return {
        "DB_ENDPOINT": os.environ.get("TEST_DB_HOST", "127.0.0.1"),
        "DB_PORT": os.environ.get("TEST_DB_PORT", "3306"),
        "DB_USERNAME": os.environ.get("TEST_DB_USER", "root"),
        "DB_PASSWORD": os.environ.get("TEST_DB_PASSWORD", ""),
        "DB_NAME": database,
        # The test server speaks no TLS: the api's explicit opt-out (its default is
        # verified TLS, apps/api/README.md).
        "DB_TLS": "off",
        **overrides,
    }


def mariadb(statement: str) -> None:
    import pymysql

    env = db_env("")
    with (
        pymysql.connect(
            host=env["DB_ENDPOINT"],
            port=int(env["DB_PORT"]),
            user=env["DB_USERNAME"],
            password=env["DB_PASSWORD"],
            connect_timeout=3,
            autocommit=True,
        ) as conn,
        conn.cursor() as cur,
    ):
        cur.execute(statement)


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A database seeded with sample users by the api's own seed command; dropped after."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"simpleweb_test_{worker}_{uuid.uuid4().hex[:8]}"
    mariadb(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        subprocess.run(
            [sys.executable, "-m", "api_service", "seed", "--count", str(SAMPLE_USERS)],
            cwd=APPS / "api",
            env={"PATH": os.environ.get("PATH", ""), **db_env(name)},
            check=True,
            capture_output=True,
            timeout=60,
        )
        yield name
    finally:
        mariadb(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture
def api_env() -> Callable[..., dict[str, str]]:
    """The api's environment for a database on the test server, with overrides."""
    return db_env


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens."""
    return free_port()


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def start_server(log_dir: Path) -> Iterator[Callable[..., Server]]:
    """Start ``api_service`` or ``simpleweb`` with the given environment; all stopped after."""
    started: list[Server] = []

    def run(name: str, **env: str) -> Server:
        app_dir = APPS / ("api" if name == "api_service" else "simpleweb")
        server = start(name, app_dir, env, log_dir)
        started.append(server)
        return server

    yield run
    for server in reversed(started):
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("CHROMIUM_PATH") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
