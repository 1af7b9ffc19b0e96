"""The system view: who talks to whom, through which events.

Services, API entry points and external systems, with every event as a node
between its publishers and subscribers. Edges into a handler carry its retry
policy, timeout and dead-letter queue. Sagas appear as process managers: the
event that starts them, the commands they send (compensations dashed red) and
the events they emit. The edges are the flow's event graph (`dsl.graph`).

The replies a saga awaits are not drawn as edges: each would run from the far
side of the picture back to the saga, and together they filled half of it. The
service's reply edge shows the answer, and the saga view draws each reply
where its step waits for it.
"""

from __future__ import annotations

from flowgen_design.codegen.aws.plan import Plan, plan_of
from flowgen_design.codegen.diagrams.labels import delivery_lines
from flowgen_design.codegen.diagrams.model import Diagram, Edge, GraphBuilder, Node, node_id
from flowgen_design.dsl.graph import Arc, event_graph
from flowgen_design.dsl.model import ApiEndpoint, Command, Event, External, Flow, Handler, Saga, Service, StepCall


def event_node(g: GraphBuilder, event: Event) -> str:
    return g.node(Node(node_id("event", event.name), "event", (event.name,), tooltip=event.doc))


def command_node(g: GraphBuilder, command: Command) -> str:
    return g.node(Node(node_id("command", command.name), "command", (command.name,), tooltip=command.doc))


def service_node(g: GraphBuilder, service: Service) -> str:
    return g.node(Node(node_id("service", service.name), "service", (service.name,), tooltip=service.doc))


def api_node(g: GraphBuilder, plan: Plan, api: ApiEndpoint) -> str:
    """An entry point, identified by its route's logical ID (unique, and an identifier already), with who may call it."""
    label = (api.route, f"auth {api.auth.kind}")
    return g.node(Node(node_id("api", plan.route(api).method.logical_id), "api", label, tooltip=api.doc))


def system_view(flow: Flow) -> Diagram:
    g, plan, graph = GraphBuilder(), plan_of(flow), event_graph(flow)
    for event in flow.events:
        event_node(g, event)
    for service in flow.services:
        _service(g, plan, service, graph.declared_by(service))
    for saga in flow.sagas:
        _saga(g, saga, graph.declared_by(saga))
    for external in flow.externals:
        _external(g, external, graph.declared_by(external))
    return g.build("system", f"{flow.name} {flow.version}: system", "LR")


def _service(g: GraphBuilder, plan: Plan, service: Service, arcs: tuple[Arc, ...]) -> None:
    me = service_node(g, service)
    for arc in arcs:
        source, target = arc.source, arc.target
        if isinstance(source, ApiEndpoint) and isinstance(target, Event):
            g.edge(Edge(api_node(g, plan, source), me))
            g.edge(Edge(me, event_node(g, target)))
        elif arc.kind == "publishes" and isinstance(target, Event):
            g.edge(Edge(me, event_node(g, target)))
        elif isinstance(target, Handler) and isinstance(source, Command | Event):
            node = command_node(g, source) if isinstance(source, Command) else event_node(g, source)
            g.edge(Edge(node, me, "handled", (target.name, *delivery_lines(target.policy))))
        elif arc.kind == "replies" and isinstance(target, Event):
            g.edge(Edge(me, event_node(g, target), "reply"))


def _saga(g: GraphBuilder, saga: Saga, arcs: tuple[Arc, ...]) -> None:
    me = g.node(Node(node_id("saga", saga.name), "saga", (f"saga {saga.name}",), tooltip=saga.doc))
    for arc in arcs:
        source, target = arc.source, arc.target
        if arc.kind == "triggers" and isinstance(source, Event):
            g.edge(Edge(event_node(g, source), me, "trigger", ("starts",)))
        elif arc.kind == "sends" and isinstance(target, StepCall):
            g.edge(Edge(me, command_node(g, target.command), "flow", (f"step {arc.label}",)))
        elif arc.kind == "compensates" and isinstance(target, StepCall):
            g.edge(Edge(me, command_node(g, target.command), "compensation", (f"undo {arc.label}",)))
        elif arc.kind == "outcome" and isinstance(target, Event):
            g.edge(Edge(me, event_node(g, target), "flow", (f"on {arc.label}",)))


def external_node(g: GraphBuilder, external: External) -> str:
    return g.node(
        Node(node_id("external", external.name), "external", (external.name, "(external)"), tooltip=external.doc)
    )


def _external(g: GraphBuilder, external: External, arcs: tuple[Arc, ...]) -> None:
    me = external_node(g, external)
    for arc in arcs:
        if arc.kind == "publishes" and isinstance(arc.target, Event):
            g.edge(Edge(me, event_node(g, arc.target)))
        elif arc.kind == "consumes" and isinstance(arc.source, Event):
            g.edge(Edge(event_node(g, arc.source), me, "handled"))
