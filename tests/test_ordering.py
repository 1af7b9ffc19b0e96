"""Per-key order (docs/semantics.md, "Per-key order"), run: the generated adapters under moto, and the
local test kit on its virtual clock.

`tests/ordering.flow`: `Accounts.book` publishes one `BalanceChanged` per amount of a deposit (ordered by
`account`), `Statements.apply` takes them. The publisher numbers each key's events (a counter in the
DynamoDB table); the subscriber handles a key's messages in that order: one ahead of its turn is held
back (a delayed copy in its own queue, the delivery acknowledged), one behind it is skipped as stale,
one whose predecessor never comes goes on after the gap timeout. Keys never wait for each other.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.pytarget import fresh_import, generate_with_services

pytestmark = pytest.mark.slow  # runs the generated adapters under moto

SPEC = Path(__file__).resolve().parent / "ordering.flow"
PACKAGE = "ledger"
REGION = "eu-west-1"
BUS = "ledger-bus"
TABLE = "ledger-idempotency"
GAP = 170
"""`Statements.apply`'s gap timeout: its worst case (3 attempts of 30 s, two waits of 40 s) plus 60 s."""

SERVICES = {
    "accounts": """
from __future__ import annotations

from collections.abc import Sequence

from ledger import models
from ledger.handlers.accounts import AccountsHandlers


class AccountsService(AccountsHandlers):
    def book(self, event: models.Deposited) -> Sequence[models.BalanceChanged]:
        return [
            models.BalanceChanged(entry_id=f"{event.batch_id}/{i}", account=event.account, amount=amount)
            for i, amount in enumerate(event.amounts)
        ]
""",
    "statements": """
from __future__ import annotations

from ledger import models
from ledger.handlers.statements import StatementsHandlers

APPLIED: list[tuple[str, int]] = []
FAILING: set[int] = set()


class StatementsService(StatementsHandlers):
    def apply(self, event: models.BalanceChanged) -> None:
        if event.amount in FAILING:
            raise RuntimeError("the statement store is down")
        APPLIED.append((event.account, event.amount))
""",
    "payouts": """
from __future__ import annotations

from ledger import models
from ledger.handlers.payouts import PayoutsHandlers


class PayoutsService(PayoutsHandlers):
    def pay(self, command: models.Pay) -> models.Paid:
        return models.Paid(payout_id=command.payout_id)
""",
    "reports": """
from __future__ import annotations

from ledger import models
from ledger.handlers.reports import ReportsHandlers


class ReportsService(ReportsHandlers):
    def record_payout(self, event: models.PaidOut) -> None:
        pass
""",
}


@pytest.fixture(scope="module")
def package_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_with_services(SPEC, tmp_path_factory.mktemp("ordering"), PACKAGE, SERVICES)


@pytest.fixture
def ledger(package_dir: Path) -> Iterator[Any]:
    """A fresh import of the generated package: its cold-start state is per test."""
    yield from fresh_import(package_dir, PACKAGE)


