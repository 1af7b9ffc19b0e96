"""The event graph of a flow: who publishes, consumes, replies to and starts what.

One typed list of arcs, built once per resolved flow (`event_graph(flow)`), in
declaration order: per service its entry points, its `publishes` and its
handlers (what each handles and what it replies or emits); per saga its trigger,
each step's command (and compensation) with the replies it awaits, and its
outcomes; per external system what it publishes and consumes.

The event-flow rules (`dsl.rules.eventflow`), `flowgen trace`, the review page
and the diagrams all read these arcs instead of walking the model themselves,
so "who consumes `OrderPlaced`?" has one answer everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import field
from typing import Literal

from flowgen_design.dsl.frozen import frozen
from flowgen_design.dsl.memo import per_flow
from flowgen_design.dsl.model import (
    ApiEndpoint,
    Command,
    Event,
    External,
    Flow,
    Handler,
    Saga,
    Service,
    StepCall,
)
from flowgen_design.dsl.source import Span

ArcKind = Literal[
    "api",  # endpoint -> event it puts on the bus
    "publishes",  # service or external -> event
    "subscribes",  # event -> event handler
    "handles",  # command -> command handler
    "replies",  # command handler -> reply event
    "emits",  # event handler -> event
    "triggers",  # event -> saga it starts
    "sends",  # saga -> step call (command and handler)
    "compensates",  # saga -> compensation call
    "awaits",  # reply event -> saga waiting for it at a call
    "outcome",  # saga -> completion or compensation event
    "consumes",  # event -> external system
]
Element = Service | ApiEndpoint | Handler | Saga | External | Event | Command | StepCall

PUBLISHING: frozenset[ArcKind] = frozenset({"api", "publishes", "replies", "outcome"})
CONSUMING: frozenset[ArcKind] = frozenset({"subscribes", "triggers", "awaits", "consumes"})


@frozen(kw_only=False)
class Arc:
    """`source` -> `target`, as the spec says at `span`; `label` names the step or the outcome."""

    kind: ArcKind
    source: Element
    target: Element
    span: Span
    label: str = ""


@frozen(kw_only=False)
class EventGraph:
    arcs: tuple[Arc, ...]
    _declared: dict[tuple[str, str], tuple[Arc, ...]] = field(default_factory=dict, repr=False, compare=False)
    _publishers: dict[str, list[Arc]] = field(default_factory=dict, repr=False, compare=False)
    _consumers: dict[str, list[Arc]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for arc in self.arcs:
            if arc.kind in PUBLISHING and isinstance(arc.target, Event):
                self._publishers.setdefault(arc.target.name, []).append(arc)
            elif arc.kind in CONSUMING and isinstance(arc.source, Event):
                self._consumers.setdefault(arc.source.name, []).append(arc)

    def publishers(self, event: str) -> tuple[Arc, ...]:
        """Everything that puts `event` on the bus, in declaration order, each once per site."""
        return tuple(self._publishers.get(event, ()))

    def consumers(self, event: str) -> tuple[Arc, ...]:
        """Everything that reacts to `event`: subscribers, sagas it starts or that await it, externals."""
        return tuple(self._consumers.get(event, ()))

    def published(self) -> Iterator[str]:
        return iter(self._publishers)

    def consumed(self) -> Iterator[str]:
        return iter(self._consumers)

    def declared_by(self, element: Service | Saga | External) -> tuple[Arc, ...]:
        """The arcs a service, saga or external system declares, in the order the spec lists them."""
        return self._declared.get(_declaration(element), ())

    def of_kind(self, *kinds: ArcKind) -> Iterator[Arc]:
        return (a for a in self.arcs if a.kind in kinds)


def _once(events: tuple[Event, ...]) -> list[Event]:
    """Each event once: a name listed twice is one fact."""
    return list({e.name: e for e in reversed(events)}.values())[::-1]


def _service(service: Service) -> Iterator[Arc]:
    for api in service.apis:
        yield Arc("api", api, api.event, api.span)
    for event in _once(service.publishes):
        yield Arc("publishes", service, event, service.name_span)
    for h in service.handlers:
        if isinstance(h.input, Command):
            yield Arc("handles", h.input, h, h.span)
        else:
            yield Arc("subscribes", h.input, h, h.span)
        for out in _once(h.outputs):
            yield Arc("replies" if isinstance(h.input, Command) else "emits", h, out, h.span)


def _saga(saga: Saga) -> Iterator[Arc]:
    yield Arc("triggers", saga.trigger, saga, saga.name_span)
    for step in saga.steps:
        if step.wait is not None:  # nothing is sent: the saga consumes the awaited events
            yield from (Arc("awaits", e, saga, step.wait.span, step.name) for e in step.wait.events)
            continue
        yield Arc("sends", saga, step.action, step.action.span, step.name)
        yield from (Arc("awaits", r, saga, step.action.span, step.name) for r in step.action.command.replies)
        if step.compensation is not None:
            yield Arc("compensates", saga, step.compensation, step.compensation.span, step.name)
            yield from (
                Arc("awaits", r, saga, step.compensation.span, step.name) for r in step.compensation.command.replies
            )
    undo = saga.trigger_compensation
    if undo is not None:
        yield Arc("compensates", saga, undo, undo.span, "trigger")
        yield from (Arc("awaits", r, saga, undo.span, "trigger") for r in undo.command.replies)
    for outcome, event in (
        ("completed", saga.on_completed),
        ("compensated", saga.on_compensated),
        ("failed", saga.on_failed),
    ):
        if event is not None:
            yield Arc("outcome", saga, event, saga.name_span, outcome)
    for named in saga.named_outcomes:
        yield Arc("outcome", saga, named.event, named.span, named.kind)


def _external(external: External) -> Iterator[Arc]:
    for event in _once(external.publishes):
        yield Arc("publishes", external, event, external.name_span)
    for event in _once(external.consumes):
        yield Arc("consumes", event, external, external.name_span)


def _declaration(element: Service | Saga | External) -> tuple[str, str]:
    return (type(element).__name__, element.name)


@per_flow
def event_graph(flow: Flow) -> EventGraph:
    """The event graph of `flow`, built once per flow."""
    arcs: list[Arc] = []
    declared: dict[tuple[str, str], tuple[Arc, ...]] = {}
    elements: list[tuple[Service | Saga | External, Iterator[Arc]]] = [
        *((s, _service(s)) for s in flow.services),
        *((s, _saga(s)) for s in flow.sagas),
        *((x, _external(x)) for x in flow.externals),
    ]
    for element, found in elements:
        own = tuple(found)
        arcs += own
        declared[_declaration(element)] = declared.get(_declaration(element), ()) + own
    return EventGraph(tuple(arcs), declared)
