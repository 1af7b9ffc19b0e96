"""The AsyncAPI 3.0 document of a flow, built as plain data.

Layout:
- a channel per event (address = the event's `channel`, else its name, which is
  the EventBridge detail-type; the source is the flow name) and per command (the queue of the
  service that handles it); a command with replies also gets a reply channel,
  the saga's task-token callback, whose messages are the reply events;
- operations per participant, named `<Owner>.<verb>.<what>` (owners share one
  namespace in the spec, so the names never clash): a service *receives* on
  each handler and *sends* everything it may publish (API events, its
  `publishes`, command replies); a saga receives its trigger, sends each step's
  command and compensation and its outcome events; an external system sends
  and receives what it is declared to;
- messages and the schemas of records and enums under `components`.

Every message travels with an envelope (message id, correlation and causation
ids, saga instance, schema version, time): described as the message's
`headers` (schema `flowgen.Envelope`; an event with `header` fields has them
under the envelope's `headers`). On the wire it is not a transport header:
an event's EventBridge `detail` is `{"envelope": <headers>, "payload": <payload>}`
and a saga command's SQS body carries `"envelope"` and `"payload"` side by side;
`x-flowgen-envelope` on each message says so.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

from flowgen_design.codegen.aws.plan import plan_of
from flowgen_design.codegen.targets.asyncapi import extensions
from flowgen_design.codegen.targets.asyncapi.schemas import enum_schema, object_schema, payload_schema, record_schema
from flowgen_design.dsl.model import Command, Event, External, Flow, Handler, Message, Saga, Service, StepCall

Node = dict[str, Any]


class Deferred(NamedTuple):
    """An entry of one of the document's maps (a channel, an operation, a message, a schema),
    made by `make()` from `inputs` alone: the elements it reads, everything they reach included
    (`codegen.fragments`). `document` makes every entry; the target makes an entry only when the
    last run's document lacks one with the same inputs (`asyncapi._written`)."""

    inputs: tuple[object, ...]
    make: Callable[[], Node]


ASYNCAPI_VERSION = "3.0.0"
CONTENT_TYPE = "application/json"
ENVELOPE_SCHEMA = "flowgen.Envelope"
"""A component name no spec declaration can take (spec names have no dot)."""

_ID = {"type": "string", "minLength": 1}
ENVELOPE: Node = {
    "type": "object",
    "description": (
        "Who a message is and where it comes from. Not a transport header: it travels beside the payload "
        "(see `x-flowgen-envelope`)."
    ),
    "required": ["message_id", "correlation_id", "causation_id", "saga_instance", "schema_version", "time"],
    "properties": {
        "message_id": {**_ID, "description": "The message's identity, the same on every redelivery and retry."},
        "correlation_id": {**_ID, "description": "Shared by every message that follows from the same first one."},
        "causation_id": {"type": ["string", "null"], "description": "The message id of the message that caused it."},
        "saga_instance": {"type": ["string", "null"], "description": "The saga execution, for saga messages."},
        "schema_version": {**_ID, "description": "The version of the flow that wrote the message."},
        "time": {"type": "string", "format": "date-time", "description": "When the message was sent."},
        "timeout_seconds": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "Saga commands only: the step's timeout; its deadline is `time` plus this.",
        },
        "sequence": {
            "type": "integer",
            "minimum": 1,
            "description": (
                "Events `ordered by` a field only: the message's place in its key's order (1, 2, ...), "
                "given by its publisher; subscribers handle a key's messages in this order."
            ),
        },
    },
    "additionalProperties": False,
}
EVENT_WIRE = (
    'EventBridge `detail` = {"envelope": <headers>, "payload": <payload>}; '
    "a bare payload from an external publisher is accepted, its envelope made from the EventBridge event"
)
COMMAND_WIRE = (
    'SQS body = {"kind": "saga-command", "saga", "step", "command", '
    '"payload": <payload>, "envelope": <headers>, "taskToken"}'
)


def _pointer(*parts: str) -> str:
    """A JSON pointer into this document (RFC 6901 escaping)."""
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _ref(*parts: str) -> Node:
    return {"$ref": _pointer(*parts)}


def reply_channel(command: Command) -> str:
    return f"{command.name}.replies"


def _described(node: Node, doc: str | None) -> Node:
    if doc:
        node["description"] = doc
    return node


# ---- channels and messages -------------------------------------------------------------


def _channel(address: str | None, doc: str | None, messages: tuple[Message, ...]) -> Node:
    node: Node = {"address": address}
    _described(node, doc)
    node["messages"] = {m.name: _ref("components", "messages", m.name) for m in messages}
    return node


def _event_channel(source: str, event: Event) -> Node:
    node = _channel(event.address, event.doc, (event,))
    node["x-flowgen-eventbridge"] = {"source": source, "detail-type": event.name}
    return node


