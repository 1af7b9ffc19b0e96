"""What the AsyncAPI document says: payload schemas that accept exactly the spec's
messages, and the channels, operations and delivery facts of every participant."""

from __future__ import annotations

import copy
import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from flowgen_design.codegen.aws.ids import handler_base
from flowgen_design.codegen.names import lambda_handler, python_package
from flowgen_design.codegen.targets.asyncapi.document import document, reply_channel, sent_events
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.durations import format_ms
from flowgen_design.dsl.model import Command, Event, Flow
from tests.conftest import ROOT, SKETCH, example_specs, run_flowgen

EVERY_TYPE = Path(__file__).resolve().parent / "asyncapi_every_type.flow"
SPECS = [*example_specs(), SKETCH, EVERY_TYPE]


def flow_of(spec: Path) -> Flow:
    result = check_file(spec)
    assert result.ok and result.flow is not None, [d.message for d in result.diagnostics]
    return result.flow


def payload_validator(doc: dict[str, Any], message: str) -> jsonschema.Draft7Validator:
    """A validator for one message's payload, resolving `$ref`s into the document's components."""
    root = {"$ref": f"#/components/messages/{message}/payload", "components": doc["components"]}
    return jsonschema.Draft7Validator(root, format_checker=jsonschema.FormatChecker())


# ---- payload schemas ---------------------------------------------------------------------------

ADDRESS = {"street": "Main St 1", "zip": "12345", "note": None}
PARCEL: dict[str, Any] = {
    "parcel_id": "6f1c2f1e-8a4b-4a57-9d43-0f6a5d1b2c3d",
    "weight": 2.5,
    "price": "19.90",
    "count": 1,
    "paid": True,
    "sent_at": "2024-05-01T10:00:00Z",
    "due": "2024-05-03",
    "transit": "P2D",
    "label": "aGVsbG8=",
    "tags": ["fragile"],
    "attrs": {"floor": 3},
    "to": ADDRESS,
    "priority": "express",
    "stops": [ADDRESS, None],
}

Mutation = Callable[[dict[str, Any]], None]

ACCEPTED: dict[str, Mutation] = {
    "as declared": lambda p: None,
    "optional fields present": lambda p: p.update(backup=ADDRESS, maybe_priority="standard", maybe_count=0),
    "optional fields null": lambda p: p.update(backup=None, maybe_priority=None, maybe_count=None),
    "optional record field absent": lambda p: p["to"].pop("note"),
    "decimal without fraction": lambda p: p.update(price="20"),
    "bounds inclusive": lambda p: p.update(weight=30, count=1),
}

REJECTED: dict[str, Mutation] = {
    "required field missing": lambda p: p.pop("parcel_id"),
    "required field null": lambda p: p.update(count=None),
    "unknown field": lambda p: p.update(colour="red"),
    "unknown field in record": lambda p: p["to"].update(floor=2),
    "int as string": lambda p: p.update(count="1"),
    "int with fraction": lambda p: p.update(count=1.5),
    "below min": lambda p: p.update(count=0),
    "above max": lambda p: p.update(weight=30.5),
    "string too short": lambda p: p["to"].update(street=""),
    "pattern mismatch": lambda p: p["to"].update(zip="1234a"),
    "too many list items": lambda p: p.update(tags=["a"] * 6),
    "map value of wrong type": lambda p: p.update(attrs={"floor": "3"}),
    "decimal as number": lambda p: p.update(price=19.9),
    "decimal not a number": lambda p: p.update(price="cheap"),
    "enum value not a member": lambda p: p.update(priority="slow"),
    "uuid malformed": lambda p: p.update(parcel_id="not-a-uuid"),
    "date malformed": lambda p: p.update(due="03/05/2024"),
    "bool as string": lambda p: p.update(paid="yes"),
    "null in list of required records": lambda p: p.update(tags=[None]),
}


@pytest.fixture(scope="module")
def every_type() -> dict[str, Any]:
    return document(flow_of(EVERY_TYPE))


@pytest.mark.parametrize("case", ACCEPTED, ids=str)
def test_payload_schema_accepts_valid_messages(case: str, every_type: dict[str, Any]) -> None:
    payload = copy.deepcopy(PARCEL)
    ACCEPTED[case](payload)
    errors = [e.message for e in payload_validator(every_type, "ParcelSent").iter_errors(payload)]
    assert errors == []


@pytest.mark.parametrize("case", REJECTED, ids=str)
def test_payload_schema_rejects_invalid_messages(case: str, every_type: dict[str, Any]) -> None:
    payload = copy.deepcopy(PARCEL)
    REJECTED[case](payload)
    assert not payload_validator(every_type, "ParcelSent").is_valid(payload)


