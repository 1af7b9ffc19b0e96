"""Waits for an external event (`await`, docs/semantics.md section 11), proven by running them.

Each scenario runs twice and both runs must tell the same story (the commands the saga sent,
its outcome and the outcome event with its payload):

- in the generated local test kit, on its virtual clock (`Kit.publish_later` puts the awaited
  event on the bus while the saga runs);
- in the generated state machine, run by `tests/asl.py`, whose `await` task registers with the
  real generated awaiter (`adapters/saga_starter.py`) against a moto DynamoDB table; the awaited
  events go through the same awaiter, which answers the task with a recording Step Functions
  client that refuses an answer after the task's deadline, as AWS does (`TaskTimedOut`).

Scenarios: the event arrives (success path), a failure event (compensation), no event (the timeout
leads to `expired`, compensating), an event that arrives before the wait starts (kept, delivered
on registration), an event after the timeout (no effect), two events (the first wins), and
heartbeats: a command step whose handler is silent past its heartbeat (the adapter's heartbeats
are sent by the real runtime, `test_the_adapter_sends_heartbeats`), and a wait whose registration
was lost (machine only: the kit cannot lose it), which fails at its heartbeat instead of its timeout.
"""

from __future__ import annotations

import importlib
import json
import sys
import types
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from flowgen_design.codegen.options import GenerateOptions
from flowgen_design.codegen.targets import lambda_adapters
from flowgen_design.codegen.targets.cloudformation.states import definition
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.model import Flow, Saga
from tests.asl import Answer, iso, run
from tests.conftest import ROOT, run_flowgen

pytestmark = pytest.mark.slow  # generates and imports a package, runs moto

SPEC = ROOT / "tests" / "specs" / "waits.flow"
PKG = "waits"
DAY = 86_400.0
AWAITER_QUEUE = "awaiter"
REGION = "us-east-1"
KEY = "00000000-0000-4000-8000-00000000000a"

SERVICES = {
    "inventory": """
from waits import models
from waits.handlers.inventory import InventoryHandlers


class InventoryService(InventoryHandlers):
    def reserve_stock(self, command: models.ReserveStock) -> models.StockReserved:
        return models.StockReserved(order_id=command.order_id)

    def release_stock(self, command: models.ReleaseStock) -> models.StockReleased:
        return models.StockReleased(order_id=command.order_id)
""",
    "shipping": """
from waits import models
from waits.handlers.shipping import ShippingHandlers


class ShippingService(ShippingHandlers):
    def ship(self, command: models.Ship) -> models.Shipped:
        assert command.payment_id, "the payment id comes from the awaited event"
        return models.Shipped(order_id=command.order_id, payment_id=command.payment_id)
""",
}


@dataclass(frozen=True)
class Scenario:
    """Events put on the bus at these seconds (negative: before the trigger), and what must happen."""

    name: str
    events: tuple[tuple[float, str], ...]
    outcome: str
    commands: tuple[str, ...]
    event: str
    late_reserve: float = 0.0
    """The reserve command reaches its handler this late (its heartbeat lapses first when > 60 s)."""


SCENARIOS = [
    Scenario("arrives", ((3600, "PaymentConfirmed"),), "completed", ("reserve", "ship"), "OrderConfirmed"),
    Scenario("fails", ((3600, "PaymentFailed"),), "compensated", ("reserve", "undo reserve"), "OrderCancelled"),
    Scenario("never", (), "expired", ("reserve", "undo reserve"), "OrderExpired"),
    Scenario("early", ((-5, "PaymentConfirmed"),), "completed", ("reserve", "ship"), "OrderConfirmed"),
    Scenario("late", ((2 * DAY + 3600, "PaymentConfirmed"),), "expired", ("reserve", "undo reserve"), "OrderExpired"),
    Scenario(
        "first wins",
        ((3600, "PaymentConfirmed"), (7200, "PaymentFailed")),
        "completed",
        ("reserve", "ship"),
        "OrderConfirmed",
    ),
    Scenario(
        "silent handler",
        ((3600, "PaymentConfirmed"),),
        "compensated",
        ("reserve", "undo reserve"),
        "OrderCancelled",
        late_reserve=120,
    ),
]


