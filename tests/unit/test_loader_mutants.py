"""Loader tests written for mutants that survived scripts/mutation.sh (docs/mutation.md):
where problems are placed, boundaries of the bounds, and how keys are shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecs_gitops.desired import load_environment, load_environment_text
from ecs_gitops.desired.document import MAX_CHARS
from ecs_gitops.errors import DesiredStateError

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = (ROOT / "desired_state/production.yaml").read_text()


def problems(text: str) -> list[str]:
    with pytest.raises(DesiredStateError) as info:
        load_environment_text(text, "f.yaml")
    return [str(p) for p in info.value.problems]


def test_a_missing_file_is_one_problem_at_its_start(tmp_path: Path) -> None:
    path = tmp_path / "gone.yaml"
    with pytest.raises(DesiredStateError) as info:
        load_environment(path)
    assert [str(p) for p in info.value.problems] == [f"{path}:1:1: no such file"]
    assert info.value.problems[0].field == ""


def test_a_directory_is_one_problem_at_its_start(tmp_path: Path) -> None:
    with pytest.raises(DesiredStateError) as info:
        load_environment(tmp_path)
    assert str(info.value.problems[0]).startswith(f"{tmp_path}:1:1: not a regular file")
    assert info.value.problems[0].field == ""


def test_a_file_of_exactly_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    padding = MAX_CHARS - len(PRODUCTION.encode()) - 1
    path.write_bytes(PRODUCTION.encode() + b"#" + b"x" * (padding - 1) + b"\n")
    assert path.stat().st_size == MAX_CHARS
    assert load_environment(path).environment == "production"
    path.write_bytes(path.read_bytes() + b"\n")
    with pytest.raises(DesiredStateError, match="larger than"):
        load_environment(path)


@pytest.mark.parametrize(("raw", "at", "shown"), [
    (b"\x80", "1:1", "0x80"), (b"\xff", "1:1", "0xFF"), (b"\n\xc3", "2:1", "0xC3"),
    (b"a: 1\nb: \x80", "2:4", "0x80"),
], ids=["first byte", "last of the range", "after a newline", "in a value"])
def test_bytes_that_are_not_utf8_are_located(tmp_path: Path, raw: bytes, at: str, shown: str
                                             ) -> None:
    path = tmp_path / "f.yaml"
    path.write_bytes(raw)
    with pytest.raises(DesiredStateError) as info:
        load_environment(path)
    assert str(info.value.problems[0]) == (f"{path}:{at}: the file is not UTF-8 text: byte "
                                           f"{shown} here cannot be decoded")


@pytest.mark.parametrize(("digits", "shown"), [(40, "1" * 40), (41, "1" * 40 + "...")])
def test_a_long_key_is_shown_whole_up_to_40_characters(digits: int, shown: str) -> None:
    text = PRODUCTION.replace("launchType: EC2", f"launchType: EC2\n{'1' * digits}: x", 1)
    assert problems(text)[0].endswith(f"the key {shown} is read as an integer, not a string: "
                                      f"write it in quotes ('{shown}')")


def test_a_key_with_letters_beyond_ascii_is_shown_as_written() -> None:
    text = PRODUCTION.replace("launchType: EC2", "launchType: EC2\n!!float café: x", 1)
    assert "the key café is read as a number" in problems(text)[0]


@pytest.mark.parametrize(("old", "new", "hint"), [
    ("    cpu: 256", "    cpu: 256\n    cpuu: 1", "services[1].cpuu: unknown key 'cpuu'; "
                                                   "did you mean 'cpu'?"),
    ("      tag:", "      tagg: x\n      tag:", "services[0].image.tagg: unknown key 'tagg'; "
                                                 "did you mean 'tag'?"),
    ("launchType: EC2", "launchType: EC2\nzzz: 1", "zzz: unknown key 'zzz'; allowed: branch, "
     "cluster, environment, launchType, network, prune, region, roles, schemaVersion, "
     "selfHeal, services"),
    ("      tag:", "      zzz: 1\n      tag:", "services[0].image.zzz: unknown key 'zzz'; "
     "allowed: registry, repository, tag"),
])
def test_an_unknown_key_names_what_is_allowed_where_it_is(old: str, new: str, hint: str
                                                          ) -> None:
    found = problems(PRODUCTION.replace(old, new, 1))
    assert len(found) == 1, found
    assert hint in found[0], found
