"""The sections of the review page, each a function from the model to `Html`."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from typing import NamedTuple

from flowgen_design.codegen.aws.plan import Alarm, plan_of
from flowgen_design.codegen.diagrams.labels import (
    attempts_text,
    handler_text,
    idempotency_text,
    sends_text,
    timeout_text,
)
from flowgen_design.codegen.fragments import Fragments, where
from flowgen_design.codegen.targets.review.html import Child, Html, anchor, el, table
from flowgen_design.codegen.trace import TraceRow, stack_resources, trace_rows
from flowgen_design.dsl.diagnostics import Diagnostic
from flowgen_design.dsl.graph import Element
from flowgen_design.dsl.model import (
    Command,
    Constraints,
    EndpointAuth,
    EnumMember,
    EnumType,
    Event,
    External,
    Field,
    Flow,
    Handler,
    Record,
    Saga,
    SagaStep,
    Service,
    type_text,
)
from flowgen_design.dsl.source import Span


def loc(span: Span | None) -> Html:
    return el("span", where(span.file, span.line), class_="loc") if span else Html("")


def doc(text: str | None) -> Html:
    return el("p", text, class_="doc") if text else Html("")


def chip(kind: str, text: str, link: bool = True) -> Html:
    label = el("span", text, class_=f"chip {kind}")
    return el("a", label, href=f"#{anchor(kind, text)}") if link else label


def joined(items: Iterable[Child], empty: str = "—") -> Child:
    items = list(items)
    return [[item, ", " if i < len(items) - 1 else ""] for i, item in enumerate(items)] if items else empty


# ---- warnings ------------------------------------------------------------------------


def warnings_section(warnings: tuple[Diagnostic, ...]) -> Html:
    if not warnings:
        return el("p", "flowgen check reported no warnings.", class_="muted")
    items = []
    for d in warnings:
        hint = el("div", "help: ", d.hint, class_="muted") if d.hint else None
        items.append(
            el(
                "li",
                el("span", f"{d.span.file}:{d.span.line}:{d.span.column}", class_="loc"),
                " ",
                el("span", f"warning[{d.code}]", class_="chip warn"),
                " ",
                d.message,
                hint,
            )
        )
    return el("ul", items, class_="warnings")


# ---- events and payload types -----------------------------------------------------------


def constraints_text(c: Constraints) -> str:
    parts = [
        f"{name} {value}"
        for name, value in (
            ("min", c.minimum),
            ("max", c.maximum),
            ("min length", c.min_length),
            ("max length", c.max_length),
        )
        if value is not None
    ]
    if c.pattern is not None:
        parts.append(f"pattern {c.pattern}")
    return ", ".join(parts)


def fields_table(fields: tuple[Field, ...], event: Event | None = None) -> Html:
    rows = []
    for f in fields:
        marks = [
            m
            for m, k in (("key", event.key if event else None), ("ordered by", event.ordered_by if event else None))
            if k is not None and k.name == f.name
        ]
        rows.append(
            [
                el("code", f.name),
                el("code", type_text(f.type)),
                ", ".join(marks),
                constraints_text(f.constraints),
                doc(f.doc),
                loc(f.span),
            ]
        )
    if not rows:
        return el("p", "No payload fields.", class_="muted")
    return table(["field", "type", "role", "constraints", "description", "spec"], rows, class_="fields")


def event_article(flow: Flow, event: Event, publishers: Sequence[Child], consumers: Sequence[Child]) -> Html:
    facts = el(
        "dl",
        el("dt", "key"),
        el("dd", el("code", event.key.name) if event.key else "—"),
        el("dt", "ordered by"),
        el("dd", el("code", event.ordered_by.name) if event.ordered_by else "—"),
        el("dt", "published by"),
        el("dd", joined(publishers)),
        el("dt", "consumed by"),
        el("dd", joined(consumers)),
        class_="facts",
    )
    title = el("h3", chip("event", event.name, link=False), " ", loc(event.name_span))
    return el(
        "article",
        title,
        doc(event.doc),
        facts,
        fields_table(event.fields, event),
        *_headers_and_channel(event),
        id=anchor("event", event.name),
    )


def _headers_and_channel(event: Event) -> list[Html]:
    """An event's `header` fields (they travel in the envelope) and its AsyncAPI channel, if declared."""
    parts = []
    if event.channel is not None:
        parts.append(el("p", "AsyncAPI channel ", el("code", event.channel), class_="muted"))
    if event.headers:
        parts += [el("h4", "Headers (in the envelope)"), fields_table(event.headers)]
    return parts


