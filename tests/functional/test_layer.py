"""The Lambda layer as `sam build` leaves it: the runtime package and its dependencies,
nothing of the operator's side (CLI, embedded cloud, seed data, test helpers).

`scripts/test.sh` runs `sam build` (python3.12, arm64, no container) before pytest; the
layer's wheels are arm64, so these checks read the files instead of importing them.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / ".aws-sam" / "build"
LAYER = BUILD / "CoreLayer" / "python"
SOURCE = ROOT / "layers" / "core" / "ecs_gitops"

MARK = BUILD / ".built"  # scripts/test.sh touches it after each `sam build`


def _stale() -> bool:
    """True when a runtime source file changed after the last `sam build`."""
    if not MARK.exists():
        return True
    built = MARK.stat().st_mtime
    return any(p.stat().st_mtime > built for p in SOURCE.rglob("*.py"))


pytestmark = pytest.mark.skipif(
    not LAYER.is_dir() or _stale(),
    reason="no up-to-date .aws-sam/build: scripts/test.sh runs sam build first")

OPERATOR_SIDE = {"ecs_gitops_tools", "typer", "rich", "moto", "pytest", "hypothesis",
                 "click", "werkzeug", "flask", "docker", "tests", "world", "builders"}


def _top_level(directory: Path) -> set[str]:
    names = set()
    for entry in directory.iterdir():
        if entry.name.endswith((".dist-info", ".data")) or entry.name in (
                "requirements.txt", "__pycache__", "bin"):
            continue
        names.add(entry.name.removesuffix(".py"))
    return names


def test_the_layer_holds_the_runtime_and_nothing_of_the_operators_side() -> None:
    shipped = _top_level(LAYER)
    assert "ecs_gitops" in shipped
    assert not shipped & OPERATOR_SIDE, shipped & OPERATOR_SIDE
    packaged = {p.relative_to(LAYER / "ecs_gitops").as_posix()
                for p in (LAYER / "ecs_gitops").rglob("*.py")}
    source = {p.relative_to(SOURCE).as_posix() for p in SOURCE.rglob("*.py")}
    assert packaged == source  # exactly the runtime package, as it is in git
    assert not any(p.startswith(("cli/", "local/")) for p in packaged)


def test_every_module_ships_its_byte_code_for_python_3_12() -> None:
    """Lambda's /opt is read-only: a module without byte code is compiled at every cold
    start. Each one has its CPython 3.12 .pyc, hash-based and unchecked (PEP 552: flags
    0b01), so that it is used whatever the files' times are after unzipping."""
    missing, checked = [], []
    for source in LAYER.rglob("*.py"):
        if ".dist-info" in str(source) or source.parent.name == "bin":
            continue
        cached = source.parent / "__pycache__" / f"{source.stem}.cpython-312.pyc"
        if not cached.is_file():
            missing.append(source.relative_to(LAYER).as_posix())
            continue
        header = cached.read_bytes()[:8]
        if int.from_bytes(header[4:8], "little") != 0b01:
            checked.append(source.relative_to(LAYER).as_posix())
    assert not missing, missing[:10]
    assert not checked, checked[:10]


def test_every_import_of_the_runtime_is_in_the_layer_or_the_standard_library() -> None:
    shipped = _top_level(LAYER)
    missing: dict[str, set[str]] = {}
    for path in (LAYER / "ecs_gitops").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in shipped:
                    continue
                missing.setdefault(top, set()).add(path.name)
    assert not missing, f"imported by the runtime but not in the layer: {missing}"


def test_each_function_ships_only_its_handler() -> None:
    for function in ("PushFunction", "BuildFinishedFunction", "ReconcileFunction",
                     "DeploymentEventsFunction", "SweepFunction"):
        files = {p.name for p in (BUILD / function).iterdir() if p.name != "__pycache__"}
        assert files <= {"app.py", "requirements.txt"}, (function, files)
