"""Human wording for syntax errors: what was found, what would fit, and a hint.

Lark reports terminal names such as RBRACE or NAME; a reader wants "`}`" and "a
name". Unclosed braces are found by a small scan, so the hint can point at the
`{` that was never closed rather than at the end of the file.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from flowgen_design.dsl.source import Span, source_lines

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
    "$END": "the end of the file",
}

_UNITS = ("ms", "s", "m", "h", "d")
_DECLARATION_KEYWORDS = [
    "type",
    "enum",
    "event",
    "command",
    "policy",
    "defaults",
    "service",
    "saga",
    "external",
    "archive",
    "import",
]
_HEADER_HINT = "a spec starts with a header such as `flow checkout version 1.0.0`"


Literals = Mapping[str, str]


def _label(terminal: str, literals: Literals) -> str:
    """What a reader calls a terminal: `}` for RBRACE, `->` for __ANON_0, "a name" for NAME."""
    if terminal in _LABELS:
        return _LABELS[terminal]
    if terminal in literals:
        return f"`{literals[terminal]}`"
    return "a " + terminal.lower().replace("_", " ").strip()


def _expected_text(expected: set[str], literals: Literals) -> str:
    labels = sorted({_label(t, literals) for t in expected if t not in ("WS", "COMMENT", "DOC_COMMENT")})
    if len(labels) > 8:
        labels = labels[:8] + ["..."]
    return ", ".join(labels)


def _point(path: str, line: int, column: int, width: int = 1) -> Span:
    return Span(
        file=path, line=max(line, 1), column=max(column, 1), end_line=max(line, 1), end_column=max(column, 1) + width
    )


def _end_of(text: str, path: str) -> Span:
    lines = source_lines(text)
    return _point(path, len(lines), len(lines[-1]) + 1)


def unclosed_brace(text: str) -> tuple[int, int] | None:
    """(line, column) of the innermost `{` left open at the end, ignoring comments and strings."""
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


def describe_unexpected(err: UnexpectedInput, text: str, path: str, literals: Literals) -> tuple[str, str | None, Span]:
    """Turn lark's exception into (message, hint, span).

    `literals` maps the grammar's fixed-string terminals to their text (RBRACE
    to `}`, lark's generated __ANON_0 to `->`), so no terminal name reaches a reader.
    """
    if isinstance(err, UnexpectedEOF) or (isinstance(err, UnexpectedToken) and err.token.type == "$END"):
        return _describe_eof(err, text, path, literals)
    if isinstance(err, UnexpectedToken):
        return _describe_token(err, text, path, literals)
    if isinstance(err, UnexpectedCharacters):
        return _describe_character(err, text, path, literals)
    return ("the text cannot be parsed here", None, _point(path, err.line, err.column))


def _describe_eof(err: UnexpectedInput, text: str, path: str, literals: Literals) -> tuple[str, str | None, Span]:
    if not text.strip() or not any(line.strip() and not line.strip().startswith("//") for line in source_lines(text)):
        return ("the spec is empty", _HEADER_HINT, _point(path, 1, 1))
    opened = unclosed_brace(text)
    expected = getattr(err, "expected", None) or set()
    message = "the file ends too early" + (f"; expected {_expected_text(set(expected), literals)}" if expected else "")
    if opened:
        return (
            message,
            f"the `{{` at line {opened[0]}, column {opened[1]} is never closed: add the missing `}}`",
            _end_of(text, path),
        )
    return (message, None, _end_of(text, path))


def _describe_token(err: UnexpectedToken, text: str, path: str, literals: Literals) -> tuple[str, str | None, Span]:
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
    message = f"unexpected `{value}`; expected {_expected_text(expected, literals)}"
    start = tok.start_pos or 0
    if tok.type == "NAME" and value in _UNITS and _after_retry_count(text, start):
        return _duration_for_count(text, start, span, value)
    before, touching = _previous_word(text, start)
    if value == ":" and before in _KEYWORDS:
        return _keyword_as_field(text, start, before, path)
    if (
        tok.type != "NAME"
        and value.isidentifier()
        and "NAME" in expected
        and text[tok.end_pos or start :].lstrip(" \t").startswith(":")
    ):
        return (*keyword_as_field(value), span)
    hint: str | None = _unclosed_before(text, start) or _hint_after(before, touching, value)
    inside = _open_constructs(getattr(getattr(err, "state", None), "value_stack", None) or ())
    word = _unknown_step_clause(inside, expected, path)
    if word is not None:
        return word
    if hint is None and inside and inside[-1].kind.starts & expected and value.isidentifier():
        return (*_misplaced_clause(inside, tok.type, value, expected, literals), span)
    if hint is None and expected == {"COLON"}:
        hint = _misread_as_field(text, start)
    hint = (
        hint
        or _step_target(inside, expected)
        or _parallel_name(inside, expected)
        or _hint_for_token(tok.type, value, expected, literals)
    )
    if inside:
        message = f"{_where(inside)}{_in_member(inside[-1])}: {message}"
    return (message, hint, span)


_OPTIONS = "`retry`, `timeout`, `dlq`, `idempotent by`, `use` and `emits`"
_MESSAGE = "fields (`name: type`), `key` and `ordered by`"


@dataclass(frozen=True, slots=True)
class _Kind:
    """A construct a `{` opens: what a reader calls it, what it holds, the keywords that start a member."""

    noun: str
    holds: str
    starts: frozenset[str]


_OPTION_STARTS = frozenset({"RETRY", "TIMEOUT", "DLQ", "IDEMPOTENT", "USE", "EMITS"})
_HANDLER = _Kind("handler", _OPTIONS, _OPTION_STARTS)
_KINDS = {
    "SAGA": _Kind(
        "saga",
        "`trigger`, `step`, `pivot step`, `parallel NAME { ... }`, `timeout`, `invariant` and `on OUTCOME emit`",
        frozenset({"TRIGGER", "STEP", "PIVOT", "PARALLEL"}),
    ),
    "PARALLEL": _Kind("parallel block", "only steps (`step NAME: Service.Command`)", frozenset({"STEP", "PIVOT"})),
    "SERVICE": _Kind(
        "service", "`api`, `publishes`, `handles` and `on EVENT -> handler`", frozenset({"API", "HANDLES", "ON"})
    ),
    "EXTERNAL": _Kind("external system", "`publishes` and `consumes`", frozenset({"PUBLISHES", "CONSUMES"})),
    "EVENT": _Kind("event", _MESSAGE, frozenset({"KEY", "ORDERED"})),
    "COMMAND": _Kind("command", _MESSAGE, frozenset({"KEY", "ORDERED"})),
    "TYPE": _Kind("type", "fields (`name: type`)", frozenset({"NAME"})),
    "ENUM": _Kind("enum", "member names", frozenset({"NAME"})),
    "POLICY": _Kind("policy", _OPTIONS, _OPTION_STARTS),
    "DEFAULTS": _Kind("defaults", _OPTIONS, _OPTION_STARTS),
    "ON": _HANDLER,
    "HANDLES": _HANDLER,
    "STEP": _Kind(
        "step",
        "`retry`, `timeout`, `use`, `after D`, `heartbeat D`, `on REPLY -> TARGET` (an `await`: `on EVENT` or "
        "`on timeout`) and `field = source`",
        _OPTION_STARTS | {"AFTER", "ON", "NAME", "HEARTBEAT"},
    ),
}
_DECLARATIONS = frozenset({"TYPE", "ENUM", "EVENT", "COMMAND", "POLICY", "DEFAULTS", "SERVICE", "SAGA", "EXTERNAL"})


@dataclass(frozen=True, slots=True)
class _Open:
    """A construct the parser was inside when it stopped: `saga Checkout {`, `on A -> notify {`."""

    kind: _Kind
    name: str
    member: tuple[Token, ...]  # the tokens of the member being read, after the `{`

    @property
    def label(self) -> str:
        return f"{self.kind.noun} `{self.name}`" if self.name else f"`{self.kind.noun}`"


def _open_constructs(stack: Sequence[object]) -> list[_Open]:
    """The constructs still open on lark's LALR value stack, outermost first.

    A `{` stays on the stack as a token until its construct is reduced, so each
    `{` left there, with the keyword before it, is a construct the reader is in.
    """
    found: list[_Open] = []
    opener: int | None = None
    for i, value in enumerate(stack):
        if not isinstance(value, Token):
            continue
        if value.type in _KINDS:
            opener = i
        elif value.type == "LBRACE" and opener is not None:
            head = [t for t in stack[opener:i] if isinstance(t, Token)]
            found.append(_Open(_KINDS[head[0].type], _construct_name(head), ()))
            opener = None
    if found:
        last_brace = max(i for i, v in enumerate(stack) if isinstance(v, Token) and v.type == "LBRACE")
        member = tuple(t for t in stack[last_brace + 1 :] if isinstance(t, Token))
        found[-1] = _Open(found[-1].kind, found[-1].name, member)
    return found


def _construct_name(head: list[Token]) -> str:
    """`saga Checkout` -> Checkout, `on OrderPlaced -> notify` -> notify, `defaults` -> ''."""
    names = [str(t) for t in head if t.type == "NAME"]
    if head[0].type == "ON":
        return names[-1] if names else ""
    return names[0] if names else ""


def _where(inside: list[_Open]) -> str:
    return "inside " + " of ".join(o.label for o in reversed(inside))


def _in_member(here: _Open) -> str:
    """`, in `step reserve`` when the parser stopped inside a member it had started."""
    return f", in `{' '.join(str(t) for t in here.member[:2])}`" if here.member else ""


def _misplaced_clause(
    inside: list[_Open], kind: str, value: str, expected: set[str], literals: Literals
) -> tuple[str, str | None]:
    """A word where a member of the construct could start: say which construct, and what it holds."""
    here = inside[-1]
    noun = here.kind.noun
    message = f"{_where(inside)}: `{value}` is not a {noun} clause (a {noun} has {here.kind.holds})"
    if kind in _DECLARATIONS:
        return (message, f"declare the {value} at the top level, after the `}}` that closes {here.label}")
    keywords = [literals[t] for t in expected if literals.get(t, "").isalpha()]
    close = difflib.get_close_matches(value, keywords, n=1, cutoff=0.6)
    return (message, f"did you mean `{close[0]}`?" if close else None)


def _unknown_step_clause(inside: list[_Open], expected: set[str], path: str) -> tuple[str, str, Span] | None:
    """`await X` in a step body reads as the start of a fill (`await = ...`): say it is no step clause."""
    here = inside[-1] if inside else None
    if here is None or here.kind is not _KINDS["STEP"] or len(here.member) != 1 or "EQUAL" not in expected:
        return None
    (tok,) = here.member
    if tok.type != "NAME":
        return None
    message = f"{_where(inside)}: `{tok}` is not a step clause (a step has {here.kind.holds})"
    end = (tok.column or 1) + len(str(tok))
    span = Span(file=path, line=tok.line or 1, column=tok.column or 1, end_line=tok.line or 1, end_column=end)
    if str(tok) == "await":  # a wait is a step of its own (docs/language.md, section 7)
        return (message, "a wait is its own step: `step NAME: await EVENT | OTHER { timeout D }`", span)
    return (message, "a fill says where a field of the command comes from: `field = trigger.FIELD`", span)


def _step_target(inside: list[_Open], expected: set[str]) -> str | None:
    member = inside[-1].member if inside else ()
    if member and member[0].type in ("STEP", "PIVOT") and "DOT" in expected:
        return "a step names a service and the command it handles: `step NAME: Service.Command`"
    return None


def _parallel_name(inside: list[_Open], expected: set[str]) -> str | None:
    member = inside[-1].member if inside else ()
    if member and member[0].type == "PARALLEL" and "NAME" in expected:
        return "a parallel block has a name, which a branch may lead to: `parallel NAME { step ...  step ... }`"
    return None


def _previous_word(text: str, pos: int) -> tuple[str, bool]:
    """The word before `pos` and whether whitespace separates it from `pos`."""
    end = pos
    while end > 0 and text[end - 1] in " \t":
        end -= 1
    start = end
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    return text[start:end], end == pos


_KEYWORDS = {
    "key",
    "ordered",
    "flow",
    "import",
    "type",
    "enum",
    "event",
    "command",
    "policy",
    "defaults",
    "service",
    "saga",
    "external",
}


def keyword_as_field(word: str) -> tuple[str, str]:
    """Message and hint for a field named after a keyword; the parser reports the same."""
    return (
        f"`{word}` is a keyword here, so a field cannot be called `{word}`",
        f"rename the field, e.g. `{word}_value`",
    )


def _keyword_as_field(text: str, colon: int, word: str, path: str) -> tuple[str, str | None, Span]:
    line, column = _line_col(text, text.rfind(word, 0, colon))
    message, hint = keyword_as_field(word)
    return (message, hint, _point(path, line, column, len(word)))


def _hint_after(before: str, touching: bool, value: str) -> str | None:
    """Hints that need the word in front of the unexpected token."""
    if touching and before.isdigit() and value in _UNITS:
        return "a retry counts attempts (`retry 5`); the wait between attempts goes in `backoff fixed 1s` or `backoff exponential 200ms..30s`"
    return None


def _unclosed_before(text: str, pos: int) -> str | None:
    """A hint naming a `{` before `pos` that the file never closes: the likely cause of an error at `pos`."""
    opened = unclosed_brace(text)
    if opened is None:
        return None
    line, column = opened
    if (line, column) >= _line_col(text, pos):
        return None
    return f"the `{{` at line {line}, column {column} is never closed: add the missing `}}`"


def _after_retry_count(text: str, pos: int) -> bool:
    """True when `pos` directly follows `retry <digits>`."""
    before = text[:pos]
    digits = before.rstrip("0123456789")
    return len(digits) < len(before) and digits.rstrip().endswith("retry") and digits != digits.rstrip()


def _duration_for_count(text: str, unit_start: int, unit_span: Span, unit: str) -> tuple[str, str | None, Span]:
    """`retry 5s`: the lexer splits it into `5` and `s`; say what the writer meant."""
    digits = len(text[:unit_start]) - len(text[:unit_start].rstrip("0123456789"))
    number = text[unit_start - digits : unit_start]
    span = unit_span._replace(column=max(1, unit_span.column - digits))
    message = f"expected a number of attempts, not the duration `{number}{unit}`"
    return (message, f"`retry {number}` counts every attempt, the first included", span)


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return (line, pos - (text.rfind("\n", 0, pos) + 1) + 1)


# What can start a member where a field can: the clauses of events and commands.
_MEMBER_KEYWORDS = ["key", "ordered"]


def _misread_as_field(text: str, pos: int) -> str:
    """`orderd by id`: a misspelt keyword is read as a field name, so lark wants a `:` next."""
    words = text[:pos].split()
    close = difflib.get_close_matches(words[-1], _MEMBER_KEYWORDS, n=1, cutoff=0.6) if words else []
    if close:
        return f"`{words[-1]}` was read as a field name; did you mean `{close[0]}`?"
    return "a field takes the form `name: type`"


def _hint_for_token(kind: str, value: str, expected: set[str], literals: Literals) -> str | None:
    if expected == {"FLOW"}:
        return _HEADER_HINT
    if "NAME" in expected and kind != "NAME" and value.isidentifier():
        return f"`{value}` is a keyword in this position; choose another name"
    keywords = [literals[t] for t in expected if literals.get(t, "").isalpha()]
    if kind == "NAME":
        close = difflib.get_close_matches(value, keywords or _DECLARATION_KEYWORDS, n=1, cutoff=0.6)
        if close:
            return f"did you mean `{close[0]}`?"
    if kind == "DURATION" and "INT" in expected:
        return "a retry takes a number of attempts, e.g. `retry 5 backoff exponential 200ms..30s`"
    if value.lstrip("-").isdigit() and "DURATION" in expected:
        return f"add a unit: `{value}ms`, `{value}s`, `{value}m`, `{value}h` or `{value}d`"
    if kind == "NAME" and "RBRACE" in expected and "COLON" not in expected:
        return "each member starts with a keyword; fields take the form `name: type`"
    return None


def _describe_character(
    err: UnexpectedCharacters, text: str, path: str, literals: Literals
) -> tuple[str, str | None, Span]:
    pos = err.pos_in_stream if err.pos_in_stream is not None else -1
    char = text[pos] if 0 <= pos < len(text) else "?"
    shown = char if char.isprintable() and not char.isspace() else repr(char)
    expected = set(err.allowed or ())
    message = f"unexpected character `{shown}`" + (
        f"; expected {_expected_text(expected, literals)}" if expected else ""
    )
    hint = None
    if char == ";":
        hint = "statements need no `;`: put members on their own lines"
    elif char.isdigit() and "DURATION" in expected:
        hint = "durations need a unit: `ms`, `s`, `m`, `h` or `d`"
    elif char == "/" and "HTTP_PATH" not in expected:
        hint = "comments start with `//`, doc comments with `///`"
    return (message, hint, _point(path, err.line, err.column))
