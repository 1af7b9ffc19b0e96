"""Diagnostics: user-facing problems, collected (never raised) and rendered like a compiler."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

from flowgen_design.dsl.codes import ErrorCode, Severity
from flowgen_design.dsl.frozen import frozen
from flowgen_design.dsl.source import Span, source_lines


@frozen
class Diagnostic:

    code: str
    severity: Severity
    message: str
    span: Span
    hint: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


def make(entry: ErrorCode, message: str, span: Span, hint: str | None = None) -> Diagnostic:
    """A diagnostic with `entry`'s code and default severity (a project may change it: `dsl.selection`)."""
    return Diagnostic(
        code=entry.code, severity=entry.severity, message=_shorten(message), span=span, hint=hint and _shorten(hint)
    )


_LONG_PATH = re.compile(r'"([^"\s]{61,})"')


def _shorten(text: str) -> str:
    """Cut quoted input longer than 60 characters: a 100 KB name should not make a 100 KB message.

    Quoted means between a pair of backticks (counted in pairs, so the text
    between two quotes is never mistaken for one), or a double-quoted path.
    """
    parts = text.split("`")
    for i in range(1, len(parts) - 1, 2):
        if len(parts[i]) > 60:
            parts[i] = parts[i][:40] + "..."
    return _LONG_PATH.sub(lambda m: f'"{m.group(1)[:40]}..."', "`".join(parts))


class Reporter:
    """Collects diagnostics for one compilation; passes append, nobody raises."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def add(self, code: ErrorCode, message: str, span: Span, hint: str | None = None) -> None:
        self.items.append(make(code, message, span, hint))

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.items)


def sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    return (d.span.file, d.span.line, d.span.column, d.code)


def render_text(diagnostics: Iterable[Diagnostic], sources: Mapping[str, str], color: bool = False) -> str:
    """Render as `path:line:col: severity[CODE]: message`, the line, a caret, and `help:`."""
    lines_cache: dict[str, list[str]] = {}
    out: list[str] = []
    for d in diagnostics:
        text = sources.get(d.span.file)
        if text is not None and d.span.file not in lines_cache:
            lines_cache[d.span.file] = source_lines(text)
        out.extend(_render_one(d, lines_cache.get(d.span.file), color))
    return "\n".join(out) + ("\n" if out else "")


def _render_one(d: Diagnostic, lines: list[str] | None, color: bool) -> list[str]:
    s = d.span
    label = d.severity.value
    if color:
        label = ("\x1b[1;31m" if d.is_error else "\x1b[1;33m") + label + "\x1b[0m"
    out = [f"{s.file}:{s.line}:{s.column}: {label}[{d.code}]: {d.message}"]
    if lines is not None and 0 < s.line <= len(lines):
        source_line = lines[s.line - 1].expandtabs(1)
        width = (s.end_column - s.column) if s.end_line == s.line else len(source_line) - s.column + 1
        shown, column, width = _window(source_line, s.column, max(1, width))
        gutter = f"{s.line:>4} | "
        out.append(gutter + shown)
        out.append(" " * (len(gutter) + column - 1) + "^" * width)
    if d.hint:
        out.append(f"  help: {d.hint}")
    return out


MAX_SHOWN = 120


def _window(line: str, column: int, width: int) -> tuple[str, int, int]:
    """A long line cut to the part around the span, so one diagnostic stays a few short lines."""
    if len(line) <= MAX_SHOWN:
        return line, column, width
    start = max(0, min(column - 1 - MAX_SHOWN // 4, len(line) - MAX_SHOWN))
    prefix = "..." if start > 0 else ""
    piece = prefix + line[start : start + MAX_SHOWN] + ("..." if start + MAX_SHOWN < len(line) else "")
    column = column - start + len(prefix)
    return piece, column, max(1, min(width, len(piece) - column + 1))


def to_json(diagnostics: Iterable[Diagnostic]) -> str:
    """One JSON array of flat objects, the shape editors and CI annotations want."""
    rows = [
        {
            "file": d.span.file,
            "line": d.span.line,
            "column": d.span.column,
            "end_line": d.span.end_line,
            "end_column": d.span.end_column,
            "severity": d.severity.value,
            "code": d.code,
            "message": d.message,
            "hint": d.hint,
        }
        for d in diagnostics
    ]
    return json.dumps(rows, indent=2)
