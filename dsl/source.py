"""Source files and spans: every diagnostic and AST node points into one of these."""

from __future__ import annotations

from typing import NamedTuple

from flowgen_design.dsl.frozen import frozen


class Span(NamedTuple):
    """A region of a source file; lines and columns are 1-based, the end is exclusive.

    A named tuple rather than a model: spans are the most numerous objects of a
    parsed spec (one per token the AST keeps), and a tuple is built in one step.
    Dataclasses hold it like any other field type.
    """

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def to(self, other: Span) -> Span:
        """The span from the start of this one to the end of `other`."""
        return Span(self.file, self.line, self.column, other.end_line, other.end_column)

    @property
    def start(self) -> tuple[int, int]:
        return (self.line, self.column)


@frozen
class SourceFile:
    """A file's text as read, kept so diagnostics can show the offending line."""

    path: str
    text: str

    def line_text(self, line: int) -> str:
        lines = source_lines(self.text)
        return lines[line - 1] if 0 < line <= len(lines) else ""


def source_lines(text: str) -> list[str]:
    """A source's lines as lark counts them: split at `\n` only.

    `str.splitlines()` also splits at `\r`, form feeds, `\x1c`-`\x1e`, `\x85` and
    U+2028/2029, which lark (and so every span) does not; using it would show the
    wrong line under a diagnostic. A final newline does not start another line,
    and an empty text still has one (empty) line, so line 1 always exists.
    """
    lines = text.split("\n")
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    return lines
