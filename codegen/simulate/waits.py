"""The moves of an `await` step (docs/semantics.md, section 11), for `moves.py`.

A wait sends nothing and changes nothing, so it has no effects and nothing to undo. From a wait:

- each awaited event arrives for this instance, as late as the timeout lets it (the worst case):
  the first is success (the saga holds its payload, as a success reply's); another is a failure,
  a route when the step branches it (`on PaymentFailed -> rejected`), else a fault like a failure reply;
- the timeout: no event within it. A route when the step says where (`on timeout -> X`), else a
  fault; it leads to that step or outcome, or fails as a failure event would (compensated up to the
  pivot, failed after it: a wait that timed out did nothing);
- a late event (fault): the event arrives after the timeout; the saga already went the timeout's
  way and the event has no effect (it is produced, so user invariants see it);
- an early event (fault): the event was on the bus before the saga reached the wait; it is kept and
  delivered at once when the wait registers: the saga goes on without waiting.

Checked here: a timeout that ends the saga with no outcome event (nobody learns it gave up waiting).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from flowgen_design.dsl.durations import format_ms
from flowgen_design.dsl.model import Saga, SagaStep

if TYPE_CHECKING:
    from flowgen_design.codegen.simulate.invariants import Invariant
    from flowgen_design.codegen.simulate.moves import State, Step, Violation

TIMEOUT = "States.Timeout"
WAITING = "Awaited"
"""The sequence diagram's participant for whoever publishes the awaited events."""


def wait_moves(saga: Saga, state: State, faulty: bool, invariants: tuple[Invariant, ...]) -> Iterator[Step]:
    """Every move from a wait (`state.index` is an `await` step)."""
    from flowgen_design.codegen.simulate.moves import (
        SAGA,
        Arrow,
        Failure,
        Move,
        _advance,
        _emit,
        _enter,
        _failed,
        _index,
        _sent_at,
    )

    step = saga.steps[state.index]
    wait = step.wait
    assert wait is not None
    t0 = _sent_at(step, state)
    done = t0 + step.timeout_ms
    register = Arrow(SAGA, SAGA, f"waits for {' | '.join(e.name for e in wait.events)} ({step.name})")
    fault = replace(state, faults=state.faults + 1)
    first = wait.events[0]
    arrived = Arrow(WAITING, SAGA, first.name)
    text = f"step `{step.name}`: `{first.name}` arrives before the wait times out"
    move = Move(done, text, (register, arrived), kind="event", step=step.name, result=first.name)
    yield _emit(move, _advance(saga, replace(state, clock=done)), (), (first.name,), invariants)
    for event in wait.events[1:]:
        branch = step.branch(event.name)
        routed = branch is not None
        if not routed and not faulty:
            continue
        base = state if routed else fault
        arrow = Arrow(WAITING, SAGA, event.name)
        if branch is not None and branch.step is not None:
            moved = _enter(saga, replace(base, clock=done), _index(saga, branch.step))
        else:
            failure = Failure(state.index, event.name, event)
            moved = _failed(saga, replace(base, clock=done), failure, branch.outcome if branch else None)
        text = f"step `{step.name}`: `{event.name}` arrives"
        kind = "branch" if routed else "failure-event"
        move = Move(done, text, (register, arrow), fault=not routed, kind=kind, step=step.name, result=event.name)
        yield _emit(move, moved, (), (event.name,), invariants)
    if wait.leads_on or faulty:
        base = state if wait.leads_on else fault
        timed_out = _timed_out(saga, replace(base, clock=done), step)
        text = f"step `{step.name}`: nothing arrives within {format_ms(step.timeout_ms)}: `{TIMEOUT}`"
        move = Move(done, text, (register,), fault=not wait.leads_on, kind="wait-timeout", step=step.name)
        yield replace(move, result=TIMEOUT), timed_out, ()
    if not faulty:
        return
    for event in wait.events:
        late = Arrow(WAITING, SAGA, f"{event.name} (too late: no effect)")
        text = f"step `{step.name}`: `{event.name}` arrives after the wait timed out and changes nothing"
        move = Move(done, text, (register, late), fault=True, kind="late-event", step=step.name, result=TIMEOUT)
        yield _emit(move, _timed_out(saga, replace(fault, clock=done), step), (), (event.name,), invariants)
    early = Arrow(WAITING, SAGA, f"{first.name} (before the wait: kept)")
    text = f"step `{step.name}`: `{first.name}` arrived before the wait started; delivered when it registers"
    move = Move(t0, text, (early, register), fault=True, kind="early-event", step=step.name, result=first.name)
    yield _emit(move, _advance(saga, replace(fault, clock=t0)), (), (first.name,), invariants)


