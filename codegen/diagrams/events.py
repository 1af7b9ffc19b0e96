"""The events view: what happens after what, and what each event carries.

Every event is a node with its payload fields (the key and ordering field marked).
Arrows run from what produces an event (an API entry point, a handler, a saga,
an external system) to what reacts to it, so a reviewer can follow a chain of
causes from a request to its last effect.
"""

from __future__ import annotations

from flowgen_design.codegen.aws.plan import plan_of
from flowgen_design.codegen.diagrams.labels import delivery_lines, field_text
from flowgen_design.codegen.diagrams.model import Diagram, Edge, GraphBuilder, Node, node_id
from flowgen_design.dsl.model import Command, Event, Flow, Handler, Saga


def _event(g: GraphBuilder, event: Event) -> str:
    return g.node(Node(node_id("event", event.name), "event", (event.name,), _fields(event), event.doc))


def _fields(event: Event) -> tuple[str, ...]:
    lines = []
    for field in event.fields:
        marks = [
            m
            for m, f in (("key", event.key), ("ordered by", event.ordered_by))
            if f is not None and f.name == field.name
        ]
        lines.append(field_text(field) + (f"  ({', '.join(marks)})" if marks else ""))
    return tuple(lines)


def _handler(g: GraphBuilder, handler: Handler) -> str:
    node = Node(
        node_id("handler", handler.service, handler.name),
        "handler",
        (f"{handler.service}.{handler.name}",),
        delivery_lines(handler.policy),
        handler.doc,
    )
    return g.node(node)


def events_view(flow: Flow) -> Diagram:
    g, plan = GraphBuilder(), plan_of(flow)
    for event in flow.events:
        _event(g, event)
    for service in flow.services:
        for api in service.apis:
            me = g.node(
                Node(
                    node_id("api", plan.route(api).route.logical_id), "api", (api.route, service.name), tooltip=api.doc
                )
            )
            g.edge(Edge(me, _event(g, api.event)))
        for handler in service.handlers:
            me = _handler(g, handler)
            if not isinstance(handler.input, Command):
                g.edge(Edge(_event(g, handler.input), me, "handled"))
            for output in handler.outputs:
                g.edge(Edge(me, _event(g, output), "reply" if isinstance(handler.input, Command) else "flow"))
    for saga in flow.sagas:
        _saga(g, saga)
    for external in flow.externals:
        me = g.node(
            Node(node_id("external", external.name), "external", (external.name, "(external)"), tooltip=external.doc)
        )
        for event in external.publishes:
            g.edge(Edge(me, _event(g, event)))
        for event in external.consumes:
            g.edge(Edge(_event(g, event), me, "handled"))
    return g.build("events", f"{flow.name} {flow.version}: events", "LR")


def _saga(g: GraphBuilder, saga: Saga) -> None:
    me = g.node(Node(node_id("saga", saga.name), "saga", (f"saga {saga.name}",), tooltip=saga.doc))
    g.edge(Edge(_event(g, saga.trigger), me, "trigger", ("starts",)))
    for step in saga.steps:
        g.edge(Edge(me, _handler(g, step.action.handler), "flow", (step.action.command.name,)))
        for reply in step.action.command.replies:
            g.edge(Edge(_event(g, reply), me, "awaits"))
        if step.compensation is not None:
            g.edge(Edge(me, _handler(g, step.compensation.handler), "compensation", (step.compensation.command.name,)))
            for reply in step.compensation.command.replies:
                g.edge(Edge(_event(g, reply), me, "awaits"))
    for outcome, event in (("completed", saga.on_completed), ("compensated", saga.on_compensated)):
        if event is not None:
            g.edge(Edge(me, _event(g, event), "flow", (f"on {outcome}",)))
