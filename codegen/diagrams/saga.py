"""One view per saga: the happy path top to bottom, compensations drawn backwards.

Top to bottom, so a saga of any length is as wide as one step and its
compensation side by side: drawn left to right, a five-step saga was a row
3,452 px wide that the review page shrank below reading size.

Steps run in order from the trigger to the `completed` outcome. Up to the pivot,
a step's failure replies lead (red, dashed) to the compensation of the step
before it, and its timeout to its own compensation (it may have run);
compensations chain backwards to the `compensated` outcome. A timeout of the
pivot, any failure after it, and a compensation that fails lead to the `failed`
outcome: it needs a human (docs/semantics.md).

A parallel block is a fork (`parallel NAME`) to its steps side by side and a join
after them: every success leads to the join, which goes on ("all succeeded"); every
failure also leads there, and from it the saga undoes, in reverse, the steps of the
block that ran or may have, then those before (after the pivot: `failed`).
"""

from __future__ import annotations

from flowgen_design.codegen.diagrams.labels import handler_text, sends_text, timeout_text
from flowgen_design.codegen.diagrams.model import Diagram, Edge, GraphBuilder, Node, node_id
from flowgen_design.codegen.diagrams.system import event_node
from flowgen_design.dsl.durations import format_ms
from flowgen_design.dsl.model import Event, FillSource, ParallelBlock, Saga, SagaStep


def saga_view(saga: Saga) -> Diagram:
    g = GraphBuilder()
    previous: str | None = event_node(g, saga.trigger)
    previous_label: tuple[str, ...] = ("trigger",)
    for index, step in enumerate(saga.steps):
        block = saga.block_at(index)
        if block is not None:
            if index == block.first:
                previous, previous_label = _fork_and_join(g, saga, block, previous, previous_label)
            continue
        here = g.node(_step_node(saga, index, step))
        if previous is not None:
            g.edge(Edge(previous, here, "trigger" if index == 0 else "flow", previous_label))
        success = step.action.command.success
        skips = success is not None and step.branch(success.name) is not None
        previous, previous_label = (None if skips else here), ((success.name,) if success else ())
    if previous is not None:
        g.edge(Edge(previous, _outcome(g, saga.on_completed, saga, "completed"), "flow", previous_label))
    compensated = _outcome(g, saga.on_compensated, saga, "compensated")
    undo = _compensations(g, saga, compensated)
    failed = _outcome(g, saga.on_failed, saga, "failed")
    if saga.trigger_compensation is not None:
        g.edge(Edge(node_id("undo", saga.name, "trigger"), failed, "failure", ("cannot finish",)))
    _branches(g, saga)
    for index, step in enumerate(saga.steps):
        here = node_id("step", saga.name, step.name)
        block = saga.block_at(index)
        if block is not None:
            _block_failure(g, saga, index, block, undo, failed)
            continue
        command = step.action.command
        replies = tuple(
            f"{e.name} (retryable)" if e in command.retryable else e.name
            for e in command.failures
            if step.branch(e.name) is None
        )
        if index <= saga.pivot_index and replies:
            g.edge(Edge(here, undo[index], "failure", (" or ".join(replies),), backwards=True))
        elif replies:
            g.edge(Edge(here, failed, "failure", (" or ".join(replies),)))
        if index < saga.pivot_index and step.compensation is not None:
            g.edge(Edge(node_id("undo", saga.name, step.name), failed, "failure", ("cannot finish",)))
        if step.wait is not None:
            _wait_timeout(g, saga, index, step, undo[index] if index <= saga.pivot_index else failed)
            continue
        no_answer = (timeout_text(step.timeout_ms), *(f"or {e}" for e in step.action.handler.raises))
        if index < saga.pivot_index:
            own = node_id("undo", saga.name, step.name) if step.compensation is not None else undo[index]
            g.edge(Edge(here, own, "failure", no_answer, backwards=True))
        else:
            g.edge(Edge(here, failed, "failure", no_answer))
    timeout = f", timeout {format_ms(saga.timeout_ms)}" if saga.timeout_ms else ""
    return g.build(f"saga:{saga.name}", f"saga {saga.name} (trigger {saga.trigger.name}{timeout})", "TB")


