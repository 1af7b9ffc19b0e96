"""`flowgen simulate` on saga control flow (docs/semantics.md 9. and 10.): the branched and
trigger-compensated examples explored clean, with their state counts, and the seeded design bugs that
only a branch exposes, each found with its shortest counterexample."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowgen_design.codegen.simulate import SagaReport, explore, simulate, unexplored
from flowgen_design.codegen.simulate.moves import Move
from flowgen_design.codegen.simulate.report import render_mermaid, render_text
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.model import Flow
from flowgen_design.dsl.sagapaths import endings
from tests.conftest import ROOT, run_flowgen

pytestmark = pytest.mark.slow  # runs the CLI and explores every example: the full suite, not the fast loop

EXAMPLES = ROOT / "specs" / "examples"
SEEDED = ROOT / "tests" / "simulate"

CLEAN = {
    "eshop_ordering": ("PlaceOrder", 201, 76),
    "ftgo_create_order": ("CreateOrder", 137, 48),
}


def _flow(path: Path) -> Flow:
    flow = check_file(path).flow
    assert flow is not None
    return flow


def _only(path: Path, bound: int = 2) -> SagaReport:
    (report,) = [r for r in simulate(_flow(path), bound=bound) if r.kind == "saga"]
    return report


def _steps(moves: tuple[Move, ...]) -> list[str]:
    return [m.text for m in moves]


@pytest.mark.parametrize("spec", sorted(CLEAN))
def test_the_examples_report_no_violation(spec: str) -> None:
    name, states, schedules = CLEAN[spec]
    (report,) = simulate(_flow(EXAMPLES / f"{spec}.flow"))
    assert report.saga == name and report.unexplored is None
    assert report.clean, render_text([report])
    assert (report.states, report.schedules) == (states, schedules)
    assert report.worst_case_ms == report.arithmetic_ms, "the slowest schedule is `check`'s worst case"
    assert render_mermaid([report]).count("sequenceDiagram") == report.schedules
    result = run_flowgen("simulate", str(EXAMPLES / f"{spec}.flow"))
    assert result.returncode == 0 and "no violations" in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("spec", sorted(CLEAN))
def test_every_way_to_an_end_is_explored(spec: str) -> None:
    """Each outcome `dsl.sagapaths.endings` lists (the state machine has a state for each) is reached."""
    (saga,) = _flow(EXAMPLES / f"{spec}.flow").sagas
    report = explore(saga)
    reached = {moves[-1].result for moves in report.scenarios}
    assert reached == {w.outcome for w in endings(saga)}


def test_branches_are_routes_not_faults() -> None:
    """Without any fault every route through the branches is explored: each reply with a branch, once."""
    (saga,) = _flow(EXAMPLES / "eshop_ordering.flow").sagas
    report = explore(saga, bound=0)
    replies = ("reply", "branch")
    ends = sorted((m[-1].result, tuple(x.result for x in m if x.kind in replies)) for m in report.scenarios)
    assert ends == [
        ("backordered", ("StockConfirmed", "LowRisk", "Paid", "Backordered")),
        ("backordered", ("StockConfirmed", "NeedsReview", "Approved", "Paid", "Backordered")),
        ("cancelled", ("StockRejected",)),
        ("completed", ("StockConfirmed", "LowRisk", "Paid", "Shipped")),
        ("completed", ("StockConfirmed", "NeedsReview", "Approved", "Paid", "Shipped")),
        ("rejected", ("StockConfirmed", "Fraud")),
        ("rejected", ("StockConfirmed", "NeedsReview", "Declined")),
    ]
    assert not any(x.fault for m in report.scenarios for x in m)


def test_a_named_outcome_before_the_pivot_undoes_what_ran_and_after_it_just_emits() -> None:
    (saga,) = _flow(EXAMPLES / "eshop_ordering.flow").sagas
    report = explore(saga, bound=0)
    undone = {m[-1].result: [x.step for x in m if x.kind == "undo"] for m in report.scenarios}
    assert undone["rejected"] == ["undo stock"]  # fraud: the stock check succeeded, so it is released
    assert undone["cancelled"] == []  # the stock check said no: nothing to undo at that step
    assert undone["backordered"] == []  # after the pivot


def test_the_trigger_is_undone_last_and_the_grace_period_counts() -> None:
    (saga,) = _flow(EXAMPLES / "ftgo_create_order.flow").sagas
    report = explore(saga, bound=1)
    declined = next(m for m in report.scenarios if any(x.result == "CardAuthorizationFailed" for x in m))
    assert [x.step for x in declined if x.kind == "undo"] == ["undo create_ticket", "undo trigger"]
    (eshop,) = _flow(EXAMPLES / "eshop_ordering.flow").sagas
    first = explore(eshop, bound=0).scenarios[0][1]
    assert first.step == "stock" and first.at_ms == 60_000 + eshop.steps[0].timeout_ms, "`after 1m`, then the step"


def test_the_examples_are_no_longer_refused() -> None:
    for spec in CLEAN:
        assert all(unexplored(s) is None for s in _flow(EXAMPLES / f"{spec}.flow").sagas)


# ---- seeded design bugs that only a branch exposes ------------------------------------------------------


def test_a_step_whose_compensation_is_missing_on_one_branch() -> None:
    """`check` refuses it (FLOW401); the simulator finds the same bug on the model, on the branch that runs `hold`."""
    path = SEEDED / "branch-compensation-missing.flow"
    assert "error[FLOW401]" in run_flowgen("check", str(path)).stdout
    report = _only(path)
    (found,) = report.violations
    assert found.violation.code == "compensation"
    assert found.violation.message == "step `hold` took effect but the saga ended `compensated` without undoing it"
    assert _steps(found.moves) == [
        "`OrderPlaced` starts the saga",
        "step `reserve`: `Shop.reserve` replies `StockReserved`",
        "step `risk`: `Shop.assess` replies `HighRisk`, which leads to step `hold`",
        "step `hold`: `Shop.hold` succeeds after the step timed out: `States.Timeout`",
        "compensation of `reserve`: `Shop.release` replies `StockReleased`",
        "the saga ends `compensated`",
    ]
    low_risk = [m for m in report.scenarios if any(x.result == "LowRisk" for x in m)]
    assert low_risk and all(not any(x.step == "hold" for x in m) for m in low_risk), "the other branch skips it"


def test_an_invariant_only_a_branch_breaks() -> None:
    """`every StockReserved is followed by StockReleased or Shipped or OrderStuck`: the backordered branch."""
    path = SEEDED / "branch-invariant-broken.flow"
    assert run_flowgen("check", str(path)).returncode == 0
    (found,) = _only(path).violations
    assert (
        found.violation.code == "invariant: every StockReserved is followed by StockReleased or Shipped or OrderStuck"
    )
    assert _steps(found.moves) == [
        "`OrderPlaced` starts the saga",
        "step `reserve`: `Shop.reserve` replies `StockReserved`",
        "step `charge`: `Shop.charge` replies `Charged`",
        "step `ship`: `Shop.ship` replies `Backordered`, which leads to outcome `backordered`",
        "the saga ends `backordered`",
    ]
    assert not any(m.fault for m in found.moves), "no fault needed: the design's own branch breaks it"
    result = run_flowgen("simulate", str(path))
    assert result.returncode == 1 and "violation [invariant" in result.stdout


def test_every_bundled_spec_in_one_command() -> None:
    """`flowgen simulate specs/`: every spec below the folder, the branched examples with the others, clean."""
    result = run_flowgen("simulate", "specs", cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "violation [" not in result.stdout and "not explored" not in result.stdout
    for spec in ("checkout", "travel", "examples/eshop_ordering", "examples/ftgo_create_order"):
        assert f"specs/{spec}.flow:\n" in result.stdout
    assert "saga PlaceOrder: 201 states, 76 schedules" in result.stdout
    narrowed = run_flowgen("simulate", "specs", "--saga", "PlaceOrder", cwd=ROOT)
    assert narrowed.returncode == 2 and "--saga needs one .flow file" in narrowed.stderr


def test_a_saga_timeout_shorter_than_one_branch_with_its_grace_period() -> None:
    """FLOW502 says it too (so `--disable FLOW502` for the CLI): the review's way, with its `after 10s`, takes 25s."""
    path = SEEDED / "branch-timeout-short.flow"
    report = _only(path)
    (found,) = report.violations
    assert found.violation.code == "saga-timeout"
    assert "still running at 25s, past its timeout of 20s" in found.violation.message
    assert _steps(found.moves) == [
        "`OrderPlaced` starts the saga",
        "step `assess`: `Shop.assess` replies `NeedsReview`, which leads to step `review`",
        "step `review`: `Shop.review` replies `Approved`",
        "step `charge`: `Shop.charge` replies `Charged`",
    ]
    assert [m.at_ms for m in found.moves] == [0, 5_000, 20_000, 25_000], "the grace period is on the clock"
    assert report.worst_case_ms == report.arithmetic_ms == 25_000
    result = run_flowgen("simulate", str(path), "--disable", "FLOW502")
    assert result.returncode == 1 and "violation [saga-timeout]" in result.stdout


def test_the_review_page_tells_the_branch_each_scenario_took(tmp_path: Path) -> None:
    """The "failure scenarios" rows of a branched saga say which route led to the outcome, not "the happy path"."""
    result = run_flowgen("generate", str(EXAMPLES / "eshop_ordering.flow"), "--out", str(tmp_path), "-t", "review")
    assert result.returncode == 0, result.stdout + result.stderr
    page = (tmp_path / "review" / "ordering.html").read_text(encoding="utf-8")
    assert "replies `Fraud`, which leads to outcome `rejected`</div></td><td>rejected" in page
    assert page.count("the happy path") == 1  # the low-risk way, every reply a success
