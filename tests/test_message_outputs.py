"""The message language, checked without running anything: handler outputs, headers, channels,
error kinds, through the model, `fmt`, the generated Python, `trace` and the review page.

What the generated code does with them at run time is tests/test_message_language.py.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from flowgen_design.codegen.targets.python.handlers import return_type
from flowgen_design.codegen.trace import render_text, trace
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.model import Flow
from tests.conftest import ROOT
from tests.test_fmt import fmt, meaning

SPEC = Path(__file__).resolve().parent / "message_language.flow"

OUTPUTS = """
flow outputs version 1.0.0

event OrderPlaced { order_id: uuid  key order_id }
event PaymentFailed { order_id: uuid  reason: string  key order_id }
event OrderCancelled { order_id: uuid  key order_id }
event Audited { order_id: uuid  key order_id }

service Orders {
  api POST /orders -> OrderPlaced
  publishes OrderPlaced, OrderCancelled
  on PaymentFailed -> record_payment_failure { idempotent by order_id }
  on OrderCancelled -> audit { idempotent by order_id  emits none }
  on Audited -> replay { idempotent by order_id  emits OrderPlaced }
}

external Shop {
  publishes PaymentFailed, Audited
  consumes OrderPlaced, OrderCancelled
}
"""


def _flow(tmp_path: Path, text: str) -> tuple[Flow, list[str]]:
    spec = tmp_path / "spec.flow"
    spec.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    result = check_file(spec)
    assert result.flow is not None, [d.message for d in result.diagnostics]
    return result.flow, [f"{d.code} {d.message}" for d in result.diagnostics]


def _handler(flow: Flow, service: str, name: str) -> object:
    found = flow.service(service)
    assert found is not None
    return found.handler(name)


def test_api_events_are_not_a_handlers_default_outputs(tmp_path: Path) -> None:
    """The issue's case: `record_payment_failure(PaymentFailed)` no longer returns `OrderPlaced`,
    the event of its service's entry point; naming it with `emits` still works."""
    flow, diagnostics = _flow(tmp_path, OUTPUTS)
    assert diagnostics == []
    orders = flow.service("Orders")
    assert orders is not None
    outputs = {h.name: [e.name for e in h.outputs] for h in orders.handlers}
    assert outputs == {"record_payment_failure": ["OrderCancelled"], "audit": [], "replay": ["OrderPlaced"]}
    record, audit = orders.handler("record_payment_failure"), orders.handler("audit")
    assert record is not None and audit is not None
    assert return_type(record) == "Sequence[models.OrderCancelled]"
    assert return_type(audit) == "None"


def test_no_loop_is_reported_through_an_api_event(tmp_path: Path) -> None:
    """Before, `record_payment_failure` defaulted to every event its service publishes, `OrderPlaced`
    included, so with a handler of `OrderPlaced` that emits `PaymentFailed`, FLOW603 reported a loop
    no message can take. A handler that does emit the api event (`emits`) still closes a real one."""
    fraud = "service Fraud {\n  publishes PaymentFailed\n  on OrderPlaced -> check { idempotent by order_id  emits PaymentFailed }\n}\n"
    text = OUTPUTS.replace("  publishes PaymentFailed, Audited", "  publishes Audited") + fraud
    _, diagnostics = _flow(tmp_path, text)
    assert [d for d in diagnostics if d.startswith("FLOW603")] == []
    looping = text.replace(
        "on PaymentFailed -> record_payment_failure { idempotent by order_id }",
        "on PaymentFailed -> record_payment_failure { idempotent by order_id  emits OrderPlaced }",
    )
    _, diagnostics = _flow(tmp_path, looping)
    assert [d for d in diagnostics if d.startswith("FLOW603")] == [
        "FLOW603 events feed back into themselves through handlers: OrderPlaced -> "
        "Fraud.check -> PaymentFailed -> Orders.record_payment_failure -> OrderPlaced"
    ]


def test_the_bundled_checkout_handler_returns_nothing() -> None:
    result = check_file(ROOT / "specs" / "checkout.flow")
    assert result.flow is not None
    orders = result.flow.service("Orders")
    handler = orders.handler("record_payment_failure") if orders else None
    assert handler is not None and handler.outputs == () and return_type(handler) == "None"


