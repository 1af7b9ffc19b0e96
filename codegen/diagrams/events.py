"""The events view: what happens after what, and what each event carries.

Every event is a node with its payload fields (the key and ordering field marked).
Arrows run from what produces an event (an API entry point, a handler, a saga,
an external system) to what reacts to it, so a reviewer can follow a chain of
causes from a request to its last effect. The arrows are the flow's event graph (`dsl.graph`).
"""

from __future__ import annotations

from flowgen_design.codegen.aws.plan import plan_of
from flowgen_design.codegen.diagrams.labels import delivery_lines, field_text
from flowgen_design.codegen.diagrams.model import Diagram, Edge, EdgeKind, GraphBuilder, Node, node_id
from flowgen_design.codegen.diagrams.system import external_node
from flowgen_design.dsl.graph import Arc, event_graph
from flowgen_design.dsl.model import ApiEndpoint, Command, Event, Flow, Handler, Saga, StepCall


def _event(g: GraphBuilder, event: Event) -> str:
    me = node_id("event", event.name)  # an element's node is built once: the first one added is kept anyway
    return me if me in g.nodes else g.node(Node(me, "event", (event.name,), _fields(event), event.doc))


def _fields(event: Event) -> tuple[str, ...]:
    lines = []
    for field in event.fields:
        marks = [
            m
            for m, f in (("key", event.key), ("ordered by", event.ordered_by))
            if f is not None and f.name == field.name
        ]
        lines.append(field_text(field) + (f"  ({', '.join(marks)})" if marks else ""))
    lines += [f"header {field_text(h)}" for h in event.headers]
    lines += [f"channel {event.channel}"] if event.channel is not None else []
    return tuple(lines)


def _handler(g: GraphBuilder, handler: Handler) -> str:
    me = node_id("handler", handler.service, handler.name)
    if me in g.nodes:
        return me
    node = Node(
        me,
        "handler",
        (f"{handler.service}.{handler.name}",),
        delivery_lines(handler.policy) + tuple(f"raises {e} (final)" for e in handler.raises),
        handler.doc,
    )
    return g.node(node)


def _retryable(handler: Handler, event: Event) -> tuple[str, ...]:
    """The label of a reply the spec marks `retryable`: the handler retries before it counts."""
    command = handler.input
    return ("retryable",) if isinstance(command, Command) and event in command.retryable else ()


def events_view(flow: Flow) -> Diagram:
    g, plan, graph = GraphBuilder(), plan_of(flow), event_graph(flow)
    for event in flow.events:
        _event(g, event)
    for service in flow.services:
        for arc in graph.declared_by(service):
            source, target = arc.source, arc.target
            if isinstance(source, ApiEndpoint) and isinstance(target, Event):
                me = g.node(
                    Node(
                        node_id("api", plan.route(source).method.logical_id),
                        "api",
                        (source.route, service.name),
                        tooltip=source.doc,
                    )
                )
                g.edge(Edge(me, _event(g, target)))
            elif isinstance(target, Handler):
                me = _handler(g, target)
                if isinstance(source, Event):
                    g.edge(Edge(_event(g, source), me, "handled"))
            elif isinstance(source, Handler) and isinstance(target, Event):
                kind: EdgeKind = "reply" if arc.kind == "replies" else "flow"
                g.edge(Edge(_handler(g, source), _event(g, target), kind, _retryable(source, target)))
    for saga in flow.sagas:
        _saga(g, saga, graph.declared_by(saga))
    for external in flow.externals:
        me = external_node(g, external)
        for arc in graph.declared_by(external):
            if arc.kind == "publishes" and isinstance(arc.target, Event):
                g.edge(Edge(me, _event(g, arc.target)))
            elif arc.kind == "consumes" and isinstance(arc.source, Event):
                g.edge(Edge(_event(g, arc.source), me, "handled"))
    return g.build("events", f"{flow.name} {flow.version}: events", "LR")


def _saga(g: GraphBuilder, saga: Saga, arcs: tuple[Arc, ...]) -> None:
    me = g.node(Node(node_id("saga", saga.name), "saga", (f"saga {saga.name}",), tooltip=saga.doc))
    for arc in arcs:
        source, target = arc.source, arc.target
        if arc.kind == "triggers" and isinstance(source, Event):
            g.edge(Edge(_event(g, source), me, "trigger", ("starts",)))
        elif arc.kind in ("sends", "compensates") and isinstance(target, StepCall):
            kind: EdgeKind = "flow" if arc.kind == "sends" else "compensation"
            g.edge(Edge(me, _handler(g, target.handler), kind, (target.command.name,)))
        elif arc.kind == "awaits" and isinstance(source, Event):
            g.edge(Edge(_event(g, source), me, "awaits"))
        elif arc.kind == "outcome" and isinstance(target, Event):
            g.edge(Edge(me, _event(g, target), "flow", (f"on {arc.label}",)))
