"""The shipped parser tables: current with the grammar, equivalent to compiling it, and never trusted when stale.

`check` loads the LALR and lexer tables from `grammar/flow.tables.json` instead of
compiling the grammar (most of the cost of checking a small spec). The file is data
(JSON, never a pickle) stamped with the grammar text and the lark version it was made
by; anything else means the grammar is compiled as before.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lark import Lark

from flowgen_design.dsl import parser as flow_parser
from flowgen_design.dsl.diagnostics import Reporter
from flowgen_design.grammar import tables_text
from tests.conftest import SKETCH

REPO = Path(__file__).resolve().parent.parent


def test_the_shipped_tables_are_the_grammars_current_tables() -> None:
    # The stamp, not the tables: lark numbers its states in set order, which differs per process.
    shipped = json.loads(tables_text())
    assert (
        shipped["stamp"] == flow_parser.compile_tables()["stamp"]
    ), "grammar/flow.tables.json is stale: run `python -m flowgen_design.dsl.parser` after a grammar change"


def test_the_parser_comes_from_the_tables_when_they_are_current(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    monkeypatch.setattr(flow_parser, "_parsers", {})
    monkeypatch.setattr(flow_parser, "Lark", _Spy(built))
    flow_parser._get_parser()
    flow_parser._get_parser(fast=False)
    assert built == ["load", "load"]


@pytest.mark.parametrize("damage", ["stale", "garbled", "missing"])
def test_tables_that_do_not_match_are_ignored_and_the_grammar_compiled(
    monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    def broken() -> str:
        if damage == "missing":
            raise FileNotFoundError("flow.tables.json")
        if damage == "garbled":
            return tables_text()[:5000]
        return tables_text().replace(json.loads(tables_text())["stamp"], "0" * 64)

    built: list[str] = []
    monkeypatch.setattr(flow_parser, "_parsers", {})
    monkeypatch.setattr(flow_parser, "tables_text", broken)
    monkeypatch.setattr(flow_parser, "Lark", _Spy(built))
    assert flow_parser.shipped_tables() is None
    flow_parser._get_parser()
    assert built == ["compile"]


@pytest.fixture(scope="module")
def parsers() -> dict[str, dict[bool, Lark]]:
    """The fast parser made from the shipped tables, and one compiled from the grammar: built once."""
    made: dict[str, dict[bool, Lark]] = {}
    saved = dict(flow_parser._parsers)
    original = flow_parser.shipped_tables
    for name, tables in (("tables", original), ("compiled", lambda: None)):
        flow_parser._parsers.clear()
        flow_parser.shipped_tables = tables
        try:
            made[name] = {True: flow_parser._get_parser()}
        finally:
            flow_parser.shipped_tables = original
    flow_parser._parsers.clear()
    flow_parser._parsers.update(saved)
    return made


SPECS = [SKETCH, *sorted(REPO.glob("specs/**/*.flow")), *sorted(REPO.glob("tests/cases/*.flow"))]


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_a_parser_from_the_tables_parses_like_a_compiled_one(
    monkeypatch: pytest.MonkeyPatch, parsers: dict[str, dict[bool, Lark]], spec: Path
) -> None:
    """Same AST, or the same syntax error, for every spec and case file we have (the plain-lark
    parser that reports syntax errors is the process's own, built once)."""
    text = spec.read_bytes().decode("utf-8", errors="replace")
    outcomes = []
    for name in ("tables", "compiled"):
        monkeypatch.setattr(flow_parser, "_parsers", {**flow_parser._parsers, **parsers[name]})
        reporter = Reporter()
        outcomes.append((flow_parser.parse(text, spec.name, reporter), reporter.items))
    assert outcomes[0] == outcomes[1]


class _Spy:
    """Stands in for the `Lark` class in `dsl.parser`, recording how each parser was made."""

    def __init__(self, built: list[str]) -> None:
        self.built = built

    def __call__(self, *args: object, **kwargs: object) -> Lark:
        self.built.append("compile")
        return Lark(*args, **kwargs)  # type: ignore[arg-type]

    def _load_from_dict(self, *args: object, **kwargs: object) -> Lark:
        self.built.append("load")
        parser: Lark = Lark._load_from_dict(*args, **kwargs)  # type: ignore[no-untyped-call]
        return parser
