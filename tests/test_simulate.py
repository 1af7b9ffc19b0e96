"""`flowgen simulate`: seeded design bugs found with their shortest counterexample, the bundled specs clean,
and simulated scenarios replayed through the generated local test kit (differential)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flowgen_design.codegen.simulate import SagaReport, explore, simulate
from flowgen_design.codegen.simulate.invariants import Invariant, parse_invariant
from flowgen_design.codegen.simulate.moves import Move
from flowgen_design.codegen.simulate.report import render_mermaid, render_text, to_json
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.model import Flow
from tests import test_testkit
from tests.conftest import ROOT, run_flowgen
from tests.test_testkit import FAILURE_REPLIES, SPECS, Setup

# The local test kit's fixtures: the bundled specs generated once, a fresh import per test.
generated = test_testkit.generated
flows = test_testkit.flows

SEEDED = ROOT / "tests" / "simulate"


def _flow(path: Path) -> Flow:
    flow = check_file(path).flow
    assert flow is not None
    return flow


def _only(path: Path, invariant: str | None = None, bound: int = 2) -> SagaReport:
    flow = _flow(path)
    invariants: tuple[Invariant, ...] = ()
    if invariant is not None:
        parsed = parse_invariant(invariant, flow)
        assert not isinstance(parsed, str), parsed
        invariants = (parsed,)
    (report,) = [r for r in simulate(flow, bound=bound, invariants=invariants) if r.kind == "saga"]
    return report


def _steps(moves: tuple[Move, ...]) -> list[str]:
    return [m.text for m in moves]


# ---- the seeded design bugs --------------------------------------------------------------------------


def test_a_saga_timeout_shorter_than_a_compensating_branch() -> None:
    report = _only(SEEDED / "saga-timeout-short.flow")
    (found,) = report.violations
    assert found.violation.code == "saga-timeout"
    assert "still running at 50s, past its timeout of 30s" in found.violation.message
    assert _steps(found.moves) == [
        "`OrderPlaced` starts the saga",
        "step `reserve`: `Shop.reserve` replies `StockReserved`",
        "step `charge`: `Shop.charge` raises on all 1 attempt(s): `AttemptsExhausted`",
        "compensation of `charge`: `Shop.refund` replies `Refunded`",
        "compensation of `reserve`: `Shop.release` replies `StockReleased`",
    ]
    assert report.worst_case_ms == report.arithmetic_ms == 50_000


def test_an_idempotency_window_shorter_than_the_redelivery_span() -> None:
    (found,) = _only(SEEDED / "window-short.flow").violations
    assert found.violation.code == "effect-twice"
    assert found.violation.message == "`Payments.charge` took effect twice, 24s apart: it remembers keys for 1s only"
    assert _steps(found.moves) == [
        "`OrderPlaced` starts the saga",
        "step `charge`: the command reaches `Payments.charge` twice, 24s apart",
    ]


def test_an_outcome_event_missing_a_field_on_one_path() -> None:
    """FLOW415 is an error `check` never lets through; the simulator finds the same path from the model."""
    (found,) = _only(SEEDED / "outcome-field-missing.flow").violations
    assert found.violation.code == "outcome-incomplete"
    assert "`OrderUndone` has no value for required field `reason` when step `reserve`" in found.violation.message
    assert _steps(found.moves) == [
        "`OrderPlaced` starts the saga",
        "step `reserve`: `Shop.reserve` raises on all 1 attempt(s): `AttemptsExhausted`",
        "compensation of `reserve`: `Shop.release` replies `StockReleased`",
        "the saga ends `compensated`",
    ]


def test_a_user_invariant_broken_by_a_compensation_path() -> None:
    """The saga declares `invariant every Charged is followed by Shipped or OrderStuck`."""
    report = _only(SEEDED / "invariant-broken.flow")
    (found,) = report.violations
    assert found.violation.code == "invariant: every Charged is followed by Shipped or OrderStuck"
    assert _steps(found.moves) == [
        "`OrderPlaced` starts the saga",
        "step `charge`: `Shop.charge` succeeds after the step timed out: `States.Timeout`",
        "compensation of `charge`: `Shop.refund` replies `Refunded`",
        "the saga ends `compensated`",
    ]


def test_a_retryable_reply_resent_after_the_handler_forgot_the_key() -> None:
    """The pivot resends its `retryable` reply a minute later; the handler remembers keys for 30s (FLOW303 only
    weighs its own retries). A duplicate of the first send succeeds after the `Busy`: one fault, charged twice;
    with `Busy` again on the resend, the order is cancelled although the card was charged."""
    report = _only(SEEDED / "retryable-window-short.flow")
    twice, undone = report.violations
    assert twice.violation.code == "effect-twice"
    assert twice.violation.message == "`Payments.charge` took effect twice, 1m5s apart: it remembers keys for 30s only"
    busy_then_copy = (
        "step `charge`: `Payments.charge` replies `Busy` (retryable), then a duplicate of the command succeeds "
        "before the deadline; the step resends the command"
    )
    assert _steps(twice.moves) == [
        "`OrderPlaced` starts the saga",
        "step `reserve`: `Stock.reserve` replies `Reserved`",
        busy_then_copy,
        "step `charge`: `Payments.charge` replies `Charged`",
    ]
    assert [m.fault for m in twice.moves] == [False, False, True, False]
    assert undone.violation.code == "compensation"
    assert undone.violation.message == "step `charge` took effect but the saga ended `compensated` without undoing it"
    assert _steps(undone.moves) == [
        "`OrderPlaced` starts the saga",
        "step `reserve`: `Stock.reserve` replies `Reserved`",
        busy_then_copy,
        "step `charge`: `Payments.charge` replies `Busy`",
        "compensation of `reserve`: `Stock.release` replies `Released`",
        "the saga ends `compensated`",
    ]
    assert [m.at_ms for m in undone.moves] == [0, 14_000, 34_000, 114_000, 128_000, 128_000]


def test_a_retryable_reply_the_step_resends_is_explored_clean() -> None:
    """Each send's `Busy` is resent after the step's 2 s backoff, on the handler's last attempt (5 s + 10 s
    visibility + 5 s after the send); `Busy` on every send is the failure reply (the pivot did nothing:
    compensate); nothing is "not explored" and the slowest schedule is `check`'s worst case."""
    report = _only(SEEDED / "retryable-resent.flow")
    assert report.unexplored is None and report.clean, render_text([report])
    assert (report.states, report.schedules) == (63, 21)
    assert report.worst_case_ms == report.arithmetic_ms
    kinds = {m.kind for moves in report.scenarios for m in moves}
    assert {"retryable-reply", "retryable-exhausted", "retryable-duplicate"} <= kinds
    busy = next(moves for moves in report.scenarios if [m.kind for m in moves if m.fault] == ["retryable-reply"])
    assert [(m.at_ms, m.kind, m.result) for m in busy[2:]] == [
        (34_000, "retryable-reply", "Busy"),
        (56_000, "reply", "Charged"),
        (56_000, "outcome", "completed"),
    ]
    every = next(moves for moves in report.scenarios if moves[2].kind == "retryable-exhausted")
    assert every[2].text.endswith("on every send (the last is send 3): the last send's is the failure reply")
    assert (every[2].at_ms, every[-1].result) == (78_000, "compensated")
    assert [m.step for m in every if m.step.startswith("undo ")] == ["undo reserve"]
    assert explore(_flow(SEEDED / "retryable-resent.flow").sagas[0], 3).states > report.states
    result = run_flowgen("simulate", str(SEEDED / "retryable-resent.flow"))
    assert result.returncode == 0 and "no violations" in result.stdout, result.stdout + result.stderr


