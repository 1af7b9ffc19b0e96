"""Traceability: from a spec element to the handlers, files and resources behind it.

One module answers "what does this endpoint (event, service, handler, saga)
become?" for both `flowgen trace` (a tree from one element) and the review
page (a table of every entry point). File paths and logical IDs come from
`codegen.names` and the AWS deployment plan (`codegen.aws.plan`), which the
Python and CloudFormation targets render, and each
spec element keeps the span of the line that declared it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from flowgen_design.codegen import names
from flowgen_design.codegen.aws.plan import ALARM, Alarm, Resource, plan_of
from flowgen_design.codegen.diagrams.labels import attempts_text, delivery_lines, idempotency_text
from flowgen_design.dsl.durations import format_ms
from flowgen_design.dsl.frozen import frozen
from flowgen_design.dsl.graph import Arc, event_graph
from flowgen_design.dsl.memo import per_flow
from flowgen_design.dsl.model import ApiEndpoint, Command, Event, External, Flow, Handler, Saga, SagaStep, Service
from flowgen_design.dsl.source import Span

KINDS = ("endpoint", "event", "service", "handler", "saga", "flow")


class UnknownElement(LookupError):
    """The name matches nothing (or too much); the message is one line with a suggestion."""


@frozen(kw_only=False)
class Link:
    """One element of a trace, hanging off its parent by `relation`."""

    kind: str
    name: str
    relation: str = ""
    span: Span | None = None
    detail: str = ""
    children: tuple[Link, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "relation": self.relation,
            "kind": self.kind,
            "name": self.name,
            "detail": self.detail,
            "file": self.span.file if self.span else None,
            "line": self.span.line if self.span else None,
            "children": [c.to_json() for c in self.children],
        }


@frozen(kw_only=False)
class GeneratedPath:
    path: PurePosixPath
    role: str


# ---- what each element becomes -------------------------------------------------------


def handler_files(flow: Flow, handler: Handler) -> tuple[GeneratedPath, ...]:
    """The files a handler's code is in: its service's (asked for every handler, made once per service)."""
    memo = _service_files(flow)
    files = memo.get(handler.service)
    if files is None:
        files = memo[handler.service] = (
            GeneratedPath(names.handler_interface_path(flow, handler.service), "handler interface (generated)"),
            GeneratedPath(names.service_impl_path(flow, handler.service), "implementation (yours to edit)"),
            GeneratedPath(names.adapter_path(flow, handler.service), "Lambda adapter (generated)"),
        )
    return files


@per_flow
def _service_files(flow: Flow) -> dict[str, tuple[GeneratedPath, ...]]:
    """The files of each service of `flow` asked for so far (`handler_files`)."""
    return {}


def qualified(handler: Handler) -> str:
    return f"{handler.service}.{handler.name}"


def _resource(r: Resource, relation: str = "resource") -> Link:
    return Link("resource", r.logical_id, relation, detail=r.type)


def _declared(r: Resource, relation: str, detail: str, children: tuple[Link, ...] = ()) -> Link:
    """A resource with the spec line it comes from (the stack's own, which no element's line names)."""
    return Link("resource", r.logical_id, relation, r.span, f"{r.type}: {detail}", children)


def stack_resources(flow: Flow) -> list[tuple[Resource, str]]:
    """The stack's shared resources, which no one element of the spec declares, with what each is for:
    the bus, its archive, the event-delivery dead-letter queue, the idempotency table, the REST API."""
    planned = plan_of(flow)
    found = [(planned.event_bus, "carries every event of the flow")]
    if planned.archive is not None and flow.archive is not None:
        found.append((planned.archive, f"keeps every event {flow.archive.retention_days} days, to replay"))
    if planned.event_delivery_dlq is not None:
        found.append((planned.event_delivery_dlq, "what a rule could not deliver to its target"))
    if planned.idempotency_table is not None:
        found.append((planned.idempotency_table, "idempotency records of every handler"))
    if planned.api is not None:
        found.append((planned.api.rest_api, f"every endpoint, stage {planned.api.stage.logical_id}"))
    return found


def bus_link(flow: Flow, relation: str) -> Link:
    """The flow's bus, with what keeps its events (`archive 90d`) and where the ones EventBridge cannot
    deliver to a rule's target go (the stack's event-delivery dead-letter queue and its alarm)."""
    planned = plan_of(flow)
    children = []
    for resource, what in stack_resources(flow):
        if resource is planned.archive:
            children.append(_declared(resource, "archived in", what))
        elif resource is planned.event_delivery_dlq:
            alarm = planned.event_delivery_alarm
            alarms = (alarm_link(alarm),) if alarm is not None else ()
            children.append(_declared(resource, "undeliverable to", what, alarms))
    bus = planned.event_bus
    return Link("resource", bus.logical_id, relation, detail=bus.type, children=tuple(children))


def _event_leaf(event: Event, relation: str) -> Link:
    return Link("event", event.name, relation, event.name_span)


def handler_link(flow: Flow, handler: Handler, relation: str = "") -> Link:
    files = tuple(Link("file", str(f.path), "file", detail=f.role) for f in handler_files(flow, handler))
    resources = tuple(_resource(r) for r in plan_of(flow).handler(handler).traced())
    verb = "replies" if isinstance(handler.input, Command) else "may publish"
    retryable = handler.input.retryable if isinstance(handler.input, Command) else ()
    outputs = tuple(_event_leaf(e, f"{verb} (retryable)" if e in retryable else verb) for e in handler.outputs)
    errors = tuple(Link("error", e, "raises", handler.span, "final: never retried") for e in handler.raises)
    alarms = tuple(alarm_link(a) for a in plan_of(flow).handler(handler).alarms)
    order = _order_link(flow, handler)
    children = (_policy_link(handler), *order) + files + resources + outputs + errors + alarms
    return Link("handler", qualified(handler), relation, handler.span, _handler_input(handler), children)


def _order_link(flow: Flow, handler: Handler) -> tuple[Link, ...]:
    """How an ordered input keeps its order per key (docs/semantics.md, "Per-key order")."""
    ordering = handler.input.ordered_by
    if ordering is None:
        return ()
    gap = plan_of(flow).handler(handler).gap_timeout_seconds
    how = (
        "FIFO queue, one message group per value"
        if gap is None
        else f"the publisher's sequence; ahead: held back, behind: skipped, a gap waited out for {gap}s"
    )
    return (Link("order", f"per {ordering.name}", "order", ordering.span, how),)


def alarm_link(alarm: Alarm) -> Link:
    """An alarm with its rule (`Maximum ApproximateAgeOfOldestMessage > 50 seconds in 60s`), why that
    threshold, and the spec clause it comes from."""
    return Link("alarm", alarm.resource.logical_id, "alarm", alarm.span, f"{alarm.rule}: {alarm.why}")


def _policy_link(handler: Handler) -> Link:
    """The retry policy behind a handler, pointing at the clause that set its attempts."""
    policy = handler.policy
    used = (f"from policy {', '.join(policy.policies)}",) if policy.policies else ()
    detail = ", ".join(delivery_lines(policy)[1:] + (idempotency_text(policy),) + used)
    return Link("policy", attempts_text(policy), "delivery", policy.retry_span, detail)


def _handler_input(handler: Handler) -> str:
    return (
        f"handles command {handler.input.name}"
        if isinstance(handler.input, Command)
        else f"on event {handler.input.name}"
    )


def saga_link(flow: Flow, saga: Saga, relation: str = "") -> Link:
    children = [_event_leaf(saga.trigger, "triggered by")]
    planned = plan_of(flow).saga(saga)
    if saga.trigger_compensation is not None:
        undo = saga.trigger_compensation
        children.append(handler_link(flow, undo.handler, f"trigger undone by {undo.command.name} to"))
    children += [_resource(r) for r in planned.traced() if r.type != ALARM]
    children += [_step_link(flow, saga, i, s) for i, s in enumerate(saga.steps)]
    for outcome, event in (
        ("completed", saga.on_completed),
        ("compensated", saga.on_compensated),
        ("failed", saga.on_failed),
    ):
        if event is not None:
            children.append(_event_leaf(event, f"on {outcome} emits"))
    children += [_event_leaf(o.event, f"on {o.kind} emits") for o in saga.named_outcomes]
    children += [alarm_link(a) for a in planned.all_alarms()]
    return Link(
        "saga",
        saga.name,
        relation,
        saga.name_span,
        f"{len(saga.steps)} step{'s' * (len(saga.steps) != 1)}",
        tuple(children),
    )


def _wait_children(flow: Flow, saga: Saga, step: SagaStep) -> list[Link]:
    """What an `await` step waits for: each event (from its publishers), the timeout and its way."""
    assert step.wait is not None
    wait = step.wait
    children = [event_link(flow, e, "waits for" if i == 0 else "or fails on") for i, e in enumerate(wait.events)]
    where = wait.timeout_step or wait.timeout_outcome
    detail = f"matched by {wait.by.name}; then " + (f"-> {where}" if where else "fails as a failure event")
    children.append(Link("wait", f"timeout {format_ms(step.timeout_ms)}", "", step.timeout_span or wait.span, detail))
    starter = plan_of(flow).saga(saga).starter
    children.append(Link("resource", starter.function.logical_id, "registered with", None, "the saga's starter"))
    return children


def _step_link(flow: Flow, saga: Saga, index: int, step: SagaStep) -> Link:
    if step.wait is not None:
        children = _wait_children(flow, saga, step)
    else:
        children = [handler_link(flow, step.action.handler, f"sends {step.action.command.name} to")]
    if step.compensation is not None:
        children.append(handler_link(flow, step.compensation.handler, f"undone by {step.compensation.command.name} to"))
    for b in step.branches:
        block = saga.block_entered_at(b.step)
        where = "a parallel block" if block else "a later step" if b.step is not None else "a named outcome"
        target = block.name if block else b.step or b.outcome
        children.append(Link("branch", f"on {b.reply.name} -> {target}", "", b.span, where))
    detail = "pivot" if index == saga.pivot_index else ("readonly" if step.readonly else "")
    if step.delay_ms:
        detail = ", ".join(filter(None, [detail, f"after {format_ms(step.delay_ms)}"]))
    if step.parallel is not None:
        detail = ", ".join(filter(None, [f"in parallel {step.parallel}", detail]))
    if step.heartbeat_ms:
        detail = ", ".join(filter(None, [detail, f"heartbeat {format_ms(step.heartbeat_ms)}"]))
    return Link("step", f"{index + 1}. {step.name}", "step", step.span, detail, tuple(children))


def event_link(flow: Flow, event: Event, relation: str = "", with_publishers: bool = True) -> Link:
    children = [bus_link(flow, "carried by")]
    if with_publishers:
        children += publisher_links(flow, event)
    children += [_consumer_link(flow, arc) for arc in consumer_arcs(flow, event)]
    return Link("event", event.name, relation, event.name_span, _payload(event), tuple(children))


def publisher_links(flow: Flow, event: Event) -> list[Link]:
    """Who puts `event` on the bus, from the flow's event graph."""
    return [_publisher_link(a) for a in event_graph(flow).publishers(event.name)]


