"""`flowgen simulate` on waits (docs/semantics.md, section 11): every awaited event, the timeout, a late
event (no effect) and an early one are explored; the seeded design bug "a wait whose timeout path emits
nothing" is found with its shortest counterexample."""

from __future__ import annotations

from pathlib import Path

from flowgen_design.codegen.simulate import SagaReport, simulate
from flowgen_design.codegen.simulate.report import render_text
from flowgen_design.dsl.compiler import check_file
from tests.conftest import ROOT

SEEDED = ROOT / "tests" / "simulate"
WAITS = ROOT / "tests" / "specs" / "waits.flow"


def _report(path: Path) -> SagaReport:
    flow = check_file(path).flow
    assert flow is not None
    (report,) = [r for r in simulate(flow) if r.kind == "saga"]
    return report


def test_a_wait_whose_timeout_path_emits_nothing() -> None:
    report = _report(SEEDED / "wait-timeout-silent.flow")
    (found,) = report.violations
    assert found.violation.code == "silent-timeout"
    assert [m.kind for m in found.moves] == ["start", "reply", "wait-timeout", "outcome"], render_text([report])
    assert found.moves[-1].result == "failed"


def test_every_way_out_of_a_wait_is_explored_and_clean() -> None:
    report = _report(WAITS)
    assert not report.violations, render_text([report])
    kinds = {(m.kind, m.result) for path in report.scenarios for m in path if m.step == "pay"}
    assert {
        ("event", "PaymentConfirmed"),
        ("failure-event", "PaymentFailed"),
        ("wait-timeout", "States.Timeout"),
        ("late-event", "States.Timeout"),
        ("early-event", "PaymentConfirmed"),
    } <= kinds
    assert report.worst_case_ms == report.arithmetic_ms  # the wait's whole timeout counts, as FLOW502's


def test_the_timeout_is_a_route_and_a_late_event_changes_nothing() -> None:
    report = _report(WAITS)
    for path in report.scenarios:
        kinds = [m.kind for m in path]
        if "wait-timeout" in kinds or "late-event" in kinds:
            expected = "failed" if "undo-failed" in kinds else "expired"  # an undo that cannot finish
            assert path[-1].result == expected, [m.text for m in path]
            assert "ship" not in {m.step for m in path}
    timeout = next(p for p in report.scenarios if [m.kind for m in p].count("wait-timeout") == 1)
    assert not any(m.fault for m in timeout)  # `on timeout -> expired`: the design's own way
