"""Draw diagrams as Mermaid, which renders in markdown files and pull requests.

A `Diagram` becomes a flowchart; a saga becomes a sequence diagram of its happy
path with each possible failure as an `alt` branch that runs the compensations
backwards (in a red block). Every piece of text goes through
`codegen.escape.mermaid_text`; identifiers come from spec names with a kind
prefix, so none is a Mermaid keyword.
"""

from __future__ import annotations

from flowgen_design.codegen.diagrams.labels import attempts_text, timeout_text
from flowgen_design.codegen.diagrams.model import EDGE_COLORS, NODE_STYLES, Diagram, Edge, Node, NodeKind
from flowgen_design.codegen.diagrams.model import node_id as make_id
from flowgen_design.codegen.escape import mermaid_text
from flowgen_design.dsl.durations import format_ms
from flowgen_design.dsl.model import Saga, SagaStep

_SHAPES: dict[NodeKind, tuple[str, str]] = {
    "service": ("[[", "]]"),
    "external": ("([", "])"),
    "api": ("[/", "/]"),
    "saga": ("{{", "}}"),
}
_ARROWS = {False: "-->", True: "-.->"}
COMPENSATION_FILL = "rgb(253, 228, 228)"


def flowchart(diagram: Diagram, header: str = "") -> str:
    lines = [f"flowchart {diagram.direction}"]
    lines += [f"  {_node(node)}" for node in diagram.nodes]
    lines += [f"  {_edge(edge)}" for edge in diagram.edges]
    lines += _classes(diagram)
    lines += _link_styles(diagram)
    return header + "\n".join(lines) + "\n"


def _node(node: Node) -> str:
    opening, closing = _SHAPES.get(node.kind, ("[", "]"))
    text = "<br/>".join(mermaid_text(line) for line in node.label + node.detail)
    return f'{node.id}{opening}"{text}"{closing}'


def _edge(edge: Edge) -> str:
    arrow = _ARROWS[edge.dashed]
    if not edge.label:
        return f"{edge.source} {arrow} {edge.target}"
    text = "<br/>".join(mermaid_text(line) for line in edge.label)
    return f'{edge.source} {arrow}|"{text}"| {edge.target}'


def _classes(diagram: Diagram) -> list[str]:
    used = sorted({n.kind for n in diagram.nodes})
    out = []
    for kind in used:
        style = NODE_STYLES[kind]
        dashes = ",stroke-dasharray:5 3" if style.dashed else ""
        out.append(f"  classDef {kind} fill:{style.fill},stroke:{style.border},color:{style.text}{dashes}")
        out.append(f"  class {','.join(n.id for n in diagram.nodes if n.kind == kind)} {kind}")
    emphasised = [n.id for n in diagram.nodes if n.emphasis]
    if emphasised:
        out.append("  classDef emphasis stroke-width:4px")
        out.append(f"  class {','.join(emphasised)} emphasis")
    return out


def _link_styles(diagram: Diagram) -> list[str]:
    out = []
    for kind in ("failure", "compensation"):
        indexes = [str(i) for i, e in enumerate(diagram.edges) if e.kind == kind]
        if indexes:
            out.append(
                f"  linkStyle {','.join(indexes)} stroke:{EDGE_COLORS[kind]},color:{EDGE_COLORS[kind]},stroke-width:2px"
            )
    return out


# ---- sagas as sequence diagrams ------------------------------------------------------


def saga_sequence(saga: Saga, header: str = "") -> str:
    """The happy path, with one nested `alt` branch per step that can fail."""
    me = make_id("saga", saga.name)
    lines = [
        "sequenceDiagram",
        f"  participant bus as {mermaid_text('event bus')}",
        f"  participant {me} as {mermaid_text('saga ' + saga.name)}",
    ]
    calls = [c for s in saga.steps for c in (s.action if s.wait is None else None, s.compensation) if c is not None]
    services = dict.fromkeys(
        c.service for c in [*calls, *([saga.trigger_compensation] if saga.trigger_compensation else [])]
    )
    lines += [f"  participant {make_id('service', name)} as {mermaid_text(name)}" for name in services]
    timeout = f" (saga timeout {format_ms(saga.timeout_ms)})" if saga.timeout_ms else ""
    lines.append(f"  bus->>{me}: {mermaid_text(saga.trigger.name + ' starts the saga' + timeout)}")
    if saga.doc:
        lines.append(f"  Note over {me}: {mermaid_text(saga.doc)}")
    lines += _steps(saga, 0, "  ", ())
    return header + "\n".join(lines) + "\n"