def _payload(name: str) -> dict[str, Any]:
    if name == "PaymentConfirmed":
        return {"order_id": KEY, "payment_id": "pay-1"}
    if name == "PaymentFailed":
        return {"order_id": KEY, "reason": "declined"}
    return {"order_id": KEY}


@dataclass(frozen=True)
class Story:
    commands: tuple[str, ...]
    outcome: str
    event: tuple[str, dict[str, Any]]


# ---- the local test kit ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("waits")
    result = run_flowgen("generate", str(SPEC), "--out", str(out), "-t", "python", "-t", "lambda", cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    python = out / "python"
    for module, body in SERVICES.items():
        (python / PKG / "services" / f"{module}.py").write_text(body.lstrip(), encoding="utf-8")
    return python


@pytest.fixture
def testing(generated: Path) -> Iterator[types.ModuleType]:
    _forget()
    sys.path.insert(0, str(generated))
    try:
        yield importlib.import_module(f"{PKG}.testing")
    finally:
        sys.path.remove(str(generated))
        _forget()


def _forget() -> None:
    for name in [m for m in sys.modules if m.split(".")[0] == PKG]:
        del sys.modules[name]


def kit_story(testing: types.ModuleType, scenario: Scenario) -> tuple[Story, Any]:
    models = importlib.import_module(f"{PKG}.models")
    services = {
        "Inventory": importlib.import_module(f"{PKG}.services.inventory").InventoryService(),
        "Shipping": importlib.import_module(f"{PKG}.services.shipping").ShippingService(),
    }
    kit = testing.TestKit(services=services)
    if scenario.late_reserve:
        kit.deliver_late("Inventory.reserve_stock", scenario.late_reserve)
    for _at, name in (e for e in scenario.events if e[0] < 0):
        kit.publish(getattr(models, name)(**_payload(name)))
    kit.advance(5)
    for at, name in (e for e in scenario.events if e[0] >= 0):
        kit.publish_later(getattr(models, name)(**_payload(name)), at)
    trigger = models.OrderPlaced(order_id=uuid.UUID(KEY), total=12)
    result = kit.publish(trigger)
    outcome = result.outcome("Checkout")
    emitted = [e for e in result.entries if e.kind == "publish" and not e.input and e.name.startswith("Order")]
    commands = tuple(dict.fromkeys(result.commands("Checkout")))
    story = Story(commands, str(outcome), (emitted[-1].name, dict(emitted[-1].payload or {})))
    return story, result


# ---- the state machine with the real awaiter --------------------------------------------------------------


@dataclass
class Recorder:
    """Step Functions as the awaiter sees it: answers recorded with their time; after the task's
    deadline (or a first answer) a call is refused as AWS refuses it."""

    now: float = 0.0
    deadline: float = float("inf")
    answers: list[tuple[float, str, Any]] = field(default_factory=list)
    heartbeats: list[float] = field(default_factory=list)

    def _refuse(self, operation: str) -> None:
        if self.now > self.deadline or self.answers:
            raise ClientError({"Error": {"Code": "TaskTimedOut", "Message": "gone"}}, operation)

    def send_task_success(self, taskToken: str, output: str) -> dict[str, Any]:
        self._refuse("SendTaskSuccess")
        self.answers.append((self.now, "success", json.loads(output)))
        return {}

    def send_task_failure(self, taskToken: str, error: str, cause: str) -> dict[str, Any]:
        self._refuse("SendTaskFailure")
        self.answers.append((self.now, "failure", (error, cause)))
        return {}

    def send_task_heartbeat(self, taskToken: str) -> dict[str, Any]:
        self._refuse("SendTaskHeartbeat")
        self.heartbeats.append(self.now)
        return {}


def _starter(flow: Flow) -> types.ModuleType:
    files = lambda_adapters.build(flow, GenerateOptions(out_dir=Path("unused")))
    (source,) = [f.content for f in files if f.path.name == "saga_starter.py"]
    module = types.ModuleType("saga_starter")
    exec(compile(source, "saga_starter.py", "exec"), module.__dict__)
    return module


class MachineWorld:
    """The handlers answer at once (the reserve command `late_reserve` late, with its adapter's
    heartbeat as the attempt starts); the wait goes through the real awaiter."""

    def __init__(
        self,
        saga: Saga,
        scenario: Scenario,
        starter: types.ModuleType,
        lose_registration: bool = False,
        payload: Any = None,
    ):
        self.saga, self.scenario, self.starter = saga, scenario, starter
        self.payload = payload or _payload
        self.lose_registration = lose_registration
        self.commands: list[str] = []
        self.emitted: list[tuple[str, dict[str, Any]]] = []
        self.delivered: set[int] = set()

    def send(self, queue: str, body: Any, now: float) -> Answer | None:
        if queue == AWAITER_QUEUE:
            return self._wait(body, now)
        label = body["envelope"]["message_id"].split("/", 1)[1]
        self.commands.append(label)
        step = next(s for s in self.saga.steps if s.name == body["step"])
        call = step.compensation if label.startswith("undo ") else step.action
        assert call is not None
        reply = call.command.replies[0]
        payload = {f.name: body["payload"][f.name] for f in reply.fields if f.name in body["payload"]}
        late = self.scenario.late_reserve if label == "reserve" else 0.0
        beats = (now + late,) if body["envelope"].get("heartbeat_seconds") else ()
        return Answer(now + late, output={"reply": reply.name, "payload": payload}, heartbeats=beats)

    def _wait(self, body: Any, now: float) -> Answer:
        """Feed the awaiter what happens from the registration on, in time order, until it answers."""
        sfn = Recorder(deadline=now + body["envelope"]["timeout_seconds"])
        feed = [(at, i, name) for i, (at, name) in enumerate(self.scenario.events) if i not in self.delivered]
        for at, i, name in sorted(f for f in feed if f[0] < now):  # arrived before the wait started
            self._event(sfn, at, i, name)
        if not self.lose_registration:
            sfn.now = now
            self.starter.AWAITER.handle(sfn, json.loads(json.dumps(body)))
        sweeps = [now + k * 3600 for k in range(1, 49)]  # the awaiter's sweep, hourly
        moments = sorted([(at, 0, i, name) for at, i, name in feed if at >= now] + [(t, 1, -1, "") for t in sweeps])
        for at, order, i, name in moments:
            if order == 0:
                self._event(sfn, at, i, name)
            else:
                sfn.now = at
                self.starter.AWAITER.sweep(sfn)
        if not sfn.answers:
            return Answer(float("inf"), heartbeats=tuple(sfn.heartbeats))
        at, answered, value = sfn.answers[0]
        if answered == "success":
            return Answer(max(at, now), output=value, heartbeats=tuple(sfn.heartbeats))
        return Answer(max(at, now), error=value[0], cause=value[1], heartbeats=tuple(sfn.heartbeats))

    def _event(self, sfn: Recorder, at: float, index: int, name: str) -> None:
        self.delivered.add(index)
        sfn.now = at
        event = {
            "id": f"eb-{index}",
            "detail-type": name,
            "source": "bank",
            "time": iso(at),
            "detail": self.payload(name),
        }
        self.starter.AWAITER.handle(sfn, event)

    def put_events(self, entries: list[Any], now: float) -> None:
        for entry in entries:
            self.emitted.append((entry["DetailType"], entry["Detail"]["payload"]))


@pytest.fixture
def awaiter_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with mock_aws():
        monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName="idempotency",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )
        yield


