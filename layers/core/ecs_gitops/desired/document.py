"""Read YAML text into a node tree and plain data, within bounds, whatever the text.

The desired-state files come from git, where anyone with push access can put
anything, and the scheduled reconcile reads them unattended. So reading YAML must
end, quickly, with either data or a located problem: never another exception,
never minutes of work. PyYAML's `SafeLoader` is safe against code execution but
not against these, each of which this module bounds or reports:

- nesting depth: the composer recurses once per level, so a few thousand `[` raise
  RecursionError, and the scanner's bookkeeping of open brackets is quadratic
  (refused past `MAX_DEPTH` levels, where the first level too deep starts);
- aliases: each `*alias` stands for a whole copy of its anchored value, so a few
  lines of nested aliases are millions of values to validate ("billion laughs"),
  aliases under `<<` merges are counted the same way, whatever their keys (refused
  once the aliases would add more than `MAX_ALIAS_EXPANSION` values, at that alias);
- an alias inside the value it refers to (a cycle: YAML allows it, data cannot);
- integers of thousands of digits (Python refuses to convert them, and base-60
  integers such as `1:2:3:...` take quadratic time);
- characters YAML does not allow, and bytes that are not UTF-8;
- keys that YAML reads as something other than a string (`1:`, `on:`, `~:`, a
  list or a mapping as a key), and keys given twice (YAML keeps the last silently).

The last two are problems of the content, not of the syntax: they are returned
with the data (their entries left out of it), so that the loader reports them
with every other problem of the file. The rest stop the reading: `read_document`
raises `DesiredStateError`. Malformed YAML is reported where the parser gave up
and, when PyYAML says so, where the broken construct began (an unclosed `[`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from ecs_gitops.errors import DesiredStateError, Problem

Loc = tuple[str | int, ...]

MAX_DEPTH = 100
"""Deepest nesting of mappings and sequences accepted. A desired-state file needs
fewer than 10 levels; 100 keeps the composer's recursion far from Python's limit."""

MAX_ALIAS_EXPANSION = 100_000
"""Most values that aliases may add to a document (each use of an alias counts every
value under its anchor). Generous for `defaults: &d` reused by every service of a
large environment; a 2 KB alias bomb adds billions."""

MAX_CHARS = 2 * 1024 * 1024
"""Longest text accepted, in characters (and a file's size, in bytes): 2 MiB, an
environment of a few thousand services in the short form. Reading is linear in the
text, so this bounds the time of a load."""

MAX_NUMBER_CHARS = 100
"""Longest integer literal accepted: no field holds a number of more than ~20 digits."""

_TOO_DEEP = (f"nested more than {MAX_DEPTH} levels deep: a desired-state file needs far fewer "
             "(a bracket or an indentation gone wrong?)")
_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_VALUE = "tag:yaml.org,2002:value"  # the `=` key, which SafeLoader reads as a string
_MERGE = "tag:yaml.org,2002:merge"
_KIND_OF_TAG = {
    "tag:yaml.org,2002:int": "an integer",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "a boolean (YAML 1.1 reads yes/no/on/off/y/n so)",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:timestamp": "a date",
    "tag:yaml.org,2002:binary": "binary data",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem of the document's content, located by YAML mark (1-based) and path."""

    loc: Loc
    line: int
    column: int
    message: str


@dataclass(frozen=True, slots=True)
class Document:
    """A YAML document read within bounds.

    `root` is the node tree (marks for every value; aliases share nodes, so walk it
    by a path, not all of it), `data` the plain Python values (mappings with string
    keys only), `findings` the keys left out of `data` and why.
    """

    root: yaml.Node | None
    data: Any
    findings: tuple[Finding, ...]


class _Refused(Exception):
    """The text is YAML we will not read (too deep, an alias bomb, a cycle...)."""

    def __init__(self, mark: Any, message: str, loc: Loc = ()) -> None:
        # mark: a yaml Mark (line, column: 0-based), or None
        super().__init__(message)
        self.mark = mark
        self.message = message
        self.loc = loc


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that counts depth and alias expansion while composing the tree.

    The composer calls `compose_node` for every value, key and alias; counting there
    sees each alias once, with the size of what it stands for already known (an
    anchor's node is complete before any alias to it can follow, unless the alias is
    inside it: a cycle). So the whole check is linear in the text.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0
        self._expanded = 0  # values the document holds so far, with aliases expanded
        self._aliased = 0  # of which the aliases added
        self._sizes: dict[yaml.Node, int] = {}  # finished node -> values under it, expanded
        self._path: list[str | int] = []

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        # `index` is the key node of a mapping's value, the position of a sequence's item,
        # None for a key or the document's root.
        part: str | int | None = index if isinstance(index, int) else (
            index.value if isinstance(index, yaml.ScalarNode) else None)
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None:  # an undefined alias is the base class's error
                size = self._sizes.get(target)
                if size is None:
                    raise _Refused(event.start_mark, f"the alias *{event.anchor} is inside the "
                                   "value it refers to (a cycle): a desired-state file cannot "
                                   "hold one", self._loc(part))
                self._expanded += size
                self._aliased += size
                if self._aliased > MAX_ALIAS_EXPANSION:
                    raise _Refused(event.start_mark, f"aliases expand to more than "
                                   f"{MAX_ALIAS_EXPANSION:,} values by the alias *{event.anchor}"
                                   " (an alias bomb?): write the values out or use fewer "
                                   "aliases", self._loc(part))
            return super().compose_node(parent, index)
        if self._depth >= MAX_DEPTH:
            raise _Refused(event.start_mark, _TOO_DEEP, self._loc(part))
        self._depth += 1
        if part is not None:
            self._path.append(part)
        before = self._expanded
        self._expanded += 1
        node = super().compose_node(parent, index)
        if isinstance(node, yaml.ScalarNode) and node.tag == _INT \
                and len(node.value) > MAX_NUMBER_CHARS:
            raise _Refused(node.start_mark, f"a number of {len(node.value):,} characters is too "
                           f"long (at most {MAX_NUMBER_CHARS})", tuple(self._path))
        if node is not None:
            self._sizes[node] = self._expanded - before
        if part is not None:
            self._path.pop()
        self._depth -= 1
        return node

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        # The scanner reads ahead of the composer (up to 1024 characters while a `[` may
        # still start a key) and keeps one entry per open bracket, scanned again for each
        # token: thousands of `[` cost it quadratic time before the composer sees them.
        if self.flow_level >= MAX_DEPTH:
            raise _Refused(self.get_mark(), _TOO_DEEP, tuple(self._path))
        super().fetch_flow_collection_start(TokenClass)

    def _loc(self, part: str | int | None) -> Loc:
        return (*self._path, part) if part is not None else tuple(self._path)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """The mapping with its string keys only: the others are findings already."""
        if not isinstance(node, yaml.MappingNode):
            raise ConstructorError(None, None, f"expected a mapping node, but found {node.id}",
                                   node.start_mark)
        self.flatten_mapping(node)  # `<<` merges, as SafeLoader does them
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if _is_string_key(key_node):
                mapping[key_node.value] = self.construct_object(value_node, deep=deep)
        return mapping



def _is_string_key(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag in (_STR, _VALUE)


def _key_problem(node: yaml.Node) -> str:
    if isinstance(node, yaml.ScalarNode):
        kind = _KIND_OF_TAG.get(node.tag, f"the tag {node.tag}")
        return (f"the key {_short(node.value)} is read as {kind}, not a string: write it in "
                f"quotes ({_short(node.value)!r})")
    kind = "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"
    return f"a key must be a string, not {kind}"


def _short(text: str, limit: int = 40) -> str:
    text = _printable(text)
    return text if len(text) <= limit else f"{text[:limit]}..."


def _printable(text: str) -> str:
    """`text`, with control and other invisible characters escaped (`\\x1b`), so that a
    key cannot hide itself or drive the operator's terminal when a problem is printed."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def _check_keys(root: yaml.Node | None) -> list[Finding]:
    """Duplicate and non-string keys, each node looked at once (aliases share nodes).

    Iterative and in document order, so an aliased mapping is reported at its
    anchor, under the path where it is written.
    """
    out: list[Finding] = []
    seen: set[yaml.Node] = set()
    stack: list[tuple[yaml.Node, Loc]] = [(root, ())] if root is not None else []
    while stack:
        node, loc = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        children: list[tuple[yaml.Node, Loc]] = []
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE:  # `<<: *defaults` merges; it is not a key
                    children.append((value_node, loc))
                    continue
                mark = key_node.start_mark
                if not _is_string_key(key_node):
                    text = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                    out.append(Finding((*loc, text), mark.line + 1, mark.column + 1,
                                       _key_problem(key_node)))
                    continue
                key = key_node.value
                if key in keys:
                    out.append(Finding((*loc, key), mark.line + 1, mark.column + 1,
                                       f"duplicate key {key!r}: each key may appear once"))
                keys.add(key)
                children.append((value_node, (*loc, key)))
        elif isinstance(node, yaml.SequenceNode):
            children = [(item, (*loc, i)) for i, item in enumerate(node.value)]
        stack.extend(reversed(children))
    return out


def _line_column(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _where(mark: yaml.Mark) -> str:
    return f"line {mark.line + 1} column {mark.column + 1}"


def _syntax_problems(exc: yaml.MarkedYAMLError, path: str) -> list[Problem]:
    """Where the parser gave up and, when it differs, where the broken construct began."""
    context, problem = exc.context or "", exc.problem or ""
    start, stop = exc.context_mark, exc.problem_mark
    if start is None or stop is None or (start.line, start.column) == (stop.line, stop.column):
        mark = stop or start
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = " ".join(p for p in (context, problem) if p)
        return [Problem(path, line, column, "", f"malformed YAML: {what}")]
    return [
        Problem(path, start.line + 1, start.column + 1, "", f"malformed YAML: {context} "
                f"(starting here); at {_where(stop)}: {problem}"),
        Problem(path, stop.line + 1, stop.column + 1, "",
                f"malformed YAML: {problem} ({context} starting at {_where(start)})"),
    ]


def _unreadable(text: str, exc: yaml.reader.ReaderError, path: str) -> Problem:
    index = min(max(exc.position, 0), len(text))
    line, column = _line_column(text, index)
    code = exc.character
    if isinstance(code, int) and 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8
        return Problem(path, line, column, "", f"the file is not UTF-8 text: byte "
                       f"0x{code - 0xDC00:02X} here cannot be decoded")
    shown = f"U+{code:04X}" if isinstance(code, int) else repr(code)
    return Problem(path, line, column, "", f"the character {shown} is not allowed in YAML "
                   "(control characters other than tab and line breaks, and surrogates)")


def read_document(text: str, path: str = "<string>") -> Document:
    """Parse one YAML document; raise `DesiredStateError` if it cannot be read within bounds.

    `text` is the file's text; bytes that were not UTF-8 may be carried in it as
    `surrogateescape` code points (U+DC80..U+DCFF), which are reported as such.
    Raises `DesiredStateError` (problems located by file, line and column; nothing
    else escapes) for: text longer than `MAX_CHARS`, characters YAML forbids,
    malformed YAML, more than one document, nesting past `MAX_DEPTH`, alias
    expansion past `MAX_ALIAS_EXPANSION`, cyclic aliases, over-long integers and
    unknown tags. Duplicate and non-string keys are returned as `findings`.
    """
    if len(text) > MAX_CHARS:
        raise DesiredStateError([Problem(path, 1, 1, "", f"the file has {len(text):,} characters;"
                                         f" at most {MAX_CHARS:,} are read (a desired-state file "
                                         "is a few KB)")])
    try:
        loader = _BoundedLoader(text)
    except yaml.reader.ReaderError as exc:
        raise DesiredStateError([_unreadable(text, exc, path)]) from None
    try:
        root = loader.get_single_node()
        findings = _check_keys(root)
        data = loader.construct_document(root) if root is not None else None
    except _Refused as exc:
        line, column = (exc.mark.line + 1, exc.mark.column + 1) if exc.mark else (1, 1)
        # The path to a value nested too deep is as deep: its start says enough.
        loc = exc.loc if len(exc.loc) <= 8 else (*exc.loc[:8], "...")
        field = format_loc(loc)
        raise DesiredStateError([Problem(path, line, column, field, exc.message)]) from None
    except yaml.reader.ReaderError as exc:
        raise DesiredStateError([_unreadable(text, exc, path)]) from None
    except yaml.MarkedYAMLError as exc:
        raise DesiredStateError(_syntax_problems(exc, path)) from None
    except yaml.YAMLError as exc:
        raise DesiredStateError([Problem(path, 1, 1, "", f"malformed YAML: {exc}")]) from None
    finally:
        loader.dispose()
    return Document(root, data, tuple(findings))


def format_loc(loc: Loc) -> str:
    """`("services", 0, "image", "tag")` -> `services[0].image.tag`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{_printable(part)}" if out else _printable(part)
    return out