def events_section(flow: Flow, pieces: Fragments | None = None) -> Html:
    """Each event with who publishes and who consumes it, from the flow's event graph."""
    from flowgen_design.codegen.trace import consumer_arcs, publisher_links

    articles = []
    for event in flow.events:
        publishers = tuple((link.kind, link.name) for link in publisher_links(flow, event))
        consumers = tuple(_consumer(a.target) for a in consumer_arcs(flow, event))
        render = partial(_event_article, flow, event, publishers, consumers)
        spans = (event.name_span, *(f.span for f in event.fields), *(h.span for h in event.headers))
        articles.append(_piece(pieces, "event", (event, publishers, consumers), render, spans))
    return Html("".join(articles))


def _event_article(
    flow: Flow, event: Event, publishers: tuple[tuple[str, str], ...], consumers: tuple[tuple[str, str], ...]
) -> Html:
    return event_article(flow, event, [_mention(*p) for p in publishers], [_mention(*c) for c in consumers])


def _piece(
    pieces: Fragments | None,
    kind: str,
    inputs: tuple[object, ...],
    render: Callable[[], Html],
    positions: Sequence[Span | None],
) -> Html:
    """One article: taken back from the last run's page when its inputs did not change;
    `positions` are the spans it prints (`loc`)."""
    return render() if pieces is None else Html(pieces.piece(kind, inputs, render, positions))


def _consumer(element: Element) -> tuple[str, str]:
    if isinstance(element, Handler):
        return "handler", f"{element.service}.{element.name}"
    assert isinstance(element, Saga | External)
    return ("saga" if isinstance(element, Saga) else "external"), element.name


def _mention(kind: str, name: str) -> Html:
    if kind == "handler":
        service = name.split(".", 1)[0]
        return el("a", el("code", name), href=f"#{anchor('service', service)}")
    return chip(kind, name, link=kind in ("service", "saga", "external"))


def types_section(flow: Flow, pieces: Fragments | None = None) -> Html:
    parts: list[Child] = [
        *(
            _piece(pieces, "record", (r,), partial(_record, r), _fields_spans(r.name_span, r.fields))
            for r in flow.records
        ),
        *(_piece(pieces, "enum", (e,), partial(_enum, e), _fields_spans(e.name_span, e.members)) for e in flow.enums),
    ]
    return Html(render_all(parts)) if parts else el("p", "No shared types.", class_="muted")


def _fields_spans(name: Span | None, parts: Iterable[Field | EnumMember | SagaStep]) -> tuple[Span | None, ...]:
    """An element's name's position and its parts' (fields, members, steps): what its article prints."""
    return (name, *(part.span for part in parts))


def render_all(parts: list[Child]) -> str:
    from flowgen_design.codegen.targets.review.html import render

    return render(parts)


def _record(record: Record) -> Html:
    return el(
        "article",
        el("h3", el("code", record.name), " ", loc(record.name_span)),
        doc(record.doc),
        fields_table(record.fields),
        id=anchor("type", record.name),
    )


def _enum(enum: EnumType) -> Html:
    rows = [[el("code", m.name), doc(m.doc), loc(m.span)] for m in enum.members]
    return el(
        "article",
        el("h3", el("code", enum.name), " (enum) ", loc(enum.name_span)),
        doc(enum.doc),
        table(["member", "description", "spec"], rows),
        id=anchor("type", enum.name),
    )


# ---- services -------------------------------------------------------------------------------


def services_section(flow: Flow, pieces: Fragments | None = None) -> Html:
    if not flow.services:
        return el("p", "No services.", class_="muted")
    return Html(
        "".join(_piece(pieces, "service", (s,), partial(_service, s), _service_spans(s)) for s in flow.services)
    )


def _service_spans(service: Service) -> tuple[Span | None, ...]:
    return (service.name_span, *(a.span for a in service.apis), *(h.span for h in service.handlers))