def _replies_channel(command: Command) -> Node:
    doc = (
        f"Replies to `{command.name}`, returned to the saga that sent it. The first, "
        f"`{command.replies[0].name}`, is success; any other fails the step."
    )
    return _channel(None, doc, command.replies)


def channels(flow: Flow) -> dict[str, Deferred]:
    out: dict[str, Deferred] = {}
    for event in flow.events:
        out[event.name] = Deferred(("event", flow.name, event), partial(_event_channel, flow.name, event))
    for command in flow.commands:
        out[command.name] = Deferred(("command", command), partial(_channel, command.name, command.doc, (command,)))
        if command.replies:
            out[reply_channel(command)] = Deferred(("replies", command), partial(_replies_channel, command))
    return out


def message(m: Event | Command) -> Node:
    node: Node = {"name": m.name}
    _described(node, m.doc)
    node["contentType"] = CONTENT_TYPE
    node["headers"] = headers_schema(m)
    node["payload"] = payload_schema(m)
    node["x-flowgen-kind"] = m.kind
    node["x-flowgen-envelope"] = COMMAND_WIRE if isinstance(m, Command) else EVENT_WIRE
    node.update(extensions.message(m))
    if isinstance(m, Command) and m.replies:
        node["x-flowgen-replies"] = [r.name for r in m.replies]
    return node


def headers_schema(m: Event | Command) -> Node:
    """The envelope; for an event with `header` fields, the envelope with those under `headers`."""
    if not isinstance(m, Event) or not m.headers:
        return _ref("components", "schemas", ENVELOPE_SCHEMA)
    declared = object_schema(m.headers, "The headers the spec declares on this event.")
    required = [*ENVELOPE["required"], *(["headers"] if "required" in declared else [])]
    return {**ENVELOPE, "required": required, "properties": {**ENVELOPE["properties"], "headers": declared}}


def components(flow: Flow) -> Node:
    schemas: Node = {r.name: Deferred(("record", r), partial(record_schema, r)) for r in flow.records}
    schemas.update({e.name: Deferred(("enum", e), partial(enum_schema, e)) for e in flow.enums})
    schemas[ENVELOPE_SCHEMA] = ENVELOPE
    typed: list[Event | Command] = [*flow.events, *flow.commands]
    messages: Node = {m.name: Deferred(("message", m), partial(message, m)) for m in typed}
    out: Node = {}
    if schemas:
        out["schemas"] = schemas
    out["messages"] = messages
    return out


# ---- operations -----------------------------------------------------------------------------


def _operation(action: str, channel: str, owner: str, summary: str, doc: str | None = None) -> Node:
    node: Node = {"action": action, "channel": _ref("channels", channel), "summary": summary}
    _described(node, doc)
    node["tags"] = [{"name": owner}]
    node["messages"] = [_ref("channels", channel, "messages", channel)]
    return node


def _reply(command: Command) -> Node:
    channel = reply_channel(command)
    return {
        "channel": _ref("channels", channel),
        "messages": [_ref("channels", channel, "messages", r.name) for r in command.replies],
    }


def _receive(flow: Flow, handler: Handler) -> Node:
    message = handler.input
    summary = f"`{handler.service}.{handler.name}` handles {handler.trigger} `{message.name}`."
    node = _operation("receive", message.name, handler.service, summary, handler.doc)
    if isinstance(message, Command) and message.replies:
        node["reply"] = _reply(message)
    planned = plan_of(flow).handler(handler)
    node["bindings"] = extensions.sqs_binding(planned)
    node["x-flowgen-handler"] = planned.entry_point
    node["x-flowgen-emits"] = [e.name for e in handler.outputs]
    node.update(extensions.delivery(handler.policy))
    return node


def sent_events(service: Service) -> tuple[Event, ...]:
    """Everything a service may publish: API events, `publishes`, handler outputs."""
    found: dict[str, Event] = {}
    for event in (
        *(a.event for a in service.apis),
        *service.publishes,
        *(e for h in service.handlers for e in h.outputs),
    ):
        found.setdefault(event.name, event)
    return tuple(found.values())


def _send(service: Service, event: Event) -> Node:
    apis = [a for a in service.apis if a.event.name == event.name]
    docs = "\n\n".join(a.doc for a in apis if a.doc)
    node = _operation("send", event.name, service.name, f"`{service.name}` publishes `{event.name}`.", docs or None)
    if apis:
        node["x-flowgen-api"] = [a.route for a in apis]
        node["x-flowgen-api-auth"] = {a.route: a.auth.describe() for a in apis}
    return node


