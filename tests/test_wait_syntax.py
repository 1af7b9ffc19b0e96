"""The `await` step, `on timeout` and `heartbeat` in the grammar-driven and formatting properties.

- steps drawn from the grammar's `step_decl` (with `timeout` among the names, so `on timeout -> X`
  is drawn) reach every wait construct in specs that parse, never crash the compiler, and
  format idempotently;
- `fmt` keeps an await step's meaning and every comment around it, and is idempotent, on a
  hand-written spec with comments in every place a wait has, and on the wait specs of the suite.
"""

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
from flowgen_design.dsl.parser import parse
from flowgen_design.grammar import grammar_text
from tests.conftest import ROOT
from tests.test_fmt import meaning
from tests.test_properties import NAMES, POOLS, _terminal_text

WAIT_POOLS = {**POOLS, "NAME": [*NAMES, "timeout", "Order", "Order"]}
WAIT_CONSTRUCTS = ("await ", "heartbeat ", "on timeout ", " by ")


def step_specs() -> st.SearchStrategy[str]:
    """A spec around one grammar-drawn step (`step_decl`, so `await`, its body and `heartbeat` are drawn
    often), inside a saga whose trigger and events resolve."""
    lark = Lark(grammar_text(), start=["module", "step_decl"], parser="lalr", lexer="contextual")
    explicit: dict[str, st.SearchStrategy[str]] = {}
    for terminal in lark.terminals:
        fixed = _terminal_text(terminal.pattern.type, str(terminal.pattern.value))
        if terminal.name in WAIT_POOLS:
            explicit[terminal.name] = st.sampled_from(WAIT_POOLS[terminal.name]).map(lambda s: s + " ")
        elif fixed is not None:
            explicit[terminal.name] = st.just(fixed + " ")
    reachable = _terminals_under(lark, "step_decl") | {"WS", "COMMENT", "DOC_COMMENT"}
    explicit = {name: strategy for name, strategy in explicit.items() if name in reachable}
    steps = from_lark(lark, start="step_decl", explicit=explicit)
    head = "flow Order version 1.0.0\nevent OrderPlaced { order_id: uuid  key order_id }\nsaga Order {\n  trigger OrderPlaced\n"
    return steps.map(lambda step: head + "  " + step + "\n  on completed emit OrderPlaced\n}\n")


def _terminals_under(lark: Lark, start: str) -> set[str]:
    """The terminals a rule can produce (hypothesis refuses strategies for the others)."""
    seen, todo, found = set(), [start], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for rule in (r for r in lark.rules if r.origin.name == name):
            for symbol in rule.expansion:
                (found.add(symbol.name) if symbol.is_term else todo.append(symbol.name))
    return found


def fmt(text: str) -> str:
    module = parse(text, "x.flow", Reporter())
    assert module is not None
    return format_module(module, text)


@pytest.mark.slow  # 1,500 grammar-drawn specs
def test_the_generator_reaches_the_wait_constructs_and_never_crashes(tmp_path: Path) -> None:
    reached: set[str] = set()

    @settings(max_examples=1500, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(text=step_specs())
    def count(text: str) -> None:
        found = {c for c in WAIT_CONSTRUCTS if c in text and "await " in text} - reached
        spec = tmp_path / "spec.flow"
        spec.write_text(text)
        result = check_spec(spec)
        assert all(d.code in CODES for d in result.diagnostics)
        module = parse(text, "spec.flow", Reporter())
        if module is not None:
            assert fmt(fmt(text)) == fmt(text)  # idempotent on every drawn step
        if found and module is not None:
            reached.update(found)

    count()
    assert reached == set(WAIT_CONSTRUCTS)


COMMENTED = """\
flow w version 1.0.0

event Placed { id: uuid  key id }
event Paid { id: uuid  key id }
event Failed { id: uuid  key id }
event Done { id: uuid  key id }
event Expired { id: uuid  key id }
command Work { id: uuid } -> Done

service S {
  handles Work { retry 2  idempotent by id }
}

saga W {
  trigger Placed
  // before the wait
  /// The wait's doc.
  step pay: await Paid | Failed by id {  // after the head
    timeout 2d  // how long
    // inside, own line
    heartbeat 1d
    on timeout -> expired  // where it goes
  }
  step work: S.Work { heartbeat 2m }  // a heartbeat on a command
  step short: await Paid { timeout 1h }
  on completed emit Done
  on expired emit Expired
}

external X {
  publishes Placed, Paid, Failed
  consumes Done, Expired
}
"""


def test_fmt_keeps_every_comment_of_a_wait_and_is_idempotent(tmp_path: Path) -> None:
    once = fmt(COMMENTED)
    assert fmt(once) == once
    for comment in (
        "// before the wait",
        "/// The wait's doc.",
        "// after the head",
        "// how long",
        "// inside, own line",
        "// where it goes",
        "// a heartbeat on a command",
    ):
        assert comment in once, once
    assert "step pay: await Paid | Failed by id {" in once
    assert "step short: await Paid { timeout 1h }" in once
    before, after = tmp_path / "before.flow", tmp_path / "after.flow"
    before.write_text(COMMENTED)
    after.write_text(once)
    assert meaning(before) == meaning(after)


@pytest.mark.parametrize(
    "spec",
    [ROOT / "tests" / "specs" / "waits.flow", ROOT / "specs" / "examples" / "temporal_expense.flow"],
    ids=lambda p: p.name,
)
def test_the_wait_specs_are_formatted(spec: Path) -> None:
    text = spec.read_text()
    assert fmt(text) == text