def _service(service: Service) -> Html:
    apis = [
        [el("code", a.route), chip("event", a.event.name), _auth(a.auth), doc(a.doc), loc(a.span)] for a in service.apis
    ]
    parts: list[Child] = [
        el("h3", chip("service", service.name, link=False), " ", loc(service.name_span)),
        doc(service.doc),
    ]
    parts.append(
        el(
            "dl",
            el("dt", "publishes"),
            el("dd", joined(chip("event", e.name) for e in service.publishes)),
            class_="facts",
        )
    )
    if apis:
        parts.append(table(["entry point", "publishes", "who may call", "description", "spec"], apis))
    parts.append(handlers_table(service.handlers) if service.handlers else el("p", "No handlers.", class_="muted"))
    return el("article", parts, id=anchor("service", service.name))


def _auth(auth: EndpointAuth) -> Html:
    """Who may call an endpoint; a public one is marked as the warning it is."""
    text = auth.describe() + ("" if auth.declared else " (default)")
    return el("code", text, class_="public" if auth.kind == "none" else None)


def handlers_table(handlers: tuple[Handler, ...]) -> Html:
    rows = []
    for h in handlers:
        trigger = (
            ["command ", chip("command", h.input.name, link=False)]
            if h.trigger == "command"
            else ["event ", chip("event", h.input.name)]
        )
        policy = h.policy
        rows.append(
            [
                el("code", h.name),
                trigger,
                joined(_outputs(h)),
                attempts_text(policy),
                timeout_text(policy.timeout_ms),
                "yes" if policy.dlq else "no",
                idempotency_text(policy),
                [doc(h.doc), loc(h.span)],
            ]
        )
    return table(
        ["handler", "input", "outputs", "retries", "timeout", "DLQ", "idempotency", "spec"], rows, class_="handlers"
    )


def _outputs(handler: Handler) -> list[Child]:
    """A handler's outputs, `retryable` replies marked, then the errors it `raises` (final at once)."""
    retryable = handler.input.retryable if isinstance(handler.input, Command) else ()
    out: list[Child] = [
        [chip("event", e.name), " (retryable)"] if e in retryable else chip("event", e.name) for e in handler.outputs
    ]
    return out + [["raises ", el("code", e), " (final)"] for e in handler.raises]


def externals_section(flow: Flow) -> Html:
    if not flow.externals:
        return el("p", "No external systems.", class_="muted")
    articles = []
    for x in flow.externals:
        facts = el(
            "dl",
            el("dt", "publishes"),
            el("dd", joined(chip("event", e.name) for e in x.publishes)),
            el("dt", "consumes"),
            el("dd", joined(chip("event", e.name) for e in x.consumes)),
            class_="facts",
        )
        articles.append(
            el(
                "article",
                el("h3", chip("external", x.name, link=False), " ", loc(x.name_span)),
                doc(x.doc),
                facts,
                id=anchor("external", x.name),
            )
        )
    return Html("".join(articles))


# ---- sagas -----------------------------------------------------------------------------------


def sagas_section(flow: Flow, pieces: Fragments | None = None) -> Html:
    if not flow.sagas:
        return el("p", "No sagas.", class_="muted")
    return Html(
        "".join(
            _piece(pieces, "saga", (s,), partial(_saga, s), _fields_spans(s.name_span, s.steps)) for s in flow.sagas
        )
    )


def _saga(saga: Saga) -> Html:
    from flowgen_design.dsl.durations import format_ms

    facts = el(
        "dl",
        el("dt", "trigger"),
        el("dd", chip("event", saga.trigger.name)),
        *_trigger_undo(saga),
        el("dt", "timeout"),
        el("dd", format_ms(saga.timeout_ms) if saga.timeout_ms else "none (the state machine's default)"),
        el("dt", "on completed"),
        el("dd", chip("event", saga.on_completed.name) if saga.on_completed else "no event"),
        el("dt", "on compensated"),
        el("dd", chip("event", saga.on_compensated.name) if saga.on_compensated else "no event"),
        el("dt", "on failed"),
        el("dd", chip("event", saga.on_failed.name) if saga.on_failed else "no event (the alarm still fires)"),
        *[x for o in saga.named_outcomes for x in (el("dt", f"on {o.kind}"), el("dd", chip("event", o.event.name)))],
        class_="facts",
    )
    rows = [_step_row(saga, i, s) for i, s in enumerate(saga.steps)]
    steps = table(
        ["#", "step", "command", "compensation", "pivot", "timeout", "sends and attempts", "spec"], rows, class_="steps"
    )
    return el(
        "article",
        el("h3", chip("saga", saga.name, link=False), " ", loc(saga.name_span)),
        doc(saga.doc),
        facts,
        steps,
        id=anchor("saga", saga.name),
    )


