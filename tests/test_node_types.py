"""The parser builds AST nodes (frozen dataclasses) without run-time checks; prove every node is exactly typed.

Each field of each node of every example spec (and of a synthetic benchmark
spec, and of a spec that uses every construct) must hold exactly what its
annotation says.
"""

from __future__ import annotations

import pytest

from benchmarks.specgen import spec
from flowgen_design.dsl import ast
from flowgen_design.dsl.diagnostics import Reporter
from flowgen_design.dsl.parser import parse
from tests.conftest import SKETCH, example_specs
from tests.element_types import elements, type_errors

# Every construct of the grammar at least once, so every node class is built.
EVERY_CONSTRUCT = """/// The module doc.
flow every version 1.2.3
import "other.flow"

defaults { retry 2 backoff fixed 1s  timeout 5s }

/// A record.
type Box {
  /// A field doc.
  size: float (min 0.5, max 10)
  label: string? (pattern "^[a-z]+$")
  tags: map<string, list<int>>
}

enum Colour { red, green }

event Opened { id: uuid  key id  ordered by id  header tenant: string?  channel "doors.opened" }
command Open { id: uuid } -> Opened | Opened retryable

policy careful {
  retry 3 backoff exponential 100ms..2s jitter
  timeout 30s
  dlq
  idempotent by id within 1h
}

service Doors {
  api PUT /doors/{id} -> Opened auth jwt issuer "https://id.example.com" audience "doors"
  publishes Opened
  handles Open { use careful  emits Opened  raises Stuck }
  on Opened -> log_open { emits none }
}

saga Opening {
  trigger Opened compensate Doors.Open
  step check: Doors.Open readonly { timeout 1m  after 5s  on Opened -> open  id = trigger.id or "x" }
  step wait: await Opened | Opened by id { timeout 1d  heartbeat 1h  on timeout -> open }
  pivot step open: Doors.Open compensate Doors.Open { heartbeat 1m }
  parallel both { step left: Doors.Open  step right: Doors.Open }
  timeout 10m
  invariant every Opened is followed by Opened or Opened
  on completed emit Opened
  on failed emit Opened { id = trigger.id or "none" }
}

external Alarm { publishes Opened  consumes Opened }

/// Kept to replay.
archive 30d
"""


def _texts() -> list[tuple[str, str]]:
    files = [SKETCH, *example_specs()]
    texts = [(p.name, p.read_text(encoding="utf-8")) for p in files]
    return texts + [("bench-3.flow", spec(3)), ("every.flow", EVERY_CONSTRUCT)]


@pytest.mark.parametrize(("name", "text"), _texts(), ids=[n for n, _ in _texts()])
def test_every_parsed_node_is_exactly_typed(name: str, text: str) -> None:
    reporter = Reporter()
    module = parse(text, name, reporter)
    assert module is not None, reporter.items
    kinds: set[type] = set()
    for node in elements(module):
        kinds.add(type(node))
        assert isinstance(node, ast.Node), type(node).__name__
        assert type_errors(node) == []  # every span included: each node has one
    assert ast.Module in kinds
    if name == "every.flow":
        every_node_class = {c for c in vars(ast).values() if isinstance(c, type) and issubclass(c, ast.Node)}
        assert every_node_class - {ast.Node} <= kinds


def test_syntax_error_builds_no_module() -> None:
    reporter = Reporter()
    assert parse("flow x version 1.0.0\ntype {", "bad.flow", reporter) is None
    assert [d.code for d in reporter.items] == ["FLOW010"]