def test_a_branched_retryable_reply_is_resent_then_takes_its_branch() -> None:
    """`on Busy -> rejected` on the pivot with `retry 3`: the machine resends `Busy` twice, then takes the branch
    (a declared route, not a fault); after the pivot `Later` is resent once, then `failed` (needs a human)."""
    report = _only(SEEDED / "retryable-branched.flow")
    assert report.unexplored is None and report.clean, render_text([report])
    assert (report.states, report.schedules) == (118, 39)
    rejected = next(moves for moves in report.scenarios if moves[-1].result == "rejected" and moves[2].kind == "branch")
    branch = rejected[2]
    assert not branch.fault and branch.events == ("Busy", "Busy", "Busy")
    assert branch.text.endswith("which leads to outcome `rejected`, on every send (the last is send 3)")
    assert (branch.at_ms, rejected[-1].at_ms) == (134_000, 204_000)
    later = next(moves for moves in report.scenarios if [m.kind for m in moves if m.fault] == ["retryable-exhausted"])
    assert (later[3].step, later[3].result, later[-1].result) == ("ship", "Later", "failed")


def test_the_cli_prints_the_counterexample_and_exits_1() -> None:
    spec = str(SEEDED / "saga-timeout-short.flow")
    result = run_flowgen("simulate", spec, "--disable", "FLOW502")
    assert result.returncode == 1, result.stderr
    assert "violation [saga-timeout]" in result.stdout
    assert "  5. [50s] compensation of `reserve`: `Shop.release` replies `StockReleased`" in result.stdout
    mermaid = run_flowgen("simulate", spec, "--disable", "FLOW502", "--format", "mermaid")
    assert mermaid.stdout.startswith("sequenceDiagram\n") and "Shop-->>Saga: Refunded" in mermaid.stdout
    assert mermaid.stdout.rstrip().endswith("Note over Saga: violated: saga-timeout")
    data = json.loads(run_flowgen("simulate", spec, "--disable", "FLOW502", "--format", "json").stdout)
    assert data["violations"] == 1 and data["sagas"][0]["violations"][0]["code"] == "saga-timeout"


