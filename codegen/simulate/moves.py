"""The state of one saga instance and every move the runtime allows from it (docs/semantics.md).

A move takes its worst-case duration: an answer arrives just before the step's
timeout, a compensation takes its handler's worst case (`undo_policy`), a resend
waits the step's full backoff delay in whole seconds. Effects are applied by the
rules of the generated adapters: an attempt starts only if it can finish before
the command's deadline (3.), a duplicate of an idempotent handler is dropped
within its window (6.). The properties are checked as the moves are made; the
explorer keeps the first schedule that breaks each one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from flowgen_design.codegen.simulate.invariants import Invariant
from flowgen_design.codegen.targets.lambda_adapters import DEFAULT_IDEMPOTENCY_WINDOW_MS
from flowgen_design.dsl.durations import format_ms, seconds_ceil
from flowgen_design.dsl.frozen import frozen
from flowgen_design.dsl.model import REDELIVERY_MARGIN_MS, DeliveryPolicy, Event, Saga, SagaStep, StepCall
from flowgen_design.dsl.sagapaths import TRIGGER_STEP, Ending, arrivals, compensates, fill_source, undo_policy

TIMEOUT = "States.Timeout"
EXHAUSTED = "AttemptsExhausted"
SAGA = "Saga"
TRIGGER = -1
"""The index of the trigger's own local transaction (`trigger E compensate S.C`) in `State.undo`: undone last."""


@frozen(kw_only=False)
class Arrow:
    """One message of a move, for the sequence diagram."""

    source: str
    target: str
    text: str
    reply: bool = False


@frozen(kw_only=False)
class Move:
    """One step of a schedule: what happened, when it ended, and whether it was an injected fault."""

    at_ms: int
    text: str
    arrows: tuple[Arrow, ...] = ()
    events: tuple[str, ...] = ()
    fault: bool = False
    kind: str = ""  # start, reply, failure-reply, exhausted, late-success, lost-answer, late-delivery, ...
    step: str = ""  # the step, `undo <step>` for a compensation
    result: str = ""  # the reply or error the saga saw; the outcome for `outcome`

    def to_json(self) -> dict[str, object]:
        return {
            "at_ms": self.at_ms,
            "what": self.text,
            "kind": self.kind,
            "step": self.step,
            "result": self.result,
            "events": list(self.events),
            "fault": self.fault,
        }


@frozen(kw_only=False)
class Violation:
    code: str
    message: str


@frozen(kw_only=False)
class Failure:
    """What decided a saga that did not complete."""

    index: int  # the step, or TRIGGER: the compensation of the trigger
    error: str
    reply: Event | None = None
    undoing: bool = False
    waited: bool = False  # an `await` step timed out: nothing happened there (`wait_moves`)


@frozen(kw_only=False)
class State:
    """A saga instance: where it is, what took effect and when, the clock, what is still open."""

    phase: str  # start, run, undo, outcome, end
    index: int = 0
    send: int = 1
    undo: tuple[int, ...] = ()
    failure: Failure | None = None
    outcome: str | None = None  # completed, compensated, failed or a named outcome
    clock: int = 0
    effects: tuple[tuple[str, int, int], ...] = ()  # (effect, times applied, when first applied)
    undone: tuple[int, ...] = ()
    faults: int = 0
    open: tuple[bool, ...] = ()  # per user invariant: an event still waits for a follower
    outcomes: int = 0
    succeeded: tuple[int, ...] = ()  # the steps whose success reply the saga holds (`$.steps.<step>`)
    block_start: int = 0  # in a parallel block: when it started (each of its steps is sent then)
    block_end: int = 0  # in a parallel block: when the slowest of its steps explored so far ended
    branches: tuple[tuple[int, str, Failure | None], ...] = ()
    """In a parallel block: how each of its steps explored so far ended (`succeeded`, `failed`: a
    failure reply, `unknown`: no answer), with its failure."""

    @property
    def ended(self) -> bool:
        return self.phase == "end"

    def applied(self, effect: str) -> int:
        return next((n for name, n, _ in self.effects if name == effect), 0)


Step = tuple[Move, State, tuple[Violation, ...]]


def initial_state(invariants: tuple[Invariant, ...]) -> State:
    return State("start", open=tuple(False for _ in invariants))


