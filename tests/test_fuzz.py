"""The fuzz harness (issue 11): hostile and random specs through `check` and `fmt`.

Three sources of input:
- the grammar (`hypothesis.extra.lark.from_lark`), with terminals drawn from pools
  that hold the awkward values: numbers past 64 bits, decimals with many digits,
  strings with escapes, comments holding `\\r`, form feeds, `\\x85`, U+2028;
- mutation of every spec in `specs/` and `tests/` and every case file: slices
  deleted, duplicated or moved, odd characters and tokens inserted, digits blown up;
- soup: a header followed by any tokens and characters.

Properties, for every input:
- `check` raises nothing and finishes within a time bound;
- every diagnostic about the file points inside it: a line that exists (as lark
  counts lines, `\\n` only) and a column at most one past its end;
- a spec the parser reports an error in is refused by `fmt` (exit 1, file untouched);
- otherwise `fmt`'s output parses without error, formatting it again changes
  nothing, and the syntax tree (every doc comment's attachment included), the
  resolved model and the comments are the same before and after.

`pytest -m fuzz` runs it briefly (the default profile, seconds per property);
`FLOWGEN_FUZZ=long pytest -m fuzz` runs 200 times as many examples.
"""

from __future__ import annotations

import dataclasses
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from flowgen_design.cli import main
from flowgen_design.dsl import ast
from flowgen_design.dsl.diagnostics import Reporter, render_text
from flowgen_design.dsl.fmt import format_module
from flowgen_design.dsl.parser import parse
from flowgen_design.dsl.resolve import resolve
from flowgen_design.dsl.rules import run_rules
from flowgen_design.dsl.source import Span, source_lines
from tests.test_properties import grammar_specs

ROOT = Path(__file__).resolve().parent.parent
LONG = os.environ.get("FLOWGEN_FUZZ") == "long"
SECONDS_PER_INPUT = 20
FUZZ = settings(
    max_examples=20_000 if LONG else 100,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)

pytestmark = [
    pytest.mark.fuzz,
    pytest.mark.slow,
]  # bounded fuzzing: the full suite runs it, FLOWGEN_FUZZ=long for hours

# ---- inputs ------------------------------------------------------------------------------------------

ODD = ["\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\t", "\ufeff", "\x00", "é"]
POOLS = {
    "NAME": "Order Money OrderPlaced Charged Charge Payments standard order_id amount string int uuid decimal "
    "completed compensated fixed exponential min max min_length pattern Runtime CON".split(),
    "SEMVER": ["1.0.0", "2.1.0-rc.1", "01.2.3"],
    "DURATION": ["0s", "1ms", "200ms", "10s", "5m", "24h", "99999999999999999999d"],
    "INT": ["0", "1", "5", "10000000", "9223372036854775807", "99999999999999999999"],
    "NUMBER": ["0", "-1", "2.5", "1.10", "10000000000000000.5", "0.0000000000000001", "9" * 30, "-0.0"],
    "STRING": ['"a.flow"', '"^[a-z]+$"', '"a\\"b"', '"\\\\"', '"x\ry"', '"\u2028"', '"/etc/passwd"', '"../../x"'],
    "HTTP_METHOD": ["GET", "POST"],
    "HTTP_PATH": ["/orders", "/orders/{id}"],
    "WS": [" ", "\n", "\n\n", "\t", "\r\n", "\x0c", "  \n  "],
    "COMMENT": ["// note\n", "// odd\r here\n", "// \u2028 sep\n", "// \x85 nel\n", "//\n"],
    "DOC_COMMENT": ["/// doc\n", "/// doc \x0c ff\n", "///\n"],
}


def corpus() -> list[str]:
    """Every spec and case file of the repository: the seeds that mutations start from."""
    paths = sorted({*ROOT.joinpath("specs").rglob("*.flow"), *ROOT.joinpath("tests").rglob("*.flow")})
    paths = [p for p in paths if "golden" not in p.parts]
    return [p.read_bytes().decode("utf-8", "replace") for p in paths]