def _steps(saga: Saga, index: int, indent: str, ran: tuple[int, ...]) -> list[str]:
    """The saga from step `index` on, each failure undoing the steps in `ran`; with branches, the
    success replies' way, and each branched reply as an arm that says where it leads."""
    me = make_id("saga", saga.name)
    if index == len(saga.steps):
        outcome = saga.on_completed.name if saga.on_completed else None
        return [
            (
                f"{indent}{me}->>bus: {mermaid_text(outcome)}"
                if outcome
                else f"{indent}Note over {me}: {mermaid_text('completed')}"
            )
        ]
    if saga.block_at(index) is not None:
        return _parallel(saga, index, indent, ran)
    step = saga.steps[index]
    lines = [f"{indent}Note over {me}: {mermaid_text('waits ' + format_ms(step.delay_ms))}"] if step.delay_ms else []
    lines += _call(saga, index, step, indent)
    success = step.action.command.success
    skip = step.branch(success.name) if success is not None else None
    following = [s.name for s in saga.steps].index(skip.step) if skip and skip.step else index + 1
    branched = [b for b in step.branches if b.reply is not success]
    if index > saga.pivot_index and not branched:
        lines.append(f"{indent}{_reply(saga, step, success.name if success else 'done')}")
        return lines + _steps(saga, following, indent, ran + (index,))
    lines.append(f"{indent}alt {mermaid_text(success.name if success else 'success')}")
    lines.append(f"{indent}  {_reply(saga, step, success.name if success else 'done')}")
    if index == saga.pivot_index and saga.after_pivot:
        lines.append(f"{indent}  Note over {me}: {mermaid_text('pivot passed: a later failure needs a human')}")
    lines += _steps(saga, following, indent + "  ", ran + (index,))
    for b in branched:
        lines.append(f"{indent}else {mermaid_text(b.reply.name)}")
        lines.append(f"{indent}  {_reply(saga, step, b.reply.name)}")
        lines.append(f"{indent}  Note over {me}: {mermaid_text(_leads(saga, index, b.step, b.outcome))}")
        if b.step is not None:  # forward only: the arm is finite
            lines += _steps(saga, [s.name for s in saga.steps].index(b.step), indent + "  ", ran)
    failures = [e.name for e in step.action.command.failures if step.branch(e.name) is None]
    if step.wait is not None and step.wait.leads_on:  # `on timeout -> X`: an arm of its own
        lines += _timeout_arm(saga, index, step, indent, ran)
    elif index == saga.pivot_index and step.wait is None:  # no answer from the pivot: it may have run
        lines.append(f"{indent}else {mermaid_text(timeout_text(step.timeout_ms))}")
        note = "failed: the pivot gave no answer, it may have run: needs a human"
        lines.append(f"{indent}  Note over {me}: {mermaid_text(note)}")
    else:
        failures.append(timeout_text(step.timeout_ms))
    if not failures:  # a wait or a pivot whose every other way has its own arm
        return lines + [f"{indent}end"]
    lines.append(f"{indent}else {mermaid_text(' or '.join(failures))}")
    if index > saga.pivot_index:
        lines.append(f"{indent}  Note over {me}: {mermaid_text('failed: needs a human')}")
    else:
        lines += _compensate(saga, index, indent + "  ", ran)
    lines.append(f"{indent}end")
    return lines


def _parallel(saga: Saga, index: int, indent: str, ran: tuple[int, ...]) -> list[str]:
    """A parallel block: its steps in a `par` (each with how it may answer), then the join: all
    succeeded goes on; else the steps of the block that ran or may have are undone with those before."""
    me, block = make_id("saga", saga.name), saga.block_at(index)
    assert block is not None
    lines: list[str] = []
    for k in block.indexes:
        step = saga.steps[k]
        lines.append(f"{indent}{'par' if k == block.first else 'and'} {mermaid_text(step.name)}")
        if step.delay_ms:
            lines.append(f"{indent}  Note over {me}: {mermaid_text('waits ' + format_ms(step.delay_ms))}")
        lines += _call(saga, k, step, indent + "  ")
        success = step.action.command.success
        answers = [success.name if success else "done", *(e.name for e in step.action.command.failures)]
        answers.append(timeout_text(step.timeout_ms))
        lines.append(f"{indent}  {_reply(saga, step, ' or '.join(answers))}")
    lines.append(f"{indent}end")
    lines.append(f"{indent}alt {mermaid_text('join ' + block.name + ': every step succeeded')}")
    lines += _steps(saga, block.last + 1, indent + "  ", ran + tuple(block.indexes))
    lines.append(f"{indent}else {mermaid_text('a step of ' + block.name + ' failed or timed out')}")
    if block.first > saga.pivot_index:
        lines.append(f"{indent}  Note over {me}: {mermaid_text('failed: needs a human')}")
    else:
        note = f"undo only the steps of {block.name} that succeeded or may have run"
        lines.append(f"{indent}  Note over {me}: {mermaid_text(note)}")
        lines += _compensate(saga, block.last + 1, indent + "  ", ran + tuple(block.indexes))
    lines.append(f"{indent}end")
    return lines