def moves(saga: Saga, state: State, bound: int, invariants: tuple[Invariant, ...]) -> Iterator[Step]:
    """Every move from `state`; a move that runs past the saga's timeout ends the instance without an outcome."""
    for move, after, bad in _moves(saga, state, bound, invariants):
        if saga.timeout_ms is not None and after.clock > saga.timeout_ms and not after.ended:
            yield move, replace(after, phase="end"), bad + tuple(_timing_violations(saga, after))
        else:
            yield move, after, bad


def _moves(saga: Saga, state: State, bound: int, invariants: tuple[Invariant, ...]) -> Iterator[Step]:
    """Every move from `state`; faults only while fewer than `bound` were injected."""
    faulty = state.faults < bound
    if state.phase == "start":
        yield Move(
            0, f"`{saga.trigger.name}` starts the saga", (Arrow("Bus", SAGA, saga.trigger.name),), kind="start"
        ), replace(state, phase="run"), ()
        if faulty:
            text = f"`{saga.trigger.name}` is delivered twice: the second start is `ExecutionAlreadyExists`"
            arrows = (Arrow("Bus", SAGA, saga.trigger.name), Arrow("Bus", SAGA, f"{saga.trigger.name} (again)"))
            yield Move(0, text, arrows, fault=True, kind="duplicate-trigger"), replace(state, phase="run", faults=1), ()
    elif state.phase == "run":
        yield from with_heartbeat(saga, state, _step_moves(saga, state, faulty, invariants))
    elif state.phase == "undo":
        yield from _undo_moves(saga, state, faulty, invariants)
    elif state.phase == "outcome":
        yield _outcome(saga, state, invariants)


# ---- a step ------------------------------------------------------------------------------------------


def _starts(step: SagaStep) -> list[int]:
    """When each of the handler's attempts starts, after the send, if the deadline check lets it."""
    policy = step.action.handler.policy
    starts, at = [], 0
    for attempt in range(1, policy.attempts + 1):
        if at + policy.timeout_ms > step.timeout_ms:
            break
        starts.append(at)
        delay = policy.backoff.delay_ms(attempt) if policy.backoff is not None else 0
        at += policy.timeout_ms + max(seconds_ceil(delay) * 1000, REDELIVERY_MARGIN_MS)
    return starts


def _call_name(call: StepCall) -> str:
    return f"{call.service}.{call.handler.name}"


def grace_ms(step: SagaStep) -> int:
    """`after D`, as the state machine's Wait state waits it (whole seconds), on entering the step only."""
    return 1000 * max(1, seconds_ceil(step.delay_ms)) if step.delay_ms else 0


def _sent_at(step: SagaStep, state: State) -> int:
    """When the command is sent: after the grace period on the way in; a resend does not wait it again."""
    return state.clock + (grace_ms(step) if state.send == 1 else 0)