def _flow() -> Flow:
    flow = check_file(SPEC).flow
    assert flow is not None
    return flow


def _settings(monkeypatch: pytest.MonkeyPatch, flow: Flow) -> None:
    """The starter's environment, read off the generated template (the table's name for its `Ref`)."""
    from flowgen_design.codegen.aws.plan import plan_of
    from flowgen_design.codegen.targets import all_targets

    files = all_targets()["cloudformation"].build(flow, GenerateOptions(out_dir=Path("out")))
    template = json.loads(next(f.content for f in files if f.path.name == "template.json"))
    function = plan_of(flow).saga(flow.sagas[0]).starter.function.logical_id
    for name, value in template["Resources"][function]["Properties"]["Environment"]["Variables"].items():
        monkeypatch.setenv(name, value if isinstance(value, str) else "idempotency" if name == "WAIT_TABLE" else "ref")


def machine_story(monkeypatch: pytest.MonkeyPatch, scenario: Scenario, lose: bool = False) -> tuple[Story, Any]:
    flow = _flow()
    saga = flow.sagas[0]
    _settings(monkeypatch, flow)
    starter = _starter(flow)
    world = MachineWorld(saga, scenario, starter, lose_registration=lose)
    machine = definition(flow, saga, lambda h: h.name, "bus", None, AWAITER_QUEUE)
    start = {"trigger": {"envelope": _envelope(), "payload": {"order_id": KEY, "total": 12}}}
    ex = run(machine, start, world, name="exec-1")
    outcome = ex.end_state if ex.status == "SUCCEEDED" else "failed"
    commands = tuple(dict.fromkeys(world.commands))
    return Story(commands, outcome, world.emitted[-1]), (ex, world)