COMMENTED = """\
flow shop version 1.0.0

// a comment before the event
event OrderPlaced {
  order_id: uuid
  /// Whose order.
  header tenant: string (min_length 1)  // the tenant
  header: string
  channel "shop/orders.placed"  // where it is listed
  key order_id
}

event Charged { order_id: uuid  key order_id }

event Busy { order_id: uuid  key order_id }

command Charge { order_id: uuid } -> Charged | Busy retryable  // busy is worth a retry

service Payments {
  handles Charge { retry 3  idempotent by order_id  raises CardExpired, Fraud }  // final errors
  on OrderPlaced -> note { emits none }
}
"""


def test_fmt_keeps_the_new_constructs_and_their_comments_and_is_idempotent(tmp_path: Path) -> None:
    once = fmt(COMMENTED)
    assert once == COMMENTED
    squashed = 'flow shop version 1.0.0\nevent E { id: uuid header t: string? channel "e" key id }\n'
    assert fmt(squashed) == 'flow shop version 1.0.0\n\nevent E { id: uuid  header t: string?  channel "e"  key id }\n'
    (tmp_path / "a.flow").write_text(COMMENTED, encoding="utf-8")
    (tmp_path / "b.flow").write_text(fmt(COMMENTED), encoding="utf-8")
    assert meaning(tmp_path / "a.flow")[0] == meaning(tmp_path / "b.flow")[0]


def test_fmt_keeps_the_meaning_of_the_message_language_spec(tmp_path: Path) -> None:
    text = SPEC.read_text(encoding="utf-8")
    once = fmt(text)
    assert fmt(once) == once
    copy = tmp_path / "message_language.flow"
    copy.write_text(once, encoding="utf-8")
    assert meaning(copy)[0] == meaning(SPEC)[0]


def test_the_model_has_headers_channel_retryable_and_raises() -> None:
    result = check_file(SPEC)
    assert result.ok and result.flow is not None
    flow = result.flow
    placed = flow.event("OrderPlaced")
    assert placed is not None
    assert [(h.name, h.optional) for h in placed.headers] == [("tenant", False), ("traceparent", True)]
    assert placed.address == "shop/orders.placed" and placed.headers[0].doc == "Whose order it is."
    charge = next(c for c in flow.commands if c.name == "Charge")
    assert [e.name for e in charge.retryable] == ["ProviderBusy"]
    payments = flow.service("Payments")
    handler = payments.handler("charge") if payments else None
    assert handler is not None and handler.raises == ("CardExpired",)


def test_trace_shows_headers_channel_retryable_replies_and_errors() -> None:
    flow = check_file(SPEC).flow
    assert flow is not None
    charge = render_text(trace(flow, "Payments.charge"))
    assert "replies (retryable) event ProviderBusy" in charge
    assert "raises error CardExpired (final: never retried)" in charge
    placed = render_text(trace(flow, "OrderPlaced")).splitlines()[0]
    assert "headers tenant, traceparent, channel shop/orders.placed" in placed


def test_the_review_page_lists_headers_channel_and_error_kinds() -> None:
    from flowgen_design.codegen.options import GenerateOptions
    from flowgen_design.codegen.targets.review import build

    flow = check_file(SPEC).flow
    assert flow is not None
    [page] = [f for f in build(flow, GenerateOptions(out_dir=Path("unused"))) if str(f.path).endswith(".html")]
    html = str(page.content)
    assert "Headers (in the envelope)" in html and "<code>shop/orders.placed</code>" in html
    assert "(retryable)" in html and "raises <code>CardExpired</code> (final)" in html


def test_the_events_diagram_shows_headers_channel_retryable_replies_and_errors() -> None:
    from flowgen_design.codegen.diagrams.events import events_view

    flow = check_file(SPEC).flow
    assert flow is not None
    diagram = events_view(flow)
    nodes = {n.id: n for n in diagram.nodes}
    placed = nodes["event_OrderPlaced"]
    assert "header tenant: string" in placed.detail and "channel shop/orders.placed" in placed.detail
    assert "raises CardExpired (final)" in nodes["handler_Payments_charge"].detail
    labels = {(e.source, e.target): e.label for e in diagram.edges}
    assert labels[("handler_Payments_charge", "event_ProviderBusy")] == ("retryable",)
    assert labels[("handler_Payments_charge", "event_Charged")] == ()


def test_the_saga_diagram_marks_retryable_replies_and_raised_errors() -> None:
    from flowgen_design.codegen.diagrams.saga import saga_view

    flow = check_file(SPEC).flow
    assert flow is not None
    labels = [e.label for e in saga_view(flow.sagas[0]).edges if e.kind == "failure"]
    assert ("ProviderBusy (retryable) or PaymentFailed",) in labels
    assert any(label[1:] == ("or CardExpired",) for label in labels), labels
