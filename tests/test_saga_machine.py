"""The generated state machines keep the saga contract when run with faults injected.

Each saga of the bundled specs is generated, then run by `tests.asl` (an ASL
interpreter on a virtual clock) against simulated services (`tests.saga_world`)
that fail on purpose: by a failure reply, by exceptions until attempts run out,
by a timeout followed by a late success, after the pivot, and in a
compensation. Every run must end in exactly one declared outcome, emit its event
with every required field filled, compensate exactly what ran or may have run
(in reverse order), and leave no effect behind when it compensated. A runtime
broken on purpose (no deadline check) must be caught by the same assertions.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from flowgen_design.codegen.targets.cloudformation.states import definition
from flowgen_design.dsl.model import REDELIVERY_MARGIN_MS, DeliveryPolicy, Flow, Saga, SagaStep
from flowgen_design.dsl.rules.timing import saga_worst_case_ms
from flowgen_design.dsl.sagapaths import Ending, compensates_itself, endings
from tests.asl import Execution, run
from tests.cloudformation_support import load_flow
from tests.conftest import ROOT
from tests.saga_world import Attempt, SagaWorld, queue_key, trigger_input

SPECS = [ROOT / "specs" / "checkout.flow", ROOT / "specs" / "travel.flow"]
TERMINAL = {"completed": ("SUCCEEDED", "completed"), "compensated": ("SUCCEEDED", "compensated")}


def _sagas() -> list[tuple[Flow, Saga]]:
    found = []
    for spec in SPECS:
        flow = load_flow(spec)
        found += [(flow, saga) for saga in flow.sagas]
    return found


SAGAS = _sagas()


def _run(flow: Flow, saga: Saga, world: SagaWorld) -> Execution:
    machine = definition(flow, saga, queue_key, "bus")
    return run(machine, trigger_input(saga), world)


def _script_for(way: Ending, late: float = 0.0) -> dict[str, list[Attempt]]:
    """Make `way` happen: its step fails by its reply, or gives no answer in time."""
    assert way.step is not None
    call = way.step.compensation if way.undoing else way.step.action
    assert call is not None
    if way.reply is not None:
        return {call.command.name: [Attempt("reply", way.reply.name)]}
    script = {call.command.name: [Attempt("raise")] * call.handler.policy.attempts}
    if way.undoing:  # the step itself gives no answer, then its compensation fails
        script[way.step.action.command.name] = [Attempt("raise")] * way.step.action.handler.policy.attempts
    return script


def _undo_order(saga: Saga, way: Ending) -> list[str]:
    """The compensations `way` must run, in order."""
    if way.undoing:
        assert way.step is not None
        return [way.step.name]
    if way.outcome != "compensated":
        return []
    assert way.step is not None
    index = saga.steps.index(way.step) + (1 if compensates_itself(way) else 0)
    return [s.name for s in reversed(saga.steps[:index]) if s.compensation is not None and s in saga.compensable_steps]


def _undone(world: SagaWorld) -> list[str]:
    return [body["step"] for _, mid, body in world.sent if mid.split("/", 1)[1].startswith("undo ")]


def _assert_outcome(saga: Saga, world: SagaWorld, ex: Execution, outcome: str) -> None:
    status = TERMINAL.get(outcome, ("FAILED", "failed"))
    assert (ex.status, ex.end_state) == status, ex.trace
    event = {"completed": saga.on_completed, "compensated": saga.on_compensated, "failed": saga.on_failed}[outcome]
    assert [name for _, name, _ in world.events] == ([event.name] if event else [])
    if event is None:
        return
    ((_, _, detail),) = world.events
    for f in event.fields:
        if not f.optional:
            assert detail["payload"].get(f.name) is not None, f"{event.name}.{f.name} is empty"
    assert detail["envelope"]["correlation_id"] == "corr-1"
    assert detail["envelope"]["causation_id"] == "trigger-1"
    assert detail["envelope"]["message_id"] == f"exec-1/{outcome}"


def _compensable(saga: Saga) -> set[str]:
    return {s.name for s in saga.compensable_steps if s.compensation is not None}


def _ids(items: list[tuple[Flow, Saga]]) -> list[str]:
    return [f"{flow.name}.{saga.name}" for flow, saga in items]


def _ways() -> list[tuple[Flow, Saga, Ending]]:
    return [(flow, saga, way) for flow, saga in SAGAS for way in endings(saga)]


def _way_id(item: tuple[Flow, Saga, Ending]) -> str:
    _, saga, way = item
    return f"{saga.name}: {way.outcome} {way.describe()}"


@pytest.mark.parametrize("case", _ways(), ids=[_way_id(w) for w in _ways()])
def test_every_way_a_saga_can_end(case: tuple[Flow, Saga, Ending]) -> None:
    """Each way `check` knows, made to happen: the right outcome, event, compensations, and nothing left."""
    flow, saga, way = case
    world = SagaWorld(flow, saga, scripts=_script_for(way) if way.step is not None else {})
    ex = _run(flow, saga, world)
    _assert_outcome(saga, world, ex, way.outcome)
    assert _undone(world) == _undo_order(saga, way)
    if way.outcome == "compensated":
        assert not world.left_applied() & (_compensable(saga) | {saga.steps[saga.pivot_index].name})


@pytest.mark.parametrize("flow, saga", SAGAS, ids=_ids(SAGAS))
def test_a_timed_out_step_with_a_late_success_leaves_nothing_behind(flow: Flow, saga: Saga) -> None:
    """The issue's Charge: an attempt raises, its retry is delivered after the step gave up."""
    for step in saga.compensable_steps:
        if step.compensation is None:
            continue
        late = step.timeout_ms / 1000 + 1
        world = SagaWorld(flow, saga, scripts={step.action.command.name: [Attempt("raise"), Attempt(late=late)]})
        ex = _run(flow, saga, world)
        _assert_outcome(saga, world, ex, "compensated")
        assert step.name in _undone(world), "the step that timed out is compensated"
        assert world.expired, "the late attempt never started"
        assert not world.left_applied() & _compensable(saga)


