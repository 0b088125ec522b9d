"""Diffs are data: `DiffItem(field, old, new)`, computed over normalised dicts.

Lists of named things (containers, environment variables, secrets) are keyed by
name, so a diff reads `containers[api].environment.LOG_LEVEL: info -> debug`
rather than as a reshuffled list.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_MISSING = object()


@dataclass(frozen=True, slots=True)
class DiffItem:
    """One changed field: its dotted path, the old and the new value (None: absent)."""
    field: str
    old: Any
    new: Any

    def describe(self) -> str:
        """`+ field: new`, `- field: old` or `~ field: old -> new`."""
        if self.old is None:
            return f"+ {self.field}: {_show(self.new)}"
        if self.new is None:
            return f"- {self.field}: {_show(self.old)}"
        return f"~ {self.field}: {_show(self.old)} -> {_show(self.new)}"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(", ", ": "))


_KEYED = {"containerDefinitions": "name", "environment": "name", "secrets": "name"}
_VALUE = {"environment": "value", "secrets": "valueFrom"}


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = "containers" if key == "containerDefinitions" else key
            path = f"{prefix}.{name}" if prefix else name
            if key in _KEYED and isinstance(item, list):
                for element in item:
                    ident = element.get(_KEYED[key])
                    if key in _VALUE:
                        out[f"{path}.{ident}"] = element.get(_VALUE[key])
                    else:
                        rest = {k: v for k, v in element.items() if k != _KEYED[key]}
                        _flatten(rest, f"{path}[{ident}]", out)
            else:
                _flatten(item, path, out)
    else:
        out[prefix] = value


def diff(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> tuple[DiffItem, ...]:
    """Field-level differences from `old` to `new` (both normalised), in a stable order."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    if old is not None:
        _flatten(old, "", before)
    _flatten(new, "", after)
    items = []
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key, _MISSING), after.get(key, _MISSING)
        if a != b:
            items.append(DiffItem(key, None if a is _MISSING else a, None if b is _MISSING else b))
    return tuple(items)
