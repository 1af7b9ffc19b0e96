"""Parallel blocks, proven by running the generated state machine with faults injected.

The machine of `tests/specs/parallel_trip.flow` is run by `tests.asl` (Parallel state and all)
against the simulated services of `tests.saga_world`: both steps of the block succeed and the saga
joins; one fails by a failure reply while the other completes, and only the completed one is
undone; one times out and is undone (it may have run) with the other; the pivot fails after the
join and both are undone in reverse; a way that skips the block undoes nothing of it; a block after
the pivot ends `failed` and undoes nothing. The slowest run matches FLOW502's worst case, where a
block counts its slowest step, not the sum.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flowgen_design.codegen.targets.cloudformation.states import definition
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.model import Flow, Saga
from flowgen_design.dsl.rules.timing import saga_worst_case_ms
from tests.asl import Execution, run
from tests.cloudformation_support import all_problems, generate, lint, load_flow
from tests.conftest import ROOT
from tests.saga_world import Attempt, SagaWorld, queue_key, trigger_input

SPEC = ROOT / "tests" / "specs" / "parallel_trip.flow"


@pytest.fixture(scope="module")
def flow() -> Flow:
    return load_flow(SPEC)


def _saga(flow: Flow, name: str) -> Saga:
    return next(s for s in flow.sagas if s.name == name)


def _run(flow: Flow, saga: Saga, **scripts: list[Attempt]) -> tuple[SagaWorld, Execution]:
    world = SagaWorld(flow, saga, scripts=dict(scripts))
    return world, run(definition(flow, saga, queue_key, "bus"), trigger_input(saga), world)


def _commands(world: SagaWorld) -> list[str]:
    return [mid.split("/", 1)[1] for _, mid, _ in world.sent]


def _event(world: SagaWorld) -> tuple[str, dict[str, object]]:
    ((_, name, detail),) = world.events
    return name, detail["payload"]


def test_both_steps_succeed_and_the_saga_joins(flow: Flow) -> None:
    world, ex = _run(flow, _saga(flow, "BookTrip"), ReserveHotel=[Attempt(seconds=5)], ReserveCar=[Attempt(seconds=2)])
    assert (ex.status, ex.end_state) == ("SUCCEEDED", "completed")
    assert _commands(world) == ["screen", "hotel", "car", "charge"]
    sent = {mid.split("/", 1)[1]: at for at, mid, _ in world.sent}
    assert sent["hotel"] == sent["car"] == 1.0  # both sent when the block starts
    assert sent["charge"] == 6.0  # after the slower one: the join
    assert {"hotel", "car"} <= set(ex.output["steps"])  # both replies kept for later steps and fills
    assert _event(world)[0] == "TripBooked"


def test_a_failure_reply_undoes_only_the_step_that_completed(flow: Flow) -> None:
    world, ex = _run(flow, _saga(flow, "BookTrip"), ReserveCar=[Attempt("reply", "NoCar")])
    assert (ex.status, ex.end_state) == ("SUCCEEDED", "compensated")
    assert _commands(world) == ["screen", "hotel", "car", "undo hotel"]
    assert world.left_applied() == {"screen"}  # readonly: nothing to undo
    assert _event(world) == ("TripFailed", {"trip_id": "trip_id-value", "step": "car", "error": "NoCar"})


def test_a_timed_out_step_is_undone_with_the_completed_one_in_reverse_order(flow: Flow) -> None:
    late = [Attempt(seconds=11)]  # killed at its timeout: no answer, it may have run
    world, ex = _run(flow, _saga(flow, "BookTrip"), ReserveCar=late)
    assert (ex.status, ex.end_state) == ("SUCCEEDED", "compensated")
    assert _commands(world) == ["screen", "hotel", "car", "undo car", "undo hotel"]
    assert _event(world)[1]["step"] == "car"
    assert _event(world)[1]["error"] in ("States.Timeout", "AttemptsExhausted")


def test_both_fail_the_first_written_is_the_failure_and_only_the_one_that_may_have_run_is_undone(flow: Flow) -> None:
    world, ex = _run(
        flow,
        _saga(flow, "BookTrip"),
        ReserveHotel=[Attempt("reply", "HotelFull")],
        ReserveCar=[Attempt("raise")],
    )
    assert (ex.status, ex.end_state) == ("SUCCEEDED", "compensated")
    assert _commands(world) == ["screen", "hotel", "car", "undo car"]
    assert _event(world)[1] == {"trip_id": "trip_id-value", "step": "hotel", "error": "HotelFull"}


def test_the_pivot_fails_after_the_join_and_both_are_undone_in_reverse(flow: Flow) -> None:
    world, ex = _run(flow, _saga(flow, "BookTrip"), Charge=[Attempt("reply", "Declined")])
    assert (ex.status, ex.end_state) == ("SUCCEEDED", "compensated")
    assert _commands(world) == ["screen", "hotel", "car", "charge", "undo car", "undo hotel"]
    assert world.left_applied() == {"screen"}  # readonly: nothing to undo


def test_a_way_that_skips_the_block_undoes_nothing_of_it(flow: Flow) -> None:
    world, ex = _run(
        flow, _saga(flow, "BookTrip"), Screen=[Attempt("reply", "Vip")], Charge=[Attempt("reply", "Declined")]
    )
    assert (ex.status, ex.end_state) == ("SUCCEEDED", "compensated")
    assert _commands(world) == ["screen", "charge"]


def test_a_compensation_that_cannot_finish_ends_failed(flow: Flow) -> None:
    world, ex = _run(
        flow,
        _saga(flow, "BookTrip"),
        ReserveCar=[Attempt("reply", "NoCar")],
        CancelHotel=[Attempt("raise")] * 3,
    )
    assert (ex.status, ex.end_state) == ("FAILED", "failed")
    assert _event(world)[1]["step"] == "undo hotel"


def test_a_block_after_the_pivot_fails_without_undoing(flow: Flow) -> None:
    saga = _saga(flow, "NotifyTrip")
    world, ex = _run(flow, saga, Notify=[Attempt("raise")])
    assert (ex.status, ex.end_state) == ("FAILED", "failed")
    assert _commands(world) == ["charge", "notify", "hold"]
    assert _event(world)[1]["step"] == "notify"
    world, ex = _run(flow, saga)
    assert (ex.status, ex.end_state, _event(world)[0]) == ("SUCCEEDED", "completed", "TripBooked")


def test_the_slowest_run_is_checks_worst_case_with_the_block_at_its_slowest_step(flow: Flow) -> None:
    """Every step at its worst, the pivot declining, every compensation at its worst: the block
    counts once, at its slowest step (the hotel's 30 s), not the sum of both."""
    saga = _saga(flow, "BookTrip")
    slow = [Attempt(seconds=99)]  # killed at its timeout on every send
    _world, ex = _run(
        flow,
        saga,
        Screen=[Attempt(seconds=10)],
        ReserveHotel=[Attempt(seconds=30)],
        ReserveCar=[Attempt(seconds=10)],
        Charge=[Attempt("reply", "Declined", seconds=10)],
        CancelHotel=slow * 3,
        CancelCar=slow * 3,
    )
    assert (ex.status, ex.end_state) == ("FAILED", "failed")  # the undo of car could not finish
    assert ex.clock <= saga_worst_case_ms(saga) / 1000
    _world, ex = _run(
        flow,
        saga,
        Screen=[Attempt(seconds=10)],
        ReserveHotel=[Attempt(seconds=30)],
        ReserveCar=[Attempt(seconds=10)],
        Charge=[Attempt("reply", "Declined", seconds=10)],
        CancelHotel=[Attempt(seconds=10)],
        CancelCar=[Attempt(seconds=10)],
    )
    assert ex.clock == 10 + 30 + 10 + 10 + 10
    assert saga_worst_case_ms(saga) < 1000 * (10 + 30 + 10 + 10 + 2 * undo_worst(saga))


def undo_worst(saga: Saga) -> float:
    hotel = next(s for s in saga.steps if s.name == "hotel")
    assert hotel.compensation is not None
    return hotel.compensation.handler.policy.handler_worst_case_ms() / 1000 + 10


@pytest.mark.slow
def test_the_template_passes_cfn_lint_and_flowgens_checks() -> None:
    """The Parallel state, its branches and the join pass the real validator with zero findings."""
    generated = generate(SPEC)
    template = generated.template
    assert lint(generated.text) == ([], [])
    assert all_problems(generated.flow, template) == []
    machines = [r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    kinds = {s["Type"] for m in machines for s in m["Properties"]["Definition"]["States"].values()}
    assert "Parallel" in kinds


def test_a_step_of_a_block_waits_its_grace_period_and_resends_in_its_branch(tmp_path: Path) -> None:
    """`after 3s` and `retry 2 backoff fixed 2s` on a step of a block: the branch waits, then sends;
    after no answer it waits the backoff and resends; the join waits for it."""
    text = SPEC.read_text(encoding="utf-8").replace(
        "    step car: Cars.ReserveCar compensate Cars.CancelCar\n",
        "    step car: Cars.ReserveCar compensate Cars.CancelCar { retry 2 backoff fixed 2s  after 3s }\n",
    )
    spec = tmp_path / "retried.flow"
    spec.write_text(text, encoding="utf-8")
    result = check_file(spec)
    assert result.flow is not None and not result.diagnostics
    flow = result.flow
    saga = _saga(flow, "BookTrip")
    lost_then_fine = [[Attempt(seconds=99)], [Attempt(seconds=1)]]
    world = SagaWorld(flow, saga, per_send={"ReserveCar": lost_then_fine})
    ex = run(definition(flow, saga, queue_key, "bus"), trigger_input(saga), world)
    assert (ex.status, ex.end_state) == ("SUCCEEDED", "completed")
    sent = [(at, mid.split("/", 1)[1]) for at, mid, _ in world.sent]
    assert sent == [(0.0, "screen"), (1.0, "hotel"), (4.0, "car"), (16.0, "car"), (17.0, "charge")]
    world, ex = _run(flow, saga, ReserveCar=[Attempt(seconds=99)])
    assert _commands(world) == ["screen", "hotel", "car", "car", "undo car", "undo hotel"]


def test_a_branch_to_a_block_enters_it_and_what_it_skipped_is_not_undone(tmp_path: Path) -> None:
    """`on HotelFull -> book`: the machine goes from the failed first try to the Parallel state; when
    the pivot then fails, the block's steps are undone and the first try (which answered no) is not."""
    case = (ROOT / "tests" / "cases" / "parallel-branch-into.flow").read_text(encoding="utf-8")
    start, fine = case.index("saga BookTrip {"), case.index("// Near miss")
    spec = tmp_path / "into.flow"
    spec.write_text(case[:start] + case[fine:], encoding="utf-8")
    result = check_file(spec)
    assert result.flow is not None and not result.diagnostics
    flow = result.flow
    saga = _saga(flow, "BookTripFine")
    world, ex = _run(flow, saga, ReserveHotel=[Attempt("reply", "HotelFull")])
    assert (ex.status, ex.end_state) == ("SUCCEEDED", "compensated")  # the block's hotel is full too
    assert _commands(world) == ["first_try", "hotel", "car", "undo car"]
    world = SagaWorld(flow, saga, per_send={"ReserveHotel": [[Attempt("reply", "HotelFull")], [Attempt()]]})
    world.scripts["Charge"] = [Attempt("reply", "Declined")]
    ex = run(definition(flow, saga, queue_key, "bus"), trigger_input(saga), world)
    assert (ex.status, ex.end_state) == ("SUCCEEDED", "compensated")
    assert _commands(world) == ["first_try", "hotel", "car", "charge", "undo car", "undo hotel"]
