"""Saga control flow beyond a straight line, proven by running it: every way a branched saga can end
(each branch, each named outcome, each failure) runs through the generated local test kit and through
the generated state machine (`tests/asl.py` driving the same kit, as `tests/test_conformance.py` does),
and both must tell the same story: the commands sent, the compensations, the events, the user's code
that ran and the outcome.

The specs are the sagas of `specs/examples/` (eShop, FTGO, the Step Functions travel booking and the
Temporal money transfer); each way to an end comes from `dsl.sagapaths`, with
the replies of one route through the branches to it.
"""

from __future__ import annotations

import datetime
import functools
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from flowgen_design.codegen.simulate import simulate
from flowgen_design.codegen.simulate.report import render_text
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.model import Flow, Saga
from flowgen_design.dsl.rules.timing import saga_worst_case_ms
from flowgen_design.dsl.sagapaths import Ending, endings, undo_policy
from tests.conftest import ROOT, run_flowgen
from tests.pytarget import importing_from
from tests.test_conformance import MachineOrchestrator, _observable

pytestmark = pytest.mark.slow  # generates and imports each example's package, runs every way of each saga twice

SPECS = {
    "ordering": ROOT / "specs" / "examples" / "eshop_ordering.flow",
    "ftgo": ROOT / "specs" / "examples" / "ftgo_create_order.flow",
    "trip_booking": ROOT / "specs" / "examples" / "aws_travel_booking.flow",
    "money_transfer": ROOT / "specs" / "examples" / "temporal_money_transfer.flow",
}

HEAD = """
from __future__ import annotations

import uuid

from {pkg} import models
from {pkg}.handlers.{module} import {cls}Handlers

U = uuid.UUID("00000000-0000-4000-8000-000000000001")


class {cls}Service({cls}Handlers):
"""

SERVICES: dict[str, dict[str, str]] = {
    "ordering": {
        "catalog": """
    def confirm_stock(self, command: models.ConfirmStock) -> models.StockConfirmed | models.StockRejected:
        return models.StockConfirmed(order_id=command.order_id)

    def release_stock(self, command: models.ReleaseStock) -> models.StockReleased:
        return models.StockReleased(order_id=command.order_id)
""",
        "risk": """
    def assess_risk(self, command: models.AssessRisk) -> models.LowRisk | models.NeedsReview | models.Fraud:
        return models.LowRisk(order_id=command.order_id)

    def review_order(self, command: models.ReviewOrder) -> models.Approved | models.Declined:
        return models.Approved(order_id=command.order_id)
""",
        "payments": """
    def pay(self, command: models.Pay) -> models.Paid | models.PaymentFailed:
        return models.Paid(order_id=command.order_id, payment_id=U)
""",
        "shipping": """
    def ship(self, command: models.Ship) -> models.Shipped | models.Backordered:
        return models.Shipped(order_id=command.order_id, tracking="TRK-1")
""",
    },
    "ftgo": {
        "orders": """
    def approve_order(self, command: models.ApproveOrder) -> models.OrderApproved:
        return models.OrderApproved(order_id=command.order_id)

    def reject_order(self, command: models.RejectOrder) -> models.OrderRejected:
        return models.OrderRejected(order_id=command.order_id)
""",
        "consumers": """
    def validate_order_by_consumer(
        self, command: models.ValidateOrderByConsumer
    ) -> models.ConsumerVerified | models.ConsumerVerificationFailed:
        return models.ConsumerVerified(order_id=command.order_id)
""",
        "kitchen": """
    def create_ticket(self, command: models.CreateTicket) -> models.TicketCreated | models.TicketRejected:
        return models.TicketCreated(order_id=command.order_id, id=U)

    def cancel_create_ticket(self, command: models.CancelCreateTicket) -> models.TicketCancelled:
        return models.TicketCancelled(order_id=command.order_id)

    def confirm_create_ticket(self, command: models.ConfirmCreateTicket) -> models.TicketConfirmed:
        assert command.ticket_id == U, "the ticket id is mapped from the kitchen's own reply"
        return models.TicketConfirmed(ticket_id=command.ticket_id)
""",
        "accounting": """
    def authorize_card(
        self, command: models.AuthorizeCard
    ) -> models.CardAuthorized | models.CardAuthorizationFailed:
        assert (command.amount, command.currency) == (1200, "USD"), "mapped from the trigger and a constant"
        return models.CardAuthorized(order_id=command.order_id, authorization_id=U)
""",
    },
    "trip_booking": {
        "flights": """
    def reserve_flight(self, command: models.ReserveFlight) -> models.FlightReserved:
        return models.FlightReserved(trip_id=command.trip_id, booking_id="F-1")

    def confirm_flight(self, command: models.ConfirmFlight) -> models.FlightConfirmed:
        assert command.booking_id == "F-1", "the flight's booking id, not the rental's of the same name"
        return models.FlightConfirmed(trip_id=command.trip_id)

    def cancel_flight(self, command: models.CancelFlight) -> models.FlightCancelled:
        return models.FlightCancelled(trip_id=command.trip_id)
""",
        "rentals": """
    def reserve_car_rental(self, command: models.ReserveCarRental) -> models.CarRentalReserved:
        return models.CarRentalReserved(trip_id=command.trip_id, booking_id="R-1")

    def confirm_car_rental(self, command: models.ConfirmCarRental) -> models.CarRentalConfirmed:
        assert command.booking_id == "R-1", "the rental's booking id, mapped from its own step"
        return models.CarRentalConfirmed(trip_id=command.trip_id)

    def cancel_rental(self, command: models.CancelRental) -> models.RentalCancelled:
        return models.RentalCancelled(trip_id=command.trip_id)
""",
        "payments": """
    def process_payment(self, command: models.ProcessPayment) -> models.PaymentProcessed:
        return models.PaymentProcessed(trip_id=command.trip_id, payment_id="P-1")

    def refund_payment(self, command: models.RefundPayment) -> models.PaymentRefunded:
        return models.PaymentRefunded(trip_id=command.trip_id)
""",
    },
    "money_transfer": {
        "banking": """
    def withdraw(
        self, command: models.Withdraw
    ) -> models.Withdrawn | models.InvalidAccount | models.InsufficientFunds:
        return models.Withdrawn(reference_id=command.reference_id, confirmation="W-1")

    def deposit(self, command: models.Deposit) -> models.Deposited | models.InvalidAccount:
        return models.Deposited(reference_id=command.reference_id, confirmation="D-1")

    def refund(self, command: models.Refund) -> models.Refunded | models.InvalidAccount:
        return models.Refunded(reference_id=command.reference_id, confirmation="R-1")
""",
    },
}

