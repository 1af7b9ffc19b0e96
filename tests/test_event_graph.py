"""The event graph is the one answer to who publishes, consumes, replies and starts what.

The rules, `trace`, the review page and the diagrams read it; these tests pin its
shape on the bundled specs and prove the readers agree with it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flowgen_design.codegen.trace import consumer_arcs, event_link, publisher_links
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.graph import CONSUMING, PUBLISHING, event_graph
from flowgen_design.dsl.model import Event, Flow, Handler
from flowgen_design.dsl.rules.eventflow import consumers, publishers
from tests.conftest import SKETCH, example_specs

SPECS = [*example_specs(), SKETCH]


def flow_of(spec: Path) -> Flow:
    result = check_file(spec)
    assert result.flow is not None
    return result.flow


def test_the_graph_is_built_once_per_flow() -> None:
    flow = flow_of(SKETCH)
    assert event_graph(flow) is event_graph(flow)


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_every_subscription_trigger_and_reply_is_an_arc(spec: Path) -> None:
    flow = flow_of(spec)
    graph = event_graph(flow)
    for handler in flow.handlers():
        kind = "subscribes" if handler.trigger == "event" else "handles"
        assert any(a.kind == kind and a.target is handler for a in graph.arcs)
        for out in handler.outputs:
            assert any(a.source is handler and a.target is out for a in graph.arcs)
    for saga in flow.sagas:
        assert any(a.kind == "triggers" and a.target is saga for a in graph.consumers(saga.trigger.name))
        commands = [s for s in saga.steps if s.wait is None]  # an `await` step sends nothing, it awaits
        assert len([a for a in graph.declared_by(saga) if a.kind == "sends"]) == len(commands)
        for wait in (s.wait for s in saga.steps if s.wait is not None):
            assert all(any(a.kind == "awaits" and a.source is e for a in graph.declared_by(saga)) for e in wait.events)
    for arc in graph.arcs:
        assert (arc.kind in PUBLISHING) + (arc.kind in CONSUMING) <= 1


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_rules_and_trace_read_the_same_publishers_and_consumers(spec: Path) -> None:
    flow = flow_of(spec)
    rule_publishers, rule_consumers = publishers(flow), consumers(flow)
    for event in flow.events:
        traced = publisher_links(flow, event)
        assert len(traced) == len(rule_publishers.get(event.name, []))
        link = event_link(flow, event)
        assert [c.name for c in link.children if c.relation in ("published by", "replied by")] == [
            t.name for t in traced
        ]
        sites = {(who, span.line) for who, span in rule_consumers.get(event.name, [])}
        for arc in consumer_arcs(flow, event):
            who = arc.target
            label = f"{who.service}.{who.name}" if isinstance(who, Handler) else who.name  # type: ignore[union-attr]
            assert any(label in w for w, _ in sites)


def test_an_event_handler_loop_is_two_emits_arcs(tmp_path: Path) -> None:
    spec = tmp_path / "loop.flow"
    spec.write_text(
        "flow loop version 1.0.0\nevent A { id: uuid  key id }\nevent B { id: uuid  key id }\n"
        "service S { publishes A, B\n  on A -> to_b { idempotent by id  emits B }\n  on B -> to_a { idempotent by id  emits A } }\n"
    )
    flow = flow_of(spec)
    emits = [(a.source, a.target) for a in event_graph(flow).of_kind("emits")]
    assert [(h.name, e.name) for h, e in emits if isinstance(h, Handler) and isinstance(e, Event)] == [
        ("to_b", "B"),
        ("to_a", "A"),
    ]
    assert "FLOW603" in [d.code for d in check_file(spec).diagnostics]


def test_a_cycle_is_reported_as_its_path_on_the_handler_that_closes_it(tmp_path: Path) -> None:
    """The loop is entered at `Zebra` (an external publishes it) and `back_to_zebra` closes it.

    Sorted names (Apple, Mango, Zebra) are not the order a message travels, and the
    first handler in the file is not the one that feeds the loop back to its start.
    """
    spec = tmp_path / "loop.flow"
    spec.write_text(
        "flow loop version 1.0.0\n"
        "event Zebra { id: uuid  key id }\nevent Apple { id: uuid  key id }\nevent Mango { id: uuid  key id }\n"
        "service S {\n  publishes Zebra, Apple, Mango\n"
        "  on Mango -> back_to_zebra { idempotent by id  emits Zebra }\n"
        "  on Zebra -> to_apple { idempotent by id  emits Apple }\n"
        "  on Apple -> to_mango { idempotent by id  emits Mango }\n}\n"
        "external X { publishes Zebra }\n"
    )
    [cycle] = [d for d in check_file(spec).diagnostics if d.code == "FLOW603"]
    assert cycle.message.endswith("Zebra -> S.to_apple -> Apple -> S.to_mango -> Mango -> S.back_to_zebra -> Zebra")
    assert cycle.span.line == 7
    assert "`S.back_to_zebra` closes the loop" in (cycle.hint or "")