def test_scalar_formats_and_constraints_without_json_schema_keyword_are_kept(every_type: dict[str, Any]) -> None:
    props = every_type["components"]["messages"]["ParcelSent"]["payload"]["properties"]
    assert props["sent_at"]["format"] == "date-time"
    assert props["transit"]["format"] == "duration"
    assert props["label"] == {"type": "string", "contentEncoding": "base64", "x-flowgen-max-bytes": 1024}
    assert props["price"]["x-flowgen-minimum"] == 0


def test_doc_comments_become_descriptions(every_type: dict[str, Any]) -> None:
    schemas = every_type["components"]["schemas"]
    assert every_type["info"]["description"] == "A shop with every kind of field.\nSecond line of the flow doc."
    assert schemas["Priority"]["description"] == "How urgent a parcel is."
    assert schemas["Priority"]["x-flowgen-member-docs"] == {"express": "Next day."}
    assert schemas["Address"]["properties"]["street"]["description"] == "Street and number."
    assert (
        every_type["operations"]["Claims.receive.open_claim"]["description"] == "Opens a claim when a parcel is lost."
    )
    assert every_type["operations"]["Parcels.send.ParcelSent"]["description"] == "Create a parcel."


# ---- channels and operations, for every spec ----------------------------------------------------------


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_every_event_and_command_has_a_channel_and_a_message(spec: Path) -> None:
    flow = flow_of(spec)
    doc = document(flow)
    messages: tuple[Event | Command, ...] = (*flow.events, *flow.commands)
    for message in messages:
        address = message.address if isinstance(message, Event) else message.name  # `channel "..."` or the name
        assert doc["channels"][message.name]["address"] == address
        assert doc["channels"][message.name]["messages"] == {
            message.name: {"$ref": f"#/components/messages/{message.name}"}
        }
        component = doc["components"]["messages"][message.name]
        assert component["x-flowgen-kind"] == message.kind
        assert set(component["payload"]["properties"]) == {f.name for f in message.fields}
        assert component["payload"].get("required", []) == [f.name for f in message.fields if not f.optional]
        assert component.get("x-flowgen-key") == (message.key.name if message.key else None)
        assert component.get("x-flowgen-ordered-by") == (message.ordered_by.name if message.ordered_by else None)


def _ops(doc: dict[str, Any], action: str, channel: str, owner: str) -> list[str]:
    return [
        name
        for name, op in doc["operations"].items()
        if op["action"] == action
        and op["channel"]["$ref"] == f"#/channels/{channel}"
        and op["tags"] == [{"name": owner}]
    ]


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_each_handler_receives_with_its_delivery_policy(spec: Path) -> None:
    flow = flow_of(spec)
    doc = document(flow)
    for handler in flow.handlers():
        op = doc["operations"][f"{handler.service}.receive.{handler.name}"]
        assert _ops(doc, "receive", handler.input.name, handler.service) != []
        policy = handler.policy
        assert op["x-flowgen-attempts"] == policy.attempts
        assert op["x-flowgen-timeout"] == format_ms(policy.timeout_ms)
        assert op["x-flowgen-dlq"] is policy.dlq
        assert op.get("x-flowgen-idempotent-by") == (
            ", ".join(f.name for f in policy.idempotency.fields) if policy.idempotency else None
        )
        assert op["x-flowgen-handler"] == lambda_handler(flow, handler)
        assert op["x-flowgen-emits"] == [e.name for e in handler.outputs]
        queues = op["bindings"]["sqs"]["queues"]
        assert queues[0]["name"] == handler_base(handler.service, handler.name) + "Queue"
        assert ("redrivePolicy" in queues[0]) is policy.dlq
        fifo = handler.trigger == "command" and handler.input.ordered_by is not None
        assert all(q.get("fifoQueue", False) is fifo for q in queues)
        if policy.dlq:
            assert queues[0]["redrivePolicy"]["maxReceiveCount"] == policy.attempts
        if isinstance(handler.input, Command) and handler.input.replies:
            assert op["reply"]["channel"] == {"$ref": f"#/channels/{reply_channel(handler.input)}"}
            assert len(op["reply"]["messages"]) == len(handler.input.replies)


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_each_service_sends_what_it_publishes_and_replies(spec: Path) -> None:
    flow = flow_of(spec)
    doc = document(flow)
    for service in flow.services:
        sent = {e.name for e in sent_events(service)}
        assert {a.event.name for a in service.apis} <= sent
        assert {e.name for e in service.publishes} <= sent
        assert {e.name for h in service.handlers for e in h.outputs} <= sent
        for name in sent:
            assert _ops(doc, "send", name, service.name) == [f"{service.name}.send.{name}"]


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_sagas_send_their_commands_and_are_described(spec: Path) -> None:
    flow = flow_of(spec)
    doc = document(flow)
    for saga in flow.sagas:
        assert _ops(doc, "receive", saga.trigger.name, saga.name) != []
        described = doc["x-flowgen-sagas"][saga.name]
        assert [s["name"] for s in described["steps"]] == [s.name for s in saga.steps]
        assert described["pivot"] == saga.steps[saga.pivot_index].name
        for step in saga.steps:
            if step.wait is not None:  # the saga receives what it awaits (docs/semantics.md, section 11)
                for event in step.wait.events:
                    op = doc["operations"][f"{saga.name}.await.{step.name}.{event.name}"]
                    assert (op["action"], op["channel"]) == ("receive", {"$ref": f"#/channels/{event.name}"})
                continue
            op = doc["operations"][f"{saga.name}.step.{step.name}"]
            assert op["channel"] == {"$ref": f"#/channels/{step.action.command.name}"}
            assert op["x-flowgen-timeout"] == format_ms(step.timeout_ms)
            assert op["x-flowgen-attempts"] == step.policy.attempts
            if step.compensation is not None:
                assert doc["operations"][f"{saga.name}.compensate.{step.name}"]["channel"] == {
                    "$ref": f"#/channels/{step.compensation.command.name}"
                }