def test_a_declared_invariant_is_formatted_and_its_events_resolved(tmp_path: Path) -> None:
    spec = tmp_path / "bad.flow"
    text = (SEEDED / "invariant-broken.flow").read_text(encoding="utf-8")
    spec.write_text(text.replace("followed by Shipped or", "followed by  Shiped or"), encoding="utf-8")
    result = run_flowgen("check", str(spec))
    assert result.returncode == 1 and "error[FLOW101]: undefined event `Shiped`" in result.stdout + result.stderr
    assert "did you mean `Shipped`" in result.stdout + result.stderr
    formatted = run_flowgen("fmt", "--diff", str(SEEDED / "invariant-broken.flow"))
    assert "-  invariant" not in formatted.stdout and "+  invariant" not in formatted.stdout


def test_an_unreadable_invariant_is_a_usage_error() -> None:
    flow = _flow(SPECS["checkout"])
    assert "cannot read invariant" in str(parse_invariant("StockReserved implies StockReleased", flow))
    assert "`Shipped`, which is not an event" in str(parse_invariant("every Charged is followed by Shipped", flow))


# ---- the bundled specs are clean ----------------------------------------------------------------------

CLEAN = {
    "Checkout": (93, 32),
    "BookTrip": (159, 55),
    "Orders.record_payment_failure": (21, 7),
    "Bookings.alert_travellers": (21, 7),
}


@pytest.mark.parametrize("spec", sorted(SPECS))
def test_the_bundled_specs_report_no_violation(spec: str) -> None:
    for report in simulate(_flow(SPECS[spec])):
        assert report.clean, render_text([report])
        assert (report.states, report.schedules) == CLEAN[report.saga]
        if report.kind == "saga":
            assert report.worst_case_ms == report.arithmetic_ms, "the slowest schedule is `check`'s worst case"
        assert render_mermaid([report]).count("sequenceDiagram") == report.schedules
    result = run_flowgen("simulate", str(SPECS[spec]))
    assert result.returncode == 0 and "no violations" in result.stdout, result.stdout + result.stderr


def test_a_larger_bound_explores_more_and_stays_clean() -> None:
    flow = _flow(SPECS["checkout"])
    small, large = explore(flow.sagas[0], 1), explore(flow.sagas[0], 3)
    assert small.states < large.states and small.clean and large.clean
    assert to_json([large])["violations"] == 0


