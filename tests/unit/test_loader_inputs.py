"""The loader on the inputs that used to crash or hang it (issue 10), and their relatives.

Each case is the committed production file with one edit; each must give exactly
`DesiredStateError` with problems located by file, line, column and field, quickly.
Before this, `cpu: -.inf` raised OverflowError, `name: [api]` and a key `1:` under
`environment:` TypeError, 3,000 levels of nesting RecursionError, a NUL byte
ReaderError, a 5,000-digit number ValueError, and a 2 KB alias bomb followed by a
duplicate key took minutes.
"""

from __future__ import annotations

import os
import re
import stat
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import PydanticCustomError

from ecs_gitops.desired import load_environment, load_environment_text, loader
from ecs_gitops.desired.document import MAX_ALIAS_EXPANSION, MAX_CHARS, MAX_DEPTH
from ecs_gitops.desired.model import parse_cpu, parse_memory
from ecs_gitops.errors import DesiredStateError

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = (ROOT / "desired_state/production.yaml").read_text()


def edited(old: str, new: str) -> str:
    assert PRODUCTION.count(old) >= 1, old
    return PRODUCTION.replace(old, new, 1)


def where(text: str, needle: str, offset: int = 0) -> str:
    """`line:column` (1-based) of the first `needle` in `text`, plus `offset` columns."""
    index = text.index(needle) + offset
    line = text.count("\n", 0, index) + 1
    return f"{line}:{index - (text.rfind(chr(10), 0, index) + 1) + 1}"


def problems(text: str) -> list[str]:
    with pytest.raises(DesiredStateError) as info:
        load_environment_text(text, "f.yaml")
    return [str(p) for p in info.value.problems]


def alias_bomb(levels: int) -> str:
    """The issue's input: nested aliases, 9 copies a level, then a duplicate key (~2 KB)."""
    lines = ["anchors:", "  l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]"
              for i in range(1, levels + 1)]
    return PRODUCTION + "\n".join(lines) + "\nbranch: main\n"


# --- the inputs of the issue ---------------------------------------------------------------

@pytest.mark.parametrize("value", ["-.inf", ".inf", "-.Inf", ".NaN"])
def test_infinite_or_nan_cpu_is_a_field_error(value: str) -> None:
    text = edited("cpu: 256", f"cpu: {value}")
    shown = {"-.inf": "-inf", ".inf": "inf", "-.Inf": "-inf", ".NaN": "nan"}[value]
    assert problems(text) == [f"f.yaml:{where(text, value)}: services[1].cpu: "
                              f"cpu must be a finite number, not {shown}"]


@pytest.mark.parametrize("value", ["-.inf", ".nan"])
def test_infinite_or_nan_memory_is_a_field_error(value: str) -> None:
    text = edited("memory: 512\n    port: 5000", f"memory: {value}\n    port: 5000")
    found = problems(text)
    assert found[0].startswith(f"f.yaml:{where(text, value)}: services[1].memory: "
                               "memory must be a finite number"), found


@pytest.mark.parametrize("value", ["[api]", "{first: api}", "[[api]]"])
def test_a_name_that_is_not_a_string_is_a_field_error(value: str) -> None:
    text = edited("- name: api", f"- name: {value}")
    found = problems(text)
    assert len(found) == 1, found
    assert found[0].startswith(f"f.yaml:{where(text, value)}: services[1].name: "), found


def test_a_service_name_that_is_a_list_is_a_field_error() -> None:
    text = edited("- name: api", "- name: api\n    serviceName: [api, web]")
    found = problems(text)
    assert len(found) == 1, found
    assert found[0].startswith(f"f.yaml:{where(text, '[api, web]')}: services[1].serviceName: ")


@pytest.mark.parametrize(("old", "new", "field"), [
    ("launchType: EC2", "launchType: EC2\n1: x", "1"),
    ("    cpu: 256", "    cpu: 256\n    1: x", "services[1].1"),
    ("      LOG_LEVEL: info", "      1: info", "services[1].environment.1"),
    ("      min: 2", "      min: 2\n      1: x", "services[0].scaling.1"),
])
def test_an_integer_key_is_a_field_error(old: str, new: str, field: str) -> None:
    text = edited(old, new)
    line = new.split("\n")[-1]
    assert problems(text) == [
        f"f.yaml:{where(text, line, len(line) - len(line.lstrip()))}: {field}: the key 1 is "
        "read as an integer, not a string: write it in quotes ('1')"]


