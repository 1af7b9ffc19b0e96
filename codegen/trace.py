"""Traceability: from a spec element to the handlers, files and resources behind it.

One module answers "what does this endpoint (event, service, handler, saga)
become?" for both `flowgen trace` (a tree from one element) and the review
page (a table of every entry point). File paths and logical IDs come from
`codegen.names`, the scheme the Python and CloudFormation targets use, and each
spec element keeps the span of the line that declared it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from flowgen_design.codegen import names
from flowgen_design.codegen.diagrams.labels import attempts_text, delivery_lines, idempotency_text
from flowgen_design.codegen.names import Resource
from flowgen_design.dsl.model import ApiEndpoint, Command, Event, Flow, Handler, Saga, SagaStep, Service
from flowgen_design.dsl.source import Span

KINDS = ("endpoint", "event", "service", "handler", "saga")


class UnknownElement(LookupError):
    """The name matches nothing (or too much); the message is one line with a suggestion."""


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class GeneratedPath:
    path: PurePosixPath
    role: str


# ---- what each element becomes -------------------------------------------------------


def handler_files(flow: Flow, handler: Handler) -> tuple[GeneratedPath, ...]:
    return (
        GeneratedPath(names.handler_interface_path(flow, handler.service), "handler interface (generated)"),
        GeneratedPath(names.service_impl_path(flow, handler.service), "implementation (yours to edit)"),
        GeneratedPath(names.adapter_path(flow, handler.service), "Lambda adapter (generated)"),
    )


def qualified(handler: Handler) -> str:
    return f"{handler.service}.{handler.name}"


def _resource(r: Resource, relation: str = "resource") -> Link:
    return Link("resource", r.logical_id, relation, detail=r.type)


def _event_leaf(event: Event, relation: str) -> Link:
    return Link("event", event.name, relation, event.name_span)


def handler_link(flow: Flow, handler: Handler, relation: str = "") -> Link:
    files = tuple(Link("file", str(f.path), "file", detail=f.role) for f in handler_files(flow, handler))
    resources = tuple(_resource(r) for r in names.handler_resources(handler))
    verb = "replies" if isinstance(handler.input, Command) else "may publish"
    outputs = tuple(_event_leaf(e, verb) for e in handler.outputs)
    children = (_policy_link(handler),) + files + resources + outputs
    return Link("handler", qualified(handler), relation, handler.span, _handler_input(handler), children)


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
    children += [_resource(r) for r in names.saga_resources(saga)]
    children += [_step_link(flow, saga, i, s) for i, s in enumerate(saga.steps)]
    for outcome, event in (
        ("completed", saga.on_completed),
        ("compensated", saga.on_compensated),
        ("failed", saga.on_failed),
    ):
        if event is not None:
            children.append(_event_leaf(event, f"on {outcome} emits"))
    return Link(
        "saga",
        saga.name,
        relation,
        saga.name_span,
        f"{len(saga.steps)} step{'s' * (len(saga.steps) != 1)}",
        tuple(children),
    )


def _step_link(flow: Flow, saga: Saga, index: int, step: SagaStep) -> Link:
    children = [handler_link(flow, step.action.handler, f"sends {step.action.command.name} to")]
    if step.compensation is not None:
        children.append(handler_link(flow, step.compensation.handler, f"undone by {step.compensation.command.name} to"))
    detail = "pivot" if index == saga.pivot_index else ("readonly" if step.readonly else "")
    return Link("step", f"{index + 1}. {step.name}", "step", step.span, detail, tuple(children))


def event_link(flow: Flow, event: Event, relation: str = "", with_publishers: bool = True) -> Link:
    index = _event_index(flow)
    children = [_resource(names.event_bus_resource(), "carried by")]
    if with_publishers:
        children += index.publishers.get(event.name, ())
    children += [handler_link(flow, h, "subscribed by") for h in flow.subscribers(event.name)]
    children += [saga_link(flow, s, "starts") for s in flow.triggered_sagas(event.name)]
    children += index.awaiting.get(event.name, ())
    children += index.consumers.get(event.name, ())
    return Link("event", event.name, relation, event.name_span, _payload(event), tuple(children))


@dataclass(frozen=True)
class _EventIndex:
    """Per event name, the links that point at it from elsewhere in the flow, in declaration order.

    Built in one pass over the flow: the review page links every event, and
    searching the whole flow once per event grew with events x handlers.
    """

    publishers: dict[str, list[Link]]
    awaiting: dict[str, list[Link]]
    consumers: dict[str, list[Link]]


_last_index: tuple[Flow, _EventIndex] | None = None


def _event_index(flow: Flow) -> _EventIndex:
    """The index of `flow`, kept for the flow last asked about (generation handles one flow at a time)."""
    global _last_index
    if _last_index is None or _last_index[0] is not flow:
        _last_index = (flow, _EventIndex(_publishers(flow), _awaiting(flow), _consumers(flow)))
    return _last_index[1]


def _awaiting(flow: Flow) -> dict[str, list[Link]]:
    """Sagas that wait for an event as the reply to one of their commands, at their first such call."""
    found: dict[str, list[Link]] = {}
    for saga in flow.sagas:
        seen: set[str] = set()
        for call in (c for step in saga.steps for c in (step.action, step.compensation) if c is not None):
            for name in _names(call.command.replies) - seen:
                seen.add(name)
                found.setdefault(name, []).append(Link("saga", saga.name, "awaited by", call.span))
    return found


def _consumers(flow: Flow) -> dict[str, list[Link]]:
    found: dict[str, list[Link]] = {}
    for x in flow.externals:
        for name in _names(x.consumes):
            found.setdefault(name, []).append(Link("external", x.name, "consumed by", x.name_span))
    return found


def _names(events: tuple[Event, ...]) -> set[str]:
    return {e.name for e in events}


def _payload(event: Event) -> str:
    return f"{len(event.fields)} field{'s' * (len(event.fields) != 1)}" + (
        f", key {event.key.name}" if event.key else ""
    )


def _publishers(flow: Flow) -> dict[str, list[Link]]:
    found: dict[str, list[Link]] = {}

    def add(name: str, link: Link) -> None:
        found.setdefault(name, []).append(link)

    for service in flow.services:
        for a in service.apis:
            add(a.event.name, Link("endpoint", a.route, "published by", a.span, f"of {service.name}"))
        for name in _ordered_names(service.publishes):
            add(name, Link("service", service.name, "published by", service.name_span))
        for h in service.handlers:
            if isinstance(h.input, Command):
                for name in _ordered_names(h.outputs):
                    add(name, Link("handler", qualified(h), "replied by", h.span, _handler_input(h)))
    for saga in flow.sagas:
        for name in _ordered_names(
            tuple(e for e in (saga.on_completed, saga.on_compensated, saga.on_failed) if e is not None)
        ):
            add(name, Link("saga", saga.name, "published by", saga.name_span))
    for x in flow.externals:
        for name in _ordered_names(x.publishes):
            add(name, Link("external", x.name, "published by", x.name_span))
    return found


def _ordered_names(events: tuple[Event, ...]) -> list[str]:
    """Each event name once: one link per element, however often the element names the event."""
    return list(dict.fromkeys(e.name for e in events))


def endpoint_link(flow: Flow, api: ApiEndpoint, relation: str = "") -> Link:
    service = flow.service(api.service)
    children = [Link("service", api.service, "served by", service.name_span if service else None)]
    children += [_resource(r) for r in names.api_resources(api)]
    children.append(event_link(flow, api.event, "puts on the bus", with_publishers=False))
    return Link("endpoint", api.route, relation, api.span, f"publishes {api.event.name}", tuple(children))


def service_link(flow: Flow, service: Service) -> Link:
    children = [
        Link(
            "endpoint",
            a.route,
            "entry point",
            a.span,
            f"publishes {a.event.name}",
            tuple(_resource(r) for r in names.api_resources(a)),
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
    return found


def trace(flow: Flow, name: str) -> Link:
    """The trace tree of the element `name`: `POST /orders`, `OrderPlaced`,
    `Orders`, `Orders.cancel_order` or `Checkout`, optionally as `KIND:NAME`."""
    elements = _elements(flow)
    kind, sep, bare = name.partition(":")
    wanted = kind if sep and kind in KINDS else None
    key = (bare if wanted else name).strip()
    if re.match(r"(?i)^(get|post|put|patch|delete)\s", key):
        key = _route_key(key)
    matches = [(k, o) for k, o in elements.get(key, []) if wanted in (None, k)]
    if not matches:
        raise UnknownElement(_not_found(flow, name, list(elements)))
    if len(matches) > 1:
        kinds = " and ".join(f"a {k}" for k, _ in matches)
        raise UnknownElement(f"`{key}` names {kinds}: write {' or '.join(f'`{k}:{key}`' for k, _ in matches)}")
    return _link_of(flow, *matches[0])


def _link_of(flow: Flow, kind: str, obj: object) -> Link:
    if isinstance(obj, ApiEndpoint):
        return endpoint_link(flow, obj)
    if isinstance(obj, Event):
        return event_link(flow, obj)
    if isinstance(obj, Service):
        return service_link(flow, obj)
    if isinstance(obj, Handler):
        return handler_link(flow, obj)
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
        else " (an endpoint like `POST /orders`, an event, a service, `Service.handler` or a saga)"
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


@dataclass(frozen=True)
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
            resources = names.api_resources(api) + (names.event_bus_resource(),)
            rows.append(
                TraceRow(
                    api.route,
                    api.span,
                    f"{service.name}: puts {api.event.name} on the bus",
                    service.name_span,
                    (),
                    resources,
                )
            )
    for event in flow.events:
        rows += [_handler_row(flow, f"event {event.name}", event.name_span, h) for h in flow.subscribers(event.name)]
        rows += [
            TraceRow(f"event {event.name}", event.name_span, f"saga {s.name}", s.name_span, (), names.saga_resources(s))
            for s in flow.triggered_sagas(event.name)
        ]
    called: set[tuple[str, str]] = set()
    for saga in flow.sagas:
        for step in saga.steps:
            for call, what in ((step.action, "step"), (step.compensation, "undo")):
                if call is not None:
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
        entry, span, qualified(handler), handler.span, handler_files(flow, handler), names.handler_resources(handler)
    )
