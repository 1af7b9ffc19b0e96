"""Per-key order: an event `ordered by` a field keeps its order only if its publisher numbers it.

The generated publishers (a handler's adapter, a saga's outcome) give each ordered
event the next number of its key (`envelope.sequence`), and a subscribing handler
takes a key's messages in that order (docs/semantics.md, "Per-key order"). An api
endpoint puts its request on the bus as it comes, and an external system numbers
nothing unless it follows the envelope contract: their messages reach subscribers
without a sequence and are handled as they come, so `check` says so.
"""

from __future__ import annotations

from flowgen_design.dsl import codes
from flowgen_design.dsl.graph import Arc, event_graph
from flowgen_design.dsl.model import ApiEndpoint, Event, External, Handler
from flowgen_design.dsl.rules import RuleContext


def check_unnumbered_publishers(ctx: RuleContext) -> None:
    graph = event_graph(ctx.flow)
    for event in ctx.flow.events:
        if event.ordered_by is None:
            continue
        handlers = [a.target for a in graph.consumers(event.name) if isinstance(a.target, Handler)]
        if not handlers:
            continue
        for arc in graph.publishers(event.name):
            if isinstance(arc.source, ApiEndpoint | External):
                _unnumbered(ctx, event, arc, handlers)


def _unnumbered(ctx: RuleContext, event: Event, arc: Arc, handlers: list[Handler]) -> None:
    assert event.ordered_by is not None
    takers = ", ".join(f"`{h.service}.{h.name}`" for h in handlers)
    if isinstance(arc.source, ApiEndpoint):
        who, hint = (
            f"`{arc.source.route}` puts it on the bus",
            f"let the endpoint's event start a handler that emits `{event.name}` (a handler numbers what it "
            "publishes), or drop `ordered by`",
        )
    else:
        who, hint = (
            f"external `{arc.source.name}` publishes it",  # type: ignore[union-attr]
            f"have `{arc.source.name}` set `envelope.sequence` per `{event.ordered_by.name}` "  # type: ignore[union-attr]
            "(1, 2, ... as docs/semantics.md says), or drop `ordered by`",
        )
    ctx.report.add(
        codes.ORDERED_EVENT_UNNUMBERED,
        f"`{event.name}` is `ordered by {event.ordered_by.name}`, but {who} without a sequence: "
        f"{takers} will take those messages as they come, in no particular order",
        arc.span,
        hint,
    )