def test_the_invariant_the_issue_names_breaks_on_the_failed_path() -> None:
    """`every StockReserved is followed by StockReleased or ShipmentScheduled` does not hold: a
    compensation that cannot finish ends `failed` and leaves the stock reserved (for a human)."""
    report = _only(SPECS["checkout"], "every StockReserved is followed by StockReleased or ShipmentScheduled")
    (found,) = report.violations
    assert found.moves[-2].kind == "undo-failed" and found.moves[-1].result == "failed"
    fixed = "every StockReserved is followed by StockReleased or ShipmentScheduled or OrderNeedsAttention"
    assert _only(SPECS["checkout"], fixed).clean


# ---- differential: simulated scenarios replayed through the generated local test kit --------------------

REPLAYABLE = {"failure-reply", "exhausted", "late-delivery", "duplicate", "duplicate-trigger", "undo-failed"}


def _prediction(moves: tuple[Move, ...]) -> tuple[dict[str, str], list[str], str, list[str]]:
    results = {m.step: m.result for m in moves if m.step and not m.step.startswith("undo ")}
    undone = list(dict.fromkeys(m.step.removeprefix("undo ") for m in moves if m.step.startswith("undo ")))
    return results, undone, moves[-1].result, list(moves[-1].events)


def _scenarios() -> list[tuple[str, str, tuple[Move, ...]]]:
    """Every scenario with one fault the kit can inject, and those with two faults on different handlers."""
    found = []
    for pkg, spec in sorted(SPECS.items()):
        for report in simulate(_flow(spec), bound=2):
            if report.kind != "saga":
                continue
            for moves in report.scenarios:
                faults = [m for m in moves if m.fault]
                steps = [m.step for m in faults]
                if all(m.kind in REPLAYABLE for m in faults) and len(set(steps)) == len(steps):
                    found.append((pkg, report.saga, moves))
    return found


SCENARIOS = _scenarios()


def _inject(setup: Setup, saga: str, move: Move) -> None:
    kit, spec = setup.kit, setup.testing.FLOW.sagas[saga]
    if move.kind == "duplicate-trigger":
        kit.deliver_twice(saga)
        return
    step = spec.step(move.step.removeprefix("undo "))
    call = step.compensation if move.step.startswith("undo ") else step.action
    handler = call.handler
    if move.kind == "failure-reply":
        reply = FAILURE_REPLIES[handler]
        kit.reply(handler, lambda c: reply(setup.models, c))
    elif move.kind in ("exhausted", "undo-failed"):
        kit.fail(handler, times=setup.testing.FLOW.handlers[handler].attempts)  # one send's attempts
    elif move.kind == "late-delivery":
        kit.deliver_late(handler, seconds=call.timeout_seconds + 30)
    elif move.kind == "duplicate":
        kit.deliver_twice(handler)


def _replayable(case: tuple[str, str, tuple[Move, ...]]) -> bool:
    """The kit's failure replies are sample ones (FAILURE_REPLIES)."""
    faults = [m for m in case[2] if m.fault]
    return all(m.kind != "failure-reply" or _handler_of(case, m) in FAILURE_REPLIES for m in faults)


def _handler_of(case: tuple[str, str, tuple[Move, ...]], move: Move) -> str:
    flow = _flow(SPECS[case[0]])
    saga = next(s for s in flow.sagas if s.name == case[1])
    step = next(s for s in saga.steps if s.name == move.step)
    return f"{step.action.service}.{step.action.handler.name}"


SAMPLE = [c for c in SCENARIOS if _replayable(c)]


def _id(case: tuple[str, str, tuple[Move, ...]]) -> str:
    faults = [f"{m.kind}@{m.step or 'trigger'}" for m in case[2] if m.fault] or ["none"]
    return f"{case[1]}-{'+'.join(faults)}"


@pytest.mark.parametrize("case", SAMPLE, ids=_id)
def test_a_simulated_scenario_replays_in_the_test_kit(case: tuple[str, str, tuple[Move, ...]], flows: Any) -> None:
    pkg, saga, moves = case
    setup = Setup(pkg, flows)
    for move in moves:
        if move.fault:
            _inject(setup, saga, move)
    run = setup.kit.publish(setup.trigger())
    results, undone, outcome, events = _prediction(moves)
    expected_events = [e for e in run.events() if e in events]
    assert (run.step_results(saga), run.compensations(saga), run.outcome(saga), expected_events) == (
        results,
        undone,
        outcome,
        events,
    ), run.format()