@dataclass
class FakeContext:
    function_name: str = "ledger-handler"
    function_version: str = "$LATEST"
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:ledger-handler"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "request-1"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class Aws:
    """moto: the table, the bus (every event copied to `observer`) and `Statements.apply`'s queue."""

    observer: str
    queue: str
    queue_arn: str
    sent: list[dict[str, Any]] = field(default_factory=list)

    def published(self) -> list[dict[str, Any]]:
        return [json.loads(m) for m in self._drain(self.observer, 0)]

    def held_back(self, wait: float = 1.2) -> list[dict[str, Any]]:
        """The copies the adapter put back in its queue, once their delay has passed."""
        return [json.loads(m) for m in self._drain(self.queue, wait)]

    def delayed(self) -> int:
        sqs = boto3.client("sqs", region_name=REGION)
        attributes = sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["All"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessagesDelayed"])

    @staticmethod
    def _drain(queue: str, wait: float) -> list[str]:
        sqs, bodies = boto3.client("sqs", region_name=REGION), []
        if wait:
            time.sleep(wait)
        while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            for message in batch:
                bodies.append(message["Body"])
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        return bodies


class SpySqs:
    """The adapter's SQS client, recording what it sends."""

    def __init__(self, aws: Aws) -> None:
        self.aws, self.real = aws, boto3.client("sqs", region_name=REGION)

    def send_message(self, **kwargs: Any) -> Any:
        self.aws.sent.append(kwargs)
        return self.real.send_message(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for key, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "EVENT_BUS_NAME": BUS,
        "IDEMPOTENCY_TABLE": TABLE,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("POWERTOOLS_IDEMPOTENCY_DISABLED", raising=False)
    with mock_aws():
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        events, sqs = boto3.client("events", region_name=REGION), boto3.client("sqs", region_name=REGION)
        events.create_event_bus(Name=BUS)
        observer = sqs.create_queue(QueueName="observer")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=observer, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="everything", EventBusName=BUS, EventPattern=json.dumps({"source": [PACKAGE]}))
        events.put_targets(Rule="everything", EventBusName=BUS, Targets=[{"Id": "observer", "Arn": arn}])
        queue = sqs.create_queue(QueueName="ledger-apply")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        yield Aws(observer=observer, queue=queue, queue_arn=queue_arn)


@pytest.fixture
def apply(ledger: Any, aws: Aws) -> Any:
    """Deliver one SQS body to `Statements.apply` (receive count `receives`); the ids it failed."""
    ledger("adapters.runtime").CLIENTS["sqs"] = SpySqs(aws)
    adapter = ledger("adapters.statements")

    def deliver(body: dict[str, Any], receives: int = 1) -> list[str]:
        record = {
            "messageId": str(uuid.uuid4()),
            "receiptHandle": "handle",
            "body": json.dumps(body),
            "attributes": {"ApproximateReceiveCount": str(receives), "SentTimestamp": "1700000000000"},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": aws.queue_arn,
            "awsRegion": REGION,
        }
        response = adapter.apply({"Records": [record]}, FakeContext())
        return [f["itemIdentifier"] for f in response["batchItemFailures"]]

    return deliver


def applied(ledger: Any) -> list[tuple[str, int]]:
    return list(ledger("services.statements").APPLIED)


def changed(
    account: str, amount: int, sequence: int | None, *, age: float = 0, entry: str | None = None
) -> dict[str, Any]:
    """A `BalanceChanged` as EventBridge delivers it, published `age` seconds ago with `sequence`."""
    sent = datetime.now(UTC) - timedelta(seconds=age)
    envelope: dict[str, Any] = {
        "message_id": str(uuid.uuid4()),
        "correlation_id": "corr",
        "causation_id": None,
        "saga_instance": None,
        "schema_version": "1.0.0",
        "time": sent.isoformat(),
    }
    if sequence is not None:
        envelope["sequence"] = sequence
    payload = {"entry_id": entry or f"{account}/{amount}", "account": account, "amount": amount}
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "BalanceChanged",
        "source": PACKAGE,
        "account": "123456789012",
        "time": sent.isoformat(),
        "region": REGION,
        "resources": [],
        "detail": {"envelope": envelope, "payload": payload},
    }


def deposited(account: str, *amounts: int, batch: str | None = None) -> dict[str, Any]:
    payload = {"batch_id": batch or str(uuid.uuid4()), "account": account, "amounts": list(amounts)}
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Deposited",
        "source": "bank",
        "account": "123456789012",
        "time": datetime.now(UTC).isoformat(),
        "region": REGION,
        "resources": [],
        "detail": payload,
    }


def book(ledger: Any, body: dict[str, Any]) -> None:
    record = {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "handle",
        "body": json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:ledger-book",
        "awsRegion": REGION,
    }
    response = ledger("adapters.accounts").book({"Records": [record]}, FakeContext())
    assert response["batchItemFailures"] == []


# ---- the publisher numbers each key's events --------------------------------------------------------


def test_published_ordered_events_are_numbered_per_key(ledger: Any, aws: Aws) -> None:
    book(ledger, deposited("a", 1, 2, 3))
    book(ledger, deposited("b", 5))
    book(ledger, deposited("a", 4))
    numbered = [(e["detail"]["payload"]["amount"], e["detail"]["envelope"]["sequence"]) for e in aws.published()]
    assert sorted(numbered) == [(1, 1), (2, 2), (3, 3), (4, 4), (5, 1)]


