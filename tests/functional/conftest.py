"""Fixtures for handlers on the embedded AWS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from world import World


@pytest.fixture
def world(aws: Any, moto_url: str, tmp_path: Path) -> World:
    return World(tmp_path, aws, moto_url)
