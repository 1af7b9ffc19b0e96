"""Human wording for syntax errors: what was found, what would fit, and a hint.

Lark reports terminal names such as RBRACE or NAME; a reader wants "`}`" and "a
name". Unclosed braces are found by a small scan, so the hint can point at the
`{` that was never closed rather than at the end of the file.
"""

from __future__ import annotations

import difflib

from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from dsl.source import Span

_LABELS = {
    "NAME": "a name",
    "SEMVER": "a version such as `1.0.0`",
    "DURATION": "a duration such as `10s`",
    "INT": "a whole number",
    "NUMBER": "a number",
    "STRING": 'a quoted string such as `"orders.flow"`',
    "HTTP_METHOD": "an HTTP method (GET, POST, PUT, PATCH, DELETE)",
    "HTTP_PATH": "a path such as `/orders`",
    "RBRACE": "`}`",
    "LBRACE": "`{`",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "COLON": "`:`",
    "COMMA": "`,`",
    "DOT": "`.`",
    "MORETHAN": "`>`",
    "LESSTHAN": "`<`",
    "VBAR": "`|`",
    "QMARK": "`?`",
    "__ANON_0": "`->`",
    "__ANON_1": "`..`",
    "$END": "the end of the file",
}

_DECLARATION_KEYWORDS = ["type", "enum", "event", "command", "policy", "defaults", "service", "saga", "external", "import"]
_HEADER_HINT = "a spec starts with a header such as `flow checkout version 1.0.0`"


def _label(terminal: str) -> str:
    if terminal in _LABELS:
        return _LABELS[terminal]
    if terminal.isupper() and terminal.isalpha():
        return f"`{terminal.lower()}`"
    return f"`{terminal}`"


def _expected_text(expected: set[str]) -> str:
    labels = sorted({_label(t) for t in expected if t not in ("WS", "COMMENT", "DOC_COMMENT")})
    if len(labels) > 8:
        labels = labels[:8] + ["..."]
    return ", ".join(labels)


def _point(path: str, line: int, column: int, width: int = 1) -> Span:
    return Span(file=path, line=max(line, 1), column=max(column, 1), end_line=max(line, 1), end_column=max(column, 1) + width)


def _end_of(text: str, path: str) -> Span:
    lines = text.splitlines() or [""]
    return _point(path, len(lines), len(lines[-1]) + 1)


def unclosed_brace(text: str) -> tuple[int, int] | None:
    """(line, column) of the first `{` that is never closed, ignoring comments and strings."""
    stack: list[tuple[int, int]] = []
    line, col, i, n = 1, 0, 0, len(text)
    while i < n:
        ch = text[i]
        col += 1
        if ch == "\n":
            line, col = line + 1, 0
        elif ch == "/" and text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif ch == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end
            col += end - i
            i = end
        elif ch == "{":
            stack.append((line, col))
        elif ch == "}" and stack:
            stack.pop()
        i += 1
    return stack[-1] if stack else None


def describe_unexpected(err: UnexpectedInput, text: str, path: str) -> tuple[str, str | None, Span]:
    """Turn lark's exception into (message, hint, span)."""
    if isinstance(err, UnexpectedEOF) or (isinstance(err, UnexpectedToken) and err.token.type == "$END"):
        return _describe_eof(err, text, path)
    if isinstance(err, UnexpectedToken):
        return _describe_token(err, text, path)
    if isinstance(err, UnexpectedCharacters):
        return _describe_character(err, text, path)
    return ("the text cannot be parsed here", None, _point(path, err.line, err.column))


def _describe_eof(err: UnexpectedInput, text: str, path: str) -> tuple[str, str | None, Span]:
    if not text.strip() or not any(line.strip() and not line.strip().startswith("//") for line in text.splitlines()):
        return ("the spec is empty", _HEADER_HINT, _point(path, 1, 1))
    opened = unclosed_brace(text)
    expected = getattr(err, "expected", None) or set()
    message = "the file ends too early" + (f"; expected {_expected_text(set(expected))}" if expected else "")
    if opened:
        return (message, f"the `{{` at line {opened[0]}, column {opened[1]} is never closed: add a `}}`", _end_of(text, path))
    return (message, None, _end_of(text, path))