def consumer_arcs(flow: Flow, event: Event) -> list[Arc]:
    """Who reacts to `event`, in the order a trace lists them: subscribed handlers, the sagas it
    starts, the sagas awaiting it (at their first call that does), the external systems."""
    consumers = event_graph(flow).consumers(event.name)
    awaiting: dict[str, Arc] = {}
    for arc in consumers:
        if arc.kind == "awaits" and isinstance(arc.target, Saga):
            awaiting.setdefault(arc.target.name, arc)
    return [
        *(a for a in consumers if a.kind == "subscribes"),
        *(a for a in consumers if a.kind == "triggers"),
        *awaiting.values(),
        *(a for a in consumers if a.kind == "consumes"),
    ]


def _consumer_link(flow: Flow, arc: Arc) -> Link:
    target = arc.target
    if isinstance(target, Handler):
        return handler_link(flow, target, "subscribed by")
    if isinstance(target, Saga):
        return (
            saga_link(flow, target, "starts")
            if arc.kind == "triggers"
            else Link("saga", target.name, "awaited by", arc.span)
        )
    assert isinstance(target, External)
    return Link("external", target.name, "consumed by", arc.span)


def _publisher_link(arc: Arc) -> Link:
    source = arc.source
    if isinstance(source, ApiEndpoint):
        return Link("endpoint", source.route, "published by", source.span, f"of {source.service}")
    if isinstance(source, Handler):
        return Link("handler", qualified(source), "replied by", source.span, _handler_input(source))
    kind = "service" if isinstance(source, Service) else "saga" if isinstance(source, Saga) else "external"
    assert isinstance(source, Service | Saga | External)
    return Link(kind, source.name, "published by", source.name_span)