def test_sketch_delivery_facts() -> None:
    """The sketch's policies, read off the document as a reviewer would."""
    ops = document(flow_of(SKETCH))["operations"]
    charge = ops["Payments.receive.charge"]
    assert (charge["x-flowgen-attempts"], charge["x-flowgen-timeout"], charge["x-flowgen-dlq"]) == (3, "20s", False)
    assert charge["x-flowgen-backoff"] == {"strategy": "fixed", "initial": "1s", "jitter": False}
    cancel = ops["Orders.receive.cancel_order"]
    assert cancel["x-flowgen-backoff"] == {"strategy": "exponential", "initial": "200ms", "max": "30s", "jitter": True}
    assert (cancel["x-flowgen-idempotent-by"], cancel["x-flowgen-idempotent-within"]) == ("order_id", "1d")
    assert cancel["x-flowgen-policies"] == ["standard"]
    assert ops["Orders.send.OrderPlaced"]["x-flowgen-api"] == ["POST /orders"]
    assert ops["Orders.send.OrderPlaced"]["x-flowgen-api-auth"] == {"POST /orders": "auth iam"}
    assert ops["Checkout.completed.OrderConfirmed"]["action"] == "send"
    assert ops["Checkout.compensated.OrderCancelled"]["action"] == "send"


def test_externals_send_and_receive(every_type: dict[str, Any]) -> None:
    ops = every_type["operations"]
    assert ops["Carrier.send.ParcelLost"]["action"] == "send"
    assert ops["Carrier.receive.ParcelSent"]["action"] == "receive"


# ---- agreement with the generated pydantic models ---------------------------------------------------


def test_payload_schemas_accept_what_the_generated_models_dump(tmp_path: Path) -> None:
    """The `python` target's models and this target's schemas describe the same JSON."""
    result = run_flowgen(
        "generate", str(EVERY_TYPE.relative_to(ROOT)), "--out", str(tmp_path), "-t", "python", cwd=ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr
    flow = flow_of(EVERY_TYPE)
    doc = document(flow)
    package = python_package(flow)
    sys.path.insert(0, str(tmp_path / "python"))
    try:
        models = importlib.import_module(f"{package}.models")
        for case in ACCEPTED:
            payload = copy.deepcopy(PARCEL)
            ACCEPTED[case](payload)
            dumped = models.ParcelSent.model_validate_json(json.dumps(payload)).model_dump(mode="json", by_alias=True)
            assert [e.message for e in payload_validator(doc, "ParcelSent").iter_errors(dumped)] == [], case
    finally:
        sys.path.remove(str(tmp_path / "python"))
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]


def test_headers_and_channel_address_are_in_the_document() -> None:
    """`header` fields are the envelope's `headers` in the message's headers schema, required as
    declared; `channel "..."` is the channel's address."""
    doc = document(flow_of(EVERY_TYPE))
    assert doc["channels"]["ParcelLost"]["address"] == "carrier/parcels.lost"
    headers = doc["components"]["messages"]["ParcelLost"]["headers"]
    declared = headers["properties"]["headers"]
    assert set(declared["properties"]) == {"tenant", "traceparent", "priority"}
    assert declared["required"] == ["tenant"] and "headers" in headers["required"]
    assert declared["properties"]["tenant"] == {"type": "string", "minLength": 1, "description": "Whose parcel it is."}
    assert doc["components"]["messages"]["ParcelSent"]["headers"] == {"$ref": "#/components/schemas/flowgen.Envelope"}