@pytest.mark.parametrize(("key", "kind"), [
    ("on", "a boolean (YAML 1.1 reads yes/no/on/off/y/n so)"), ("~", "null"),
    ("1.5", "a number"), ("2024-01-01", "a date"),
])
def test_keys_yaml_reads_as_other_types_say_so(key: str, kind: str) -> None:
    text = edited("      LOG_LEVEL: info", f"      {key}: info")
    assert problems(text) == [f"f.yaml:{where(text, key + ': info')}: services[1].environment."
                              f"{key}: the key {key} is read as {kind}, not a string: write it "
                              f"in quotes ({key!r})"]


@pytest.mark.parametrize(("key", "kind"), [("[a, b]", "a list"), ("{a: 1}", "a mapping"),
                                           ("? - a\n      ", "a list")])
def test_a_list_or_mapping_as_a_key_is_a_field_error(key: str, kind: str) -> None:
    text = edited("      LOG_LEVEL: info", f"      {key}: info")
    found = problems(text)
    at = where(text, f"{key}: info", 2 if key.startswith("? ") else 0)
    assert found == [f"f.yaml:{at}: services[1].environment.?: "
                     f"a key must be a string, not {kind}"], found


# The root mapping is level 1 and `prune:`'s value level 2, so the first value too deep
# (level MAX_DEPTH + 1) is the 100th `-`, or the key inside the 99th `{`. Brackets are
# refused by the scanner, which reads ahead, when the 101st opens.
@pytest.mark.parametrize(("opening", "column"), [
    ("[", 8 + MAX_DEPTH), ("{a: ", 8 + (MAX_DEPTH - 2) * 4 + 1), ("- ", 3 + (MAX_DEPTH - 1) * 2),
])
def test_nesting_3000_levels_deep_is_refused_at_the_first_level_too_deep(
    opening: str, column: int
) -> None:
    if opening == "- ":  # block sequences, on the next line: `  - - - - x`
        text = edited("prune: false", "prune:\n  " + "- " * 3000 + "x")
    else:
        closing = "]" if opening == "[" else "}"
        text = edited("prune: false", "prune: " + opening * 3000 + "1" + closing * 3000)
    line = int(where(text, "prune:").split(":")[0]) + (opening == "- ")
    started = time.perf_counter()
    found = problems(text)
    assert time.perf_counter() - started < 2
    assert len(found) == 1, found
    assert found[0].startswith(f"f.yaml:{line}:{column}: prune"), found
    assert found[0].endswith(f"nested more than {MAX_DEPTH} levels deep: a desired-state file "
                             "needs far fewer (a bracket or an indentation gone wrong?)"), found


def test_the_issues_alias_bomb_with_a_duplicate_key_is_refused_quickly() -> None:
    text = alias_bomb(8)  # before: ~9x longer a level; 7 levels took 16 s, this one minutes
    assert len(text) - len(PRODUCTION) < 600  # the bomb itself: well under a kilobyte
    started = time.perf_counter()
    found = problems(text)
    assert time.perf_counter() - started < 2
    line = text.split("\n").index("  l5: &l5 [" + ", ".join(["*l4"] * 9) + "]") + 1
    assert found == [
        f"f.yaml:{line}:12: anchors.l5[0]: aliases expand to more than {MAX_ALIAS_EXPANSION:,} "
        "values by the alias *l4 (an alias bomb?): write the values out or use fewer aliases"]


def test_aliases_under_the_bound_are_read_and_their_duplicate_key_reported_once() -> None:
    text = alias_bomb(3)
    found = problems(text)
    assert found == [
        f"f.yaml:{where(text, 'anchors:')}: anchors: unknown key 'anchors'; did you mean "
        "'branch'?",
        f"f.yaml:{text.count(chr(10))}:1: branch: duplicate key 'branch': each key may appear "
        "once",
    ]


def test_merge_key_bombs_are_bounded_too() -> None:
    lines = ["anchors:", "  m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9}"]
    lines += [f"  m{i}: &m{i} {{<<: [" + ", ".join([f"*m{i - 1}"] * 9) + "]}"
              for i in range(1, 9)]
    started = time.perf_counter()
    found = problems(PRODUCTION + "\n".join(lines) + "\n")
    assert time.perf_counter() - started < 2
    assert "(an alias bomb?)" in found[0], found


def test_a_duplicate_key_inside_an_aliased_mapping_is_reported_once_at_its_anchor() -> None:
    text = edited("    environment:\n      API_BASE_URL: http://api.production.internal:5000",
                  "    environment: &env\n      API_BASE_URL: http://a:5000\n"
                  "      API_BASE_URL: http://b:5000")
    # the next service's whole environment block (its values and comments) becomes the alias
    text = re.sub(r"    environment:\n      LOG_LEVEL: info\n(      .*\n)*",
                  "    environment: *env\n", text, count=1)
    assert text.count("*env") == 1
    assert problems(text) == [
        f"f.yaml:{where(text, 'API_BASE_URL: http://b')}: services[0].environment.API_BASE_URL: "
        "duplicate key 'API_BASE_URL': each key may appear once"]