def _fork_and_join(
    g: GraphBuilder, saga: Saga, block: ParallelBlock, previous: str | None, label: tuple[str, ...]
) -> tuple[str, tuple[str, ...]]:
    """The fork, the block's steps side by side, and the join; the join is where the saga goes on."""
    fork = g.node(
        Node(node_id("fork", saga.name, block.name), "parallel", (f"parallel {block.name}",), ("all at once",))
    )
    if previous is not None:
        g.edge(Edge(previous, fork, "trigger" if block.first == 0 else "flow", label))
    detail = ("when every step succeeded",)
    join = g.node(Node(node_id("join", saga.name, block.name), "parallel", (f"join {block.name}",), detail))
    for index in block.indexes:
        step = saga.steps[index]
        here = g.node(_step_node(saga, index, step))
        g.edge(Edge(fork, here, "flow"))
        success = step.action.command.success
        g.edge(Edge(here, join, "flow", (success.name,) if success else ()))
    return join, ("all succeeded",)


def _block_failure(g: GraphBuilder, saga: Saga, index: int, block: ParallelBlock, undo: list[str], failed: str) -> None:
    """A step of a block fails into the join; from the join (once) the saga undoes what ran, or fails."""
    step = saga.steps[index]
    join = node_id("join", saga.name, block.name)
    replies = tuple(e.name for e in step.action.command.failures)
    no_answer = (timeout_text(step.timeout_ms), *(f"or {e}" for e in step.action.handler.raises))
    label = (" or ".join((*replies, no_answer[0])), *no_answer[1:])
    g.edge(Edge(node_id("step", saga.name, step.name), join, "failure", label))
    if index < saga.pivot_index and step.compensation is not None:
        g.edge(Edge(node_id("undo", saga.name, step.name), failed, "failure", ("cannot finish",)))
    if index != block.last:
        return
    if block.last < saga.pivot_index:
        why = ("a step failed: undo each that ran or may have",)
        g.edge(Edge(join, undo[block.last + 1], "failure", why, backwards=True))
    else:
        g.edge(Edge(join, failed, "failure", ("a step failed",)))


def _branches(g: GraphBuilder, saga: Saga) -> None:
    """Each branch: a reply to a later step (drawn as flow), or to a named outcome (up to the pivot,
    after undoing what ran, as `compensated` does)."""
    for index, step in enumerate(saga.steps):
        here = node_id("step", saga.name, step.name)
        for b in step.branches:
            if b.step is not None:
                block = saga.block_entered_at(b.step)
                target = node_id("fork", saga.name, block.name) if block else node_id("step", saga.name, b.step)
                g.edge(Edge(here, target, "flow", (b.reply.name,)))
                continue
            outcome = saga.outcome(b.outcome or "")
            target = _outcome(g, outcome.event if outcome else None, saga, b.outcome or "")
            undo = " (after undoing what ran)" if index <= saga.pivot_index and saga.compensable_steps[:index] else ""
            g.edge(Edge(here, target, "failure", (b.reply.name + undo,)))


def _wait_timeout(g: GraphBuilder, saga: Saga, index: int, step: SagaStep, default: str) -> None:
    """An `await` step's timeout: to the step or outcome `on timeout` names, else as a failure event goes
    (up to the pivot, undoing the steps before; a wait did nothing itself)."""
    wait = step.wait
    assert wait is not None
    here, label = node_id("step", saga.name, step.name), (f"timeout {format_ms(step.timeout_ms)}",)
    if wait.timeout_step is not None:
        g.edge(Edge(here, node_id("step", saga.name, wait.timeout_step), "failure", label))
    elif wait.timeout_outcome is not None:
        outcome = saga.outcome(wait.timeout_outcome)
        target = _outcome(g, outcome.event if outcome else None, saga, wait.timeout_outcome)
        undo = " (after undoing what ran)" if index <= saga.pivot_index and saga.compensable_steps[:index] else ""
        g.edge(Edge(here, target, "failure", (label[0] + undo,)))
    else:
        g.edge(Edge(here, default, "failure", label, backwards=index <= saga.pivot_index))