def _step_moves(saga: Saga, state: State, faulty: bool, invariants: tuple[Invariant, ...]) -> Iterator[Step]:
    step = saga.steps[state.index]
    if step.wait is not None:
        yield from wait_moves(saga, state, faulty, invariants)
        return
    call, policy = step.action, step.action.handler.policy
    t0 = _sent_at(step, state)
    done = t0 + step.timeout_ms
    starts = _starts(step)
    send = Arrow(SAGA, call.service, f"{call.command.name} ({step.name}, send {state.send})")
    success = call.command.success
    if starts and success is not None:
        first = t0 + starts[0] + policy.timeout_ms
        effects, bad = _apply(state, step.name, first, policy, done, _call_name(call))
        moved = _advance(saga, replace(state, effects=effects, clock=done))
        text = f"step `{step.name}`: `{_call_name(call)}` replies `{success.name}`"
        arrows = (send, Arrow(call.service, SAGA, success.name, True))
        move = Move(done, text, arrows, kind="reply", step=step.name, result=success.name)
        yield _emit(move, moved, bad, (success.name,), invariants)
    remembered = _remembers(state, step.name, t0 + policy.timeout_ms, policy)
    if not remembered:
        yield from _branched_replies(saga, state, step, send, done, invariants)
    if not faulty:
        return
    fault = replace(state, faults=state.faults + 1)
    for reply in () if remembered else call.command.failures:
        if step.branch(reply.name) is not None or _resent(step, state, reply):
            continue
        text = f"step `{step.name}`: `{_call_name(call)}` replies `{reply.name}`"
        moved = _failed(saga, replace(fault, clock=done), Failure(state.index, reply.name, reply))
        arrows = (send, Arrow(call.service, SAGA, reply.name, True))
        move = Move(done, text, arrows, fault=True, kind="failure-reply", step=step.name, result=reply.name)
        yield _emit(move, moved, (), (reply.name,), invariants)
    if not remembered:
        yield from _retryable_replies(saga, state, fault, step, send, starts, invariants)
    if starts and len(starts) == policy.attempts and not remembered:
        at = min(t0 + starts[-1] + policy.timeout_ms, done)
        text = f"step `{step.name}`: `{_call_name(call)}` raises on all {policy.attempts} attempt(s): `{EXHAUSTED}`"
        arrows = (send, Arrow(call.service, SAGA, EXHAUSTED, True))
        move = Move(at, text, arrows, fault=True, kind="exhausted", step=step.name, result=EXHAUSTED)
        yield move, _no_answer(saga, replace(fault, clock=at), EXHAUSTED), ()
    if starts and success is not None:
        late = t0 + starts[-1] + policy.timeout_ms
        effects, bad = _apply(state, step.name, late, policy, done, _call_name(call))
        moved = _no_answer(saga, replace(fault, effects=effects, clock=done), TIMEOUT)
        for kind, how in (
            ("late-success", "succeeds after the step timed out"),
            ("lost-answer", "succeeds but its answer is lost"),
        ):
            text = f"step `{step.name}`: `{_call_name(call)}` {how}: `{TIMEOUT}`"
            arrows = (send, Arrow(call.service, SAGA, f"{success.name} (too late: {TIMEOUT})", True))
            move = Move(done, text, arrows, fault=True, kind=kind, step=step.name, result=TIMEOUT)
            yield _emit(move, moved, bad, (success.name,), invariants)
        text = f"step `{step.name}`: the command reaches `{_call_name(call)}` after its deadline and is dropped: `{TIMEOUT}`"
        move = Move(done, text, (send,), fault=True, kind="late-delivery", step=step.name, result=TIMEOUT)
        yield move, _no_answer(saga, replace(fault, clock=done), TIMEOUT), ()
        yield from _duplicate(saga, state, fault, step, send, starts, invariants)
    if not starts:
        text = f"step `{step.name}`: no attempt of `{_call_name(call)}` fits before the deadline: `{TIMEOUT}`"
        move = Move(done, text, (send,), fault=True, kind="no-attempt", step=step.name, result=TIMEOUT)
        yield move, _no_answer(saga, replace(fault, clock=done), TIMEOUT), ()


def _duplicate(
    saga: Saga, state: State, fault: State, step: SagaStep, send: Arrow, starts: list[int], invs: tuple[Invariant, ...]
) -> Iterator[Step]:
    """The command is delivered twice; the copy arrives as late as the deadline check lets it run."""
    call, policy, success = step.action, step.action.handler.policy, step.action.command.success
    assert success is not None
    t0 = _sent_at(step, state)
    done = t0 + step.timeout_ms
    first = t0 + starts[0] + policy.timeout_ms
    copy = t0 + step.timeout_ms
    effects, bad = _apply(state, step.name, first, policy, done, _call_name(call))
    effects, worse = _apply(replace(state, effects=effects), step.name, copy, policy, done, _call_name(call))
    moved = _advance(saga, replace(fault, effects=effects, clock=done))
    text = f"step `{step.name}`: the command reaches `{_call_name(call)}` twice, {format_ms(copy - first)} apart"
    arrows = (
        send,
        Arrow(SAGA, call.service, f"{call.command.name} (duplicate)"),
        Arrow(call.service, SAGA, success.name, True),
    )
    move = Move(done, text, arrows, fault=True, kind="duplicate", step=step.name, result=success.name)
    return iter([_emit(move, moved, bad + worse, (success.name,), invs)])


# ---- a `retryable` failure reply, resent by the step's own `retry` (docs/semantics.md 4. and 5.) ----------


def sends_of(move: Move) -> int:
    """How many sends of its step a move stands for: one, or, for a `retryable` reply on every send left
    (`retryable-exhausted`, a resent `branch` to a named outcome), one per send (each publishes the reply)."""
    return max(1, move.events.count(move.result)) if move.kind in ("retryable-exhausted", "branch") else 1