CORPUS = corpus()
TOKENS = [*POOLS["NAME"], *POOLS["INT"], *POOLS["NUMBER"], *POOLS["STRING"], *POOLS["COMMENT"], *POOLS["DOC_COMMENT"]]
TOKENS += ["{", "}", "->", "|", ",", ":", "?", "<", ">", "list<", "retry", "///", "//", "\n", "key", "type T {}", *ODD]
TOKENS += ["parallel", "parallel p {", "parallel p { step s: S.C }"]  # a block where a step or a fill was


@st.composite
def mutated_specs(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(CORPUS))
    for _ in range(draw(st.integers(1, 4))):
        n = len(text)
        i = draw(st.integers(0, n))
        j = draw(st.integers(i, min(n, i + 80)))
        kind = draw(st.sampled_from(["delete", "insert", "duplicate", "move", "digits", "line-break"]))
        if kind == "delete":
            text = text[:i] + text[j:]
        elif kind == "insert":
            text = text[:i] + draw(st.sampled_from(TOKENS)) + text[i:]
        elif kind == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        elif kind == "move":
            k = draw(st.integers(0, len(text) - (j - i)))
            rest = text[:i] + text[j:]
            text = rest[:k] + text[i:j] + rest[k:]
        elif kind == "digits":
            text = text[:i] + "".join("9" * 25 if c.isdigit() else c for c in text[i:j]) + text[j:]
        else:
            text = text[:i] + draw(st.sampled_from(ODD)) + text[i:]
    return text


# ---- properties ------------------------------------------------------------------------------------------


@contextmanager
def time_bound(seconds: int) -> Iterator[None]:
    """Fail (rather than hang) when the block runs longer than `seconds`."""

    def expired(*_: object) -> None:
        raise AssertionError(f"ran longer than {seconds}s: a hang")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def meaning(value: Any) -> Any:
    """A structural dump of an AST or model without spans: what the text *means*.

    Works on pydantic models and on dataclasses alike, so it outlives a change of either.
    """
    if isinstance(value, Span):
        return "<span>"
    if isinstance(value, ast.HandlerBody) and not value.options:
        return None  # `handles X {}` is written `handles X`: the same handler
    if isinstance(value, ast.OutcomeDecl) and not value.fills:
        value = dataclasses.replace(value, end=None)  # `emit E {}` is written `emit E`: the same outcome
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, {f.name: meaning(getattr(value, f.name)) for f in dataclasses.fields(value)})
    fields = getattr(type(value), "model_fields", None)
    if fields is not None:
        return (type(value).__name__, {name: meaning(getattr(value, name)) for name in fields})
    if isinstance(value, (list, tuple)):
        return [meaning(v) for v in value]
    if isinstance(value, dict):
        return {k: meaning(v) for k, v in value.items()}
    return value


def _ast_meaning(module: ast.Module) -> Any:
    kind, fields = meaning(module)
    return kind, {k: v for k, v in fields.items() if k not in ("comments", "path")}


def _compile(text: str, path: str) -> tuple[ast.Module | None, Reporter, Any]:
    """Parse, then resolve and run the rules; the module is None when the parser reported an error
    (what `fmt` refuses), the model None when there is no module."""
    reporter = Reporter()
    module = parse(text, path, reporter)
    if reporter.has_errors:
        module = None
    model = None
    if module is not None:
        flow = resolve(module, [module], reporter)
        run_rules(flow, [module], reporter)
        kind, fields = meaning(flow)
        # The kinds of diagnostic, not their count: two trailing `///` on consecutive lines are one
        # dangling block, and on the lines fmt gives them two; both are reported, neither attached.
        model = (kind, {k: v for k, v in fields.items() if k != "path"}), sorted(
            {(d.code, d.message) for d in reporter.items}
        )
    return module, reporter, model


