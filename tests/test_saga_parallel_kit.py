"""Parallel blocks in the local test kit, and the same trace from the generated state machine.

The package of `tests/specs/parallel_trip.flow` is generated with sample services; each scenario
runs through the kit's own orchestrator and through the generated state machine (`tests/asl.py`
driving the same kit, as `tests/test_conformance.py` does), which must tell the same story: both
steps of the block succeed and the saga joins; one answers with a failure reply while the other
completes and only the completed one is undone; one gives no answer and is undone with the other,
in reverse; the pivot fails after the join.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from flowgen_design.codegen.simulate import simulate
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.model import Flow, Saga
from flowgen_design.dsl.sagapaths import Ending, compensates, endings
from tests.conftest import ROOT, run_flowgen
from tests.pytarget import importing_from
from tests.test_conformance import MachineOrchestrator, _observable

pytestmark = pytest.mark.slow  # generates and imports a package

SPEC = ROOT / "tests" / "specs" / "parallel_trip.flow"
PKG = "trips"
SERVICES = {
    "desk": """
    def screen(self, command: models.Screen) -> models.Screened | models.Vip:
        return models.Screened(trip_id=command.trip_id)

    def notify(self, command: models.Notify) -> models.Notified:
        return models.Notified(trip_id=command.trip_id)
""",
    "hotels": """
    def reserve_hotel(self, command: models.ReserveHotel) -> models.HotelReserved | models.HotelFull:
        return models.HotelReserved(trip_id=command.trip_id, hotel_booking="H-1")

    def cancel_hotel(self, command: models.CancelHotel) -> models.HotelCancelled:
        return models.HotelCancelled(trip_id=command.trip_id)
""",
    "cars": """
    def reserve_car(self, command: models.ReserveCar) -> models.CarReserved | models.NoCar:
        return models.CarReserved(trip_id=command.trip_id, car_booking="C-1")

    def cancel_car(self, command: models.CancelCar) -> models.CarCancelled:
        return models.CarCancelled(trip_id=command.trip_id)
""",
    "payments": """
    def charge(self, command: models.Charge) -> models.Charged | models.Declined:
        return models.Charged(trip_id=command.trip_id)

    def charge_vip(self, command: models.ChargeVip) -> models.Charged | models.Declined:
        return models.Charged(trip_id=command.trip_id)
""",
}
HEAD = """
from __future__ import annotations

from {pkg} import models
from {pkg}.handlers.{module} import {cls}Handlers


class {cls}Service({cls}Handlers):
"""


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("parallel")
    result = run_flowgen(
        "generate", str(SPEC.relative_to(ROOT)), "--out", str(out), "-t", "python", "-t", "lambda", cwd=ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr
    python = out / "python"
    for module, body in SERVICES.items():
        head = HEAD.format(pkg=PKG, module=module, cls=module.capitalize())
        (python / PKG / "services" / f"{module}.py").write_text(head.lstrip() + body, encoding="utf-8")
    return python


@pytest.fixture
def load(generated: Path) -> Iterator[Callable[[str], ModuleType]]:
    yield from importing_from(generated, {PKG})


@functools.cache
def _flow() -> Flow:
    flow = check_file(SPEC).flow
    assert flow is not None
    return flow


Fault = Callable[[Any, ModuleType], None]


def _run(load: Callable[[str], ModuleType], fault: Fault, machine: bool) -> Any:
    models, testing = load(f"{PKG}.models"), load(f"{PKG}.testing")
    services = {m.capitalize(): getattr(load(f"{PKG}.services.{m}"), f"{m.capitalize()}Service")() for m in SERVICES}
    kit_class = testing.TestKit
    if machine:
        orchestrator = functools.partial(MachineOrchestrator, flow=_flow())
        kit_class = type("MachineKit", (testing.TestKit,), {"orchestrator": orchestrator})
    kit = kit_class(services=services)
    fault(kit, models)
    return kit.publish(models.TripRequested(trip_id="T-1"))


def _both(load: Callable[[str], ModuleType], fault: Fault) -> Any:
    by_kit, by_machine = _run(load, fault, machine=False), _run(load, fault, machine=True)
    kit, machine = _observable(by_kit, "BookTrip"), _observable(by_machine, "BookTrip")
    assert kit == machine, f"test kit:\n{by_kit.format()}\n\nstate machine:\n{by_machine.format()}"
    assert kit["problems"] == [], by_kit.format()
    return by_kit


def _nothing(kit: Any, models: ModuleType) -> None:
    return None


def test_both_succeed_and_the_saga_joins(load: Callable[[str], ModuleType]) -> None:
    run = _both(load, _nothing)
    assert run.commands("BookTrip") == ["screen", "hotel", "car", "charge"], run.format()
    assert run.outcomes("BookTrip") == ["completed"]


def test_a_failure_reply_undoes_only_the_step_that_completed(load: Callable[[str], ModuleType]) -> None:
    def no_car(kit: Any, models: ModuleType) -> None:
        kit.reply("Cars.reserve_car", lambda command: models.NoCar(trip_id=command.trip_id))

    run = _both(load, no_car)
    assert run.compensations("BookTrip") == ["hotel"], run.format()
    assert run.outcomes("BookTrip") == ["compensated"]


def test_a_step_without_an_answer_is_undone_with_the_completed_one(load: Callable[[str], ModuleType]) -> None:
    def car_breaks(kit: Any, models: ModuleType) -> None:
        kit.fail("Cars.reserve_car", times=None)

    run = _both(load, car_breaks)
    assert run.compensations("BookTrip") == ["car", "hotel"], run.format()
    assert run.outcomes("BookTrip") == ["compensated"]


def test_both_fail_and_only_the_one_that_may_have_run_is_undone(load: Callable[[str], ModuleType]) -> None:
    def both(kit: Any, models: ModuleType) -> None:
        kit.reply("Hotels.reserve_hotel", lambda command: models.HotelFull(trip_id=command.trip_id))
        kit.fail("Cars.reserve_car", times=None)

    run = _both(load, both)
    assert run.compensations("BookTrip") == ["car"], run.format()


def test_the_pivot_fails_after_the_join(load: Callable[[str], ModuleType]) -> None:
    def declined(kit: Any, models: ModuleType) -> None:
        kit.reply("Payments.charge", lambda command: models.Declined(trip_id=command.trip_id))

    run = _both(load, declined)
    assert run.compensations("BookTrip") == ["car", "hotel"], run.format()


# ---- the example: every way its saga can end ------------------------------------------------------

EXAMPLE = ROOT / "specs" / "examples" / "bpmn_trip_transaction.flow"
EXAMPLE_PKG = "trip_transaction"
EXAMPLE_SERVICES = {
    "hotels": """
    def book_hotel(self, command: models.BookHotel) -> models.HotelBooked | models.HotelUnavailable:
        return models.HotelBooked(trip_id=command.trip_id, hotel_booking="H-1")

    def cancel_hotel(self, command: models.CancelHotel) -> models.HotelCancelled:
        return models.HotelCancelled(trip_id=command.trip_id)