def _resent(step: SagaStep, state: State, reply: Event) -> bool:
    """The state machine resends `reply` rather than fail the step on it: the reply is `retryable`, the
    step has its own `retry` with a send left, and no branch leads the reply to a later step (that is
    an answer, never resent). On the step's last send the reply is the failure reply it says."""
    branch = step.branch(reply.name)
    resendable = reply in step.action.command.retryable and (branch is None or branch.step is None)
    return resendable and state.send < step.policy.attempts


def _resend_wait(step: SagaStep, send: int) -> int:
    """`wait to resend <step>` after send `send`: the step's backoff delay in whole seconds, never jittered."""
    backoff = step.policy.backoff
    return seconds_ceil(backoff.delay_ms(send)) * 1000 if backoff is not None else 0


def reply_delay_ms(step: SagaStep) -> int | None:
    """How long after a send a `retryable` reply reaches the saga, at the latest: on the handler's last
    attempt (the adapter retries it before that, recording nothing). None: not every attempt fits before
    the send's deadline, so the reply never comes (the step times out, as `late-delivery` explores)."""
    policy, starts = step.action.handler.policy, _starts(step)
    if len(starts) < policy.attempts:
        return None
    return min(starts[-1] + policy.timeout_ms, step.timeout_ms)


def _answered_at(step: SagaStep, sent: int) -> int | None:
    delay = reply_delay_ms(step)
    return None if delay is None else sent + delay


@frozen(kw_only=False)
class _Sends:
    """Where a `retryable` reply on every send left leaves the step: its last send and the clock at its reply."""

    send: int
    clock: int
    said: str = ""


def _every_send(step: SagaStep, state: State, reply: Event, at: int) -> _Sends:
    """`reply` (at `at` on this send) again on every send the step's `retry` has left, each resend after
    its wait; the last send's reply is final. A reply the machine does not resend: this send only."""
    if not _resent(step, state, reply):
        return _Sends(state.send, at)
    clock, send = at, state.send
    while send < step.policy.attempts:
        sent = clock + _resend_wait(step, send)
        send += 1
        answered = _answered_at(step, sent)
        clock = answered if answered is not None else sent + step.timeout_ms
    return _Sends(send, clock, f", on every send (the last is send {send})")


def _retryable_replies(
    saga: Saga, state: State, fault: State, step: SagaStep, send: Arrow, starts: list[int], invs: tuple[Invariant, ...]
) -> Iterator[Step]:
    """A `retryable` reply the machine resends (`_resent`), each a fault: on this send, then resent after the
    step's backoff (a fresh `time`; the adapter did not record the reply, so the resend runs the handler
    again); on this and every send left, the last one final (one fault, so the failure it decides is
    explored at every bound); and on this send while a duplicate of the command, as late as the deadline
    check lets it run, succeeds after the machine resent (the resend then finds the recorded success)."""
    call, success = step.action, step.action.command.success
    sent = _sent_at(step, state)
    at = _answered_at(step, sent)
    if at is None:
        return
    for reply in call.command.failures:
        if not _resent(step, state, reply):
            continue
        said = f"step `{step.name}`: `{_call_name(call)}` replies `{reply.name}` (retryable)"
        arrows = (send, Arrow(call.service, SAGA, f"{reply.name} (retryable)", True))
        again = replace(fault, clock=at + _resend_wait(step, state.send), send=state.send + 1)
        text = f"{said} on its last attempt: the step resends the command"
        move = Move(at, text, arrows, fault=True, kind="retryable-reply", step=step.name, result=reply.name)
        yield _emit(move, again, (), (reply.name,), invs)
        branch = step.branch(reply.name)
        if branch is None:
            last = _every_send(step, state, reply, at)
            failure = Failure(state.index, reply.name, reply)
            moved = _failed(saga, replace(fault, clock=last.clock, send=last.send), failure)
            text = f"{said}{last.said}: the last send's is the failure reply"
            kind = "retryable-exhausted"
            move = Move(last.clock, text, arrows, fault=True, kind=kind, step=step.name, result=reply.name)
            answers = (reply.name,) * (last.send - state.send + 1)  # one message per send: the adapter keeps none
            yield _emit(move, moved, (), answers, invs)
        if success is None or not starts:
            continue
        copy = sent + step.timeout_ms
        effects, bad = _apply(state, step.name, copy, call.handler.policy, copy, _call_name(call))
        again = replace(again, effects=effects)
        text = f"{said}, then a duplicate of the command succeeds before the deadline; the step resends the command"
        copies = (*arrows, Arrow(SAGA, call.service, f"{call.command.name} (duplicate)"))
        move = Move(at, text, copies, fault=True, kind="retryable-duplicate", step=step.name, result=reply.name)
        yield _emit(move, again, bad, (reply.name, success.name), invs)