def _payload(event: Event) -> str:
    headers = f", headers {', '.join(h.name for h in event.headers)}" if event.headers else ""
    channel = f", channel {event.channel}" if event.channel is not None else ""
    return (
        f"{len(event.fields)} field{'s' * (len(event.fields) != 1)}"
        + (f", key {event.key.name}" if event.key else "")
        + headers
        + channel
    )


def endpoint_link(flow: Flow, api: ApiEndpoint, relation: str = "") -> Link:
    service = flow.service(api.service)
    children = [Link("service", api.service, "served by", service.name_span if service else None)]
    children += [_resource(r) for r in plan_of(flow).route(api).traced()]
    children.append(event_link(flow, api.event, "puts on the bus", with_publishers=False))
    return Link("endpoint", api.route, relation, api.span, _endpoint_note(api), tuple(children))


def _endpoint_note(api: ApiEndpoint) -> str:
    """`publishes OrderPlaced; auth iam (default)`: what an endpoint does and who may call it."""
    return f"publishes {api.event.name}; {api.auth.describe()}" + ("" if api.auth.declared else " (default)")


def service_link(flow: Flow, service: Service) -> Link:
    children = [
        Link(
            "endpoint",
            a.route,
            "entry point",
            a.span,
            _endpoint_note(a),
            tuple(_resource(r) for r in plan_of(flow).route(a).traced()),
        )
        for a in service.apis
    ]
    children += [handler_link(flow, h, "handler") for h in service.handlers]
    children += [_event_leaf(e, "publishes") for e in service.publishes]
    return Link(
        "service",
        service.name,
        "",
        service.name_span,
        f"{len(service.handlers)} handler{'s' * (len(service.handlers) != 1)}",
        tuple(children),
    )