def test_a_retried_publish_carries_the_numbers_it_was_given_first(ledger: Any, aws: Aws) -> None:
    """The numbers are recorded with the handler's result, so a redelivered deposit publishes the same
    events with the same numbers, and the next deposit is not pushed past a gap."""
    again = deposited("a", 1, 2, batch=str(uuid.uuid4()))
    book(ledger, again)
    first = aws.published()
    book(ledger, again)
    second = aws.published()
    assert [e["detail"]["envelope"] for e in first] == [e["detail"]["envelope"] for e in second]
    book(ledger, deposited("a", 3))
    assert [e["detail"]["envelope"]["sequence"] for e in aws.published()] == [3]


def test_the_whole_chain_keeps_the_order(ledger: Any, aws: Aws, apply: Any) -> None:
    """Published by `book`, delivered to `apply` newest first: applied oldest first."""
    book(ledger, deposited("a", 1, 2, 3))
    for event in reversed(aws.published()):
        assert apply(event) == []
    assert applied(ledger) == [("a", 1)]
    for wait in (1.2, 2.2):  # #3 waited a second more the second time it looked
        for copy in aws.held_back(wait):
            apply(copy)
    assert applied(ledger) == [("a", 1), ("a", 2), ("a", 3)]


# ---- the subscriber handles each key in its order ---------------------------------------------------


def test_two_keys_interleaved_one_failing_the_other_keeps_flowing(ledger: Any, aws: Aws, apply: Any) -> None:
    ledger("services.statements").FAILING.add(1)
    a1 = changed("a", 1, 1)
    assert apply(a1) != [], "a1 fails: retried by SQS"
    assert apply(changed("b", 10, 1)) == []
    assert apply(changed("a", 2, 2)) == [], "a2 is ahead of its turn: held back, not failed"
    assert apply(changed("b", 20, 2)) == []
    assert apply(changed("b", 30, 3)) == []
    assert applied(ledger) == [("b", 10), ("b", 20), ("b", 30)], "b never waited for a"
    ledger("services.statements").FAILING.clear()
    assert apply(a1, receives=2) == []
    for copy in aws.held_back():
        apply(copy)
    assert applied(ledger) == [("b", 10), ("b", 20), ("b", 30), ("a", 1), ("a", 2)]


def test_a_message_ahead_of_its_predecessor_is_held_back_then_handled_after_it(
    ledger: Any, aws: Aws, apply: Any
) -> None:
    a2 = changed("a", 2, 2)
    assert apply(a2) == []
    assert applied(ledger) == [] and aws.delayed() == 1
    assert [s["DelaySeconds"] for s in aws.sent] == [1], "it looks again after a second"
    assert json.loads(aws.sent[0]["MessageBody"]) == a2, "the copy is the message itself"
    assert apply(changed("a", 1, 1)) == []
    copies = aws.held_back()
    assert copies == [a2]
    apply(copies[0])
    assert applied(ledger) == [("a", 1), ("a", 2)]


def test_holding_back_spends_no_attempt(ledger: Any, aws: Aws, apply: Any) -> None:
    """The copy is a new message (receive count 1): waiting for its turn never sends it to the DLQ."""
    a2 = changed("a", 2, 2)
    for _ in range(5):
        assert apply(a2, receives=1) == []
    assert applied(ledger) == [] and aws.delayed() == 5


def test_a_stale_message_is_skipped(ledger: Any, aws: Aws, apply: Any, caplog: pytest.LogCaptureFixture) -> None:
    apply(changed("a", 1, 1))
    apply(changed("a", 2, 2))
    with caplog.at_level(logging.WARNING):
        assert apply(changed("a", 99, 1, entry="another")) == [], "behind its turn: acknowledged"
    assert applied(ledger) == [("a", 1), ("a", 2)]
    assert any("stale" in r.getMessage() for r in caplog.records)


def test_after_the_gap_timeout_a_message_goes_on_and_the_gap_is_logged(
    ledger: Any, aws: Aws, apply: Any, caplog: pytest.LogCaptureFixture
) -> None:
    assert apply(changed("a", 3, 3, age=GAP - 10)) == []
    assert applied(ledger) == [] and [s["DelaySeconds"] for s in aws.sent] == [10], "never waits past the gap"
    with caplog.at_level(logging.ERROR):
        assert apply(changed("a", 3, 3, age=GAP + 1)) == []
    assert applied(ledger) == [("a", 3)]
    assert any("gap: #1..#2" in r.getMessage() for r in caplog.records)
    assert apply(changed("a", 1, 1)) == [], "the missing one, arriving after all, is stale"
    assert applied(ledger) == [("a", 3)]