def _branched_replies(
    saga: Saga, state: State, step: SagaStep, send: Arrow, done: int, invariants: tuple[Invariant, ...]
) -> Iterator[Step]:
    """A failure reply with a branch (docs/semantics.md 10.): a route the design declares, not a fault.

    It is an answer: never resent, nothing undone at this step; it leads to a later step, or
    to a named outcome (compensating up to the pivot, as `compensated` does)."""
    call = step.action
    for branch in step.branches:
        reply = branch.reply
        if reply is call.command.success:
            continue
        last = _Sends(state.send, done)
        if branch.step is not None:
            moved = _enter(saga, replace(state, clock=done), _index(saga, branch.step))
            where = f"step `{branch.step}`"
        else:
            failure = Failure(state.index, reply.name, reply)
            last = _every_send(step, state, reply, done)  # a `retryable` one is resent first
            moved = _failed(saga, replace(state, clock=last.clock, send=last.send), failure, branch.outcome)
            where = f"outcome `{branch.outcome}`" + last.said
        text = f"step `{step.name}`: `{_call_name(call)}` replies `{reply.name}`, which leads to {where}"
        arrows = (send, Arrow(call.service, SAGA, reply.name, True))
        move = Move(last.clock, text, arrows, kind="branch", step=step.name, result=reply.name)
        yield _emit(move, moved, (), (reply.name,) * (last.send - state.send + 1), invariants)


def _index(saga: Saga, name: str) -> int:
    return next(i for i, s in enumerate(saga.steps) if s.name == name)


def _enter(saga: Saga, state: State, index: int) -> State:
    """The saga goes to step `index` (its grace period is waited when the command is sent), or completes."""
    if index < len(saga.steps) and saga.block_at(index) is not None:  # a parallel block starts
        return replace(state, index=index, send=1, block_start=state.clock, block_end=state.clock)
    if index < len(saga.steps):
        return replace(state, index=index, send=1)
    return replace(state, phase="outcome", outcome="completed")


def _advance(saga: Saga, state: State) -> State:
    """A success reply: the saga holds it, and goes on to the next step or the one the reply's branch names."""
    step = saga.steps[state.index]
    if step.parallel is not None:
        return _branch_ended(saga, state, "succeeded", None)
    success = step.action.command.success
    branch = step.branch(success.name) if success is not None else None
    target = _index(saga, branch.step) if branch is not None and branch.step is not None else state.index + 1
    return _enter(saga, replace(state, succeeded=state.succeeded + (state.index,)), target)


def _no_answer(saga: Saga, state: State, error: str) -> State:
    """No answer: the orchestrator resends while the step's own retry allows, then the failure decides."""
    step = saga.steps[state.index]
    if state.send < step.policy.attempts:
        backoff = step.policy.backoff
        wait = seconds_ceil(backoff.delay_ms(state.send)) * 1000 if backoff is not None else 0
        return replace(state, send=state.send + 1, clock=state.clock + wait)
    return _failed(saga, state, Failure(state.index, error))


def _failed(saga: Saga, state: State, failure: Failure, named: str | None = None) -> State:
    """Docs/semantics.md 2. and 10.: up to the pivot compensate, in reverse, what ran or may have run (the
    steps that succeeded on this way, the failed step itself if it gave no answer), the trigger's
    transaction last; else `failed`. A branch to a named outcome ends there instead of `compensated`/`failed`."""
    answered = failure.reply is not None or failure.waited
    index, pivot = failure.index, saga.pivot_index
    if index >= 0 and not failure.undoing and saga.steps[index].parallel is not None:
        return _branch_ended(saga, state, "failed" if answered else "unknown", failure)
    if index > pivot or (index == pivot and not answered):
        return replace(state, phase="outcome", outcome=named or "failed", failure=failure)
    ran = set(state.succeeded) | ({index} if not answered else set())
    undo = tuple(j for j in sorted(ran, reverse=True) if j < pivot and saga.steps[j].compensation is not None)
    undo += (TRIGGER,) if saga.trigger_compensation is not None else ()
    outcome = named or "compensated"
    return replace(state, phase="undo" if undo else "outcome", undo=undo, outcome=outcome, failure=failure)


