"""Amazon EventBridge event patterns, matched exactly, for the embedded cloud's event bus.

Why it exists: on a laptop there is no EventBridge, yet the rules of `template.yaml` are the
one source of routing (issue 4). The embedded bus asks this module which patterns match an
event, so an event reaches locally exactly the functions it would reach in AWS. Every
operator it accepts is matched as EventBridge matches it; any other operator, and any
malformed argument, is refused with a `PatternError` naming the field, so a rule that AWS
would route differently fails loudly instead of routing silently.

The semantics are those of the EventBridge user guide ("Creating event patterns", "Content
filtering in Amazon EventBridge event patterns", "Comparison operators for use in event
patterns", "Matching events on null values and empty strings", "Arrays in Amazon
EventBridge event patterns") and, where the guide is silent, of Event Ruler, the engine
EventBridge runs:

- the event is a set of leaf values at paths; arrays are flattened into their elements, so
  an object or an empty array is not a leaf value (`exists` "only works on leaf nodes");
- a field of the pattern matches when any of its conditions holds for any leaf value at its
  path; every field must match; two fields never match inside different elements of one
  array (array-consistent matching);
- `{"exists": false}` holds when the path has no leaf value; every other condition needs
  one: `anything-but` never matches a missing field, but matches `null`;
- `$or` (an array of at least two objects) matches when one of its objects, together with
  the fields beside the `$or`, matches.
"""

from __future__ import annotations

import ipaddress
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from ecs_gitops.errors import EcsGitopsError

Path = tuple[str, ...]
Membership = tuple[tuple[int, int], ...]  # (array, index) for each array a leaf is inside
Branch = dict[Path, list[Any]]  # one alternative of a pattern: path -> OR of conditions

OPERATORS = frozenset({"prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but",
                       "numeric", "exists", "cidr"})
# Names Event Ruler refuses as field names inside `$or` (its operators and comparators).
_RESERVED_IN_OR = OPERATORS | {"exactly", "=", "<", "<=", ">", ">="}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_ANYTHING_BUT_OPERATORS = ("prefix", "suffix", "equals-ignore-case", "wildcard")
_IPV4 = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")  # what Event Ruler takes for an IP
_IPV6 = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*")


class PatternError(EcsGitopsError):
    """An event pattern is malformed or uses an operator this matcher does not support."""


# ------------------------------------------------------------------ validation