def _leads(saga: Saga, index: int, step: str | None, outcome: str | None) -> str:
    block = saga.block_entered_at(step)
    if block is not None:
        return f"continues at parallel {block.name}"
    if step is not None:
        return f"continues at step {step}"
    declared = saga.outcome(outcome or "")
    event = f": emits {declared.event.name}" if declared is not None else ""
    undo = "undoes what ran, then " if index <= saga.pivot_index and saga.compensable_steps[:index] else ""
    return f"{undo}ends {outcome}{event}"


def _timeout_arm(saga: Saga, index: int, step: SagaStep, indent: str, ran: tuple[int, ...]) -> list[str]:
    me, wait = make_id("saga", saga.name), step.wait
    assert wait is not None
    lines = [f"{indent}else {mermaid_text('nothing within ' + format_ms(step.timeout_ms))}"]
    lines.append(
        f"{indent}  Note over {me}: {mermaid_text(_leads(saga, index, wait.timeout_step, wait.timeout_outcome))}"
    )
    if wait.timeout_step is not None:
        lines += _steps(saga, [s.name for s in saga.steps].index(wait.timeout_step), indent + "  ", ran)
    return lines


def _call(saga: Saga, index: int, step: SagaStep, indent: str) -> list[str]:
    if step.wait is not None:
        events = " | ".join(e.name for e in step.wait.events)
        pivot = ", PIVOT" if index == saga.pivot_index else ""
        text = f"{step.name}: awaits {events} by {step.wait.by.name} (up to {format_ms(step.timeout_ms)}{pivot})"
        return [f"{indent}Note over {make_id('saga', saga.name)}: {mermaid_text(text)}"]
    me, target = make_id("saga", saga.name), make_id("service", step.action.service)
    pivot = ", PIVOT" if index == saga.pivot_index else ""
    text = f"{step.name}: {step.action.command.name} ({timeout_text(step.timeout_ms)}, {attempts_text(step.policy)}{pivot})"
    return [f"{indent}{me}->>{target}: {mermaid_text(text)}"]


def _reply(saga: Saga, step: SagaStep, reply: str) -> str:
    if step.wait is not None:  # an awaited event comes over the bus
        return f"bus-->>{make_id('saga', saga.name)}: {mermaid_text(reply)}"
    return f"{make_id('service', step.action.service)}-->>{make_id('saga', saga.name)}: {mermaid_text(reply)}"


def _compensate(saga: Saga, failed: int, indent: str, ran: tuple[int, ...]) -> list[str]:
    """Undo the completed steps before `failed` (those in `ran`), latest first, then emit `compensated`."""
    me = make_id("saga", saga.name)
    lines = [f"{indent}rect {COMPENSATION_FILL}"]
    for step in reversed([s for i, s in enumerate(saga.steps[:failed]) if i in ran]):
        call = step.compensation
        if call is None:
            continue
        target = make_id("service", call.service)
        text = f"undo {step.name}: {call.command.name} ({attempts_text(call.handler.policy)})"
        lines.append(f"{indent}  {me}--){target}: {mermaid_text(text)}")
        if call.command.success is not None:
            lines.append(f"{indent}  {target}-->>{me}: {mermaid_text(call.command.success.name)}")
    undo = saga.trigger_compensation
    if undo is not None:
        target = make_id("service", undo.service)
        text = f"undo trigger {saga.trigger.name}: {undo.command.name} ({attempts_text(undo.handler.policy)})"
        lines.append(f"{indent}  {me}--){target}: {mermaid_text(text)}")
        if undo.command.success is not None:
            lines.append(f"{indent}  {target}-->>{me}: {mermaid_text(undo.command.success.name)}")
    outcome = saga.on_compensated.name if saga.on_compensated else None
    lines.append(
        f"{indent}  {me}->>bus: {mermaid_text(outcome)}"
        if outcome
        else f"{indent}  Note over {me}: {mermaid_text('compensated')}"
    )
    return lines + [f"{indent}end"]