def _previous_word(text: str, pos: int) -> tuple[str, bool]:
    """The word before `pos` and whether whitespace separates it from `pos`."""
    end = pos
    while end > 0 and text[end - 1] in " \t":
        end -= 1
    start = end
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    return text[start:end], end == pos


def _describe_token(err: UnexpectedToken, text: str, path: str) -> tuple[str, str | None, Span]:
    tok = err.token
    value = str(tok)
    span = Span(
        file=path,
        line=tok.line or 1,
        column=tok.column or 1,
        end_line=tok.end_line or tok.line or 1,
        end_column=tok.end_column or (tok.column or 1) + max(len(value), 1),
    )
    expected = set(err.expected)
    message = f"unexpected `{value}`; expected {_expected_text(expected)}"
    before, touching = _previous_word(text, tok.start_pos or 0)
    hint = _hint_after(before, touching, value) or _hint_for_token(tok.type, value, expected)
    return (message, hint, span)


_KEYWORDS = {"key", "ordered", "flow", "import", "type", "enum", "event", "command", "policy", "defaults", "service", "saga", "external"}


def _hint_after(before: str, touching: bool, value: str) -> str | None:
    """Hints that need the word in front of the unexpected token."""
    if value == ":" and before in _KEYWORDS:
        return f"`{before}` is a keyword here, so a field cannot be called `{before}`; rename the field (e.g. `{before}_value`)"
    if touching and before.isdigit() and value in ("ms", "s", "m", "h", "d"):
        return "a retry counts attempts (`retry 5`); the wait between attempts goes in `backoff fixed 1s` or `backoff exponential 200ms..30s`"
    return None


def _hint_for_token(kind: str, value: str, expected: set[str]) -> str | None:
    if expected == {"FLOW"}:
        return _HEADER_HINT
    if "NAME" in expected and kind != "NAME" and value.isidentifier():
        return f"`{value}` is a keyword in this position; choose another name"
    keywords = [t.lower() for t in expected if t.isupper() and t.isalpha() and t not in _LABELS]
    if kind == "NAME":
        close = difflib.get_close_matches(value, keywords or _DECLARATION_KEYWORDS, n=1, cutoff=0.6)
        if close:
            return f"did you mean `{close[0]}`?"
    if kind == "DURATION" and "INT" in expected:
        return "a retry takes a number of attempts, e.g. `retry 5 backoff exponential 200ms..30s`"
    if value.isdigit() and "DURATION" in expected:
        return f"add a unit: `{value}ms`, `{value}s`, `{value}m`, `{value}h` or `{value}d`"
    if kind == "NAME" and "RBRACE" in expected and "COLON" not in expected:
        return "each member starts with a keyword; fields take the form `name: type`"
    return None


def _describe_character(err: UnexpectedCharacters, text: str, path: str) -> tuple[str, str | None, Span]:
    pos = err.pos_in_stream if err.pos_in_stream is not None else -1
    char = text[pos] if 0 <= pos < len(text) else "?"
    shown = char if char.isprintable() and not char.isspace() else repr(char)
    expected = set(err.allowed or ())
    message = f"unexpected character `{shown}`" + (f"; expected {_expected_text(expected)}" if expected else "")
    hint = None
    if char == ";":
        hint = "statements need no `;`: put members on their own lines"
    elif char.isdigit() and "DURATION" in expected:
        hint = "durations need a unit: `ms`, `s`, `m`, `h` or `d`"
    elif char == "/" and "HTTP_PATH" not in expected:
        hint = "comments start with `//`, doc comments with `///`"
    return (message, hint, _point(path, err.line, err.column))