def _branch_ended(saga: Saga, state: State, status: str, failure: Failure | None) -> State:
    """A step of a parallel block ended (docs/semantics.md 12.). The steps of a block are explored
    one after another, each from the block's start time: every combination of their results, which
    is all the join depends on (each step runs to its end whatever its siblings do). After the
    last one, the join: go on at the slowest one's end with their replies, or take the first
    failed step (as written) as the failure and undo, in reverse, the steps of the block that
    succeeded or gave no answer and those before it; after the pivot, `failed`."""
    block = saga.block_at(state.index)
    assert block is not None
    ended = state.branches + ((state.index, status, failure),)
    end = max(state.block_end, state.clock)
    if state.index < block.last:
        return replace(state, index=state.index + 1, send=1, clock=state.block_start, block_end=end, branches=ended)
    joined = replace(state, clock=end, branches=(), block_start=0, block_end=0)
    succeeded = tuple(i for i, s, _ in ended if s == "succeeded")
    first = next((f for _, s, f in ended if s != "succeeded"), None)
    if first is None:
        return _enter(saga, replace(joined, succeeded=joined.succeeded + succeeded), block.last + 1)
    if block.first > saga.pivot_index:
        return replace(joined, phase="outcome", outcome="failed", failure=first)
    ran = set(joined.succeeded) | set(succeeded) | {i for i, s, _ in ended if s == "unknown"}
    undo = tuple(
        j for j in sorted(ran, reverse=True) if j < saga.pivot_index and saga.steps[j].compensation is not None
    )
    undo += (TRIGGER,) if saga.trigger_compensation is not None else ()
    return replace(joined, phase="undo" if undo else "outcome", undo=undo, outcome="compensated", failure=first)


# ---- compensations --------------------------------------------------------------------------------------


def _undo_moves(saga: Saga, state: State, faulty: bool, invariants: tuple[Invariant, ...]) -> Iterator[Step]:
    index, rest = state.undo[0], state.undo[1:]
    label = TRIGGER_STEP if index == TRIGGER else saga.steps[index].name
    call = saga.trigger_compensation if index == TRIGGER else saga.steps[index].compensation
    assert call is not None
    policy = undo_policy(call)
    done = state.clock + policy.timeout_ms
    send = Arrow(SAGA, call.service, f"{call.command.name} (undo {label})")
    reply = call.command.success
    name = reply.name if reply is not None else "done"
    effect = f"undo {label}"
    first = state.clock + call.handler.policy.timeout_ms
    effects, bad = _apply(state, effect, first, call.handler.policy, done, _call_name(call))
    undone = replace(state, effects=effects, undone=state.undone + (index,), undo=rest, clock=done)
    moved = undone if rest else replace(undone, phase="outcome")
    text = f"compensation of `{label}`: `{_call_name(call)}` replies `{name}`"
    move = Move(done, text, (send, Arrow(call.service, SAGA, name, True)), kind="undo", step=effect, result=name)
    yield _emit(move, moved, bad, (name,) if reply else (), invariants)
    if not faulty:
        return
    fault = replace(state, faults=state.faults + 1, clock=done, undo=())
    failure = Failure(index, "AttemptsExhausted", undoing=True)
    text = f"compensation of `{label}`: `{_call_name(call)}` cannot finish"
    arrows = (send, Arrow(call.service, SAGA, EXHAUSTED, True))
    move = Move(done, text, arrows, fault=True, kind="undo-failed", step=effect, result=EXHAUSTED)
    yield move, replace(fault, phase="outcome", outcome="failed", failure=failure), ()
    copy = state.clock + policy.timeout_ms
    twice, worse = _apply(replace(state, effects=effects), effect, copy, call.handler.policy, done, _call_name(call))
    again = replace(moved, effects=twice, faults=state.faults + 1)
    text = f"compensation of `{label}`: the command reaches `{_call_name(call)}` twice, {format_ms(copy - first)} apart"
    copies = (
        send,
        Arrow(SAGA, call.service, f"{call.command.name} (duplicate)"),
        Arrow(call.service, SAGA, name, True),
    )
    move = Move(done, text, copies, fault=True, kind="undo-duplicate", step=effect, result=name)
    yield _emit(move, again, bad + worse, (name,) if reply else (), invariants)