# A reply, other than the one the service gives, by name: built from the command that asked.
REPLIES: dict[str, Callable[[ModuleType, Any], Any]] = {
    "StockRejected": lambda m, c: m.StockRejected(order_id=c.order_id, missing=["sku-1"]),
    "NeedsReview": lambda m, c: m.NeedsReview(order_id=c.order_id),
    "LowRisk": lambda m, c: m.LowRisk(order_id=c.order_id),
    "Fraud": lambda m, c: m.Fraud(order_id=c.order_id, reason="stolen card"),
    "Declined": lambda m, c: m.Declined(order_id=c.order_id, reason="reviewer said no"),
    "PaymentFailed": lambda m, c: m.PaymentFailed(order_id=c.order_id, reason="card declined"),
    "Backordered": lambda m, c: m.Backordered(order_id=c.order_id),
    "ConsumerVerificationFailed": lambda m, c: m.ConsumerVerificationFailed(order_id=c.order_id, reason="unknown"),
    "TicketRejected": lambda m, c: m.TicketRejected(order_id=c.order_id, reason="closed"),
    "CardAuthorizationFailed": lambda m, c: m.CardAuthorizationFailed(order_id=c.order_id, reason="declined"),
    "InvalidAccount": lambda m, c: m.InvalidAccount(reference_id=c.reference_id, account="nobody"),
    "InsufficientFunds": lambda m, c: m.InsufficientFunds(reference_id=c.reference_id),
}