@pytest.mark.parametrize("cycle", ["&c [*c]", "&c {a: *c}", "&c [1, [2, *c]]"])
def test_an_alias_inside_its_own_anchor_is_refused(cycle: str) -> None:
    text = edited("prune: false", f"prune: {cycle}")
    assert problems(text)[0].startswith(f"f.yaml:{where(text, '*c')}: prune")
    assert "the alias *c is inside the value it refers to (a cycle)" in problems(text)[0]


# --- malformed YAML: where the construct starts and where the parser gave up ----------------

def test_an_unclosed_bracket_on_the_last_line_names_that_line_and_the_end() -> None:
    text = PRODUCTION.rstrip("\n") + "\nprune: [true\n"
    last = text.count("\n")
    assert problems(text) == [
        f"f.yaml:{last}:8: malformed YAML: while parsing a flow sequence (starting here); at "
        f"line {last + 1} column 1: expected ',' or ']', but got '<stream end>'",
        f"f.yaml:{last + 1}:1: malformed YAML: expected ',' or ']', but got '<stream end>' "
        f"(while parsing a flow sequence starting at line {last} column 8)",
    ]


@pytest.mark.parametrize(("old", "new", "start"), [
    ("    cpu: 256", "    cpu: {a: 256", "{a: 256"),
    ("    cpu: 256", "    cpu: \"256", "\"256"),
    ("    cpu: 256", "    cpu: '256", "'256"),
])
def test_unclosed_constructs_name_their_start(old: str, new: str, start: str) -> None:
    text = edited(old, new)
    found = problems(text)
    assert len(found) == 2, found
    assert found[0].startswith(f"f.yaml:{where(text, start)}: malformed YAML: "), found
    assert "(starting here)" in found[0]


def test_a_problem_with_one_mark_gives_one_problem() -> None:
    text = edited("    cpu: 256", "    cpu: !custom 256")
    assert problems(text) == [f"f.yaml:{where(text, '!custom')}: malformed YAML: could not "
                              "determine a constructor for the tag '!custom'"]


# --- characters, bytes and sizes ------------------------------------------------------------

@pytest.mark.parametrize(("char", "shown"), [("\x00", "U+0000"), ("\x1b", "U+001B"),
                                             ("\ud800", "U+D800"), ("\x7f", "U+007F")])
def test_characters_yaml_forbids_are_located(char: str, shown: str) -> None:
    text = edited("LOG_LEVEL: info", f"LOG_LEVEL: in{char}fo")
    assert problems(text) == [f"f.yaml:{where(text, char)}: the character {shown} is not "
                              "allowed in YAML (control characters other than tab and line "
                              "breaks, and surrogates)"]


def test_escaped_control_characters_in_a_key_are_shown_escaped() -> None:
    text = edited("    cpu: 256", '    cpu: 256\n    "\\e[2Jcolour": red')
    found = problems(text)
    at = where(text, '"')
    assert found[0].startswith(f"f.yaml:{at}: services[1].\\x1b[2Jcolour: "
                               "unknown key '\\x1b[2Jcolour'"), found


def test_a_file_that_is_not_utf8_is_located(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(edited("LOG_LEVEL: info", "LOG_LEVEL: caf\u00e9").encode("latin-1"))
    with pytest.raises(DesiredStateError) as info:
        load_environment(path)
    text = edited("LOG_LEVEL: info", "LOG_LEVEL: caf\u00e9")
    assert [str(p) for p in info.value.problems] == [
        f"{path}:{where(text, chr(0xe9))}: the file is not UTF-8 text: byte 0xE9 here cannot "
        "be decoded"]


def test_a_byte_order_mark_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + PRODUCTION.encode())
    assert load_environment(path).environment == "production"


@pytest.mark.parametrize("number", ["9" * 5000, "0x" + "f" * 200, "1" + ":1" * 2000,
                                    "!!int " + "7" * 101])
def test_numbers_too_long_to_convert_are_refused_quickly(number: str) -> None:
    text = edited("port: 5000", f"port: {number}")
    started = time.perf_counter()
    found = problems(text)
    assert time.perf_counter() - started < 2
    assert len(found) == 1, found
    digits = number.removeprefix("!!int ")
    assert found[0] == (f"f.yaml:{where(text, number)}: services[1].port: a number of "
                        f"{len(digits):,} characters is too long (at most 100)")


def test_text_longer_than_the_limit_is_refused_without_parsing() -> None:
    text = PRODUCTION + "#" * MAX_CHARS
    started = time.perf_counter()
    assert problems(text) == [f"f.yaml:1:1: the file has {len(text):,} characters; at most "
                              f"{MAX_CHARS:,} are read (a desired-state file is a few KB)"]
    assert time.perf_counter() - started < 1


