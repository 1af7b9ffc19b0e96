"""The system view: who talks to whom, through which events.

Services, API entry points and external systems, with every event as a node
between its publishers and subscribers. Edges into a handler carry its retry
policy, timeout and dead-letter queue. Sagas appear as process managers: the
event that starts them, the commands they send (compensations dashed red) and
the events they wait for and emit.
"""

from __future__ import annotations

from flowgen_design.codegen.aws.plan import Plan, plan_of
from flowgen_design.codegen.diagrams.labels import delivery_lines
from flowgen_design.codegen.diagrams.model import Diagram, Edge, GraphBuilder, Node, node_id
from flowgen_design.dsl.model import ApiEndpoint, Command, Event, External, Flow, Saga, Service


def event_node(g: GraphBuilder, event: Event) -> str:
    return g.node(Node(node_id("event", event.name), "event", (event.name,), tooltip=event.doc))


def command_node(g: GraphBuilder, command: Command) -> str:
    return g.node(Node(node_id("command", command.name), "command", (command.name,), tooltip=command.doc))


def service_node(g: GraphBuilder, service: Service) -> str:
    return g.node(Node(node_id("service", service.name), "service", (service.name,), tooltip=service.doc))


def api_node(g: GraphBuilder, plan: Plan, api: ApiEndpoint) -> str:
    """An entry point, identified by its route's logical ID (unique, and an identifier already)."""
    return g.node(Node(node_id("api", plan.route(api).route.logical_id), "api", (api.route,), tooltip=api.doc))


def system_view(flow: Flow) -> Diagram:
    g = GraphBuilder()
    for event in flow.events:
        event_node(g, event)
    for service in flow.services:
        _service(g, plan_of(flow), service)
    for saga in flow.sagas:
        _saga(g, saga)
    for external in flow.externals:
        _external(g, external)
    return g.build("system", f"{flow.name} {flow.version}: system", "LR")


def _service(g: GraphBuilder, plan: Plan, service: Service) -> None:
    me = service_node(g, service)
    for api in service.apis:
        g.edge(Edge(api_node(g, plan, api), me))
        g.edge(Edge(me, event_node(g, api.event)))
    for event in service.publishes:
        g.edge(Edge(me, event_node(g, event)))
    for handler in service.handlers:
        command = isinstance(handler.input, Command)
        source = command_node(g, handler.input) if isinstance(handler.input, Command) else event_node(g, handler.input)
        g.edge(Edge(source, me, "handled", (handler.name, *delivery_lines(handler.policy))))
        if command:
            for reply in handler.outputs:
                g.edge(Edge(me, event_node(g, reply), "reply"))


def _saga(g: GraphBuilder, saga: Saga) -> None:
    me = g.node(Node(node_id("saga", saga.name), "saga", (f"saga {saga.name}",), tooltip=saga.doc))
    g.edge(Edge(event_node(g, saga.trigger), me, "trigger", ("starts",)))
    for step in saga.steps:
        g.edge(Edge(me, command_node(g, step.action.command), "flow", (f"step {step.name}",)))
        for reply in step.action.command.replies:
            g.edge(Edge(event_node(g, reply), me, "awaits"))
        if step.compensation is not None:
            g.edge(Edge(me, command_node(g, step.compensation.command), "compensation", (f"undo {step.name}",)))
            for reply in step.compensation.command.replies:
                g.edge(Edge(event_node(g, reply), me, "awaits"))
    for outcome, event in (("completed", saga.on_completed), ("compensated", saga.on_compensated)):
        if event is not None:
            g.edge(Edge(me, event_node(g, event), "flow", (f"on {outcome}",)))


def _external(g: GraphBuilder, external: External) -> None:
    me = g.node(
        Node(node_id("external", external.name), "external", (external.name, "(external)"), tooltip=external.doc)
    )
    for event in external.publishes:
        g.edge(Edge(me, event_node(g, event)))
    for event in external.consumes:
        g.edge(Edge(event_node(g, event), me, "handled"))