@pytest.mark.parametrize("flow, saga", SAGAS, ids=_ids(SAGAS))
def test_a_runtime_without_the_deadline_check_is_caught(flow: Flow, saga: Saga) -> None:
    """The same run with the adapter's deadline check removed leaves an effect behind: the suite sees it."""
    step = next(s for s in saga.compensable_steps if s.compensation is not None)
    late = step.timeout_ms / 1000 + 1
    world = SagaWorld(
        flow, saga, scripts={step.action.command.name: [Attempt("raise"), Attempt(late=late)]}, deadline_check=False
    )
    _run(flow, saga, world)
    assert step.name in world.left_applied()


@pytest.mark.parametrize("flow, saga", SAGAS, ids=_ids(SAGAS))
def test_a_step_whose_answer_is_lost_is_compensated(flow: Flow, saga: Saga) -> None:
    """The step took effect but its answer never came: it times out, and is undone all the same."""
    for step in saga.compensable_steps:
        if step.compensation is None:
            continue
        world = SagaWorld(flow, saga, scripts={step.action.command.name: [Attempt(lost=True)]})
        ex = _run(flow, saga, world)
        _assert_outcome(saga, world, ex, "compensated")
        assert not world.left_applied() & _compensable(saga)


@pytest.mark.parametrize("flow, saga", SAGAS, ids=_ids(SAGAS))
def test_a_machine_that_skips_the_timed_out_steps_compensation_is_caught(flow: Flow, saga: Saga) -> None:
    """Broken on purpose: a step's no-answer path starts at the compensation before it."""
    step = _first_compensable(saga)
    machine = definition(flow, saga, queue_key, "bus")
    earlier = [s for s in saga.compensable_steps[: saga.steps.index(step)] if s.compensation is not None]
    machine["States"][f"no answer from {step.name}"]["Next"] = (
        f"undo {earlier[-1].name}" if earlier else "compensated: which event"
    )
    world = SagaWorld(flow, saga, scripts={step.action.command.name: [Attempt(lost=True)]})
    run(machine, trigger_input(saga), world)
    assert step.name in world.left_applied()


@pytest.mark.parametrize("flow, saga", SAGAS, ids=_ids(SAGAS))
def test_retries_are_bounded_and_failure_replies_are_not_retried(flow: Flow, saga: Saga) -> None:
    for step in saga.steps:
        for reply in step.action.command.failures:
            world = SagaWorld(flow, saga, scripts={step.action.command.name: [Attempt("reply", reply.name)]})
            _run(flow, saga, world)
            sent = [mid for _, mid, _ in world.sent if mid == f"exec-1/{step.name}"]
            assert len(sent) == 1, f"{reply.name} is an answer, never resent"
        world = SagaWorld(flow, saga, scripts={step.action.command.name: [Attempt("raise")] * 1000})
        _run(flow, saga, world)
        sent = [mid for _, mid, _ in world.sent if mid == f"exec-1/{step.name}"]
        assert len(sent) == step.policy.attempts