""",
    "flights": """
    def book_flight(self, command: models.BookFlight) -> models.FlightBooked | models.FlightUnavailable:
        return models.FlightBooked(trip_id=command.trip_id, flight_booking="F-1")

    def cancel_flight(self, command: models.CancelFlight) -> models.FlightCancelled:
        return models.FlightCancelled(trip_id=command.trip_id)
""",
    "customers": """
    def ask_customer(self, command: models.AskCustomer) -> models.TripConfirmed | models.TripDeclined:
        assert (command.hotel_booking, command.flight_booking) == ("H-1", "F-1"), "both replies, kept at the join"
        return models.TripConfirmed(trip_id=command.trip_id)
""",
    "payments": """
    def charge_card(self, command: models.ChargeCard) -> models.CardCharged | models.CardDeclined:
        return models.CardCharged(trip_id=command.trip_id, payment_id="P-1")
""",
}


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("example")
    spec = str(EXAMPLE.relative_to(ROOT))
    result = run_flowgen("generate", spec, "--out", str(out), "-t", "python", "-t", "lambda", cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    python = out / "python"
    for module, body in EXAMPLE_SERVICES.items():
        head = HEAD.format(pkg=EXAMPLE_PKG, module=module, cls=module.capitalize())
        (python / EXAMPLE_PKG / "services" / f"{module}.py").write_text(head.lstrip() + body, encoding="utf-8")
    return python


@functools.cache
def _example_flow() -> Flow:
    flow = check_file(EXAMPLE).flow
    assert flow is not None
    return flow


@functools.cache
def _simulated() -> frozenset[tuple[tuple[str, ...], tuple[str, ...], str]]:
    """What `flowgen simulate` predicts: per schedule, the steps sent, the compensations, the outcome."""
    (report,) = [r for r in simulate(_example_flow()) if r.kind == "saga"]
    assert report.clean and report.unexplored is None
    found = set()
    for moves in report.scenarios:
        sent = tuple(dict.fromkeys(m.step for m in moves if m.step and not m.step.startswith("undo ")))
        undone = tuple(dict.fromkeys(m.step.removeprefix("undo ") for m in moves if m.step.startswith("undo ")))
        found.add((sent, undone, moves[-1].result))
    return frozenset(found)


def _example_ways() -> list[Ending]:
    return list(endings(_example_flow().sagas[0]))


def _expected_undo(saga: Saga, way: Ending) -> list[str]:
    """What `way` undoes, in order: a failed step of the block undoes its sibling (which succeeded)
    and itself when it gave no answer; a later failure undoes the whole block."""
    if not way.undoing and not compensates(saga, way):
        return []
    assert way.step is not None
    index = saga.steps.index(way.step)
    block = saga.block_at(index)
    upto = block.last if block is not None else index - (0 if way.undoing else 1)
    ran = [s for s in saga.steps[: upto + 1] if s is not way.step or way.reply is None]
    undo = [s.name for s in reversed(ran) if s.compensation is not None and saga.steps.index(s) < saga.pivot_index]
    return undo[: undo.index(way.step.name) + 1] if way.undoing else undo  # the undo that cannot finish ends it


def _example_fault(way: Ending) -> Fault:
    def fault(kit: Any, models: ModuleType) -> None:
        if way.step is None:
            return
        handler = f"{way.step.action.service}.{way.step.action.handler.name}"
        if way.undoing:
            assert way.step.compensation is not None
            kit.fail(handler, times=None)
            kit.fail(f"{way.step.compensation.service}.{way.step.compensation.handler.name}", times=None)
        elif way.reply is not None:
            reply = getattr(models, way.reply.name)
            kit.reply(handler, lambda command: reply(trip_id=command.trip_id))
        else:
            kit.fail(handler, times=None)

    return fault


def _example_run(load: Callable[[str], ModuleType], fault: Fault, machine: bool) -> Any:
    models, testing = load(f"{EXAMPLE_PKG}.models"), load(f"{EXAMPLE_PKG}.testing")
    services = {
        m.capitalize(): getattr(load(f"{EXAMPLE_PKG}.services.{m}"), f"{m.capitalize()}Service")()
        for m in EXAMPLE_SERVICES
    }
    kit_class = testing.TestKit
    if machine:
        orchestrator = functools.partial(MachineOrchestrator, flow=_example_flow())
        kit_class = type("MachineKit", (testing.TestKit,), {"orchestrator": orchestrator})
    kit = kit_class(services=services)
    fault(kit, models)
    return kit.publish(models.TripRequested(trip_id="T-1", traveller="kermit"))


@pytest.fixture
def load_example(example: Path) -> Iterator[Callable[[str], ModuleType]]:
    yield from importing_from(example, {EXAMPLE_PKG})


@pytest.mark.parametrize("way", _example_ways(), ids=[f"{w.outcome} {w.describe()}" for w in _example_ways()])
def test_every_way_of_the_example_in_the_kit_and_the_machine(
    way: Ending, load_example: Callable[[str], ModuleType]
) -> None:
    """Each way `check` knows, in the kit; and the machine tells the same story, except where the
    first step of the block gives no answer: `tests/asl.py` runs the branches one after another
    against the kit's one clock, so the second would be sent after the first one's retries
    (docs/semantics.md 12., not covered)."""
    saga = _example_flow().sagas[0]
    by_kit = _example_run(load_example, _example_fault(way), machine=False)
    assert by_kit.outcomes(saga.name) == [way.outcome], by_kit.format()
    assert by_kit.compensations(saga.name) == _expected_undo(saga, way), by_kit.format()
    assert by_kit.problems() == [], by_kit.format()
    sent = tuple(dict.fromkeys(c for c in by_kit.commands(saga.name) if not c.startswith("undo ")))
    assert (sent, tuple(by_kit.compensations(saga.name)), way.outcome) in _simulated(), by_kit.format()
    first_of_block = way.step is not None and saga.block_at(saga.steps.index(way.step)) is not None
    if first_of_block and way.reply is None and way.step is saga.steps[0]:
        return
    by_machine = _example_run(load_example, _example_fault(way), machine=True)
    kit, machine = _observable(by_kit, saga.name), _observable(by_machine, saga.name)
    assert kit == machine, f"test kit:\n{by_kit.format()}\n\nstate machine:\n{by_machine.format()}"


def test_simulated_scenarios_of_the_example_replay_in_the_test_kit(example: Path, tmp_path: Path) -> None:
    """Every scenario with one fault or none, as `flowgen simulate --replay-all` writes it, runs in the
    kit against the sample services and shows the trace the simulator predicted."""
    out = tmp_path / "replays"
    result = run_flowgen("simulate", str(EXAMPLE), "--replay", str(out), "--replay-all", cwd=ROOT)
    assert result.returncode == 0 and "wrote 1 replay file(s)" in result.stderr, result.stderr
    env = {**os.environ, "PYTHONPATH": str(example)}
    command = [sys.executable, "-m", "pytest", str(out), "-q", "-rfs", "-p", "no:cacheprovider", "--rootdir", str(out)]
    ran = subprocess.run(command, cwd=out, env=env, capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, ran.stdout[-6000:] + ran.stderr[-2000:]
    passed = re.search(r"(\d+) passed", ran.stdout)
    assert passed is not None and int(passed.group(1)) >= 10, ran.stdout[-2000:]
