"""Grammar-driven inputs never crash the compiler.

Hypothesis derives specs from the real grammar (`hypothesis.extra.lark`). Each
terminal gets an explicit strategy: keywords and punctuation as themselves plus
a space (so the text lexes back into the same tokens), and names, numbers and
durations from small pools that make references resolve (`Money`, `string`,
`completed`, `fixed`, `min`...) and include the out-of-range and misspelt
values, so generated specs travel past the parser into the resolver and every
rule. Diagnostics are expected; an exception is a bug.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark
from lark import Lark

from flowgen_design.codegen.checks import check_spec
from flowgen_design.dsl.codes import CODES
from flowgen_design.dsl.diagnostics import Reporter, render_text, to_json
from flowgen_design.dsl.loader import display_path
from flowgen_design.dsl.parser import parse
from flowgen_design.grammar import grammar_text

# Whole-word keywords are written `/word(?![A-Za-z0-9_])/` in the grammar.
_KEYWORD = re.compile(r"(\w+)\(\?!\[A-Za-z0-9_\]\)")

NAMES = (
    "Order Money OrderPlaced Charged Charge Payments standard order_id amount string int uuid decimal float bytes Ordr "
    "completed compensated fixed exponential linear min max min_length max_length pattern class None"
).split()
POOLS = {
    "NAME": NAMES,
    "SEMVER": ["1.0.0", "2.1.0-rc.1", "01.2.3"],
    "DURATION": ["0s", "1ms", "200ms", "10s", "5m", "24h", "400d", "99999999999999999999d"],
    "INT": ["0", "1", "3", "5", "3000", "99999999999999999999"],
    "NUMBER": ["0", "-1", "2.5", "100", "9" * 30],
    "STRING": [
        '"spec.flow"',
        '"other.flow"',
        '"https://id.example.com"',
        '"orders"',
        '"^[a-z]+$"',
        '"[unclosed"',
        '"a\\"b"',
    ],
    "HTTP_METHOD": ["GET", "POST", "DELETE"],
    "HTTP_PATH": ["/orders", "/orders/{id}"],
    "WS": [" ", "\n"],
    "COMMENT": ["// note\n"],
    "DOC_COMMENT": ["/// doc\n"],
}


# `header` and `channel` are keywords only before a name or a string: `/header(?=...)/`.
_KEYWORD_BEFORE = re.compile(r"([a-z]+)\(\?=.*\)", re.DOTALL)


def _terminal_text(pattern_type: str, value: str) -> str | None:
    """The one text a fixed terminal (a keyword or punctuation) matches, else None."""
    if pattern_type == "str":
        return value
    word = _KEYWORD.fullmatch(value) or _KEYWORD_BEFORE.fullmatch(value)
    return word.group(1) if word else None


def grammar_specs(pools: dict[str, list[str]] = POOLS) -> st.SearchStrategy[str]:
    """Specs drawn from the grammar: each fixed terminal as written, each open one from `pools`."""
    lark = Lark(grammar_text(), start="module", parser="lalr", lexer="contextual")
    explicit: dict[str, st.SearchStrategy[str]] = {}
    for terminal in lark.terminals:
        fixed = _terminal_text(terminal.pattern.type, str(terminal.pattern.value))
        if terminal.name in pools:
            explicit[terminal.name] = st.sampled_from(pools[terminal.name]).map(lambda s: s + " ")
        elif fixed is not None:
            explicit[terminal.name] = st.just(fixed + " ")
    missing = {t.name for t in lark.terminals} - set(explicit)
    assert not missing, f"give these terminals a strategy: {sorted(missing)}"
    return from_lark(lark, start="module", explicit=explicit)


GRAMMAR = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)


@GRAMMAR
@given(text=grammar_specs())
def test_grammar_generated_specs_never_crash_the_compiler(tmp_path: Path, text: str) -> None:
    spec = tmp_path / "spec.flow"
    spec.write_text(text)
    (tmp_path / "other.flow").write_text('flow other version 1.0.0\nimport "spec.flow"\ntype Money { amount: int }\n')
    result = check_spec(spec)
    lines = text.count("\n") + 1
    for d in result.diagnostics:
        assert d.code in CODES and CODES[d.code].severity == d.severity
        assert d.message and "\n" not in d.message
        if d.span.file == display_path(spec):
            assert 1 <= d.span.line <= lines and d.span.column >= 1
            assert (d.span.end_line, d.span.end_column) >= (d.span.line, d.span.column)
    rendered = render_text(result.diagnostics, result.sources)
    assert rendered.count("error[") + rendered.count("warning[") == len(result.diagnostics)
    assert to_json(result.diagnostics).startswith("[")


def test_the_generator_covers_every_terminal_and_reaches_the_resolver(tmp_path: Path) -> None:
    """Guard the property above against testing nothing: its inputs must often parse."""
    parsed = 0
    strategy = grammar_specs()

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(text=strategy)
    def count(text: str) -> None:
        nonlocal parsed
        spec = tmp_path / "spec.flow"
        spec.write_text(text)
        parsed += check_spec(spec).flow is not None

    count()
    assert parsed >= 30


def test_repeated_invariants_are_allowed_not_a_crash(tmp_path: Path) -> None:
    """Found by the grammar-driven property above: a clause that may repeat (`invariant`) is
    not one of the once-only clauses, and must not crash the duplicate-clause rule."""
    spec = tmp_path / "repeat.flow"
    spec.write_text(
        "flow Order version 1.0.0 saga Order { invariant every Order is followed by Order "
        "invariant every Order is followed by Order }\n",
        encoding="utf-8",
    )
    result = check_spec(spec)
    assert all(d.code != "FLOW108" for d in result.diagnostics)


MESSAGE_CONSTRUCTS = ("emits none", "header ", "channel ", "retryable", "raises ")


@pytest.mark.slow  # 1,500 grammar-drawn specs
def test_the_generator_reaches_the_message_constructs() -> None:
    """The grammar-driven inputs include specs that parse and use each construct of the message
    language (`emits none`, `header`, `channel`, `retryable`, `raises`), so the property above covers them."""
    reached: set[str] = set()

    @settings(max_examples=1500, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(text=grammar_specs())
    def count(text: str) -> None:
        found = {c for c in MESSAGE_CONSTRUCTS if c in text} - reached
        if found and parse(text, "spec.flow", Reporter()) is not None:
            reached.update(found)

    count()
    assert reached == set(MESSAGE_CONSTRUCTS)