def _timed_out(saga: Saga, state: State, step: SagaStep) -> State:
    """Where the timeout leads: the step it names, its outcome, or the failure as a failure event's."""
    from flowgen_design.codegen.simulate.moves import Failure, _enter, _failed, _index

    wait = step.wait
    assert wait is not None
    if wait.timeout_step is not None:
        return _enter(saga, state, _index(saga, wait.timeout_step))
    failure = Failure(state.index, TIMEOUT, None, waited=True)
    return _failed(saga, state, failure, wait.timeout_outcome)


def silent_timeout(saga: Saga, state: State, emitted: bool) -> Iterator[Violation]:
    """A wait that timed out and the saga ended emitting nothing: whoever waited for the answer never learns."""
    from flowgen_design.codegen.simulate.moves import Violation

    failure = state.failure
    if emitted or failure is None or failure.index < 0 or not failure.waited:
        return
    step = saga.steps[failure.index]
    yield Violation(
        "silent-timeout",
        f"the wait of step `{step.name}` timed out and the saga ended `{state.outcome}` without an event: "
        "nobody learns that it stopped waiting (add `on timeout -> OUTCOME` with `on OUTCOME emit EVENT`, or "
        f"`on {state.outcome} emit EVENT`)",
    )


HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
SILENT_UNTIL = {"late-delivery": "sent", "no-attempt": "sent", "late-success": "last", "lost-answer": "last"}
"""No answer from a command step with `heartbeat D`: the last sign of life is the send (no attempt started)
or the start of the last attempt (its adapter's heartbeat); the machine gives up `D` after it."""


def with_heartbeat(saga: Saga, state: State, found: Iterator[Step]) -> Iterator[Step]:
    """A command step's moves, where its heartbeat ends a silent wait before the step's timeout."""
    from flowgen_design.codegen.simulate.moves import _sent_at, _starts

    step = saga.steps[state.index] if state.phase == "run" and state.index < len(saga.steps) else None
    if step is None or step.wait is not None or not step.heartbeat_ms:
        yield from found
        return
    t0, starts = _sent_at(step, state), _starts(step)
    for move, after, bad in found:
        since = SILENT_UNTIL.get(move.kind)
        if move.step != step.name or move.result != TIMEOUT or since is None:
            yield move, after, bad
            continue
        last = t0 + (starts[-1] if since == "last" and starts else 0)
        lapsed = last + step.heartbeat_ms
        if lapsed >= move.at_ms:
            yield move, after, bad
            continue
        earlier = move.at_ms - lapsed
        failure = after.failure
        if failure is not None and failure.index == state.index and failure.error == TIMEOUT:
            failure = replace(failure, error=HEARTBEAT_TIMEOUT)
        text = move.text.replace(
            f"`{TIMEOUT}`", f"no heartbeat within {format_ms(step.heartbeat_ms)}: `{HEARTBEAT_TIMEOUT}`"
        )
        yield (
            replace(move, at_ms=lapsed, result=HEARTBEAT_TIMEOUT, text=text),
            replace(after, clock=after.clock - earlier, failure=failure),
            bad,
        )