def test_a_file_larger_than_the_limit_is_read_no_further(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:  # sparse: 10 GB of zeros cost nothing on disk
        handle.truncate(10 * 1024**3)
    with pytest.raises(DesiredStateError, match=r"huge.yaml:1:1: the file is larger than "
                       r"2,097,152 bytes, the most that is read"):
        load_environment(path)


@pytest.mark.parametrize("kind", ["directory", "fifo", "device"])
def test_what_is_not_a_regular_file_is_refused_without_reading(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "x.yaml"
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)  # opening it would block until a writer came: it must not be opened
    else:
        path = Path("/dev/zero")  # never ends
        assert stat.S_ISCHR(path.stat().st_mode)
    with pytest.raises(DesiredStateError, match=r":1:1: not a regular file"):
        load_environment(path)


def test_an_unreadable_file_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text(PRODUCTION)

    def refuse(self: Path, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refuse)  # as root, chmod 000 would not stop us
    with pytest.raises(DesiredStateError, match=r"secret.yaml:1:1: cannot read the file: "
                       r"\[Errno 13\] Permission denied"):
        load_environment(path)


def test_iter_problems_reports_every_bad_path_and_goes_on(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(edited("cpu: 256", "cpu: -.inf"))
    found = loader.iter_problems([tmp_path, bad, tmp_path / "nope.yaml",
                                  ROOT / "desired_state/development.yaml"])
    assert [p.message.split(":")[0] for p in found] == [
        "not a regular file (a directory or a device?)", "cpu must be a finite number, not -inf",
        "no such file"]


# --- the last line of defence ---------------------------------------------------------------

def test_a_bug_of_ours_is_still_a_located_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(data: Any) -> Any:
        raise TypeError("a bug")

    monkeypatch.setattr(loader, "_raw_problems", broken)
    assert problems(PRODUCTION) == ["f.yaml:1:1: internal error while checking this file "
                                    "(TypeError: a bug); please report it with the file"]


def test_a_kill_is_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    class Killed(BaseException):
        """What a Lambda time-out looks like to the code it interrupts."""

    def killed(data: Any) -> Any:
        raise Killed

    monkeypatch.setattr(loader, "_raw_problems", killed)
    with pytest.raises(Killed):
        load_environment_text(PRODUCTION, "f.yaml")


# --- cpu and memory notations: exact, finite, never another exception -----------------------

@pytest.mark.parametrize(("cpu", "message"), [
    (0.1, "cpu 0.1 is 102.4 units, not a whole number of units"),
    ("0.1 vCPU", "cpu '0.1 vCPU' is 102.4 units, not a whole number of units"),
    ("9" * 400 + " vcpu", "cpu must be CPU units (256) or vCPU ('0.25 vCPU'), not "
                          "'" + "9" * 39 + "..."),
    ("1e400 vcpu", "cpu must be CPU units (256) or vCPU ('0.25 vCPU'), not '1e400 vcpu'"),
])
def test_cpu_that_is_not_a_whole_number_of_units(cpu: object, message: str) -> None:
    with pytest.raises(PydanticCustomError) as info:
        parse_cpu(cpu)
    assert info.value.message() == message


def everything() -> st.SearchStrategy[Any]:
    scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
               | st.from_regex(r"\s*\d{0,12}(\.\d{0,12})?\s*(vcpu|cpu|gb|gib|mb|mib)?\s*",
                               fullmatch=True))
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=5)


@settings(max_examples=300, deadline=None)
@given(everything())
def test_cpu_and_memory_parsers_never_raise_anything_else(value: Any) -> None:
    for parse in (parse_cpu, parse_memory):
        try:
            result = parse(value)
        except PydanticCustomError:
            continue
        assert type(result) is int or result is value, (parse, value, result)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 192 * 256))
def test_every_notation_of_the_same_size_reads_the_same(quarter_units: int) -> None:
    units = 4 * quarter_units  # a whole number of units in each notation
    vcpu = Decimal(quarter_units) / 256  # exact: 256 is a power of two
    assert parse_cpu(units) == parse_cpu(str(units)) == parse_cpu(f" {units} ") == units
    assert parse_cpu(f"{vcpu} vCPU") == parse_cpu(f"{vcpu}vcpu") == units
    if vcpu < 128:
        assert parse_cpu(float(vcpu)) == units
    assert parse_memory(units) == parse_memory(str(units)) == parse_memory(f"{units} MiB") == units
    assert parse_memory(f"{vcpu} GB") == parse_memory(f"{vcpu}GiB") == units
