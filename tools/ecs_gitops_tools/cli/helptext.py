"""Help without type tokens: `--yes  Do not ask.`, not `--yes <bool> Do not ask.`.

Typer prints each parameter's Python type (`<bool>`, `<int>`, `<list[Path]>`) beside
it, which says nothing a person needs: flags take no value, and a valued option reads
better with a word for its value (`--timeout SECONDS`, `--endpoint-url URL`). Typer has
no setting for this, so its one hook (`display_type_rich`, used by both the rich and
the plain help) is replaced: an explicit `metavar` is shown as given (`""`: nothing),
a flag shows nothing, an argument shows nothing (its name is in the usage line and the
first column), any other option shows its name in capitals.
"""

from __future__ import annotations

from typing import Any

from typer import core

_applied = False


def _display(self: Any, ctx: Any) -> str | None:
    if self.metavar is not None:
        return str(self.metavar) or None
    if isinstance(self, core.TyperArgument) or getattr(self, "is_flag", False) \
            or getattr(self, "count", False):
        return None
    return str(self.name or "value").upper()


def plain_help() -> None:
    """Install the replacement (idempotent)."""
    global _applied
    if _applied:
        return
    for cls in (core.TyperOption, core.TyperArgument):
        cls.display_type_rich = _display  # type: ignore[method-assign]
    _applied = True