def _envelope() -> dict[str, Any]:
    return {
        "message_id": "trigger-1",
        "correlation_id": "trigger-1",
        "causation_id": None,
        "saga_instance": None,
        "schema_version": "1.0.0",
        "time": iso(0),
    }


# ---- the tests ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_the_kit_and_the_machine_tell_the_same_story(
    scenario: Scenario, testing: types.ModuleType, monkeypatch: pytest.MonkeyPatch, awaiter_table: None
) -> None:
    kit, run_ = kit_story(testing, scenario)
    machine, (ex, _world) = machine_story(monkeypatch, scenario)
    expected = (scenario.commands, scenario.outcome, scenario.event)
    assert (kit.commands, kit.outcome, kit.event[0]) == expected, run_.format()
    assert (machine.commands, machine.outcome, machine.event[0]) == expected, ex.trace
    assert kit.event == machine.event


def test_a_late_event_has_no_effect(testing: types.ModuleType) -> None:
    late = next(s for s in SCENARIOS if s.name == "late")
    story, result = kit_story(testing, late)
    assert story.outcome == "expired"
    assert [e.name for e in result.entries if e.kind == "late-answer"] == ["pay"], result.format()
    assert "ship" not in story.commands


def test_the_wait_times_out_after_its_timeout(testing: types.ModuleType) -> None:
    never = next(s for s in SCENARIOS if s.name == "never")
    _, result = kit_story(testing, never)
    timeout = next(e for e in result.entries if e.kind == "timeout" and e.name == "pay")
    wait = next(e for e in result.entries if e.kind == "wait")
    assert timeout.time - wait.time == pytest.approx(2 * DAY)


def test_a_lost_registration_fails_at_the_heartbeat(monkeypatch: pytest.MonkeyPatch, awaiter_table: None) -> None:
    """Without the registration no sweep confirms the wait: HeartbeatSeconds (1d) ends it, not its 2d timeout;
    it takes the timeout's way (`expired`). With the registration, hourly sweeps keep it alive."""
    arrives = Scenario("lost", (), "expired", ("reserve", "undo reserve"), "OrderExpired")
    story, (ex, _) = machine_story(monkeypatch, arrives, lose=True)
    assert story.outcome == "expired"
    pay = next(t for t, s in ex.trace if s == "failed pay")
    assert pay == pytest.approx(DAY)
    _kept, (ex2, _) = machine_story(monkeypatch, arrives)
    assert next(t for t, s in ex2.trace if s == "failed pay") == pytest.approx(2 * DAY)


