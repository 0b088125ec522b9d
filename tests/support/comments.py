"""Reading the preview's pull request comments in tests."""

from __future__ import annotations


def fenced(content: str) -> str:
    """The text of the comment's first code block (its fence may be longer than three
    backticks, so that nothing in the text can close it)."""
    lines = content.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("```"))
    fence = lines[start].removesuffix("text")
    end = next(i for i in range(start + 1, len(lines)) if lines[i] == fence)
    return "\n".join(lines[start + 1:end])