def flow_link(flow: Flow) -> Link:
    """The stack's shared resources (bus, archive, event-delivery dead-letter queue, idempotency table,
    REST API) and the flow's elements, each a name to trace further."""
    planned = plan_of(flow)
    children = [bus_link(flow, "bus")]
    shown = (planned.event_bus, planned.archive, planned.event_delivery_dlq)
    children += [_declared(r, "resource", what) for r, what in stack_resources(flow) if r not in shown]
    children += [Link("service", s.name, "service", s.name_span) for s in flow.services]
    children += [Link("saga", s.name, "saga", s.name_span) for s in flow.sagas]
    counts = ", ".join(
        f"{n} {noun}{'s' * (n != 1)}"
        for n, noun in ((len(flow.services), "service"), (len(flow.events), "event"), (len(flow.sagas), "saga"))
    )
    return Link("flow", flow.name, "", flow.span, counts, tuple(children))


# ---- finding an element by the name a user types ---------------------------------------


def _route_key(text: str) -> str:
    method, _, path = text.strip().partition(" ")
    return f"{method.upper()} {path.strip()}"


def _elements(flow: Flow) -> dict[str, list[tuple[str, object]]]:
    """Every traceable name -> the elements of each kind it names."""
    found: dict[str, list[tuple[str, object]]] = {}

    def add(key: str, kind: str, obj: object) -> None:
        found.setdefault(key, []).append((kind, obj))

    for service in flow.services:
        add(service.name, "service", service)
        for api in service.apis:
            add(api.route, "endpoint", api)
        for handler in service.handlers:
            add(qualified(handler), "handler", handler)
    for event in flow.events:
        add(event.name, "event", event)
    for saga in flow.sagas:
        add(saga.name, "saga", saga)
    add(flow.name, "flow", flow)
    return found


def trace(flow: Flow, name: str, out_dir: Path | None = None) -> Link:
    """The trace tree of the element `name`: `POST /orders`, `OrderPlaced`,
    `Orders`, `Orders.cancel_order`, `Checkout` or the flow's name, optionally as `KIND:NAME`.
    A handler's trace also shows the values of `out_dir`'s deployment settings file that apply to it."""
    elements = _elements(flow)
    kind, sep, bare = name.partition(":")
    wanted = kind if sep and kind in KINDS else None
    key = (bare if wanted else name).strip()
    if re.match(r"(?i)^(get|post|put|patch|delete)\s", key):
        key = _route_key(key)
    matches = [(k, o) for k, o in elements.get(key, []) if wanted in (None, k)]
    if not matches:
        # the flow's own name is no suggestion: a saga is often named like its flow, in another case
        raise UnknownElement(_not_found(flow, name, [k for k in elements if k != flow.name]))
    if len(matches) > 1:
        kinds = " and ".join(f"a {k}" for k, _ in matches)
        raise UnknownElement(f"`{key}` names {kinds}: write {' or '.join(f'`{k}:{key}`' for k, _ in matches)}")
    link = _link_of(flow, *matches[0])
    handler = matches[0][1]
    if isinstance(handler, Handler) and out_dir is not None:
        from flowgen_design.codegen.tracesettings import settings_links

        link = replace(link, children=link.children + settings_links(flow, handler, out_dir))
    return link