def validate(pattern: Mapping[str, Any]) -> None:
    """Raise `PatternError` ("detail.state: unknown operator 'contains'") unless the pattern
    is one EventBridge accepts and this module matches exactly."""
    if not isinstance(pattern, Mapping):
        raise PatternError(f"pattern: must be a JSON object, not {type(pattern).__name__}")
    _check_object(pattern, "", in_or=False)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _check_object(pattern: Mapping[str, Any], path: str, *, in_or: bool) -> None:
    if not pattern:
        raise PatternError(f"{path or 'pattern'}: empty objects are not allowed")
    for key, value in pattern.items():
        if not isinstance(key, str):
            raise PatternError(f"{path or 'pattern'}: field names must be strings, not {key!r}")
        where = _join(path, key)
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2:
                raise PatternError(f"{where}: must be an array of at least 2 objects")
            for index, branch in enumerate(value):
                if not isinstance(branch, Mapping):
                    raise PatternError(f"{where}[{index}]: only objects are allowed in $or")
                _check_object(branch, f"{where}[{index}]", in_or=True)
        elif in_or and key in _RESERVED_IN_OR:
            raise PatternError(f"{where}: {key!r} is reserved and cannot be a field name in $or")
        elif isinstance(value, Mapping):
            _check_object(value, where, in_or=in_or)
        elif isinstance(value, list):
            if not value:
                raise PatternError(f"{where}: empty arrays are not allowed")
            for condition in value:
                _check_condition(condition, where)
        else:
            raise PatternError(f"{where}: must be an object or an array, not {value!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_condition(condition: Any, where: str) -> None:
    if condition is None or isinstance(condition, str | bool) or _is_number(condition):
        if _is_number(condition) and not math.isfinite(condition):
            raise PatternError(f"{where}: {condition!r} is not a JSON number")
        return
    if not isinstance(condition, Mapping):
        raise PatternError(f"{where}: {condition!r} is not a string, number, true, false, "
                           "null or operator object")
    unknown = sorted(str(k) for k in condition if k not in OPERATORS)
    if unknown:
        raise PatternError(f"{where}: unknown operator {unknown[0]!r}")
    if len(condition) != 1:
        raise PatternError(f"{where}: one operator per object, got {sorted(condition)}")
    ((name, arg),) = condition.items()
    fail = f"{where}: {name}:"
    if name in ("prefix", "suffix"):
        if isinstance(arg, Mapping) and list(arg) == ["equals-ignore-case"]:
            arg = arg["equals-ignore-case"]
        if not isinstance(arg, str):
            raise PatternError(f"{fail} must be a string or {{\"equals-ignore-case\": string}}")
    elif name == "equals-ignore-case" and not isinstance(arg, str):
        raise PatternError(f"{fail} must be a string")
    elif name == "wildcard":
        if not isinstance(arg, str):
            raise PatternError(f"{fail} must be a string")
        _check_wildcard(arg, fail)
    elif name == "exists" and not isinstance(arg, bool):
        raise PatternError(f"{fail} must be true or false")
    elif name == "cidr":
        _network(arg, fail)
    elif name == "numeric":
        _check_numeric(arg, fail)
    elif name == "anything-but":
        _check_anything_but(arg, fail)


def _check_wildcard(text: str, fail: str) -> None:
    index = 0
    while index < len(text):
        if text[index] == "\\":
            if text[index + 1:index + 2] not in ("*", "\\"):
                raise PatternError(f"{fail} invalid escape at position {index} of {text!r} "
                                   "(only \\* and \\\\ are escapes)")
            index += 2
            continue
        if text.startswith("**", index):
            raise PatternError(f"{fail} consecutive wildcard characters at position {index} "
                               f"of {text!r}")
        index += 1


def _check_numeric(arg: Any, fail: str) -> None:
    ok = isinstance(arg, list) and len(arg) in (2, 4)
    ok = ok and all(isinstance(op, str) for op in arg[::2])
    ok = ok and all(_is_number(n) and math.isfinite(n) for n in arg[1::2])
    if ok and len(arg) == 2:
        ok = arg[0] in _COMPARE
    elif ok:
        ok = arg[0] in (">", ">=") and arg[2] in ("<", "<=")
        if ok and not arg[1] < arg[3]:
            raise PatternError(f"{fail} the lower bound must be below the upper bound: {arg}")
    if not ok:
        raise PatternError(f"{fail} must be [op, number] with op one of =, <, <=, >, >=, "
                           f"or [\">\" or \">=\", number, \"<\" or \"<=\", number], not {arg!r}")


def _check_anything_but(arg: Any, fail: str) -> None:
    if isinstance(arg, str) or (_is_number(arg) and math.isfinite(arg)):
        return
    if isinstance(arg, list):
        if arg and (all(isinstance(v, str) for v in arg)
                    or all(_is_number(v) and math.isfinite(v) for v in arg)):
            return
        raise PatternError(f"{fail} a list must be non-empty and all strings or all numbers")
    if not isinstance(arg, Mapping):
        raise PatternError(f"{fail} must be a string, a number, a list or an operator object, "
                           f"not {arg!r}")
    unknown = sorted(str(k) for k in arg if k not in _ANYTHING_BUT_OPERATORS)
    if unknown:
        raise PatternError(f"{fail} unknown operator {unknown[0]!r}")
    if len(arg) != 1:
        raise PatternError(f"{fail} one operator per object, got {sorted(arg)}")
    ((name, value),) = arg.items()
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) for v in values):
        raise PatternError(f"{fail} {name}: must be a string or a non-empty list of strings")
    for text in values:
        if name in ("prefix", "suffix") and not text:
            raise PatternError(f"{fail} {name}: must not be empty")
        if name == "wildcard":
            _check_wildcard(text, f"{fail} wildcard:")


def _network(arg: Any, fail: str) -> tuple[int, int, int]:
    """A CIDR block as Event Ruler reads it: (IP version, first, last address)."""
    if isinstance(arg, str) and arg.count("/") == 1:
        address, bits = arg.split("/")
        ip = _ip(address)
        if ip is not None and re.fullmatch(r"[0-9]+", bits) and int(bits) <= ip.max_prefixlen:
            first = int(ip)
            return ip.version, first, first | ((1 << (ip.max_prefixlen - int(bits))) - 1)
    raise PatternError(f"{fail} {arg!r} is not an IPv4 or IPv6 CIDR block (address/bits)")


@lru_cache(maxsize=1024)
def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not (_IPV4.fullmatch(text) or _IPV6.fullmatch(text)):
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


# -------------------------------------------------------------------- matching


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """True when EventBridge would deliver `event` to a rule with `pattern`."""
    validate(pattern)
    branches = _branches(pattern, ())
    wanted = {path[:n] for branch in branches for path in branch for n in range(len(path) + 1)}
    leaves = _leaves(event, wanted)
    return any(_branch_matches(branch, leaves) for branch in branches)


def _branches(pattern: Mapping[str, Any], prefix: Path) -> list[Branch]:
    """The pattern as an OR of branches, each an AND of leaf fields ($or expanded)."""
    branches: list[Branch] = [{}]
    for key, value in pattern.items():
        if key == "$or":
            alternatives = [alt for sub in value for alt in _branches(sub, prefix)]
            branches = [{**branch, **alt} for branch in branches for alt in alternatives]
        elif isinstance(value, Mapping):
            nested = _branches(value, (*prefix, key))
            branches = [{**branch, **alt} for branch in branches for alt in nested]
        else:
            branches = [{**branch, (*prefix, key): value} for branch in branches]
    return branches


