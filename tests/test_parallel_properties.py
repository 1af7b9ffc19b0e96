"""Grammar-driven property tests for parallel blocks: `parallel NAME { ... }` drawn from the grammar
itself (`hypothesis.extra.lark.from_lark`, starting at `parallel_decl`: steps, pivots, bodies with
options, branches, fills and grace periods, nested blocks) inside a saga whose services resolve,
so inputs reach the resolver and the rules. For every input: `check` raises nothing and every
diagnostic points inside the file; `fmt` is idempotent, keeps every comment and the tree."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark
from lark import Lark

from flowgen_design.codegen.checks import check_spec
from flowgen_design.dsl.codes import CODES
from flowgen_design.dsl.diagnostics import Reporter
from flowgen_design.dsl.fmt import format_module
from flowgen_design.dsl.loader import display_path
from flowgen_design.dsl.parser import parse
from flowgen_design.grammar import grammar_text
from tests.element_types import dump
from tests.test_fmt import without_spans
from tests.test_properties import POOLS, _terminal_text

HEAD = """flow trips version 1.0.0
event TripRequested { trip_id: string  key trip_id }
event Reserved { trip_id: string  ref: string  key trip_id }
event Full { trip_id: string  key trip_id }
event Cancelled { trip_id: string  key trip_id }
event Done { trip_id: string  key trip_id }
command Reserve { trip_id: string  ref: string? } -> Reserved | Full
command Cancel { trip_id: string } -> Cancelled
command Charge { trip_id: string } -> Done | Full
policy safe { retry 3 backoff fixed 1s  timeout 5s  idempotent by trip_id }
service Hotels {
  handles Reserve { use safe }
  handles Cancel { use safe }
  handles Charge { use safe }
}
external Traveller { publishes TripRequested  consumes Done, Cancelled }
saga Trip {
  trigger TripRequested
  step first: Hotels.Reserve compensate Hotels.Cancel { on Full -> book }
"""
TAIL = """
  pivot step pay: Hotels.Charge
  on completed emit Done
  on compensated emit Cancelled
}
"""
NAMES = ["hotel", "car", "book", "inner", "first", "pay", "Hotels", "Reserve", "Cancel", "Charge", "Full", "ref"]
NAMES += ["trigger", "trip_id", "compensated", "Reserved"]


def _blocks() -> st.SearchStrategy[str]:
    lark = Lark(grammar_text(), start="parallel_decl", parser="lalr", lexer="contextual")
    pools = {**POOLS, "NAME": NAMES, "DURATION": ["1s", "5s", "1m"], "INT": ["1", "2", "3"]}
    explicit: dict[str, st.SearchStrategy[str]] = {}
    for terminal in lark.terminals:
        fixed = _terminal_text(terminal.pattern.type, str(terminal.pattern.value))
        if terminal.name in pools:
            explicit[terminal.name] = st.sampled_from(pools[terminal.name]).map(lambda s: s + " ")
        elif fixed is not None:
            explicit[terminal.name] = st.just(fixed + " ")
    return from_lark(lark, start="parallel_decl", explicit=explicit)


pytestmark = pytest.mark.slow  # hundreds of grammar-drawn specs through check and fmt

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


@PROPERTY
@given(block=_blocks())
def test_a_drawn_parallel_block_never_crashes_check_and_is_located(tmp_path: Path, block: str) -> None:
    text = HEAD + block + TAIL
    spec = tmp_path / "spec.flow"
    spec.write_text(text)
    result = check_spec(spec)
    lines = text.count("\n") + 1
    for d in result.diagnostics:
        assert d.code in CODES and CODES[d.code].severity == d.severity
        if d.span.file == display_path(spec):
            assert 1 <= d.span.line <= lines and d.span.column >= 1


@PROPERTY
@given(block=_blocks())
def test_fmt_is_idempotent_and_keeps_meaning_on_drawn_blocks(block: str) -> None:
    text = HEAD + "  // before the block\n" + block + "  // after it\n" + TAIL
    module = parse(text, "gen.flow", Reporter())
    if module is None:
        return
    once = format_module(module, text)
    again = parse(once, "gen.flow", Reporter())
    assert again is not None, once
    assert format_module(again, once) == once
    assert _meaning(again) == _meaning(module)
    assert [c.text.rstrip() for c in again.comments] == [c.text.rstrip() for c in module.comments]


def _meaning(module: object) -> object:
    """The tree without positions or comments; a step body written `{ }` means no body (fmt drops it)."""
    return _no_empty_bodies(without_spans({**dump(module), "comments": None}))


def _no_empty_bodies(value: object) -> object:
    if isinstance(value, dict):
        if set(value) <= {"span", "options", "end"} and "options" in value and not value["options"]:
            return None
        return {k: _no_empty_bodies(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_empty_bodies(v) for v in value]
    return value


def test_drawn_blocks_reach_the_resolver_and_the_parallel_rules(tmp_path: Path) -> None:
    """Guard the properties above against testing nothing: blocks often resolve, and the FLOW44x
    rules fire on some of them."""
    seen: dict[str, int] = {"resolved": 0, "parallel codes": 0}

    # awaits and heartbeats (the `wait` constructs the grammar also draws) are errors in a drawn
    # block (FLOW446; FLOW435 on its 1s-1m durations), so only the other draws can resolve
    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(block=_blocks().filter(lambda b: "await " not in b and "heartbeat " not in b))
    def count(block: str) -> None:
        spec = tmp_path / "spec.flow"
        spec.write_text(HEAD + block + TAIL)
        result = check_spec(spec)
        seen["resolved"] += result.flow is not None and any(s.parallels for s in result.flow.sagas)
        seen["parallel codes"] += any(d.code.startswith("FLOW44") for d in result.diagnostics)

    count()
    assert seen["resolved"] >= 5 and seen["parallel codes"] >= 10, seen
