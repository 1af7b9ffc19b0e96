"""lark-cython parses exactly like plain lark: the same trees, tokens, positions, comments, and flowgen's diagnostics.

`dsl.parser` runs on lark-cython where it is installed and hands any input that
fails there to plain lark, whose error it reports. Both levels are compared here
on every spec and case file of the repository, cut short anywhere, generated
from the grammar and damaged: lark's own trees with every token kept, and what
flowgen makes of them (the whole AST with its spans, comments and doc comments,
and every diagnostic, syntax errors included) with lark-cython and with plain
lark alone (as on a platform without its wheel).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lark import Lark, Tree
from lark.exceptions import UnexpectedInput

from benchmarks.specgen import spec as generate_spec
from flowgen_design.dsl import parser as flow_parser
from flowgen_design.dsl.diagnostics import Reporter
from flowgen_design.grammar import grammar_text
from tests.conftest import ROOT
from tests.element_types import dump
from tests.test_properties import GRAMMAR, grammar_specs

pytestmark = pytest.mark.slow  # hypothesis: lark-cython against plain lark on generated and damaged specs

lark_cython = pytest.importorskip("lark_cython")

SPEC_FILES = sorted(p for folder in ("specs", "tests") for p in (ROOT / folder).rglob("*.flow"))
ATTRIBUTES = ("type", "value", "start_pos", "line", "column", "end_line", "end_column", "end_pos")
# lark-cython leaves the end of the ignored tokens it hands to callbacks unset: flowgen
# derives a comment's end from its start (tests below compare the comments' spans it makes).
COMMENT_ATTRIBUTES = ATTRIBUTES[:5]


def _lark(plugins: dict[str, Any], comments: list[Any]) -> Lark:
    return Lark(
        grammar_text(),
        start="module",
        parser="lalr",
        lexer="contextual",
        keep_all_tokens=True,
        lexer_callbacks={"COMMENT": comments.append, "DOC_COMMENT": comments.append},
        _plugins=plugins,
    )


_PLAIN_COMMENTS: list[Any] = []
_CYTHON_COMMENTS: list[Any] = []
PLAIN = _lark({}, _PLAIN_COMMENTS)
CYTHON = _lark(lark_cython.plugins, _CYTHON_COMMENTS)


def _token(token: Any, attributes: tuple[str, ...] = ATTRIBUTES) -> tuple[Any, ...]:
    return tuple(getattr(token, a) for a in attributes)


def _shape(node: Any) -> Any:
    """A tree with each token as its attributes: lark's and lark-cython's tokens are different classes."""
    if isinstance(node, Tree):
        return (str(node.data), [_shape(child) for child in node.children])
    return _token(node)


def _lark_outcome(parser: Lark, comments: list[Any], text: str) -> tuple[Any, ...]:
    """Every token and comment lark saw, or just that it failed (lark-cython's errors are not used)."""
    comments.clear()
    try:
        tree = parser.parse(text)
    except Exception:
        return ("error",)
    return ("ok", _shape(tree), [_token(c, COMMENT_ATTRIBUTES) for c in comments])


@contextmanager
def _plain_lark_only() -> Iterator[None]:
    """flowgen's parser as on a platform with no lark-cython wheel."""
    saved = flow_parser.lark_cython  # type: ignore[attr-defined]
    flow_parser.lark_cython = None  # type: ignore[attr-defined]
    try:
        yield
    finally:
        flow_parser.lark_cython = saved  # type: ignore[attr-defined]


def _flowgen_outcome(text: str) -> tuple[Any, ...]:
    """The AST (spans, comments and docs included) and every diagnostic, in order."""
    reporter = Reporter()
    module = flow_parser.parse(text, "spec.flow", reporter)
    return dump(module), [(d.code, d.message, d.span, d.hint) for d in reporter.items]


def assert_same(text: str) -> None:
    assert _lark_outcome(CYTHON, _CYTHON_COMMENTS, text) == _lark_outcome(PLAIN, _PLAIN_COMMENTS, text)
    fast = _flowgen_outcome(text)
    with _plain_lark_only():
        assert _flowgen_outcome(text) == fast


def test_lark_cython_is_used_and_plain_lark_without_it() -> None:
    assert type(flow_parser._get_parser().parser.parser).__module__.startswith("lark_cython")
    assert not type(flow_parser._get_parser(fast=False).parser.parser).__module__.startswith("lark_cython")
    with _plain_lark_only():
        assert flow_parser._get_parser() is flow_parser._get_parser(fast=False)


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_spec_in_the_repository_parses_the_same(path: Path) -> None:
    text = path.read_bytes().decode("utf-8", errors="replace")
    assert_same(text)
    # Cut short anywhere, a spec is a syntax error at the cut: the errors must match too.
    for cut in range(0, len(text), max(1, len(text) // 25)):
        assert_same(text[:cut])


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_spec_that_parses_takes_the_fast_path(path: Path) -> None:
    """No valid spec falls back to plain lark (a fallback would be correct, only slower)."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    with _plain_lark_only():
        plain = flow_parser.parse(text, "spec.flow", Reporter())
    fast = flow_parser._parse_fast(text, "spec.flow", Reporter())
    assert (fast is None) == (plain is None)
    if fast is not None:
        assert dump(fast) == dump(plain)


def test_a_large_generated_spec_parses_the_same() -> None:
    assert_same(generate_spec(5))


def test_what_the_failed_fast_attempt_reported_is_reported_once() -> None:
    text = "flow a version 1.0.0\npolicy p { retry 99999999999999999999 }\ntype T { a: int @ }\n"
    dumped, diagnostics = _flowgen_outcome(text)
    assert dumped is None
    assert [code for code, *_ in diagnostics] == ["FLOW012", "FLOW010"]  # invalid-literal, syntax-error


def test_plain_lark_reports_the_error() -> None:
    """The diagnostic is made from plain lark's exception, whatever lark-cython raised."""
    text = "flow a version 1.0.0\ntype T { a: int } }"
    with pytest.raises(UnexpectedInput):
        PLAIN.parse(text)
    _, diagnostics = _flowgen_outcome(text)
    assert [code for code, *_ in diagnostics] == ["FLOW010"]
    assert "expected" in diagnostics[0][1] or diagnostics[0][3]


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
        "flow a version 1.0.0\ntype T { a: list<list<list<list<list<list<list<list<list<list<list<list<list<list<list"
        "<list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<int>>>>>>>>>>>>>>>"
        ">>>>>>>>>>>>>>>>>> }\n",
        "flow a version 1.0.0\nsaga S { trigger E\n pivot step a: S.C compensate S.D readonly { retry 2 }\n}\n",
    ],
)
def test_edge_cases_parse_the_same(text: str) -> None:
    assert_same(text)


@GRAMMAR
@given(text=grammar_specs())
def test_grammar_generated_specs_parse_the_same(text: str) -> None:
    assert_same(text)


@GRAMMAR
@given(text=grammar_specs(), data=st.data())
def test_damaged_specs_parse_the_same(text: str, data: st.DataObject) -> None:
    """Insert, delete or replace a few characters: the errors (or the trees) must agree."""
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
