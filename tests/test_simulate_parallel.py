"""`flowgen simulate` on parallel blocks (docs/semantics.md 12.): every combination of how the steps
of a block end is explored, the join undoes only what succeeded or may have run, in reverse, and a
seeded design bug (a step of a block without a compensation) is found with its shortest counterexample."""

from __future__ import annotations

from pathlib import Path

from flowgen_design.codegen.simulate import explore, simulate
from flowgen_design.codegen.simulate.report import render_text
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.model import Flow, Saga
from flowgen_design.dsl.sagapaths import endings
from tests.conftest import ROOT

SPEC = ROOT / "tests" / "specs" / "parallel_trip.flow"
SEEDED = ROOT / "tests" / "simulate"


def _flow(path: Path) -> Flow:
    flow = check_file(path).flow
    assert flow is not None
    return flow


def _saga(name: str) -> Saga:
    return next(s for s in _flow(SPEC).sagas if s.name == name)


def test_the_parallel_sagas_report_no_violation_and_every_way_to_an_end() -> None:
    reports = [r for r in simulate(_flow(SPEC)) if r.kind == "saga"]
    assert [(r.saga, r.states, r.schedules) for r in reports] == [("BookTrip", 186, 61), ("NotifyTrip", 71, 28)]
    for report in reports:
        assert report.clean and report.unexplored is None, render_text([report])
        assert report.worst_case_ms == report.arithmetic_ms, "the slowest schedule is `check`'s worst case"
        saga = _saga(report.saga)
        assert {m[-1].result for m in report.scenarios} == {w.outcome for w in endings(saga)}


def _undone(moves: tuple[object, ...]) -> list[str]:
    return [m.step.removeprefix("undo ") for m in moves if m.kind == "undo"]  # type: ignore[attr-defined]


def test_only_the_steps_that_may_have_run_are_undone_in_reverse() -> None:
    report = explore(_saga("BookTrip"), bound=1)
    seen = set()
    for moves in report.scenarios:
        results = {m.step: m.kind for m in moves if m.step in ("hotel", "car")}
        if results.get("hotel") == "failure-reply" and results.get("car") == "reply":
            seen.add("car fine, hotel full")
            assert _undone(moves) == ["car"]
        if results.get("car") == "late-success":
            seen.add("car timed out")
            assert _undone(moves) == ["car", "hotel"]
        if "hotel" in results and any(m.step == "charge" and m.kind == "failure-reply" for m in moves):
            seen.add("charge declined")
            assert _undone(moves) == ["car", "hotel"]
    assert seen == {"car fine, hotel full", "car timed out", "charge declined"}


def test_a_block_is_timed_at_its_slowest_step() -> None:
    """Without a fault, the charge is sent when the slower step of the block (the hotel's 30 s) ends."""
    report = explore(_saga("BookTrip"), bound=0)
    joined = next(m for m in report.scenarios if any(x.step == "hotel" for x in m))
    charge = next(x for x in joined if x.step == "charge")
    assert charge.at_ms == 10_000 + 30_000 + 10_000


def test_a_block_after_the_pivot_fails_without_undoing() -> None:
    report = explore(_saga("NotifyTrip"), bound=1)
    failed = [m for m in report.scenarios if m[-1].result == "failed" and any(x.step == "notify" for x in m)]
    assert failed and all(not _undone(m) for m in failed)


def test_a_step_of_a_block_without_compensation_is_found() -> None:
    """`check` refuses it (FLOW401); the simulator finds it on the model, with the shortest schedule."""
    path = SEEDED / "parallel-compensation-missing.flow"
    (report,) = [r for r in simulate(_flow(path)) if r.kind == "saga"]
    (found,) = report.violations
    assert found.violation.code == "compensation"
    assert found.violation.message == "step `car` took effect but the saga ended `compensated` without undoing it"
    assert [m.text for m in found.moves] == [
        "`TripRequested` starts the saga",
        "step `hotel`: `Travel.reserve_hotel` replies `HotelFull`",
        "step `car`: `Travel.reserve_car` replies `CarReserved`",
        "the saga ends `compensated`",
    ]