def _trigger(pkg: str, models: ModuleType, key: uuid.UUID) -> Any:
    if pkg == "ftgo":
        return models.OrderCreated(order_id=key, consumer_id=key, restaurant_id=key, order_total=1200)
    if pkg == "trip_booking":
        at = datetime.datetime(2021, 7, 7, 6, tzinfo=datetime.UTC)
        return models.TripRequested(
            trip_id=str(key),
            depart_city="Detroit",
            depart_time=at,
            arrive_city="Frankfurt",
            arrive_time=at,
            rental="BMW",
            rental_from=at,
            rental_to=at,
        )
    if pkg == "money_transfer":
        return models.TransferRequested(
            source_account="85-150", target_account="43-812", amount=250, reference_id=str(key)
        )
    return models.OrderSubmitted(order_id=key, buyer_id=uuid.uuid4(), total=1200)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("branches")
    specs = [str(p.relative_to(ROOT)) for p in SPECS.values()]
    result = run_flowgen("generate", *specs, "--out", str(out), "-t", "python", "-t", "lambda", cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    python = out / "python"
    for pkg, modules in SERVICES.items():
        for module, body in modules.items():
            head = HEAD.format(pkg=pkg, module=module, cls=module.capitalize())
            (python / pkg / "services" / f"{module}.py").write_text(head.lstrip() + body, encoding="utf-8")
    return python


@pytest.fixture
def load(generated: Path) -> Iterator[Callable[[str], ModuleType]]:
    yield from importing_from(generated, SPECS)


@functools.cache
def _flow(pkg: str) -> Flow:
    flow = check_file(SPECS[pkg]).flow
    assert flow is not None
    return flow


def _ways() -> list[tuple[str, Saga, Ending]]:
    return [(pkg, saga, way) for pkg in SPECS for saga in _flow(pkg).sagas for way in endings(saga)]


def _kit(pkg: str, load: Callable[[str], ModuleType], machine: bool) -> tuple[Any, ModuleType]:
    models, testing = load(f"{pkg}.models"), load(f"{pkg}.testing")
    services = {
        m.capitalize(): getattr(load(f"{pkg}.services.{m}"), f"{m.capitalize()}Service")() for m in SERVICES[pkg]
    }
    kit_class = testing.TestKit
    if machine:
        orchestrator = functools.partial(MachineOrchestrator, flow=_flow(pkg))
        kit_class = type("MachineKit", (testing.TestKit,), {"orchestrator": orchestrator})
    return kit_class(services=services), models


def _handler(call: Any) -> str:
    return f"{call.handler.service}.{call.handler.name}"


def _fault(kit: Any, models: ModuleType, saga: Saga, way: Ending) -> None:
    """Answer as `way` needs: the route's replies, then the failure that ends it."""
    steps = {s.name: s for s in saga.steps}
    for name, reply in way.route:
        kit.reply(_handler(steps[name].action), functools.partial(REPLIES[reply], models))
    if way.step is None and way.trigger is not None:  # the trigger's undo fails: after the first step fails
        assert saga.trigger_compensation is not None
        kit.fail(_handler(saga.steps[0].action), times=None)
        kit.fail(_handler(saga.trigger_compensation), times=None)
        return
    if way.step is None:
        return
    if way.undoing:  # the step gives no answer, so it is undone (it may have run), and that fails
        kit.fail(_handler(way.step.action), times=None)
        assert way.step.compensation is not None
        kit.fail(_handler(way.step.compensation), times=None)
    elif way.reply is not None:
        kit.reply(_handler(way.step.action), functools.partial(REPLIES[way.reply.name], models))
    else:
        kit.fail(_handler(way.step.action), times=None)


def _run(pkg: str, saga: Saga, way: Ending, load: Callable[[str], ModuleType], machine: bool) -> Any:
    kit, models = _kit(pkg, load, machine)
    _fault(kit, models, saga, way)
    return kit.publish(_trigger(pkg, models, uuid.UUID("00000000-0000-4000-8000-0000000000aa")))


@pytest.mark.parametrize(
    "pkg, saga, way", _ways(), ids=[f"{s.name}: {w.outcome} {w.describe()}" for _, s, w in _ways()]
)
def test_the_kit_and_the_machine_agree_on_every_way(
    pkg: str, saga: Saga, way: Ending, load: Callable[[str], ModuleType]
) -> None:
    by_kit = _run(pkg, saga, way, load, machine=False)
    by_machine = _run(pkg, saga, way, load, machine=True)
    kit, machine = _observable(by_kit, saga.name), _observable(by_machine, saga.name)
    assert kit == machine, f"test kit:\n{by_kit.format()}\n\nstate machine:\n{by_machine.format()}"
    assert kit["outcomes"] == [way.outcome], by_kit.format()
    assert kit["problems"] == [], by_kit.format()


def test_the_other_route_to_completion_agrees(load: Callable[[str], ModuleType]) -> None:
    """A risk check that needs a review reaches the end through the review step, not past it."""
    saga = _flow("ordering").sagas[0]
    done = next(w for w in endings(saga) if w.outcome == "completed")
    way = Ending("completed", succeeded=done.succeeded, route=(("risk", "NeedsReview"),))
    by_kit = _run("ordering", saga, way, load, machine=False)
    by_machine = _run("ordering", saga, way, load, machine=True)
    kit, machine = _observable(by_kit, saga.name), _observable(by_machine, saga.name)
    assert kit == machine, f"test kit:\n{by_kit.format()}\n\nstate machine:\n{by_machine.format()}"
    assert [c for c in kit["commands"]] == ["stock", "risk", "review", "pay", "ship"], by_kit.format()
    assert kit["outcomes"] == ["completed"]


def test_a_compensated_trigger_is_undone_last(load: Callable[[str], ModuleType]) -> None:
    """FTGO's first step is the Order service's own transaction: rejectOrder runs after every other undo."""
    saga = _flow("ftgo").sagas[0]
    way = next(w for w in endings(saga) if w.reply is not None and w.reply.name == "CardAuthorizationFailed")
    for machine in (False, True):
        run = _run("ftgo", saga, way, load, machine=machine)
        assert run.compensations(saga.name) == ["create_ticket", "trigger"], run.format()
        assert run.outcomes(saga.name) == ["compensated"], run.format()


def test_a_grace_period_delays_the_step_in_the_kit_and_the_machine(load: Callable[[str], ModuleType]) -> None:
    """eShop's grace period: `after 1m` before the stock check, on the kit's clock and on the machine's."""
    saga = _flow("ordering").sagas[0]
    done = next(w for w in endings(saga) if w.outcome == "completed")
    for machine in (False, True):
        run = _run("ordering", saga, done, load, machine=machine)
        sent = next(e.time for e in run.entries if e.kind == "command" and e.name == "stock")
        started = next(e.time for e in run.entries if e.kind == "start")
        assert sent - started == 60, run.format()


def test_the_worst_case_follows_the_slowest_way_through_the_branches() -> None:
    """FLOW502's figure for a branched saga: the slowest way into each step (the review is on it,
    fraud skips nothing), not every step in a row; the grace period counts."""
    saga = _flow("ordering").sagas[0]
    cost = {s.name: s.policy.worst_case_ms() for s in saga.steps}
    assert saga_worst_case_ms(saga) == 60_000 + sum(cost.values())  # every step lies on the review's way
    ftgo = _flow("ftgo").sagas[0]
    steps = {s.name: s for s in ftgo.steps}
    undo = [steps["create_ticket"].compensation, ftgo.trigger_compensation]
    compensating = sum(steps[n].policy.worst_case_ms() for n in ("validate", "create_ticket", "authorize"))
    compensating += sum(undo_policy(c).worst_case_ms() for c in undo if c is not None)
    everything = sum(s.policy.worst_case_ms() for s in ftgo.steps)
    assert saga_worst_case_ms(ftgo) == max(compensating, everything)


@pytest.mark.parametrize("pkg", ["trip_booking", "money_transfer"])
def test_simulate_explores_the_straight_sagas_without_a_violation(pkg: str) -> None:
    """The travel booking and the money transfer have no branches: every failure schedule is explored."""
    reports = simulate(_flow(pkg))
    assert reports and all(r.unexplored is None and r.clean for r in reports), render_text(reports)


def test_a_failed_confirmation_undoes_the_whole_trip(load: Callable[[str], ModuleType]) -> None:
    """The Step Functions sample's Catch on ConfirmFlight: refund, cancel the rental, cancel the flight.
    Here the confirmation has no answer, so its own undo (CancelFlight, idempotent) runs first."""
    saga = _flow("trip_booking").sagas[0]
    way = next(w for w in endings(saga) if w.step is not None and w.step.name == "confirm_flight" and not w.undoing)
    for machine in (False, True):
        run = _run("trip_booking", saga, way, load, machine=machine)
        expected = ["confirm_flight", "process_payment", "reserve_car_rental", "reserve_flight"]
        assert run.compensations(saga.name) == expected, run.format()
        assert run.outcomes(saga.name) == ["compensated"], run.format()


def test_a_failed_deposit_is_refunded_and_a_refused_withdrawal_is_not(load: Callable[[str], ModuleType]) -> None:
    """Temporal's MoneyTransfer: refund after the deposit fails; a non-retryable error of the withdrawal
    (a failure reply: the bank did nothing) ends the transfer with nothing to refund."""
    saga = _flow("money_transfer").sagas[0]
    ways = {(w.step.name, w.reply.name): w for w in endings(saga) if w.step is not None and w.reply is not None}
    for machine in (False, True):
        run = _run("money_transfer", saga, ways[("deposit", "InvalidAccount")], load, machine=machine)
        assert run.compensations(saga.name) == ["withdraw"], run.format()
        assert run.outcomes(saga.name) == ["compensated"], run.format()
        run = _run("money_transfer", saga, ways[("withdraw", "InsufficientFunds")], load, machine=machine)
        assert run.compensations(saga.name) == [], run.format()
        assert run.outcomes(saga.name) == ["compensated"], run.format()


Trace = tuple[tuple[str, ...], tuple[str, ...], str]


@functools.cache
def _simulated(pkg: str) -> frozenset[Trace]:
    """What `flowgen simulate` predicts (default bound): per schedule, the steps sent, the compensations, the outcome."""
    (report,) = [r for r in simulate(_flow(pkg)) if r.kind == "saga"]
    assert report.clean and report.unexplored is None, render_text([report])
    found = set()
    for moves in report.scenarios:
        sent = tuple(dict.fromkeys(m.step for m in moves if m.step and not m.step.startswith("undo ")))
        undone = tuple(dict.fromkeys(m.step.removeprefix("undo ") for m in moves if m.step.startswith("undo ")))
        found.add((sent, undone, moves[-1].result))
    return frozenset(found)


@pytest.mark.parametrize(
    "pkg, saga, way", _ways(), ids=[f"{s.name}: {w.outcome} {w.describe()}" for _, s, w in _ways()]
)
def test_every_way_the_kit_runs_is_a_schedule_the_simulator_explored(
    pkg: str, saga: Saga, way: Ending, load: Callable[[str], ModuleType]
) -> None:
    """Differential: the test kit (which the machine agrees with, above) takes a way the simulator predicted."""
    run = _run(pkg, saga, way, load, machine=False)
    (outcome,) = run.outcomes(saga.name)
    sent = tuple(dict.fromkeys(c for c in run.commands(saga.name) if not c.startswith("undo ")))
    trace = (sent, tuple(run.compensations(saga.name)), outcome)
    assert trace in _simulated(pkg), run.format()


@pytest.mark.slow
@pytest.mark.parametrize("pkg", ["ftgo", "ordering"])
def test_simulated_scenarios_replay_in_the_test_kit(pkg: str, generated: Path, tmp_path: Path) -> None:
    """Differential on the branched examples: every scenario with one fault or none, as
    `flowgen simulate --replay-all` writes it, runs in the kit and shows the predicted trace."""
    out = tmp_path / "replays"
    result = run_flowgen("simulate", str(SPECS[pkg]), "--replay", str(out), "--replay-all", cwd=ROOT)
    assert result.returncode == 0 and "wrote 1 replay file(s)" in result.stderr, result.stderr
    (written,) = out.glob("test_replay_*.py")
    text = written.read_text(encoding="utf-8")
    if pkg == "ftgo":  # the sample services check the mapped amount: the trigger's total, as `_trigger` sends
        assert text.count('"order_total": 1,') == 1, text[:2000]
        written.write_text(text.replace('"order_total": 1,', '"order_total": 1200,'), encoding="utf-8")
    routes = {"ordering": ("StockRejected", "Fraud", "Declined", "Backordered"), "ftgo": ("TicketRejected",)}
    assert all(f'_reply("{r}")' in text for r in routes.get(pkg, ())), "the replays take the branches"
    env = {**os.environ, "PYTHONPATH": str(generated)}
    command = [sys.executable, "-m", "pytest", str(out), "-q", "-rfs", "-p", "no:cacheprovider", "--rootdir", str(out)]
    ran = subprocess.run(command, cwd=out, env=env, capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, ran.stdout[-6000:] + ran.stderr[-2000:]
    passed = re.search(r"(\d+) passed", ran.stdout)
    assert passed is not None and int(passed.group(1)) >= 10, ran.stdout[-2000:]
    assert "failed" not in ran.stdout.splitlines()[-1], ran.stdout[-2000:]
