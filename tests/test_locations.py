"""Diagnostics point at the line lark counted (`\\n` only), never past the end of the file (issue 11).

`str.splitlines()` also splits at `\\r`, form feeds, `\\x1c`-`\\x1e`, `\\x85` and
U+2028/2029; a comment holding one of them used to shift every later line shown.
"""

from __future__ import annotations

import pytest

from flowgen_design.dsl.diagnostics import Reporter, render_text
from flowgen_design.dsl.parser import parse
from flowgen_design.dsl.source import SourceFile, source_lines

ODD_BREAKS = ["\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("brk", ODD_BREAKS, ids=[repr(b) for b in ODD_BREAKS])
def test_error_shows_the_line_lark_counted(brk: str) -> None:
    text = f"flow a version 1.0.0\n// one{brk}two\nevent E {{ x: uuid }}\nevent F {{ ; }}\n"
    reporter = Reporter()
    assert parse(text, "a.flow", reporter) is None
    (d,) = reporter.items
    assert (d.span.line, d.span.column) == (4, 11)
    shown = render_text(reporter.items, {"a.flow": text}).splitlines()
    assert shown[1] == "   4 | event F { ; }"
    assert SourceFile(path="a.flow", text=text).line_text(4) == "event F { ; }"


@pytest.mark.parametrize("text", ["flow a version 1.0.0\nevent E {\n", "flow a version 1.0.0\nevent E {", "\n\n\n"])
def test_end_of_file_errors_stay_inside_the_file(text: str) -> None:
    reporter = Reporter()
    parse(text, "a.flow", reporter)
    (d,) = reporter.items
    assert 1 <= d.span.line <= len(source_lines(text))


def test_source_lines_counts_like_lark() -> None:
    assert source_lines("") == [""]
    assert source_lines("a\n") == ["a"]
    assert source_lines("a\rb\u2028c\nd") == ["a\rb\u2028c", "d"]
    assert source_lines("a\n\n") == ["a", ""]