def test_a_predecessor_given_up_on_lets_its_key_go_on(ledger: Any, aws: Aws, apply: Any) -> None:
    """After its last attempt a message goes to the DLQ, and its turn is passed: SQS FIFO's way."""
    ledger("services.statements").FAILING.add(1)
    a1 = changed("a", 1, 1)
    for receives in (1, 2, 3):
        assert apply(a1, receives=receives) != []
    assert apply(changed("a", 2, 2)) == []
    assert applied(ledger) == [("a", 2)]


def test_a_message_without_a_sequence_is_handled_as_it_comes(ledger: Any, aws: Aws, apply: Any) -> None:
    """An external publisher's (or an api's) event carries no number: no order to keep."""
    apply(changed("a", 1, 3))
    assert apply(changed("a", 2, None)) == []
    assert applied(ledger) == [("a", 2)] and aws.sent != []


# ---- the local test kit behaves the same ------------------------------------------------------------


def test_the_test_kit_holds_back_a_message_ahead_of_its_turn(ledger: Any) -> None:
    testing, models = ledger("testing"), ledger("models")
    kit = testing.TestKit()
    kit.deliver_late("Statements.apply", seconds=20, times=1)
    run = kit.publish(models.Deposited(batch_id=uuid.uuid4(), account="a", amounts=[1, 2, 3]))
    calls = [e.payload["amount"] for e in run.entries if e.kind == "call" and e.name == "Statements.apply"]
    assert calls == [1, 2, 3]
    assert any(e.kind == "held-back" for e in run.entries)


def test_the_test_kit_lets_other_keys_flow_past_a_failing_one(ledger: Any) -> None:
    testing, models = ledger("testing"), ledger("models")
    kit = testing.TestKit()
    kit.fail("Statements.apply", times=1)
    first = kit.publish(models.Deposited(batch_id=uuid.uuid4(), account="a", amounts=[1, 2]))
    second = kit.publish(models.Deposited(batch_id=uuid.uuid4(), account="b", amounts=[5]))
    amounts = [e.payload["amount"] for e in first.entries if e.kind == "call" and e.name == "Statements.apply"]
    assert amounts == [1, 2], "a's second waits for its first, retried after the failure"
    assert [e.payload["amount"] for e in second.entries if e.kind == "call" and e.name == "Statements.apply"] == [5]


# ---- a saga numbers its ordered outcome event ------------------------------------------------------


class PayoutWorld:
    """Answers `Pay` at once, keeps the table's counters (`dynamodb:updateItem ADD`), records events."""

    def __init__(self) -> None:
        self.counters: dict[str, int] = {}
        self.events: list[dict[str, Any]] = []

    def send(self, queue: str, body: Any, now: float) -> Any:
        from tests.asl import Answer

        return Answer(at=now + 1, output={"reply": "Paid", "payload": {"payout_id": body["payload"]["payout_id"]}})

    def put_events(self, entries: list[Any], now: float) -> None:
        self.events += entries

    def update_item(self, params: dict[str, Any], now: float) -> dict[str, Any]:
        assert params["TableName"] == "${IdempotencyTable}" and params["UpdateExpression"] == "ADD #n :one"
        key = params["Key"]["id"]["S"]
        self.counters[key] = self.counters.get(key, 0) + 1
        return {"Attributes": {"sequence": {"N": str(self.counters[key])}}}


def _payout_input(account: str) -> dict[str, Any]:
    payload = {"payout_id": str(uuid.uuid4()), "account": account, "amount": 5}
    envelope = {"message_id": payload["payout_id"], "correlation_id": "corr", "schema_version": "1.0.0"}
    return {"trigger": {"envelope": {**envelope, "causation_id": None, "saga_instance": None}, "payload": payload}}


def test_the_state_machine_numbers_an_ordered_outcome_event_per_key() -> None:
    from flowgen_design.codegen.targets.cloudformation.states import definition
    from flowgen_design.dsl.compiler import check_file
    from tests.asl import run

    flow = check_file(SPEC).flow
    assert flow is not None
    (saga,) = flow.sagas
    machine = definition(flow, saga, lambda h: h.name, "bus", "${IdempotencyTable}")
    world = PayoutWorld()
    for i, account in enumerate(["a", "b", "a"]):
        assert run(machine, _payout_input(account), world, name=f"exec-{i}").status == "SUCCEEDED"
    sequences = [
        (json.dumps(e["Detail"]["payload"]["account"]), e["Detail"]["envelope"]["sequence"]) for e in world.events
    ]
    assert sequences == [('"a"', 1), ('"b"', 1), ('"a"', 2)]
    assert world.counters == {"sequence#ledger#PaidOut#a": 2, "sequence#ledger#PaidOut#b": 1}, "the adapters' counter"
    unnumbered = definition(flow, saga, lambda h: h.name, "bus")
    assert not any(s.get("Resource", "").endswith("updateItem") for s in unnumbered["States"].values())