def check_locations(text: str, reporter: Reporter, path: str) -> None:
    lines = source_lines(text)
    for d in reporter.items:
        if d.span.file != path:
            continue
        assert 1 <= d.span.line <= len(lines), (d, len(lines))
        assert 1 <= d.span.column <= len(lines[d.span.line - 1]) + 1, (d, lines[d.span.line - 1])
        assert (d.span.end_line, d.span.end_column) >= (d.span.line, d.span.column), d
    rendered = render_text(reporter.items, {path: text})
    for d in reporter.items:
        if d.span.file == path:
            shown = f"{d.span.line:>4} | "
            assert shown in rendered, (d, rendered)


def check_fmt(text: str, tmp: Path, module: ast.Module | None, model: Any) -> None:
    if module is None:
        spec = tmp / "broken.flow"
        spec.write_bytes(text.encode("utf-8", "surrogatepass"))
        assert main(["fmt", str(spec)]) == 1
        assert spec.read_bytes() == text.encode("utf-8", "surrogatepass"), "fmt touched a spec with errors"
        return
    text = text.removeprefix("\ufeff")
    once = format_module(module, text)
    again, again_reporter, again_model = _compile(once, "x.flow")
    assert again is not None, (once, again_reporter.items)
    assert format_module(again, once) == once, "fmt is not idempotent"
    assert _ast_meaning(again) == _ast_meaning(module), "fmt changed the syntax tree (or a doc comment's place)"
    assert again_model == model, "fmt changed the resolved model"
    assert [c.text.rstrip() for c in again.comments] == [c.text.rstrip() for c in module.comments]


def check_everything(text: str, tmp: Path) -> None:
    with time_bound(SECONDS_PER_INPUT):
        source = text.removeprefix("\ufeff")  # as `read_source` hands it to the parser
        module, reporter, model = _compile(source, "x.flow")
        check_locations(source, reporter, "x.flow")
        check_fmt(text, tmp, module, model)


@FUZZ
@given(text=grammar_specs(POOLS))
@example(text="flow a version 1.0.0\ntype T { x: decimal (min 10000000000000000.5) }\n")
@example(text="flow a version 1.0.0\n// a\rb\nevent E { ; }\n")
@example(text="flow Order version 1.0.0 type Order { } /// doc\n defaults { } ")
@example(text="flow Order /// doc\n version 1.0.0 /// doc\n type Order { } ")
@example(text='flow Order version 1.0.0 import /// doc\n "a.flow" /// doc\n /// doc\n type Order { } ')
@example(text="flow Order version 1.0.0 service Order { handles Order { } } ")
@example(text="flow Order version 1.0.0 saga Order { on Order emit Order { } }")
@example(text="flow Order version 1.0.0 type Order { Order : list < Order \n /// doc\n > ? Order : Order ? } ")
@example(text="flow Order version 1.0.0 type Order { Order : list \n < list /// doc\n < Order > > ? // note\n } ")
def test_grammar_specs(text: str, tmp_path: Path) -> None:
    check_everything(text, tmp_path)


@FUZZ
@given(text=mutated_specs())
def test_mutated_specs(text: str, tmp_path: Path) -> None:
    check_everything(text, tmp_path)


CHARACTERS = st.sampled_from(list('{}()<>-|,:?."/\\ \n=;*#') + ODD) | st.characters(codec="utf-8")


@FUZZ
@given(text=st.builds("".join, st.lists(st.sampled_from(TOKENS) | CHARACTERS, max_size=60)))
def test_token_soup(text: str, tmp_path: Path) -> None:
    check_everything("flow a version 1.0.0\n" + text, tmp_path)


def test_the_corpus_holds_every_spec_and_case() -> None:
    assert len(CORPUS) >= len(list(ROOT.joinpath("tests", "cases").glob("*.flow"))) + 3