# ---- effects, events, the outcome -----------------------------------------------------------------------


def _window(policy: DeliveryPolicy) -> int | None:
    """How long the handler drops duplicates; None: it does not."""
    idem = policy.idempotency
    if idem is None:
        return None
    return idem.within_ms if idem.within_ms is not None else DEFAULT_IDEMPOTENCY_WINDOW_MS


def _remembers(state: State, effect: str, at: int, policy: DeliveryPolicy) -> bool:
    """A resent command after the effect took place: the handler answers what it answered first."""
    first = next((f for name, n, f in state.effects if name == effect and n), None)
    window = _window(policy)
    return first is not None and window is not None and at - first < window


def _apply(
    state: State, effect: str, at: int, policy: DeliveryPolicy, deadline: int, handler: str
) -> tuple[tuple[tuple[str, int, int], ...], tuple[Violation, ...]]:
    """The effects after `handler` runs at `at`: a duplicate within its window is dropped."""
    entries = {name: (n, first) for name, n, first in state.effects}
    bad: list[Violation] = []
    if at > deadline:
        bad.append(
            Violation(
                "deadline",
                f"`{handler}` took effect at {format_ms(at)}, after the saga gave up at {format_ms(deadline)}",
            )
        )
    n, first = entries.get(effect, (0, at))
    window = _window(policy)
    if n and window is not None and at - first < window:
        return state.effects, tuple(bad)
    if n:
        why = "it is not idempotent" if window is None else f"it remembers keys for {format_ms(window)} only"
        bad.append(Violation("effect-twice", f"`{handler}` took effect twice, {format_ms(at - first)} apart: {why}"))
    entries[effect] = (n + 1, first)
    return tuple(sorted((name, k, f) for name, (k, f) in entries.items())), tuple(bad)


def _emit(
    move: Move, state: State, bad: tuple[Violation, ...], events: tuple[str, ...], invs: tuple[Invariant, ...]
) -> Step:
    open_ = list(state.open)
    for event in events:
        for k, inv in enumerate(invs):
            open_[k] = False if event in inv.followers else (open_[k] or event == inv.event)
    return replace(move, events=move.events + events), replace(state, open=tuple(open_)), bad


def _ending(saga: Saga, state: State) -> Ending:
    """The way the state machine knows this end as (`dsl.sagapaths.endings`): it holds the replies of
    the steps that succeeded on every way to the place the saga ended, not only on this one."""
    kind = state.outcome or "completed"
    failure = state.failure
    if failure is None:
        return Ending("completed", succeeded=_held(saga, len(saga.steps)))
    if failure.index == TRIGGER:
        return Ending("failed", undoing=True, trigger=saga.trigger)
    step = saga.steps[failure.index]
    return Ending(kind, step, failure.reply, failure.undoing, succeeded=_held(saga, failure.index))


def _held(saga: Saga, index: int) -> tuple[SagaStep, ...]:
    """The steps that succeeded on every way to step `index` (`len(steps)`: the end); without branches, all before."""
    if not saga.branched and not saga.parallels:
        return saga.steps[:index]
    succeeded = arrivals(saga)[index].succeeded
    return tuple(s for i, s in enumerate(saga.steps) if i in succeeded)