def test_the_awaiter_delivers_once_whichever_half_comes_first(
    awaiter_table: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = _flow()
    _settings(monkeypatch, flow)
    starter = _starter(flow)
    body = {"kind": "saga-wait", "saga": "Checkout", "step": "pay", "key": KEY, "taskToken": "t-1"}
    event = {"id": "e", "detail-type": "PaymentConfirmed", "source": "bank", "detail": _payload("PaymentConfirmed")}
    for order in ((body, event), (event, body)):
        boto3.client("dynamodb", region_name=REGION).delete_item(
            TableName="idempotency", Key={"id": {"S": f"wait#Checkout#pay#{KEY}"}}
        )
        sfn = Recorder()
        for message in (*order, event, body):  # each half twice: a redelivery changes nothing
            starter.AWAITER.handle(sfn, dict(message))
        assert [kind for _, kind, _ in sfn.answers] == ["success"]


def test_the_adapter_sends_heartbeats(generated: Path) -> None:
    """A command step with `heartbeat`: the generated adapter sends SendTaskHeartbeat as the attempt starts."""
    sys.path.insert(0, str(generated))
    try:
        _forget()
        runtime = importlib.import_module(f"{PKG}.adapters.runtime")
        calls: list[str] = []

        class Beats:
            def send_task_heartbeat(self, taskToken: str) -> None:
                calls.append(taskToken)

        record = types.SimpleNamespace(
            body=json.dumps({"taskToken": "t-1", "envelope": {"heartbeat_seconds": 60}}), message_id="m"
        )
        saved = dict(runtime.CLIENTS)
        runtime.CLIENTS["stepfunctions"] = Beats()
        try:
            runtime.heartbeat(record, types.SimpleNamespace(handler="h"), "t-1")
            quiet = types.SimpleNamespace(body=json.dumps({"taskToken": "t-2", "envelope": {}}), message_id="m")
            runtime.heartbeat(quiet, types.SimpleNamespace(handler="h"), "t-2")
        finally:
            runtime.CLIENTS.clear()
            runtime.CLIENTS.update(saved)
        assert calls == ["t-1"]
    finally:
        sys.path.remove(str(generated))
        _forget()


def test_every_simulated_wait_scenario_replays_in_the_kit(generated: Path, tmp_path: Path) -> None:
    """`flowgen simulate --replay-all` on the waits spec: each schedule (each awaited event, the timeout, a late
    and an early event, with one fault or none) is written as a pytest case and passes against the kit."""
    import os
    import re
    import subprocess

    out = tmp_path / "replays"
    result = run_flowgen("simulate", str(SPEC), "--replay", str(out), "--replay-all")
    assert result.returncode == 0, result.stdout + result.stderr
    env = {**os.environ, "PYTHONPATH": str(generated)}
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", str(out), "-q", "-rfs", "-p", "no:cacheprovider", "--rootdir", str(out)],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|skipped|error)", ran.stdout)}
    assert ran.returncode == 0, ran.stdout[-6000:] + ran.stderr[-2000:]
    assert counts.get("passed", 0) >= 10 and "failed" not in counts, ran.stdout[-2000:]
    written = "\n".join(p.read_text() for p in out.rglob("*.py"))
    # the awaited events, published before the trigger (a late event reaches the timeout's end state: one schedule)
    assert "models.PaymentConfirmed.model_validate(" in written and "models.PaymentFailed.model_validate(" in written


# ---- the example: Temporal's expense approval, its decision and its wait-times-out path ------------------

EXPENSE = ROOT / "specs" / "examples" / "temporal_expense.flow"
EXPENSE_SERVICE = """
from expense import models
from expense.handlers.expenses import ExpensesHandlers


class ExpensesService(ExpensesHandlers):
    def create_expense(self, command: models.CreateExpense) -> models.ExpenseCreated:
        return models.ExpenseCreated(expense_id=command.expense_id)

    def make_payment(self, command: models.MakePayment) -> models.PaymentMade:
        return models.PaymentMade(expense_id=command.expense_id)
"""
EXPENSE_SCENARIOS = [
    Scenario("approved", ((120, "ExpenseApproved"),), "completed", ("create", "pay"), "ExpensePaid"),
    Scenario("rejected", ((120, "ExpenseRejected"),), "declined", ("create",), "ExpenseDeclined"),
    Scenario("nobody decides", (), "expired", ("create",), "ExpenseExpired"),
    Scenario("decided too late", ((700, "ExpenseApproved"),), "expired", ("create",), "ExpenseExpired"),
]


def _expense_payload(name: str) -> dict[str, Any]:
    extra = {"ExpenseApproved": {"approver": "ada"}, "ExpenseRejected": {"approver": "ada", "reason": "no receipt"}}
    return {"expense_id": "e-1", **extra.get(name, {})}