def _leaves(event: Mapping[str, Any], wanted: set[Path]) -> dict[Path, list[tuple[Any, Membership]]]:
    """The event's leaf values at the paths the pattern reads, arrays flattened."""
    found: dict[Path, list[tuple[Any, Membership]]] = {}
    arrays = 0

    def walk(node: Any, path: Path, membership: Membership) -> None:
        nonlocal arrays
        if isinstance(node, Mapping):
            for key, value in node.items():
                if (*path, key) in wanted:
                    walk(value, (*path, key), membership)
        elif isinstance(node, list):
            arrays += 1
            array = arrays
            for index, item in enumerate(node):
                walk(item, path, (*membership, (array, index)))
        else:
            found.setdefault(path, []).append((node, membership))

    walk(event, (), ())
    return found


def _branch_matches(branch: Branch, leaves: dict[Path, list[tuple[Any, Membership]]]) -> bool:
    choices: list[list[Membership]] = []
    for path, conditions in branch.items():
        values = leaves.get(path, [])
        options: list[Membership] = []
        if not values and any(isinstance(c, Mapping) and c.get("exists") is False
                              for c in conditions):
            options.append(())  # absent, as required: no array constraint
        for value, membership in values:
            if membership not in options and any(_holds(c, value) for c in conditions):
                options.append(membership)
        if not options:
            return False
        choices.append(options)
    return _consistent(choices, {})


def _consistent(choices: Sequence[list[Membership]], chosen: dict[int, int]) -> bool:
    """Can one leaf be picked per field with no two in different elements of one array?"""
    if not choices:
        return True
    return any(
        all(chosen.get(array, index) == index for array, index in membership)
        and _consistent(choices[1:], {**chosen, **dict(membership)})
        for membership in choices[0])


def _holds(condition: Any, value: Any) -> bool:
    """One condition of a pattern array against one leaf value of the event."""
    if not isinstance(condition, Mapping):
        return _equal(condition, value)
    ((name, arg),) = condition.items()
    if name == "exists":
        return bool(arg)  # a leaf value is there
    if name == "anything-but":
        return not _excluded(arg, value)
    if name == "numeric":
        return _is_number(value) and all(_COMPARE[op](value, bound)
                                          for op, bound in zip(arg[::2], arg[1::2], strict=True))
    if not isinstance(value, str):
        return False  # every remaining operator applies to strings only
    if name == "cidr":
        version, first, last = _network(arg, "cidr")
        ip = _ip(value)
        return ip is not None and ip.version == version and first <= int(ip) <= last
    if name == "wildcard":
        return _wildcard(arg).fullmatch(value) is not None
    if name == "equals-ignore-case":
        return value.lower() == str(arg).lower()
    if isinstance(arg, Mapping):  # prefix/suffix with equals-ignore-case
        value, arg = value.lower(), str(arg["equals-ignore-case"]).lower()
    return bool(value.startswith(arg) if name == "prefix" else value.endswith(arg))


def _equal(expected: Any, value: Any) -> bool:
    """Exact match: same JSON type, numbers compared as numbers, IP literals as addresses."""
    if expected is None or isinstance(expected, bool):
        return value is expected
    if _is_number(expected):
        return _is_number(value) and bool(value == expected)
    if not isinstance(value, str):
        return False
    if value == expected:
        return True
    ip = _ip(expected)
    return ip is not None and ip == _ip(value)


def _excluded(arg: Any, value: Any) -> bool:
    """Whether `value` is among what `anything-but` excludes."""
    if isinstance(arg, list):
        return any(_equal(item, value) for item in arg)
    if not isinstance(arg, Mapping):
        return _equal(arg, value)
    ((name, operand),) = arg.items()
    if not isinstance(value, str):
        return False  # a prefix, suffix, case or wildcard exclusion only excludes strings
    texts = operand if isinstance(operand, list) else [operand]
    if name == "prefix":
        return any(value.startswith(t) for t in texts)
    if name == "suffix":
        return any(value.endswith(t) for t in texts)
    if name == "equals-ignore-case":
        return value.lower() in {t.lower() for t in texts}
    return any(_wildcard(t).fullmatch(value) is not None for t in texts)


@lru_cache(maxsize=1024)
def _wildcard(text: str) -> re.Pattern[str]:
    """`*` is any run of characters (even none); `\\*` a star, `\\\\` a backslash."""
    parts = re.split(r"(\\[*\\]|\*)", text)
    regex = "".join(".*" if p == "*" else re.escape(p[1] if p.startswith("\\") else p)
                    for p in parts if p)
    return re.compile(regex, re.DOTALL)
