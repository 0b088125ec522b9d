"""Shared fixtures: the repository's files, and the embedded AWS (moto) as a server.

The server runs in the test process (one per xdist worker) with ecs-gitops' moto
patches applied; each test gets a reset backend and an empty task-definition cache.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
DESIRED = ROOT / "desired_state"

os.environ.update(
    AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing", AWS_DEFAULT_REGION="us-east-1",
)
os.environ.pop("AWS_PROFILE", None)
logging.getLogger("werkzeug").setLevel(logging.WARNING)


def load_event(name: str) -> dict[str, Any]:
    """A sample event from events/ (the one copy the docs, sam and tests share)."""
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return data


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    from ecs_gitops_tools.local.moto_patches import apply_patches

    apply_patches()
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws(moto_url: str) -> Iterator[Any]:
    """Clients for a freshly reset embedded AWS."""
    import urllib.request

    from ecs_gitops.aws import ecs
    from ecs_gitops.aws.clients import Clients
    from ecs_gitops.aws.pacing import Pacer

    reset = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")  # noqa: S310
    urllib.request.urlopen(reset, timeout=10).close()  # noqa: S310 - our loopback moto server
    ecs.clear_cache()
    # ECS's own token buckets, 100 times larger: the tests' set-up (dozens of services)
    # is paced as on AWS without waiting as long; tests/functional/test_pacing_embedded.py
    # and the handlers (their own clients) run at the documented rates.
    yield Clients(region="us-east-1", endpoint_url=moto_url,
                  pacer=Pacer.from_environment({"PACING_SCALE": "100"}))
    ecs.clear_cache()


@pytest.fixture
def seeded(aws: Any) -> Any:
    """The embedded AWS with the original world (from desired_state/) created."""
    from ecs_gitops.desired import load_environment
    from ecs_gitops_tools.seed import seed

    envs = [load_environment(DESIRED / f"{n}.yaml") for n in ("production", "development")]
    seed(envs, aws)
    return aws