def _wait_node(saga: Saga, index: int, step: SagaStep) -> Node:
    wait = step.wait
    assert wait is not None
    label = [f"{index + 1}. {step.name}", "await " + " | ".join(e.name for e in wait.events)]
    if index == saga.pivot_index:
        label.append("PIVOT")
    detail = [f"waits up to {format_ms(step.timeout_ms)}", f"matched by {wait.by.name}"]
    if step.heartbeat_ms:
        detail.append(f"heartbeat {format_ms(step.heartbeat_ms)}")
    if step.delay_ms:
        detail.insert(0, f"after {format_ms(step.delay_ms)} (a grace period)")
    return Node(
        node_id("step", saga.name, step.name),
        "step",
        tuple(label),
        tuple(detail),
        step.doc,
        emphasis=index == saga.pivot_index,
    )


def _step_node(saga: Saga, index: int, step: SagaStep) -> Node:
    if step.wait is not None:
        return _wait_node(saga, index, step)
    call = step.action
    label = [f"{index + 1}. {step.name}", f"{call.service}.{call.command.name}"]
    if step.pivot or index == saga.pivot_index:
        label.append("PIVOT")
    if step.readonly:
        label.append("readonly")
    detail = [timeout_text(step.timeout_ms), sends_text(step.policy), handler_text(call.handler.policy)]
    if step.delay_ms:
        detail.insert(0, f"after {format_ms(step.delay_ms)} (a grace period)")
    if step.parallel is not None:
        detail.insert(0, f"in parallel {step.parallel}")
    if step.heartbeat_ms:
        detail.append(f"heartbeat {format_ms(step.heartbeat_ms)}")
    detail += [f"{f.field} = " + " or ".join(_source_text(s) for s in f.sources) for f in step.fills]
    if index > saga.pivot_index:
        detail.append("a failure needs a human")
    return Node(
        node_id("step", saga.name, step.name),
        "step",
        tuple(label),
        tuple(detail),
        step.doc,
        emphasis=index == saga.pivot_index,
    )


def _source_text(source: FillSource) -> str:
    if source.origin == "constant":
        return repr(source.value) if isinstance(source.value, str) else str(source.value)
    return f"{source.step if source.origin == 'step' else source.origin}.{source.field}"


def _outcome(g: GraphBuilder, event: Event | None, saga: Saga, outcome: str) -> str:
    if event is not None:
        return g.node(Node(node_id("event", event.name), "outcome", (event.name,), (f"on {outcome}",), event.doc))
    return g.node(Node(node_id("end", saga.name, outcome), "outcome", (outcome,), ("no event emitted",)))


def _compensations(g: GraphBuilder, saga: Saga, compensated: str) -> list[str]:
    """For each step up to the pivot, where its failure leads: the latest
    compensation before it (a pivot's own compensation can never run)."""
    target = compensated
    trigger_undo = saga.trigger_compensation
    if trigger_undo is not None:
        label = (f"undo trigger {saga.trigger.name}", f"{trigger_undo.service}.{trigger_undo.command.name}")
        detail = (handler_text(trigger_undo.handler.policy), timeout_text(trigger_undo.handler.policy.timeout_ms))
        node = Node(node_id("undo", saga.name, "trigger"), "compensation", label, detail, trigger_undo.handler.doc)
        here = g.node(node)
        replies = tuple(r.name for r in trigger_undo.command.replies[:1])
        g.edge(Edge(here, target, "compensation", replies, backwards=True))
        target = here
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
