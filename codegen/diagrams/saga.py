"""One view per saga: the happy path top to bottom, compensations drawn backwards.

Top to bottom, so a saga of any length is as wide as one step and its
compensation side by side: drawn left to right, a five-step saga was a row
3,452 px wide that the review page shrank below reading size.

Steps run in order from the trigger to the `completed` outcome. A step that can
fail (every step up to and including the pivot) has a red dashed failure edge to
the compensation of the step before it; compensations chain backwards to the
`compensated` outcome. Steps after the pivot have no failure edge: they are
retried until they succeed.
"""

from __future__ import annotations

from flowgen_design.codegen.diagrams.labels import handler_text, sends_text, timeout_text
from flowgen_design.codegen.diagrams.model import Diagram, Edge, GraphBuilder, Node, node_id
from flowgen_design.codegen.diagrams.system import event_node
from flowgen_design.dsl.durations import format_ms
from flowgen_design.dsl.model import Event, Saga, SagaStep


def saga_view(saga: Saga) -> Diagram:
    g = GraphBuilder()
    previous = event_node(g, saga.trigger)
    previous_label: tuple[str, ...] = ("trigger",)
    for index, step in enumerate(saga.steps):
        here = g.node(_step_node(saga, index, step))
        g.edge(Edge(previous, here, "trigger" if index == 0 else "flow", previous_label))
        success = step.action.command.success
        previous, previous_label = here, ((success.name,) if success else ())
    g.edge(Edge(previous, _outcome(g, saga.on_completed, saga, "completed"), "flow", previous_label))
    compensated = _outcome(g, saga.on_compensated, saga, "compensated")
    undo = _compensations(g, saga, compensated)
    for index, step in enumerate(saga.steps[: saga.pivot_index + 1]):
        g.edge(
            Edge(node_id("step", saga.name, step.name), undo[index], "failure", _failure_label(step), backwards=True)
        )
    timeout = f", timeout {format_ms(saga.timeout_ms)}" if saga.timeout_ms else ""
    return g.build(f"saga:{saga.name}", f"saga {saga.name} (trigger {saga.trigger.name}{timeout})", "TB")


def _step_node(saga: Saga, index: int, step: SagaStep) -> Node:
    call = step.action
    label = [f"{index + 1}. {step.name}", f"{call.service}.{call.command.name}"]
    if step.pivot or index == saga.pivot_index:
        label.append("PIVOT")
    if step.readonly:
        label.append("readonly")
    detail = [timeout_text(step.timeout_ms), sends_text(step.policy), handler_text(call.handler.policy)]
    if index > saga.pivot_index:
        detail.append("retried until it succeeds")
    return Node(
        node_id("step", saga.name, step.name),
        "step",
        tuple(label),
        tuple(detail),
        step.doc,
        emphasis=index == saga.pivot_index,
    )


def _outcome(g: GraphBuilder, event: Event | None, saga: Saga, outcome: str) -> str:
    if event is not None:
        return g.node(Node(node_id("event", event.name), "outcome", (event.name,), (f"on {outcome}",), event.doc))
    return g.node(Node(node_id("end", saga.name, outcome), "outcome", (outcome,), ("no event emitted",)))


def _compensations(g: GraphBuilder, saga: Saga, compensated: str) -> list[str]:
    """For each step up to the pivot, where its failure leads: the latest
    compensation before it (a pivot's own compensation can never run)."""
    target = compensated
    undo: list[str] = []
    for index, step in enumerate(saga.steps[: saga.pivot_index + 1]):
        undo.append(target)
        if step.compensation is None or index == saga.pivot_index:
            continue
        call = step.compensation
        label = (f"undo {step.name}", f"{call.service}.{call.command.name}")
        detail = (handler_text(call.handler.policy), timeout_text(call.handler.policy.timeout_ms))
        here = g.node(Node(node_id("undo", saga.name, step.name), "compensation", label, detail, call.handler.doc))
        g.edge(Edge(here, target, "compensation", tuple(r.name for r in call.command.replies[:1]), backwards=True))
        target = here
    return undo


def _failure_label(step: SagaStep) -> tuple[str, ...]:
    failures = [e.name for e in step.action.command.failures]
    return (" or ".join(failures + [timeout_text(step.timeout_ms)]),)
