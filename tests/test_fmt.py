"""`flowgen fmt`: canonical, idempotent, comment-preserving and meaning-preserving."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark
from lark import Lark

from flowgen_design.dsl import ast
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.diagnostics import Reporter
from flowgen_design.dsl.fmt import format_module
from flowgen_design.dsl.parser import parse
from flowgen_design.dsl.source import Span
from flowgen_design.grammar import grammar_text
from tests.conftest import SKETCH, Runner, example_specs
from tests.element_types import dump


def fmt(text: str, path: str = "x.flow") -> str:
    reporter = Reporter()
    module = parse(text, path, reporter)
    assert module is not None, [d.message for d in reporter.items]
    return format_module(module, text)


def without_spans(value: Any, top: bool = True) -> Any:
    """A dump with every source position (and the file's own path) removed: what the spec *means*."""
    if isinstance(value, dict):
        return {k: without_spans(v, False) for k, v in value.items() if not _is_span(v) and not (top and k == "path")}
    if isinstance(value, (list, tuple)):
        return ["<span>" if _is_span(v) else without_spans(v, False) for v in value]
    return value


def _is_span(value: Any) -> bool:
    """A dumped `Span`: (file, line, column, end_line, end_column)."""
    return (
        isinstance(value, tuple)
        and len(value) == len(Span._fields)
        and isinstance(value[0], str)
        and all(type(v) is int for v in value[1:])
    )


def meaning(path: Path) -> tuple[Any, list[tuple[str, str]]]:
    result = check_file(path)
    assert result.flow is not None
    return without_spans(dump(result.flow)), sorted((d.code, d.message) for d in result.diagnostics)


@pytest.mark.parametrize("spec", [*example_specs(), SKETCH], ids=lambda p: p.name)
def test_formatting_keeps_meaning_and_is_idempotent(spec: Path, tmp_path: Path) -> None:
    text = spec.read_text()
    once = fmt(text)
    assert fmt(once) == once
    copy = tmp_path / spec.name
    for imported in spec.parent.rglob("*.flow"):
        target = tmp_path / imported.relative_to(spec.parent)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(imported.read_bytes())
    copy.write_text(once)
    assert meaning(copy) == meaning(spec)


def test_bundled_specs_are_formatted(flowgen: Runner) -> None:
    result = flowgen("fmt", "--check", "specs", cwd=Path(__file__).parent.parent)
    assert result.returncode == 0, result.stdout + result.stderr


COMMENTED = """\
// leading comment
flow demo version 0.1.0   // after header
/// Doc for T
type T { a: int // after a
  // inside, own line
  b: string? (min_length 1, pattern "^a\\"b$")


  c: list<map<string, int>>
  // last inside
}
/// not attached: a blank line follows

event E { id: uuid  key id }  // after E
// the end
"""

EXPECTED = """\
// leading comment
flow demo version 0.1.0  // after header

/// Doc for T
type T {
  a: int  // after a
  // inside, own line
  b: string? (min_length 1, pattern "^a\\"b$")

  c: list<map<string, int>>
  // last inside
}
/// not attached: a blank line follows

event E { id: uuid  key id }  // after E
// the end
"""


def test_comments_and_doc_comments_are_kept_in_place() -> None:
    assert fmt(COMMENTED) == EXPECTED
    assert fmt(EXPECTED) == EXPECTED


def test_doc_comment_stays_attached() -> None:
    text = "flow d version 1.0.0\n/// The id.\nevent E { id: uuid  key id }\n"
    module = parse(fmt(text), "x.flow", Reporter())
    assert module is not None and module.declarations[0].doc == "The id."


def test_fmt_check_and_write(flowgen: Runner, tmp_path: Path) -> None:
    spec = tmp_path / "a.flow"
    spec.write_text("flow a version 1.0.0\ntype T { x: int }\n")
    check = flowgen("fmt", "--check", str(spec))
    assert check.returncode == 1 and "would reformat" in check.stdout
    assert spec.read_text() == "flow a version 1.0.0\ntype T { x: int }\n"
    assert flowgen("fmt", str(spec)).returncode == 0
    assert spec.read_text() == "flow a version 1.0.0\n\ntype T { x: int }\n"
    assert flowgen("fmt", "--check", str(spec)).returncode == 0


def test_fmt_refuses_a_broken_file_and_leaves_it_alone(flowgen: Runner, tmp_path: Path) -> None:
    spec = tmp_path / "broken.flow"
    original = "flow a version 1.0.0\ntype T { x: int\n"
    spec.write_text(original)
    result = flowgen("fmt", str(spec))
    assert result.returncode == 1
    assert "broken.flow:2:16: error[FLOW010]: the file ends too early" in result.stderr
    assert "the `{` at line 2, column 8 is never closed" in result.stderr
    assert "Traceback" not in result.stderr
    assert spec.read_text() == original


_KEYWORDS: set[str] = set(
    "flow version import type enum event command key ordered list map policy defaults retry timeout dlq idempotent "
    "use emits jitter service api publishes consumes handles on saga trigger pivot step compensate readonly emit external "
    "by within backoff parallel".split()
)
_NAMES: st.SearchStrategy[str] = st.from_regex(r"\A[a-z][a-z0-9_]{0,6}\Z").filter(lambda s: s not in _KEYWORDS)


def _grammar_strategy() -> st.SearchStrategy[str]:
    lark = Lark(grammar_text(), start="module", parser="lalr", lexer="contextual")
    explicit = {
        "NAME": _NAMES,
        "SEMVER": st.just("1.0.0"),
        "DURATION": st.sampled_from(["1s", "200ms", "5m", "2h"]),
        "INT": st.sampled_from(["1", "3", "5"]),
        "NUMBER": st.sampled_from(["0", "7", "2.5"]),
        "STRING": st.sampled_from(['"a.flow"', '"^x$"', '"q\\"b"']),
        "HTTP_METHOD": st.sampled_from(["GET", "POST"]),
        "HTTP_PATH": st.sampled_from(["/a", "/a/{id}"]),
        "WS": st.sampled_from([" ", "\n", "\n\n", "  "]),
        "COMMENT": st.sampled_from(["// c\n", "// x y\n"]),
        "DOC_COMMENT": st.sampled_from(["/// d\n"]),
    }
    return from_lark(lark, start="module", explicit=explicit)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(_grammar_strategy())
@example('flow a/// d\nversion 1.0.0import"a.flow"type a{}')
def test_fmt_is_idempotent_and_keeps_meaning_on_generated_specs(text: str) -> None:
    reporter = Reporter()
    module = parse(text, "gen.flow", reporter)
    if module is None:
        return
    once = format_module(module, text)
    again = parse(once, "gen.flow", Reporter())
    assert again is not None, once
    assert format_module(again, once) == once
    assert without_spans({**dump(again), "comments": None}) == without_spans({**dump(module), "comments": None})
    assert [c.text.rstrip() for c in again.comments] == [c.text.rstrip() for c in module.comments]


def test_a_composite_idempotency_key_keeps_its_fields_in_order(tmp_path: Path) -> None:
    text = (
        "flow x version 1.0.0\n"
        "event Counted { sku: string  warehouse: string  key sku }\n"
        "service W { on Counted -> count { idempotent by warehouse,sku   within 2d } }\n"
        "external E { publishes Counted }\n"
    )
    once = fmt(text)
    assert "idempotent by warehouse, sku within 2d" in once and fmt(once) == once
    spec = tmp_path / "x.flow"
    spec.write_text(once)
    result = check_file(spec)
    assert result.flow is not None
    [handler] = result.flow.handlers()
    idempotency = handler.policy.idempotency
    assert idempotency is not None
    assert [f.name for f in idempotency.fields] == ["warehouse", "sku"]
    assert idempotency.within_ms == 2 * 86_400_000


SHORT_AND_LONG = """\
flow d version 1.0.0

event StockReleased {
  order_id: uuid
  key order_id
}

event ShipmentScheduled {
  order_id: uuid
  tracking_number: string
  eta: date?
  carrier_reference: string
  key order_id
}

enum Status {
  Pending,
  Paid
}

service Inventory {
  handles ReleaseStock {
    idempotent by order_id
  }
  on StockReleased -> audit {
    idempotent by order_id  // why: audits replay
  }
}
"""

SHORT_AND_LONG_FORMATTED = """\
flow d version 1.0.0

event StockReleased { order_id: uuid  key order_id }

event ShipmentScheduled {
  order_id: uuid
  tracking_number: string
  eta: date?
  carrier_reference: string
  key order_id
}

enum Status { Pending, Paid }

service Inventory {
  handles ReleaseStock { idempotent by order_id }
  on StockReleased -> audit {
    idempotent by order_id  // why: audits replay
  }
}
"""


def test_a_short_declaration_stays_on_one_line() -> None:
    """What fits in `WIDTH` with no comment inside is one line; services and sagas always list their members."""
    assert fmt(SHORT_AND_LONG) == SHORT_AND_LONG_FORMATTED
    assert fmt(SHORT_AND_LONG_FORMATTED) == SHORT_AND_LONG_FORMATTED


def test_an_auth_clause_round_trips_with_its_comments() -> None:
    text = (
        "flow x version 1.0.0\n"
        "event A { id: uuid  key id }\n"
        "service S {\n"
        "  // who may post\n"
        '  api POST /a -> A   auth   jwt issuer  "https://id.example.com"\n'
        '     audience "orders" ,"a\\"b"  // two audiences\n'
        "  api GET /a -> A auth none\n"
        "  api PUT /a -> A auth iam\n"
        "  api DELETE /a -> A\n"
        "}\n"
    )
    once = fmt(text)
    assert 'api POST /a -> A auth jwt issuer "https://id.example.com" audience "orders", "a\\"b"' in once
    assert "api GET /a -> A auth none\n" in once and "api PUT /a -> A auth iam\n" in once
    assert "api DELETE /a -> A\n" in once and "// who may post" in once and "// two audiences" in once
    assert fmt(once) == once
    module = parse(once, "x.flow", Reporter())
    assert module is not None
    service = module.declarations[1]
    auths = [m.auth for m in service.members]  # type: ignore[union-attr]
    assert [a.kind if a else None for a in auths] == ["jwt", "none", "iam", None]
    assert auths[0] is not None and [t.value for t in auths[0].audiences] == ["orders", 'a"b']


def test_a_parallel_block_round_trips_with_its_comments() -> None:
    """A block lists its steps one a line (as a saga does), keeps its doc and every comment, and
    formatting it again changes nothing."""
    text = (
        "flow x version 1.0.0\n"
        "saga S {\n"
        "  trigger A\n"
        "  /// Both at once.\n"
        "  parallel   book {   // the fork\n"
        "    step hotel: H.Reserve compensate H.Cancel { timeout 5s  after 1s }\n"
        "    // the car\n"
        "    step car: C.Reserve\n"
        "    parallel inner { step x: X.Y }\n"
        "  }  // the join\n"
        "  pivot step pay: P.Charge\n"
        "}\n"
    )
    once = fmt(text)
    assert "  /// Both at once.\n  parallel book {  // the fork\n" in once
    assert "    step hotel: H.Reserve compensate H.Cancel { timeout 5s  after 1s }\n" in once
    assert "    // the car\n    step car: C.Reserve\n" in once
    assert "    parallel inner {\n      step x: X.Y\n    }\n" in once
    assert "  }  // the join\n" in once
    assert fmt(once) == once
    module = parse(once, "x.flow", Reporter())
    assert module is not None
    saga = module.declarations[0]
    assert isinstance(saga, ast.SagaDecl)
    block = saga.members[1]
    assert isinstance(block, ast.ParallelDecl) and block.doc == "Both at once."
    assert [s.name.text for s in block.steps] == ["hotel", "car", "x"]