def _link_of(flow: Flow, kind: str, obj: object) -> Link:
    if isinstance(obj, ApiEndpoint):
        return endpoint_link(flow, obj)
    if isinstance(obj, Event):
        return event_link(flow, obj)
    if isinstance(obj, Service):
        return service_link(flow, obj)
    if isinstance(obj, Handler):
        return handler_link(flow, obj)
    if isinstance(obj, Flow):
        return flow_link(flow)
    assert isinstance(obj, Saga), kind
    return saga_link(flow, obj)


def _not_found(flow: Flow, name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name.strip(), known, n=1, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(name.strip().lower(), [k.lower() for k in known], n=1, cutoff=0.6)
        close = [k for k in known if k.lower() == close[0]][:1] if close else []
    hint = (
        f"; did you mean `{close[0]}`?"
        if close
        else " (an endpoint like `POST /orders`, an event, a service, `Service.handler`, a saga or the flow)"
    )
    return f"flow `{flow.name}` has nothing called `{name}`{hint}"


# ---- text ---------------------------------------------------------------------------------


def render_text(link: Link) -> str:
    """The tree as indented lines, each element with the spec line that declared it."""
    lines = [_line(link)]
    lines += _render_children(link.children, "")
    return "\n".join(lines) + "\n"


def _render_children(children: tuple[Link, ...], prefix: str) -> list[str]:
    lines = []
    for i, child in enumerate(children):
        last = i == len(children) - 1
        lines.append(prefix + ("└─ " if last else "├─ ") + _line(child))
        lines += _render_children(child.children, prefix + ("   " if last else "│  "))
    return lines


def _line(link: Link) -> str:
    text = f"{link.relation} " if link.relation and link.relation != link.kind else ""
    text += f"{link.kind} {link.name}"
    if link.detail:
        text += f" ({link.detail})"
    if link.span is not None:
        text += f"  {link.span.file}:{link.span.line}"
    return text


# ---- the review page's table ------------------------------------------------------------


@frozen(kw_only=False)
class TraceRow:
    """Entry point or event -> handler -> generated files -> resources."""

    entry: str
    entry_span: Span
    handler: str
    handler_span: Span | None
    files: tuple[GeneratedPath, ...]
    resources: tuple[Resource, ...]


def trace_rows(flow: Flow) -> list[TraceRow]:
    rows: list[TraceRow] = []
    for service in flow.services:
        for api in service.apis:
            resources = plan_of(flow).route(api).traced() + (plan_of(flow).event_bus,)
            rows.append(
                TraceRow(
                    api.route,
                    api.span,
                    f"{service.name}: puts {api.event.name} on the bus ({api.auth.describe()})",
                    service.name_span,
                    (),
                    resources,
                )
            )
    graph = event_graph(flow)
    for event in flow.events:
        consumers = graph.consumers(event.name)
        subscribers = [a.target for a in consumers if isinstance(a.target, Handler)]
        rows += [_handler_row(flow, f"event {event.name}", event.name_span, h) for h in subscribers]
        rows += [
            TraceRow(
                f"event {event.name}",
                event.name_span,
                f"saga {s.name}",
                s.name_span,
                (),
                plan_of(flow).saga(s).traced(),
            )
            for s in (a.target for a in consumers if a.kind == "triggers" and isinstance(a.target, Saga))
        ]
    called: set[tuple[str, str]] = set()
    for saga in flow.sagas:
        for step in saga.steps:
            for call, what in ((step.action, "step"), (step.compensation, "undo")):
                if call is not None and not (call is step.action and step.wait is not None):
                    called.add((call.handler.service, call.handler.name))
                    rows.append(
                        _handler_row(
                            flow,
                            f"command {call.command.name} (saga {saga.name}, {what} {step.name})",
                            call.span,
                            call.handler,
                        )
                    )
    for handler in flow.handlers():
        if isinstance(handler.input, Command) and (handler.service, handler.name) not in called:
            rows.append(_handler_row(flow, f"command {handler.input.name}", handler.input.name_span, handler))
    return rows


def _handler_row(flow: Flow, entry: str, span: Span, handler: Handler) -> TraceRow:
    return TraceRow(
        entry,
        span,
        qualified(handler),
        handler.span,
        handler_files(flow, handler),
        plan_of(flow).handler(handler).traced(),
    )
