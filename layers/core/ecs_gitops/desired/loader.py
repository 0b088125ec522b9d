"""Read a desired-state file and report every problem with file, line and field.

The YAML is read once, within bounds (`document`), into a node tree that keeps
line/column marks and the plain data; duplicate and non-string keys are problems
of their own. pydantic validates the data, and each error's location is mapped
back onto that tree. Cross-field rules are checked again over the raw data, because
pydantic skips a model's cross-field validator when one of its fields is already
broken and an operator wants every problem of the file in one go.
"""

from __future__ import annotations

import difflib
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from ecs_gitops.desired import checks, limits
from ecs_gitops.desired.document import MAX_CHARS, read_document
from ecs_gitops.desired.document import format_loc as _format_loc
from ecs_gitops.desired.model import Environment, parse_cpu, parse_memory
from ecs_gitops.errors import DesiredStateError, Problem

Loc = tuple[str | int, ...]


def _find(root: yaml.Node | None, loc: Loc) -> tuple[yaml.Node | None, Loc]:
    """The deepest node along `loc`, and the part of `loc` that was found."""
    node = root
    found: list[str | int] = []
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = None
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                    match = (key_node, value_node)
            if match is None:
                return node, tuple(found)
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return node, tuple(found)
            node = node.value[part]
        else:
            return node, tuple(found)
        found.append(part)
    return node, tuple(found)


def _key_node(root: yaml.Node | None, loc: Loc) -> yaml.Node | None:
    """The key node naming the last part of `loc` (for unknown keys)."""
    parent, found = _find(root, loc[:-1])
    if found != loc[:-1] or not isinstance(parent, yaml.MappingNode):
        return None
    for key_node, _ in parent.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(loc[-1]):
            return key_node
    return None


