"""`flowgen trace`: from an entry point to handlers, files and resources, each with its spec line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flowgen_design.codegen.trace import trace
from flowgen_design.dsl.model import Flow
from tests.conftest import ROOT, SKETCH, Runner
from tests.diagram_support import diagram_specs, load, relative, spec_id

pytestmark = pytest.mark.slow  # runs the CLI and explores every example: the full suite, not the fast loop


def _walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node] + [n for c in node["children"] for n in _walk(c)]


def _trace_json(flowgen: Runner, spec: Path, name: str) -> dict[str, Any]:
    result = flowgen("trace", "--format", "json", str(relative(spec)), name, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_endpoint_leads_to_saga_handlers_files_and_resources(flowgen: Runner) -> None:
    nodes = _walk(_trace_json(flowgen, SKETCH, "POST /orders"))
    seen = {(n["kind"], n["name"]) for n in nodes}
    expected = {
        ("endpoint", "POST /orders"),
        ("service", "Orders"),
        ("resource", "RestApi"),
        ("resource", "ApiPathOrders"),
        ("resource", "ApiPostOrdersMethod"),
        ("resource", "ApiPostOrdersModel"),
        ("event", "OrderPlaced"),
        ("resource", "EventBus"),
        ("saga", "Checkout"),
        ("resource", "CheckoutSagaTriggerRule"),
        ("resource", "CheckoutSagaStateMachine"),
        ("handler", "Inventory.reserve_stock"),
        ("handler", "Inventory.release_stock"),
        ("handler", "Payments.charge"),
        ("handler", "Payments.refund"),
        ("handler", "Shipping.schedule_shipment"),
        ("resource", "InventoryReserveStockFunction"),
        ("resource", "InventoryReserveStockDeadLetterQueue"),
        ("resource", "PaymentsChargeFunction"),
        ("file", "python/checkout/handlers/inventory.py"),
        ("file", "python/checkout/services/payments.py"),
        ("file", "python/checkout/adapters/shipping.py"),
    }
    assert expected <= seen, expected - seen
    # Payments.charge has no `dlq`, so it has no dead-letter queue
    assert ("resource", "PaymentsChargeDeadLetterQueue") not in seen
    lines = {(n["kind"], n["name"]): n["line"] for n in nodes}
    assert (
        lines[("endpoint", "POST /orders")] == 47
        and lines[("saga", "Checkout")] == 69
        and lines[("handler", "Payments.charge")] == 61
    )


def test_event_handler_is_fed_by_rule_queue_and_mapping(flowgen: Runner) -> None:
    result = flowgen("trace", str(relative(SKETCH)), "Orders.cancel_order", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.splitlines()[0] == f"handler Orders.cancel_order (on event PaymentFailed)  {relative(SKETCH)}:49"
    )
    for logical_id in (
        "OrdersCancelOrderRule",
        "OrdersCancelOrderQueue",
        "OrdersCancelOrderEventSourceMapping",
        "OrdersCancelOrderFunction",
        "OrdersCancelOrderRole",
        "OrdersCancelOrderDeadLetterQueue",
    ):
        assert f"resource {logical_id} (AWS::" in result.stdout
    assert "file python/checkout/handlers/orders.py (handler interface (generated))" in result.stdout


def _names(flow: Flow) -> list[str]:
    names = [s.name for s in flow.services] + [e.name for e in flow.events] + [s.name for s in flow.sagas]
    names += [a.route for s in flow.services for a in s.apis]
    names += [f"{h.service}.{h.name}" for h in flow.handlers()]
    names.append(flow.name)
    kinds: dict[str, int] = {}
    for n in names:
        kinds[n] = kinds.get(n, 0) + 1
    return [n for n in names if kinds[n] == 1]


def _expected_words(node: dict[str, Any]) -> list[str]:
    """What the declaring spec line must say for each kind of element."""
    kind, name = node["kind"], node["name"]
    if kind == "handler":
        return [name.split(".", 1)[1], node["detail"].split()[-1]]  # `on E -> handler` or `handles Command`
    if kind == "step":
        return [name.split(". ", 1)[1]]
    if kind == "policy":
        return ["retry "]  # the clause that set the handler's attempts
    if kind == "endpoint":
        return [name.split(" ", 1)[1]]
    if kind == "saga" and node["relation"] == "awaited by":
        return ["compensate", "step"]
    if kind == "resource":  # the stack's shared resources: the flow's line, `archive`, the first endpoint
        return {"EventArchive": ["archive "], "RestApi": ["api "]}.get(name, ["flow "])
    if kind == "alarm":  # the clause its threshold comes from (a starter's: its saga)
        handler = ["-> ", "handles "]
        for suffix, words in ALARM_CLAUSES.items():
            if name.endswith(suffix):
                return words + (handler if suffix != "FailedAlarm" else [])
    return [name]


ALARM_CLAUSES = {
    "DeadLetterQueueAlarm": ["dlq", "saga "],
    "QueueAgeAlarm": ["retry ", "timeout ", "saga "],
    "ErrorsAlarm": ["timeout ", "saga "],
    "ThrottlesAlarm": ["timeout ", "saga "],
    "FailedAlarm": ["saga "],
    "TimedOutAlarm": ["timeout ", "saga "],
}


@pytest.mark.parametrize("spec", diagram_specs(), ids=spec_id)
def test_every_element_traces_to_the_lines_that_declare_it(spec: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flow = load(spec, monkeypatch)
    source = relative(spec).read_text().splitlines()
    for name in _names(flow):
        tree = trace(flow, name).to_json()
        assert tree["name"] == name
        for node in _walk(tree):
            if node["line"] is None:
                # A policy without a line is flowgen's default (no `retry` anywhere).
                default_policy = (node["kind"], node["name"]) == ("policy", "1 attempt (no retry)")
                assert node["kind"] in ("resource", "file") or default_policy, node
                continue
            assert node["file"] == str(relative(spec))
            line = source[node["line"] - 1]
            assert any(
                word in line for word in _expected_words(node)
            ), f"{node['kind']} {node['name']} points at line {node['line']}: {line!r}"


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("OrderPlacd", "OrderPlaced"),
        ("post /order", "POST /orders"),
        ("Orders.cancel_ordr", "Orders.cancel_order"),
        ("chekout", "Checkout"),
    ],
)
def test_unknown_name_did_you_mean(flowgen: Runner, name: str, suggestion: str) -> None:
    result = flowgen("trace", str(SKETCH), name)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"flowgen: error: flow `checkout` has nothing called `{name}`; did you mean `{suggestion}`?"
    ]


def test_route_method_is_case_insensitive(flowgen: Runner) -> None:
    assert _trace_json(flowgen, SKETCH, "post  /orders")["name"] == "POST /orders"


def test_a_kind_prefix_narrows_the_search(flowgen: Runner) -> None:
    assert _trace_json(flowgen, SKETCH, "event:OrderPlaced")["kind"] == "event"
    assert _trace_json(flowgen, SKETCH, "saga:Checkout")["kind"] == "saga"
    result = flowgen("trace", str(SKETCH), "service:OrderPlaced")
    assert result.returncode == 2 and "nothing called `service:OrderPlaced`" in result.stderr


def test_spec_with_errors_prints_diagnostics(flowgen: Runner, tmp_path: Path) -> None:
    spec = tmp_path / "broken.flow"
    spec.write_text(SKETCH.read_text().replace("-> OrderPlaced", "-> OrderPlacd"))
    result = flowgen("trace", str(spec), "Orders")
    assert result.returncode == 1
    assert "error[FLOW101]" in result.stderr


def test_trace_names_the_retry_policy_behind_a_handler(flowgen: Runner) -> None:
    result = flowgen("trace", "specs/checkout.flow", "Orders.record_payment_failure", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    policy = next(line for line in result.stdout.splitlines() if "delivery policy" in line)
    assert "5 attempts, exponential 200ms..30s + jitter" in policy
    assert "timeout 10s, DLQ, idempotent by order_id within 1d, from policy standard" in policy
    lines = (ROOT / "specs" / "checkout.flow").read_text().splitlines()
    retry_line = 1 + next(i for i, text in enumerate(lines) if "retry 5 backoff exponential" in text)
    assert policy.rstrip().endswith(f"specs/checkout.flow:{retry_line}")


def test_trace_says_how_an_ordered_input_keeps_its_order(flowgen: Runner) -> None:
    """An ordered event: the publisher's sequence and the gap timeout (docs/semantics.md, section 8)."""
    result = flowgen("trace", "tests/ordering.flow", "Statements.apply", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    order = next(line for line in result.stdout.splitlines() if "order per account" in line)
    assert "the publisher's sequence" in order and "gap waited out for 170s" in order
    reports = flowgen("trace", "tests/ordering.flow", "Reports.record_payout", cwd=ROOT).stdout
    assert "order per account" in reports, "PaidOut is ordered too: numbered by its saga"
    assert "order per" not in flowgen("trace", "tests/ordering.flow", "Payouts.pay", cwd=ROOT).stdout


def test_trace_shows_each_alarm_with_its_threshold_and_spec_line(flowgen: Runner) -> None:
    """`retry 3 backoff fixed 1s timeout 20s` (policy provider): 3 x 20s + 2 x 10s (each 1s wait is
    shorter than the 10s redelivery margin) = 80s before a message has outlived its retries."""
    result = flowgen("trace", "specs/checkout.flow", "Payments.charge", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    alarms = {
        line.split("alarm ", 1)[1].split(" ", 1)[0]: line for line in result.stdout.splitlines() if "alarm " in line
    }
    assert set(alarms) == {
        f"PaymentsCharge{kind}Alarm" for kind in ("DeadLetterQueue", "QueueAge", "Errors", "Throttles")
    }
    lines = (ROOT / "specs" / "checkout.flow").read_text().splitlines()
    policy_line = 1 + next(i for i, text in enumerate(lines) if "policy provider" in text)
    age = alarms["PaymentsChargeQueueAgeAlarm"]
    assert "Maximum ApproximateAgeOfOldestMessage > 80 seconds" in age and "3 x 20s + 20s between attempts" in age
    assert age.rstrip().endswith(f"specs/checkout.flow:{policy_line}")
    assert "ApproximateNumberOfMessagesVisible >= 1 messages" in alarms["PaymentsChargeDeadLetterQueueAlarm"]


def test_the_review_page_lists_every_alarm_with_its_threshold_and_spec_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from flowgen_design.codegen.aws.plan import plan_of
    from flowgen_design.codegen.targets.review.sections import alarms_section

    flow = load(ROOT / "specs" / "checkout.flow", monkeypatch)
    html = str(alarms_section(flow))
    rows = html.split("<tr>")[2:]  # after the header row
    alarms = list(plan_of(flow).alarms())
    assert len(rows) == len(alarms) > 0
    for row, alarm in zip(rows, alarms, strict=True):
        assert alarm.resource.logical_id in row and f"{alarm.span.file}:{alarm.span.line}" in row
        assert f"{alarm.statistic} {alarm.comparison.replace('>', '&gt;')} {alarm.threshold}" in row


def test_an_endpoint_shows_who_may_call_it_and_its_authorizer(flowgen: Runner) -> None:
    spec = ROOT / "tests" / "cloudformation" / "gateway.flow"
    jwt = _trace_json(flowgen, spec, "DELETE /bookings/{booking_id}")
    assert 'auth jwt issuer "https://id.example.com" audience "bookings", "admin"' in jwt["detail"]
    names = {(n["kind"], n["name"]) for n in _walk(jwt)}
    assert {("resource", "JwtAuthorizer"), ("resource", "ApiDeleteBookingsBookingIdMethod")} <= names
    assert _trace_json(flowgen, spec, "POST /bookings")["detail"].endswith("auth iam (default)")
    assert _trace_json(flowgen, spec, "POST /")["detail"].endswith("auth none")


FULFILMENT = ROOT / "tests" / "cloudformation" / "fulfilment.flow"


def test_the_flow_traces_to_its_bus_archive_and_event_delivery_dead_letter_queue(flowgen: Runner) -> None:
    tree = _trace_json(flowgen, FULFILMENT, "flow:fulfilment")
    source = relative(FULFILMENT).read_text().splitlines()
    nodes = {n["name"]: n for n in _walk(tree)}
    assert (tree["kind"], tree["detail"]) == ("flow", "5 services, 11 events, 1 saga")
    archive, dlq = nodes["EventArchive"], nodes["EventDeliveryDeadLetterQueue"]
    assert source[archive["line"] - 1].strip() == "archive 90d" and "90 days" in archive["detail"]
    assert source[dlq["line"] - 1].startswith("flow fulfilment")
    (alarm,) = dlq["children"]
    assert alarm["name"] == "EventDeliveryDeadLetterQueueAlarm" and ">= 1 messages" in alarm["detail"]
    # an event's trace shows the same under the bus that carries it
    event = _trace_json(flowgen, FULFILMENT, "ParcelShipped")
    (bus,) = [c for c in event["children"] if c["relation"] == "carried by"]
    assert [c["name"] for c in bus["children"]] == ["EventArchive", "EventDeliveryDeadLetterQueue"]


def test_a_saga_trace_shows_its_starter_queue_age_alarm_with_its_formula(flowgen: Runner) -> None:
    result = flowgen("trace", "specs/checkout.flow", "saga:Checkout", cwd=ROOT)
    (age,) = [line for line in result.stdout.splitlines() if "alarm CheckoutSagaStarterQueueAgeAlarm" in line]
    assert "Maximum ApproximateAgeOfOldestMessage > 900 seconds" in age
    assert "5 deliveries x a 180s visibility timeout, 6 x its 30s timeout: 900s" in age


def test_a_handler_trace_shows_the_deployment_settings_that_apply_to_it(flowgen: Runner, tmp_path: Path) -> None:
    settings = tmp_path / "infra" / "fulfilment" / "deploy.toml"
    settings.parent.mkdir(parents=True)
    spec = str(relative(FULFILMENT))
    assert "setting" not in flowgen("trace", "--out", str(tmp_path), spec, "Warehouse.pick", cwd=ROOT).stdout
    settings.write_text(
        "[functions]\nmemory = 256\n\n"
        '[services.Warehouse]\nenvironment = { LOG_LEVEL = "INFO" }\n\n'
        '[handlers."Warehouse.pick"]\nmemory = 1024\nreserved_concurrency = 3\n\n'
        '[handlers."Warehouse.unpick"]\nmemory = 2048\n'
    )
    result = flowgen("trace", "--format", "json", "--out", str(tmp_path), spec, "Warehouse.pick", cwd=ROOT)
    tree = json.loads(result.stdout)
    found = {(n["name"], n["detail"], n["line"]) for n in tree["children"] if n["kind"] == "setting"}
    assert found == {
        ("memory = 256", 'from [functions], replaced by [handlers."Warehouse.pick"]', 2),
        ('environment.LOG_LEVEL = "INFO"', "from [services.Warehouse]", 5),
        ("memory = 1024", 'from [handlers."Warehouse.pick"]', 8),
        ("reserved_concurrency = 3", 'from [handlers."Warehouse.pick"]', 9),
    }, "the other handler's table does not apply"
    settings.write_text('[handlers."Warehouse.pick"]\nmemroy = 1024\n')
    text = flowgen("trace", "--out", str(tmp_path), spec, "Warehouse.pick", cwd=ROOT).stdout
    (line,) = [line for line in text.splitlines() if "settings " in line]
    assert "not applied: " in line and "memroy" in line and line.rstrip().endswith("deploy.toml:2")


def test_the_review_page_lists_the_stacks_shared_resources_with_their_spec_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flowgen_design.codegen.targets.review.sections import shared_resources_table

    flow = load(FULFILMENT, monkeypatch)
    rows = str(shared_resources_table(flow)).split("<tr>")[2:]
    by_id = {row.split("<code>", 1)[1].split("<", 1)[0]: row for row in rows}
    assert list(by_id) == ["EventBus", "EventArchive", "EventDeliveryDeadLetterQueue", "IdempotencyTable", "RestApi"]
    assert "fulfilment.flow:81" in by_id["EventArchive"] and "90 days" in by_id["EventArchive"]
    assert "fulfilment.flow:1<" in by_id["EventDeliveryDeadLetterQueue"]
