"""flowgen_design.dsl.fastlark parses exactly like plain lark: the same tokens, positions, comments, trees and errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lark import Lark, Token
from lark.exceptions import UnexpectedInput, UnexpectedToken

from benchmarks.specgen import spec as generate_spec
from flowgen_design.dsl.fastlark import PLUGINS, FastContextualLexer, FastLALRParser
from flowgen_design.grammar import grammar_text
from tests.conftest import ROOT
from tests.test_properties import GRAMMAR, grammar_specs

SPEC_FILES = sorted(p for folder in ("specs", "tests") for p in (ROOT / folder).rglob("*.flow"))
ATTRIBUTES = ("type", "value", "start_pos", "line", "column", "end_line", "end_column", "end_pos")


def _parser(fast: bool, comments: list[Token]) -> Lark:
    return Lark(
        grammar_text(),
        start="module",
        parser="lalr",
        lexer="contextual",
        keep_all_tokens=True,
        lexer_callbacks={"COMMENT": comments.append, "DOC_COMMENT": comments.append},
        _plugins=PLUGINS if fast else {},
    )


_LARK_COMMENTS: list[Token] = []
_FAST_COMMENTS: list[Token] = []
LARK = _parser(False, _LARK_COMMENTS)
FAST = _parser(True, _FAST_COMMENTS)


def _describe(token: Token) -> tuple[Any, ...]:
    return tuple(getattr(token, a) for a in ATTRIBUTES)


def _outcome(parser: Lark, comments: list[Token], text: str) -> tuple[Any, ...]:
    """Every token the parse saw, every comment, or the error exactly as lark reports it."""
    comments.clear()
    try:
        tree = parser.parse(text)
    except UnexpectedInput as err:
        token = getattr(err, "token", None)
        return (
            "error",
            type(err).__name__,
            str(err).splitlines()[0],  # the rest lists the expected set in hash order
            err.line,
            err.column,
            err.pos_in_stream,
            _describe(token) if isinstance(token, Token) else None,
            sorted(getattr(err, "expected", None) or getattr(err, "allowed", None) or ()),
            sorted(err.interactive_parser.accepts()) if isinstance(err, UnexpectedToken) else None,
            [_describe(c) for c in comments],
        )
    tokens = [_describe(t) for t in tree.scan_values(lambda v: isinstance(v, Token))]
    return ("ok", tree, tokens, [_describe(c) for c in comments])


def assert_same(text: str) -> None:
    expected = _outcome(LARK, _LARK_COMMENTS, text)
    assert _outcome(FAST, _FAST_COMMENTS, text) == expected


def test_the_fast_classes_are_installed_and_the_lexer_covers_every_parser_state() -> None:
    assert isinstance(FAST.parser.parser, FastLALRParser)
    lexer = FAST.parser.lexer
    assert isinstance(lexer, FastContextualLexer)
    # No state falls back to lark's loop; a grammar change that needs lark's token
    # callbacks would still lex correctly, only slower, and this would say so.
    assert all(lexer.matchers[state] is not None for state in lexer.lexers)


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_spec_in_the_repository_lexes_the_same(path: Path) -> None:
    text = path.read_bytes().decode("utf-8", errors="replace")
    assert_same(text)
    # Cut short anywhere, a spec is a syntax error at the cut: the errors must match too.
    for cut in range(0, len(text), max(1, len(text) // 25)):
        assert_same(text[:cut])


def test_a_large_generated_spec_lexes_the_same() -> None:
    assert_same(generate_spec(5))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "flow",
        "flow a version 1.0.0\n",
        "flow a version 1.0.0\r\ntype T { a: int }\r\n",
        "flow a version 1.0.0\n/// doc\n// plain\ntype T {\n  /// field doc\n  a: int // trailing\n}\n",
        "flow a version 1.0.0\ntype T { flow: int, event: string, key: int }\n",
        "flow a version 1.0.0\ntype T { a: int @ }\n",
        'flow a version 1.0.0\ntype T { a: string (pattern "unclosed) }\n',
        "flow a version 1.0.0\nservice S { api POST /orders/{id} -> E }\n",
        "flow a version 1.0.0\npolicy p { retry 3 backoff exponential 200ms..10s jitter }\n",
        "flow a version 1.0.0\n\n\n   \t type T { a: int }  \n\n $",
        "flow a version 1.0.0\ntype T { a: int }\ntype",
        "flow a version 1.0.0 é",
    ],
)
def test_edge_cases_lex_the_same(text: str) -> None:
    assert_same(text)


@GRAMMAR
@given(text=grammar_specs())
def test_grammar_generated_specs_lex_the_same(text: str) -> None:
    assert_same(text)


@GRAMMAR
@given(text=grammar_specs(), data=st.data())
def test_damaged_specs_lex_the_same(text: str, data: st.DataObject) -> None:
    """Insert, delete or replace a few characters: the errors (or the tokens) must agree."""
    chars = list(text)
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(chars)))
        edit = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = data.draw(st.sampled_from(list('{}()<>:,?."\\/\n x9-@é')))
        if edit == "insert" or not chars:
            chars.insert(at, piece)
        elif at < len(chars):
            if edit == "delete":
                del chars[at]
            else:
                chars[at] = piece
    assert_same("".join(chars))