def _trigger_undo(saga: Saga) -> list[Child]:
    undo = saga.trigger_compensation
    if undo is None:
        return []
    text = f"{undo.service}.{undo.command.name} (last, after every step's undo)"
    return [el("dt", "trigger undone by"), el("dd", el("span", text, class_="undo"))]


def _branch_target(saga: Saga, step: str | None, outcome: str | None) -> str:
    block = saga.block_entered_at(step)
    if block is not None:
        return f"parallel {block.name}"
    return f"step {step}" if step else f"outcome {outcome or ''}"


def _branch_notes(saga: Saga, step: SagaStep) -> list[Child]:
    """`on REPLY -> TARGET`, one line per branch of the step."""
    return [el("div", f"on {b.reply.name} -> {_branch_target(saga, b.step, b.outcome)}") for b in step.branches]


def _parallel_note(saga: Saga, index: int) -> list[Child]:
    """A step of a parallel block says so: it runs with its siblings and the saga joins after them."""
    block = saga.block_at(index)
    if block is None:
        return []
    siblings = ", ".join(s.name for i, s in enumerate(saga.steps) if i in block.indexes and i != index)
    return [el("div", f"in parallel {block.name}: at the same time as {siblings}; joins when all succeeded")]


def _wait_row(saga: Saga, index: int, step: SagaStep) -> list[Child]:
    """An `await` step: the events it waits for, how they are matched, where its timeout leads."""
    wait = step.wait
    assert wait is not None
    where = f"step {wait.timeout_step}" if wait.timeout_step else f"outcome {wait.timeout_outcome}"
    notes = [el("div", f"on timeout -> {where}")] if wait.leads_on else []
    from flowgen_design.dsl.durations import format_ms

    heartbeat = f"; heartbeat {format_ms(step.heartbeat_ms)}" if step.heartbeat_ms else ""
    return [
        str(index + 1),
        [el("code", step.name), doc(step.doc), *_parallel_note(saga, index), *_branch_notes(saga, step), *notes],
        el("code", "await " + " | ".join(e.name for e in wait.events) + f" by {wait.by.name}"),
        "a wait: nothing to undo",
        el("span", "PIVOT", class_="pivot") if index == saga.pivot_index else "",
        timeout_text(step.timeout_ms),
        f"waits for an event{heartbeat}",
        loc(step.span),
    ]


def _step_row(saga: Saga, index: int, step: SagaStep) -> list[Child]:
    if step.wait is not None:
        return _wait_row(saga, index, step)
    call = step.action
    if step.compensation is not None:
        undo: Child = el("span", f"{step.compensation.service}.{step.compensation.command.name}", class_="undo")
    elif step.readonly:
        undo = "readonly: nothing to undo"
    else:
        undo = "— (after the pivot: retried until it succeeds)" if index > saga.pivot_index else "—"
    pivot = el("span", "PIVOT", class_="pivot") if index == saga.pivot_index else ""
    return [
        str(index + 1),
        [el("code", step.name), doc(step.doc), *_parallel_note(saga, index), *_branch_notes(saga, step)],
        el("code", f"{call.service}.{call.command.name}"),
        undo,
        pivot,
        timeout_text(step.timeout_ms),
        f"{sends_text(step.policy)}; {handler_text(call.handler.policy)}",
        loc(step.span),
    ]


# ---- tables of rows, taken back in runs -----------------------------------------------------


class Row(NamedTuple):
    """A table row as a part: `text` is everything it prints but positions (plain values, which
    `repr` writes the same in every process), `spans` the positions it prints (`loc`)."""

    text: tuple[object, ...]
    spans: tuple[Span | None, ...]
    cells: Callable[[], list[Child]]


RUN = 16
"""Rows are taken back in runs of about this many: a run ends after a row whose first value's CRC is
a multiple of it, so runs end at the same rows whatever is added or removed elsewhere in the table.
A run is keyed by everything its rows print but positions, written once with `repr`."""


def rows_table(
    pieces: Fragments | None, kind: str, headers: Sequence[str], rows: Iterable[Row], class_: str | None = None
) -> Html:
    """`table(headers, ...)` of `rows`, its runs of rows taken back from the last run's page when
    they print the same (`Fragments.digested`): the bytes of `table`, without writing the rows."""
    head = el("thead", el("tr", [el("th", h, scope="col") for h in headers]))
    body = "".join(_run_text(pieces, kind, run) for run in _runs(rows))
    return el("table", head, el("tbody", Html(body)), class_=class_)


