"""`ecs-gitops validate FILE` on every input that used to crash or hang the loader.

Each prints `file:line:column: ...` and exits 1; none prints a traceback. The
in-process runs (Typer's CliRunner) check each input's message; one run of the
installed console script, with all the files at once, checks what an operator
sees in a terminal.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecs_gitops_tools.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = (ROOT / "desired_state/production.yaml").read_text()
runner = CliRunner()


def edit(old: str, new: str) -> str:
    assert old in PRODUCTION, old
    return PRODUCTION.replace(old, new, 1)


def line_of(text: str, needle: str) -> int:
    return text[:text.index(needle)].count("\n") + 1


def bomb() -> str:
    lines = ["anchors:", "  l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)]
    return PRODUCTION + "\n".join(lines) + "\nbranch: main\n"


Write = Callable[[Path], None]


def text(content: str) -> Write:
    return lambda path: path.write_text(content)


def raw(content: bytes) -> Write:
    return lambda path: path.write_bytes(content)


def directory(path: Path) -> None:
    path.mkdir()


def fifo(path: Path) -> None:
    os.mkfifo(path)


def huge(path: Path) -> None:
    with path.open("wb") as handle:
        handle.truncate(3 * 1024**2)


DEEP = edit("prune: false", "prune: " + "[" * 3000 + "]" * 3000)
UNCLOSED = PRODUCTION.rstrip("\n") + "\nprune: [true\n"
# (name, how to write the file, line, what the message says)
CASES: list[tuple[str, Write, int, str]] = [
    ("cpu -.inf", text(t := edit("cpu: 256", "cpu: -.inf")), line_of(t, "-.inf"),
     "services[1].cpu: cpu must be a finite number, not -inf"),
    ("name [api]", text(t := edit("- name: api", "- name: [api]")), line_of(t, "[api]"),
     "services[1].name: "),
    ("key 1", text(t := edit("launchType: EC2", "launchType: EC2\n1: x")), line_of(t, "1: x"),
     "1: the key 1 is read as an integer, not a string"),
    ("key 1 in environment", text(t := edit("LOG_LEVEL: info", "1: info")), line_of(t, "1: info"),
     "services[1].environment.1: the key 1 is read as an integer"),
    ("3000 levels deep", text(DEEP), line_of(DEEP, "prune:"), "nested more than 100 levels deep"),
    ("alias bomb", text(b := bomb()), line_of(b, "  l5:"), "(an alias bomb?)"),
    ("unclosed [ on the last line", text(UNCLOSED), UNCLOSED.count("\n"),
     "malformed YAML: while parsing a flow sequence (starting here)"),
    ("5000 digits", text(t := edit("port: 5000", "port: " + "9" * 5000)), line_of(t, "port: 99"),
     "services[1].port: a number of 5,000 characters is too long"),
    ("not UTF-8", raw(edit("LOG_LEVEL: info", "LOG_LEVEL: caf\u00e9").encode("latin-1")),
     line_of(PRODUCTION, "LOG_LEVEL"), "the file is not UTF-8 text: byte 0xE9"),
    ("binary", raw(b"\x00\x01\x02\xff" * 64), 1, "the character U+0000 is not allowed in YAML"),
    ("Rich markup in a key", text(t := edit("    cpu: 256", '    cpu: 256\n    "[/red]": x')),
     line_of(t, '"[/red]"'), "services[1].[/red]: unknown key '[/red]'"),
    ("directory", directory, 1, "not a regular file"),
    ("fifo", fifo, 1, "not a regular file"),
    ("huge", huge, 1, "the file is larger than 2,097,152 bytes"),
    ("missing", lambda path: None, 1, "no such file"),
]


@pytest.mark.parametrize(("name", "write", "line", "message"), CASES, ids=[c[0] for c in CASES])
def test_validate_reports_file_and_line_and_exits_1(
    tmp_path: Path, name: str, write: Write, line: int, message: str
) -> None:
    path = tmp_path / "production.yaml"
    write(path)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not a crash
    out = result.output
    assert "Traceback" not in out, out
    found = [row for row in out.splitlines() if row.startswith(f"{path}:{line}:")]
    assert any(message in row for row in found), out


def test_the_console_script_prints_no_traceback_for_any_of_them(tmp_path: Path) -> None:
    paths = []
    for index, (_, write, _, _) in enumerate(CASES):
        path = tmp_path / f"case{index:02d}.yaml"
        write(path)
        paths.append(path)
    script = Path(sys.executable).parent / "ecs-gitops"
    result = subprocess.run([str(script), "validate", *map(str, paths)], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    for path, (_, _, line, message) in zip(paths, CASES, strict=True):
        assert any(row.startswith(f"{path}:{line}:") and message in row
                   for row in result.stderr.splitlines()), (path, message, result.stderr)


def test_a_file_that_is_not_utf8_in_git_reaches_the_loader(tmp_path: Path) -> None:
    """The reconcile reads the file from git: no UnicodeDecodeError on the way."""
    from ecs_gitops.desired import load_environment_text
    from ecs_gitops.errors import DesiredStateError
    from ecs_gitops.source.localgit import LocalGitSource

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(tmp_path), *args], capture_output=True,
                              text=True, check=True).stdout.strip()

    git("init", "-q", "-b", "main")
    (tmp_path / "production.yaml").write_bytes(
        edit("LOG_LEVEL: info", "LOG_LEVEL: caf\u00e9").encode("latin-1"))
    git("add", "production.yaml")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "latin-1")
    source = LocalGitSource(tmp_path)
    text = source.read_file(source.branch_tip("main"), "production.yaml")
    assert text is not None
    with pytest.raises(DesiredStateError) as info:
        load_environment_text(text, "production.yaml")
    assert [str(p) for p in info.value.problems] == [
        f"production.yaml:{line_of(PRODUCTION, 'LOG_LEVEL')}:{len('      LOG_LEVEL: caf') + 1}: "
        "the file is not UTF-8 text: "
        "byte 0xE9 here cannot be decoded"]


@pytest.mark.parametrize("command", [["rollback", "{path}", "api", "--to", "abc"],
                                     ["plan", "{path}"]])
def test_other_commands_print_problems_as_text_not_rich_markup(
    tmp_path: Path, command: list[str]
) -> None:
    """A key like '[/red]' in a message once made Rich raise MarkupError: a traceback."""
    path = tmp_path / "production.yaml"
    path.write_text(edit("    cpu: 256", '    cpu: 256\n    "[/red]": x'))
    result = runner.invoke(app, [part.format(path=path) for part in command])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "unknown key '[/red]'" in result.output, result.output