@pytest.fixture(scope="module")
def expense_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("expense")
    result = run_flowgen("generate", str(EXPENSE), "--out", str(out), "-t", "python", "-t", "lambda", cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    python = out / "python"
    (python / "expense" / "services" / "expenses.py").write_text(EXPENSE_SERVICE.lstrip(), encoding="utf-8")
    return python


@pytest.mark.parametrize("scenario", EXPENSE_SCENARIOS, ids=[s.name for s in EXPENSE_SCENARIOS])
def test_the_example_decides_or_expires_the_same_in_the_kit_and_the_machine(
    scenario: Scenario, expense_package: Path, monkeypatch: pytest.MonkeyPatch, awaiter_table: None
) -> None:
    for name in [m for m in sys.modules if m.split(".")[0] == "expense"]:
        del sys.modules[name]
    monkeypatch.syspath_prepend(str(expense_package))
    models = importlib.import_module("expense.models")
    testing = importlib.import_module("expense.testing")
    service = importlib.import_module("expense.services.expenses").ExpensesService()
    kit = testing.TestKit(services={"Expenses": service})
    for at, name in scenario.events:
        kit.publish_later(getattr(models, name)(**_expense_payload(name)), at)
    result = kit.publish(models.ExpenseRequested(expense_id="e-1", amount=12))
    emitted = [e for e in result.entries if e.kind == "publish" and not e.input and e.name.startswith("Expense")]
    emitted = [e for e in emitted if e.name not in ("ExpenseCreated",)]
    kit_story = Story(
        tuple(dict.fromkeys(result.commands("Expense"))),
        str(result.outcome("Expense")),
        (emitted[-1].name, dict(emitted[-1].payload or {})),
    )
    flow = check_file(EXPENSE).flow
    assert flow is not None
    saga = flow.sagas[0]
    _settings(monkeypatch, flow)
    world = MachineWorld(saga, scenario, _starter(flow), payload=_expense_payload)
    machine = definition(flow, saga, lambda h: h.name, "bus", None, AWAITER_QUEUE)
    start = {"trigger": {"envelope": _envelope(), "payload": {"expense_id": "e-1", "amount": 12}}}
    ex = run(machine, start, world, name="exec-1")
    outcome = ex.end_state if ex.status == "SUCCEEDED" else "failed"
    machine_story = Story(tuple(dict.fromkeys(world.commands)), outcome, world.emitted[-1])
    expected = (scenario.commands, scenario.outcome, scenario.event)
    assert (kit_story.commands, kit_story.outcome, kit_story.event[0]) == expected, result.format()
    assert (machine_story.commands, machine_story.outcome, machine_story.event[0]) == expected, ex.trace
    assert kit_story.event == machine_story.event
    if scenario.outcome == "expired":
        assert kit_story.event[1]["error"] == "States.Timeout"


LONE_WAIT = """flow lone version 1.0.0
event Started { id: uuid  key id }
event Approved { id: uuid  key id }
event Done { id: uuid  key id }
event Undone { id: uuid  key id }
external Web { publishes Started, Approved  consumes Done, Undone }
saga S {
  trigger Started
  step approve: await Approved { timeout 1d }
  on completed emit Done
  on compensated emit Undone
  on failed emit Undone
}
"""


def test_a_saga_that_only_waits_generates_and_times_out_compensated(tmp_path: Path) -> None:
    """Its one step is the pivot and a wait: no way of it fails, so its machine has no `failed`
    state (the template check once demanded one, and `generate` stopped with a flowgen bug)."""
    spec = tmp_path / "lone.flow"
    spec.write_text(LONE_WAIT)
    result = run_flowgen("generate", str(spec), "--out", str(tmp_path / "out"), "-t", "cloudformation")
    assert result.returncode == 0, result.stderr
    flow = check_file(spec).flow
    assert flow is not None
    machine = definition(flow, flow.sagas[0], lambda h: h.name, "bus", None, AWAITER_QUEUE)
    world = _Silent()
    ex = run(machine, {"trigger": {"envelope": _envelope(), "payload": {"id": KEY}}}, world)
    assert (ex.status, ex.end_state) == ("SUCCEEDED", "compensated")  # no event: the wait timed out
    assert ex.clock == 86_400
    assert [e["DetailType"] for e in world.emitted] == ["Undone"]


class _Silent:
    """Nobody answers the wait; the outcome events are kept."""

    def __init__(self) -> None:
        self.emitted: list[dict[str, Any]] = []

    def send(self, queue: str, body: dict[str, Any], now: float) -> Answer | None:
        return None

    def put_events(self, entries: list[dict[str, Any]], now: float) -> None:
        self.emitted += entries