def _allowed_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    """The keys a mapping at `loc` accepts, for 'did you mean' hints."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if fields is None:
            return []
        match = next((f for n, f in fields.items() if (f.alias or n) == part), None)
        if match is None:
            return []
        annotation = match.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [annotation, *args]
        current = next((c for c in candidates if isinstance(c, type)
                        and issubclass(c, BaseModel)), None)
        if current is None:
            return []
    return [f.alias or n for n, f in getattr(current, "model_fields", {}).items()]


def _message(error: ErrorDetails, loc: Loc) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(Environment, loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        suffix = f"; did you mean {hint[0]!r}?" if hint else (
            f"; allowed: {', '.join(sorted(allowed))}" if allowed else "")
        return f"unknown key {loc[-1]!r}{suffix}"
    if kind == "missing":
        return "required key is missing"
    return error["msg"]


def _pydantic_problems(exc: ValidationError) -> list[tuple[Loc, str, bool]]:
    """(loc, message, points_at_key) for every pydantic error."""
    out: list[tuple[Loc, str, bool]] = []
    errors = exc.errors()
    failed_items = {tuple(e["loc"][:1]) for e in errors if len(e["loc"]) > 1}
    for error in errors:
        # A list whose items failed is also "too short" to pydantic: noise, not news.
        if error["type"] == "too_short" and tuple(error["loc"]) in failed_items:
            continue
        loc: Loc = tuple(error["loc"])
        # Our own cross-field errors say which field they are about.
        field = (error.get("ctx") or {}).get("field")
        if field:
            loc = loc + tuple(int(p) if p.isdigit() else p for p in str(field).split("."))
        # pydantic adds the tag of a failed union member; it means nothing to a reader.
        loc = tuple(p for p in loc if not (isinstance(p, str) and p in ("function-after",)))
        # Unknown keys and secret-looking names are about the key, not its value.
        at_key = error["type"] == "extra_forbidden" or (len(loc) > 1 and loc[-2] == "environment")
        out.append((loc, _message(error, loc), at_key))
    return out


def _raw_problems(data: Any) -> list[tuple[Loc, str, bool]]:
    """Cross-field rules over the raw data, tolerant of anything malformed."""
    if not isinstance(data, Mapping):
        return []
    services = data.get("services")
    if not isinstance(services, list):
        return []
    out: list[tuple[Loc, str, bool]] = []
    names = [s.get("name") if isinstance(s, Mapping) else None for s in services]
    ecs_names = [
        (s.get("serviceName") or s.get("name")) if isinstance(s, Mapping) else None
        for s in services
    ]
    for problems in (checks.check_unique_names(names), checks.check_unique_names(ecs_names)):
        out += [(("services", *loc), msg, False) for loc, msg in problems]
    launch_type = data.get("launchType", "EC2")
    for index, service in enumerate(services):
        if not isinstance(service, Mapping):
            continue
        base: Loc = ("services", index)
        environment = service.get("environment")
        if isinstance(environment, Mapping):
            out += [
                ((*base, "environment", *loc), msg, True)
                for loc, msg in checks.check_environment_names(environment)
            ]
        scaling = service.get("scaling")
        if isinstance(scaling, Mapping):
            lo, hi = scaling.get("min"), scaling.get("max")
            if type(lo) is int and type(hi) is int:
                out += [((*base, "scaling", *loc), msg, False)
                        for loc, msg in checks.check_scaling(lo, hi)]
        out += [((*base, *loc), msg, False) for loc, msg in limits.check_service(service)]
        try:
            cpu, memory = parse_cpu(service.get("cpu")), parse_memory(service.get("memory"))
        except ValueError:
            continue
        if type(cpu) is int and type(memory) is int and launch_type in ("EC2", "FARGATE"):
            out += [((*base, *loc), msg, False)
                    for loc, msg in checks.check_size(cpu, memory, launch_type)]
    return out


def _locate(root: yaml.Node | None, loc: Loc, at_key: bool) -> tuple[int, int]:
    node = _key_node(root, loc) if at_key else None
    if node is None:
        node, _ = _find(root, loc)
    if node is None:
        return 1, 1
    return node.start_mark.line + 1, node.start_mark.column + 1


def load_environment_text(text: str, path: str = "<string>") -> Environment:
    """Validate a desired-state document; raise `DesiredStateError` with every problem.

    `text` is the file's text (bytes that were not UTF-8 may be carried as
    `surrogateescape` code points, and are reported). Whatever the text, this returns
    an `Environment` or raises `DesiredStateError`, within bounded time and memory:
    see `ecs_gitops.desired.document` for the bounds. A bug of ours on some odd
    input is reported as a problem of the file too, so that one file never stops a
    reconcile or the CLI with a traceback.
    """
    try:
        return _validate(text, path)
    except DesiredStateError:
        raise
    except Exception as exc:  # a bug of ours: say so, as a problem of this file
        raise DesiredStateError([Problem(
            path, 1, 1, "", f"internal error while checking this file ({type(exc).__name__}: "
            f"{exc}); please report it with the file")]) from exc


def _validate(text: str, path: str) -> Environment:
    document = read_document(text, path)
    root, data = document.root, document.data
    problems = [Problem(path, f.line, f.column, _format_loc(f.loc), f.message)
                for f in document.findings]
    if not isinstance(data, Mapping):
        problems.append(Problem(path, 1, 1, "", "the file must be a mapping "
                                "(schemaVersion, environment, services, ...)"))
        raise DesiredStateError(problems)

    environment: Environment | None = None
    found: list[tuple[Loc, str, bool]] = []
    try:
        environment = Environment.model_validate(data)
    except ValidationError as exc:
        found += _pydantic_problems(exc)
    found += _raw_problems(data)

    seen: set[tuple[Loc, str]] = set()
    for loc, message, at_key in found:
        if (loc, message) in seen:
            continue
        seen.add((loc, message))
        line, column = _locate(root, loc, at_key)
        problems.append(Problem(path, line, column, _format_loc(loc), message))
    if problems:
        problems.sort(key=lambda p: (p.line, p.column, p.field))
        raise DesiredStateError(problems)
    assert environment is not None
    return environment


def load_environment(path: str | Path) -> Environment:
    """Read and validate one desired-state file (see `load_environment_text`).

    Raises `DesiredStateError` for a file that is missing, not a regular file (a
    directory, a FIFO that would block, a device that never ends), unreadable, or
    larger than `MAX_CHARS` bytes (only that much is read), and for every problem of
    its content. Bytes that are not UTF-8 are reported with their line and column.
    """
    p = Path(path)
    try:
        if not stat.S_ISREG(p.stat().st_mode):
            raise DesiredStateError([Problem(str(p), 1, 1, "", "not a regular file (a directory "
                                             "or a device?): give a desired-state YAML file")])
        with p.open("rb") as handle:
            raw = handle.read(MAX_CHARS + 1)
    except FileNotFoundError:
        raise DesiredStateError([Problem(str(p), 1, 1, "", "no such file")]) from None
    except (OSError, ValueError) as exc:  # ValueError: a path with a NUL byte
        raise DesiredStateError([Problem(str(p), 1, 1, "", f"cannot read the file: {exc}")]) \
            from None
    if len(raw) > MAX_CHARS:
        raise DesiredStateError([Problem(str(p), 1, 1, "", f"the file is larger than "
                                         f"{MAX_CHARS:,} bytes, the most that is read (a "
                                         "desired-state file is a few KB)")])
    # Undecodable bytes travel as U+DC80..U+DCFF; the reader reports them where they are.
    return load_environment_text(raw.decode("utf-8", "surrogateescape"), str(p))


def iter_problems(paths: Iterable[str | Path]) -> list[Problem]:
    """Every problem of every file (for `ecs-gitops validate`)."""
    out: list[Problem] = []
    for path in paths:
        try:
            load_environment(path)
        except DesiredStateError as exc:
            out.extend(exc.problems)
    return out
