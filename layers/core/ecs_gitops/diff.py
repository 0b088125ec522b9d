"""Diffs are data: `DiffItem(field, old, new)`, computed over canonical dicts.

Lists of named things are keyed as the managed-fields table says (`Rule.key`), so a
diff reads `containers[api].environment.LOG_LEVEL: info -> debug` rather than as a
reshuffled list. Other lists are compared whole.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ecs_gitops.canonical import Node

_MISSING = object()
# How a member is named in a diff path when the API's name reads badly.
_DISPLAY = {"containerDefinitions": "containers"}


@dataclass(frozen=True, slots=True)
class DiffItem:
    """One field that differs: `old` None means added, `new` None means removed."""

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
        return json.dumps(value, ensure_ascii=False) if value != value.strip() or not value \
            else value
    return json.dumps(value, sort_keys=True, separators=(", ", ": "), ensure_ascii=False)


def _flatten(value: Any, node: Node | None, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping) and (node is None or node.kind == "struct"):
        for key, item in value.items():
            name = _DISPLAY.get(str(key), str(key))
            path = f"{prefix}.{name}" if prefix else name
            child = node.members.get(key) if node is not None else None
            _flatten(item, child, path, out)
        return
    if isinstance(value, Mapping):  # a map (docker labels, log options): keyed by its keys
        for key, item in value.items():
            out[f"{prefix}.{key}"] = item
        return
    rule = node.rule if node is not None else None
    if isinstance(value, list) and rule is not None and rule.key is not None and all(
            isinstance(i, Mapping) and rule.key in i for i in value):
        for element in value:
            ident = element[rule.key]
            if rule.value is not None:
                out[f"{prefix}.{ident}"] = element.get(rule.value)
            else:
                rest = {k: v for k, v in element.items() if k != rule.key}
                if not rest:  # nothing but its name: the item itself is the change
                    out[f"{prefix}[{ident}]"] = {}
                _flatten(rest, node.item if node is not None else None, f"{prefix}[{ident}]", out)
        return
    out[prefix] = value


def diff(old: Mapping[str, Any] | None, new: Mapping[str, Any], node: Node | None = None
         ) -> tuple[DiffItem, ...]:
    """Field-level differences from `old` to `new` (both canonical), in a stable order.

    node: the descriptor of the resource (`ecs_gitops.canonical`), for keyed lists."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    if old is not None:
        _flatten(old, node, "", before)
    _flatten(new, node, "", after)
    items = []
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key, _MISSING), after.get(key, _MISSING)
        if a != b:
            items.append(DiffItem(key, None if a is _MISSING else a, None if b is _MISSING else b))
    return tuple(items)