def test_the_state_machine_may_count_in_the_table_and_nothing_more() -> None:
    from flowgen_design.codegen.targets.cloudformation import build_template
    from flowgen_design.dsl.compiler import check_file

    flow = check_file(SPEC).flow
    assert flow is not None
    resources = build_template(flow).as_dict()["Resources"]
    machine = resources["PayoutSagaStateMachine"]["Properties"]
    assert machine["DefinitionSubstitutions"]["IdempotencyTable"] == {"Ref": "IdempotencyTable"}
    statements = resources["PayoutSagaStateMachineRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    counting = [s for s in statements if any(a.startswith("dynamodb:") for a in s["Action"])]
    assert counting == [
        {"Effect": "Allow", "Action": ["dynamodb:UpdateItem"], "Resource": {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}}
    ]


def test_the_test_kit_numbers_saga_outcomes_like_the_state_machine(ledger: Any) -> None:
    testing, models = ledger("testing"), ledger("models")
    kit = testing.TestKit()
    for account in ("a", "b", "a"):
        run = kit.publish(models.PayoutRequested(payout_id=uuid.uuid4(), account=account, amount=5))
        assert run.outcome("Payout") == "completed"
    book = kit._world.ordering
    assert book.counters == {"ledger#PaidOut#a": 2, "ledger#PaidOut#b": 1}
    assert book.turns == {"Reports.record_payout#a": 2, "Reports.record_payout#b": 1}, "taken in its order"


def test_an_invalid_predecessor_passes_its_turn_when_it_can_be_read(ledger: Any, aws: Aws, apply: Any) -> None:
    broken = changed("a", 1, 1)
    broken["detail"]["payload"]["amount"] = "one"
    assert apply(broken) == [], "invalid: final at once"
    assert apply(changed("a", 2, 2)) == []
    assert applied(ledger) == [("a", 2)], "no wait for a message that will never be valid"


def test_a_predecessor_dropped_after_its_receives_passes_its_turn(ledger: Any, aws: Aws) -> None:
    """`Statements.apply` has a DLQ; a handler without one drops a message received too often."""
    runtime = ledger("adapters.runtime")
    route = ledger("adapters.statements")._apply_route
    without_dlq = dataclasses.replace(route, dlq=False)
    body = json.dumps(changed("a", 1, 1))
    record = runtime.SQSRecord(
        {
            "messageId": "m",
            "receiptHandle": "h",
            "body": body,
            "attributes": {"ApproximateReceiveCount": "4"},
            "eventSourceARN": aws.queue_arn,
        }
    )
    runtime.handle_record(record, without_dlq, FakeContext())
    assert runtime.order_book().last_handled("Statements.apply#a") == 1


@pytest.mark.parametrize("seed", range(6))
def test_the_test_kit_keeps_the_order_whatever_the_arrival_order(ledger: Any, seed: int) -> None:
    """Each of a key's five messages arrives after a random delay (and one attempt may fail):
    the handler still takes them 1, 2, 3, 4, 5."""
    rng = random.Random(seed)
    testing, models = ledger("testing"), ledger("models")
    kit = testing.TestKit()
    delays = [rng.uniform(0, 40) for _ in range(5)]
    for delay in delays:
        kit.deliver_late("Statements.apply", seconds=delay, times=1)
    if rng.random() < 0.5:
        kit.fail("Statements.apply", times=1)
    run = kit.publish(models.Deposited(batch_id=uuid.uuid4(), account="a", amounts=[1, 2, 3, 4, 5]))
    calls = [e.payload["amount"] for e in run.entries if e.kind == "call" and e.name == "Statements.apply"]
    assert calls == [1, 2, 3, 4, 5], run.format()
    assert delays == sorted(delays) or any(e.kind == "held-back" for e in run.entries), "they did arrive out of order"