def _slowest_attempts(policy: DeliveryPolicy) -> list[Attempt]:
    """Each attempt as slow as the runtime allows: it fails at its timeout, and the next one
    starts after the longer of the backoff (an exception) and the redelivery margin (killed)."""
    t = policy.timeout_ms / 1000
    out = []
    for retry in range(1, policy.attempts):
        delay = math.ceil((policy.backoff.delay_ms(retry) if policy.backoff else 0) / 1000) * 1000
        out.append(Attempt("raise", seconds=t) if delay >= REDELIVERY_MARGIN_MS else Attempt("raise", seconds=t + 1))
    return [*out, Attempt(seconds=t)]


@pytest.mark.parametrize("flow, saga", SAGAS, ids=_ids(SAGAS))
def test_the_slowest_run_stays_within_checks_worst_case(flow: Flow, saga: Saga) -> None:
    """Every attempt as slow as it may be: the slowest run on the virtual clock is what FLOW502 computes."""
    worst = saga_worst_case_ms(saga) / 1000
    slow = {h.input.name: _slowest_attempts(h.policy) for h in flow.handlers()}
    measured = [_run(flow, saga, SagaWorld(flow, saga, scripts=slow)).clock]
    for step in saga.steps[: saga.pivot_index + 1]:
        world = SagaWorld(flow, saga, scripts={**slow, step.action.command.name: [Attempt("raise", seconds=1e9)] * 9})
        ex = _run(flow, saga, world)
        assert ex.status != "TIMED_OUT"
        measured.append(ex.clock)
        for reply in step.action.command.failures:  # an answer "no", at the last moment
            t = step.action.handler.policy.timeout_ms / 1000
            last = _slowest_attempts(step.action.handler.policy)[:-1]
            script = {**slow, step.action.command.name: last + [Attempt("reply", reply.name, seconds=t)]}
            measured.append(_run(flow, saga, SagaWorld(flow, saga, scripts=script)).clock)
    for step in saga.steps:  # no answer at all: each send waits the step's whole timeout
        lost = {**slow, step.action.command.name: [Attempt(lost=True)]}
        measured.append(_run(flow, saga, SagaWorld(flow, saga, scripts=lost)).clock)
    # Every step at its worst and still succeeding: each resend but the last goes unanswered.
    resent = {s.action.command.name: [[Attempt(lost=True)]] * (s.policy.attempts - 1) for s in saga.steps}
    slowest = {**slow, **{s.action.command.name: [Attempt(lost=True)] for s in saga.steps[-1:]}}
    measured.append(_run(flow, saga, SagaWorld(flow, saga, scripts=slowest, per_send=resent)).clock)
    # Step Functions counts whole seconds (a task's timeout, a wait): each may round up once.
    rounding = len(saga.steps) * (1 + max(s.policy.attempts for s in saga.steps))
    assert worst <= max(measured) <= worst + rounding, "check's figure is the slowest run, not just a bound"


@pytest.mark.parametrize("flow, saga", SAGAS, ids=_ids(SAGAS))
def test_commands_carry_the_envelope_and_a_payload_built_by_the_machine(flow: Flow, saga: Saga) -> None:
    world = SagaWorld(flow, saga)
    _run(flow, saga, world)
    for step, (_, mid, body) in zip(saga.steps, world.sent, strict=False):
        assert mid == f"exec-1/{step.name}"
        envelope: dict[str, Any] = body["envelope"]
        assert envelope["saga_instance"] == "exec-1" and envelope["correlation_id"] == "corr-1"
        assert envelope["timeout_seconds"] >= step.timeout_ms / 1000
        required = {f.name for f in step.action.command.fields if not f.optional}
        assert required <= set(body["payload"]), step.name
        assert set(body["payload"]) <= {f.name for f in step.action.command.fields}


def _first_compensable(saga: Saga) -> SagaStep:
    return next(s for s in saga.compensable_steps if s.compensation is not None)