def service_operations(flow: Flow, service: Service) -> Node:
    plan = plan_of(flow)
    out: Node = {
        f"{service.name}.receive.{h.name}": Deferred(("receive", h, plan.handler(h)), partial(_receive, flow, h))
        for h in service.handlers
    }
    out.update(
        {
            f"{service.name}.send.{e.name}": Deferred(("send", service, e), partial(_send, service, e))
            for e in sent_events(service)
        }
    )
    return out


def _step_send(saga: Saga, call: StepCall, what: str, doc: str | None) -> Node:
    summary = f"Saga `{saga.name}` sends `{call.command.name}` to `{call.service}` ({what})."
    node = _operation("send", call.command.name, saga.name, summary, doc)
    if call.command.replies:
        node["reply"] = _reply(call.command)
    return node


def saga_operations(saga: Saga) -> Node:
    out: Node = {}
    summary = f"`{saga.trigger.name}` starts saga `{saga.name}`."
    out[f"{saga.name}.trigger.{saga.trigger.name}"] = _operation("receive", saga.trigger.name, saga.name, summary)
    if saga.trigger_compensation is not None:
        out[f"{saga.name}.compensate.trigger"] = _step_send(
            saga, saga.trigger_compensation, f"undoes the trigger `{saga.trigger.name}`", None
        )
    for step in saga.steps:
        if step.wait is not None:  # the saga consumes the awaited events (docs/semantics.md, section 11)
            for awaited in step.wait.events:
                summary = (
                    f"Saga `{saga.name}` waits for `{awaited.name}` (step `{step.name}`, by `{step.wait.by.name}`)."
                )
                out[f"{saga.name}.await.{step.name}.{awaited.name}"] = _operation(
                    "receive", awaited.name, saga.name, summary, step.doc
                )
            continue
        node = _step_send(saga, step.action, f"step `{step.name}`", step.doc)
        node.update(extensions.retries(step.policy))
        out[f"{saga.name}.step.{step.name}"] = node
        if step.compensation is not None:
            out[f"{saga.name}.compensate.{step.name}"] = _step_send(
                saga, step.compensation, f"undoes step `{step.name}`", None
            )
    for outcome, event in (
        ("completed", saga.on_completed),
        ("compensated", saga.on_compensated),
        ("failed", saga.on_failed),
    ):
        if event is not None:
            summary = f"Saga `{saga.name}` emits `{event.name}` when it has {outcome}."
            out[f"{saga.name}.{outcome}.{event.name}"] = _operation("send", event.name, saga.name, summary)
    for named in saga.named_outcomes:
        summary = f"Saga `{saga.name}` emits `{named.event.name}` when it ends `{named.kind}`."
        out[f"{saga.name}.{named.kind}.{named.event.name}"] = _operation("send", named.event.name, saga.name, summary)
    return out


def external_operations(external: External) -> Node:
    out: Node = {}
    for event in external.publishes:
        summary = f"External `{external.name}` publishes `{event.name}`."
        out[f"{external.name}.send.{event.name}"] = _operation("send", event.name, external.name, summary)
    for event in external.consumes:
        summary = f"External `{external.name}` consumes `{event.name}`."
        out[f"{external.name}.receive.{event.name}"] = _operation("receive", event.name, external.name, summary)
    return out


def operations(flow: Flow) -> Node:
    out: Node = {}
    for service in flow.services:
        out.update(service_operations(flow, service))
    for saga in flow.sagas:
        out.update(saga_operations(saga))
    for external in flow.externals:
        out.update(external_operations(external))
    return out


# ---- the document ---------------------------------------------------------------------------


def info(flow: Flow) -> Node:
    doc = flow.doc or f"Events, commands and the services that exchange them in flow `{flow.name}`."
    return {"title": flow.name, "version": flow.version, "description": doc}


def document(flow: Flow) -> Node:
    """The whole AsyncAPI document, keys in the order the specification lists them."""
    return made(deferred_document(flow))


def made(doc: Node) -> Node:
    """`doc` with every entry made (`Deferred`): the entries of its maps, and of the components' maps."""
    out: Node = {}
    for name, value in doc.items():
        if isinstance(value, dict):
            value = {key: entry.make() if isinstance(entry, Deferred) else entry for key, entry in value.items()}
            if name == "components":
                value = made(value)
        out[name] = value
    return out


def deferred_document(flow: Flow) -> Node:
    """`document`, with the entries of its large maps left to be made (`Deferred`)."""
    doc: Node = {
        "asyncapi": ASYNCAPI_VERSION,
        "info": info(flow),
        "defaultContentType": CONTENT_TYPE,
        "channels": channels(flow),
        "operations": operations(flow),
        "components": components(flow),
    }
    if flow.sagas:
        doc["x-flowgen-sagas"] = {s.name: extensions.saga(s) for s in flow.sagas}
    return doc