def _outcome(saga: Saga, state: State, invariants: tuple[Invariant, ...]) -> Step:
    kind = state.outcome or "completed"
    outcome = saga.outcome(kind)
    bad = list(_compensation_violations(saga, state))
    events: tuple[str, ...] = ()
    arrows: tuple[Arrow, ...] = ()
    if outcome is not None:
        ending = _ending(saga, state)
        events, arrows = (outcome.event.name,), (Arrow(SAGA, "Bus", outcome.event.name),)
        for target in outcome.event.fields:
            if not target.optional and fill_source(saga, outcome, ending, target) is None:
                message = f"`{outcome.event.name}` has no value for required field `{target.name}` {ending.describe()}"
                bad.append(Violation("outcome-incomplete", message))
    bad += silent_timeout(saga, state, bool(events))
    ended = replace(state, phase="end", outcomes=state.outcomes + 1)
    move, ended, _ = _emit(
        Move(state.clock, f"the saga ends `{kind}`", arrows, kind="outcome", result=kind), ended, (), events, invariants
    )
    bad += [
        Violation(
            f"invariant: {inv.text}",
            f"`{inv.event}` is never followed by {' or '.join(f'`{f}`' for f in inv.followers)}",
        )
        for inv, o in zip(invariants, ended.open, strict=True)
        if o
    ]
    if ended.outcomes != 1:
        bad.append(Violation("one-outcome", f"the instance ended {ended.outcomes} times"))
    return move, ended, tuple(bad)


def _compensates(saga: Saga, state: State) -> bool:
    """The outcome undoes what ran: `compensated`, or a named outcome reached up to the pivot."""
    failure = state.failure
    if failure is None or failure.index == TRIGGER or state.outcome in ("completed", "failed"):
        return False
    return compensates(saga, Ending(state.outcome or "", saga.steps[failure.index], failure.reply))


def _compensation_violations(saga: Saga, state: State) -> Iterator[Violation]:
    pivot = saga.pivot_index
    for j in state.undone:
        if j >= pivot:
            yield Violation("compensation", f"step `{saga.steps[j].name}` is at or after the pivot but was compensated")
    if not _compensates(saga, state):
        return
    ran = [j for j, s in enumerate(saga.steps) if state.applied(s.name) and not s.readonly]
    ran += [TRIGGER] if saga.trigger_compensation is not None else []
    missing = [j for j in ran if j not in state.undone]
    if missing:
        what = (
            f"the trigger `{saga.trigger.name}`" if missing[0] == TRIGGER else f"step `{saga.steps[missing[0]].name}`"
        )
        yield Violation("compensation", f"{what} took effect but the saga ended `{state.outcome}` without undoing it")
    if list(state.undone) != sorted(state.undone, reverse=True):
        yield Violation("compensation", "compensations ran out of reverse order")


def _timing_violations(saga: Saga, state: State) -> Iterator[Violation]:
    if saga.timeout_ms is not None and state.clock > saga.timeout_ms:
        yield Violation(
            "saga-timeout",
            f"the saga is still running at {format_ms(state.clock)}, past its timeout of {format_ms(saga.timeout_ms)}: "
            "the execution times out and no outcome event is emitted",
        )


# ---- the moves of an `await` step (docs/semantics.md, section 11) ------------------------
#
# A wait sends nothing and changes nothing, so it has no effects and nothing to undo. From a wait:
#
# - each awaited event arrives for this instance, as late as the timeout lets it (the worst case):
#   the first is success (the saga holds its payload, as a success reply's); another is a failure,
#   a route when the step branches it (`on PaymentFailed -> rejected`), else a fault like a failure reply;
# - the timeout: no event within it. A route when the step says where (`on timeout -> X`), else a
#   fault; it leads to that step or outcome, or fails as a failure event would (compensated up to the
#   pivot, failed after it: a wait that timed out did nothing);
# - a late event (fault): the event arrives after the timeout; the saga already went the timeout's
#   way and the event has no effect (it is produced, so user invariants see it);
# - an early event (fault): the event was on the bus before the saga reached the wait; it is kept and
#   delivered at once when the wait registers: the saga goes on without waiting.
#
# Checked here: a timeout that ends the saga with no outcome event (nobody learns it gave up waiting).

WAITING = "Awaited"
"""The sequence diagram's participant for whoever publishes the awaited events."""


def wait_moves(saga: Saga, state: State, faulty: bool, invariants: tuple[Invariant, ...]) -> Iterator[Step]:
    """Every move from a wait (`state.index` is an `await` step)."""
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
    wait = step.wait
    assert wait is not None
    if wait.timeout_step is not None:
        return _enter(saga, state, _index(saga, wait.timeout_step))
    failure = Failure(state.index, TIMEOUT, None, waited=True)
    return _failed(saga, state, failure, wait.timeout_outcome)


def silent_timeout(saga: Saga, state: State, emitted: bool) -> Iterator[Violation]:
    """A wait that timed out and the saga ended emitting nothing: whoever waited for the answer never learns."""
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