def _runs(rows: Iterable[Row]) -> Iterator[list[Row]]:
    run: list[Row] = []
    for row in rows:
        run.append(row)
        if zlib.crc32(str(row.text[0]).encode("utf-8", "surrogatepass")) % RUN == 0:
            yield run
            run = []
    if run:
        yield run


def _run_text(pieces: Fragments | None, kind: str, run: list[Row]) -> str:
    render = partial(_render_rows, run)
    if pieces is None:
        return render()
    printed = [(row.text, None if None not in row.spans else [span is None for span in row.spans]) for row in run]
    digest = hashlib.sha256(repr(printed).encode("utf-8", "surrogatepass")).digest()
    return pieces.digested(kind, digest, [span for row in run for span in row.spans], render)


def _render_rows(rows: list[Row]) -> Html:
    return Html("".join(el("tr", [el("td", cell) for cell in row.cells()]) for row in rows))


# ---- alarms ------------------------------------------------------------------------------------


def alarms_section(flow: Flow, pieces: Fragments | None = None) -> Html:
    """Every alarm of the deployment plan: what it watches, when it fires, and the spec line the
    threshold comes from (docs/operations.md)."""
    rows = [_alarm_row(a) for a in plan_of(flow).alarms()]
    if not rows:
        return el("p", "Nothing to watch: this flow deploys no handlers or sagas.", class_="muted")
    note = el(
        "p",
        "Each alarm notifies the SNS topic of the stack parameter AlarmTopicArn (none when it is empty); "
        "every period is 60 seconds.",
        class_="muted",
    )
    headers = ["alarm", "watches", "fires when", "why this threshold", "spec"]
    return el("div", note, rows_table(pieces, "alarms", headers, rows))


def _alarm_row(a: Alarm) -> Row:
    text = (a.resource.logical_id, a.watches.logical_id, a.namespace, a.metric, a.statistic, a.comparison)
    return Row((*text, a.threshold, a.unit, a.why), (a.span,), partial(_alarm_cells, a))


def _alarm_cells(a: Alarm) -> list[Child]:
    return [
        el("code", a.resource.logical_id),
        [el("code", a.watches.logical_id), " ", el("span", f"{a.namespace} {a.metric}", class_="muted")],
        el("code", f"{a.statistic} {a.comparison} {a.threshold} {a.unit}"),
        a.why,
        loc(a.span),
    ]


# ---- traceability --------------------------------------------------------------------------


def trace_section(flow: Flow, pieces: Fragments | None = None) -> Html:
    per_entry = rows_table(
        pieces,
        "trace",
        ["entry point or event", "handler", "generated code", "infrastructure (CloudFormation logical IDs)"],
        map(_trace_row, trace_rows(flow)),
        class_="trace",
    )
    return el("div", per_entry, shared_resources_table(flow))


def _trace_row(row: TraceRow) -> Row:
    files = tuple((str(f.path), f.role) for f in row.files)
    resources = tuple((r.logical_id, r.type) for r in row.resources)
    return Row(
        (row.entry, row.handler, files, resources), (row.entry_span, row.handler_span), partial(_trace_cells, row)
    )


def _trace_cells(row: TraceRow) -> list[Child]:
    files = (
        el("ul", [el("li", el("code", str(f.path)), " ", el("span", f.role, class_="muted")) for f in row.files])
        if row.files
        else "—"
    )
    resources = el(
        "ul", [el("li", el("code", r.logical_id), " ", el("span", r.type, class_="muted")) for r in row.resources]
    )
    return [
        [row.entry, " ", loc(row.entry_span)],
        [el("code", row.handler), " ", loc(row.handler_span)],
        files,
        resources,
    ]


def shared_resources_table(flow: Flow) -> Html:
    """The stack's shared resources (bus, event archive, event-delivery dead-letter queue, idempotency
    table, REST API), each with the spec line it comes from."""
    rows = [
        [[el("code", r.logical_id), " ", el("span", r.type, class_="muted")], what, loc(r.span)]
        for r, what in stack_resources(flow)
    ]
    return el("div", el("h3", "Shared by the whole stack"), table(["resource", "what for", "spec"], rows))
