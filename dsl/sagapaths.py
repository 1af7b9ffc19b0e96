"""The ways a saga can end, and what each way knows: the single source of the outcome rules.

A saga ends `completed` (every step succeeded), `compensated` (a step up to the
pivot failed for sure and every step that ran or may have run was undone) or
`failed` (needs a human: a step after the pivot failed, the pivot's outcome is
unknown, or a compensation could not finish). `endings` lists every way, each
with the data the state machine holds at that point; `fill_source` decides, for
one way and one field of the outcome event, where the value comes from. The rule
`outcome-field-unfilled` and the state-machine generator both read this module,
so what `check` proves about an event is what the generated machine emits.

A failure is one of: a failure reply (the handler answered "no": nothing to undo
at that step), or no answer (a timeout, attempts exhausted, an invalid message:
the step may have run, so a compensable step is undone too, and a pivot without
an answer has an unknown outcome).
"""

from __future__ import annotations

from dataclasses import replace

from flowgen_design.dsl.frozen import frozen
from flowgen_design.dsl.model import (
    DeliveryPolicy,
    EnumRef,
    Event,
    Field,
    FillSource,
    OptionalRef,
    Outcome,
    OutcomeKind,
    ParallelBlock,
    Saga,
    SagaStep,
    Scalar,
    ScalarRef,
    StepCall,
    TypeRef,
)

# Always known when a saga fails: the failed step's name (`undo <step>` for a compensation)
# and the error (the reply's name, `States.Timeout`, `AttemptsExhausted`, `InvalidMessage`, ...).
FAILURE_BUILTINS = ("step", "error")
STRING = ScalarRef(scalar=Scalar.STRING)


@frozen(kw_only=False, slots=False)
class Ending:
    """One way a saga instance ends."""

    outcome: str  # `completed`, `compensated`, `failed` or a named outcome
    step: SagaStep | None = None  # the step whose failure decided it; None when completed
    reply: Event | None = None  # the failure reply that decided it; None for no answer
    undoing: bool = False  # the failure is the compensation of `step`
    succeeded: tuple[SagaStep, ...] = ()  # steps whose success replies the machine holds on every way here
    trigger: Event | None = None  # with `undoing` and no step: the compensation of the trigger failed
    route: tuple[tuple[str, str], ...] = ()
    """One way here through the branches: (step, reply) for each step that answered other than
    with a plain success (a branch taken); every other step that ran succeeded."""

    def describe(self) -> str:
        """The path, as a diagnostic says it."""
        if self.step is None and self.trigger is not None:
            return f"when the compensation of the trigger `{self.trigger.name}` cannot finish"
        if self.step is None:
            return "when it reaches its end" if self.route else "when every step succeeds"
        if self.undoing:
            return f"when the compensation of step `{self.step.name}` cannot finish"
        if self.step.wait is not None:
            if self.reply is not None:
                return f"when step `{self.step.name}` receives `{self.reply.name}`"
            return f"when the wait of step `{self.step.name}` times out"
        if self.reply is not None:
            return f"when step `{self.step.name}` replies `{self.reply.name}`"
        return f"when step `{self.step.name}` times out or runs out of attempts"


@frozen(kw_only=False, slots=False)
class Arrival:
    """What holds whenever a step is entered: the steps that succeeded on every way to it, and one way."""

    succeeded: frozenset[int]
    route: tuple[tuple[str, str], ...]


def arrivals(saga: Saga) -> dict[int, Arrival]:
    """Each step that some way reaches (by index), with what every way to it has in common.

    Branches go forward only (the resolver refuses any other), so one pass in step order sees
    every way into a step before the step itself. Without branches: every step, each after all before.
    """
    found: dict[int, Arrival] = {0: Arrival(frozenset(), ())} if saga.steps else {}
    for index, step in enumerate(saga.steps):
        here = found.get(index)
        if here is None:
            continue
        block = saga.block_at(index)
        exits = _exits(saga, index, step, here) if block is None else _block_exits(block, index, here, found)
        for target, arrival in exits:
            known = found.get(target)
            if known is None:
                found[target] = arrival
            else:
                found[target] = Arrival(known.succeeded & arrival.succeeded, known.route)
    return found


def _exits(saga: Saga, index: int, step: SagaStep, here: Arrival) -> list[tuple[int, Arrival]]:
    """The steps `step` leads to, on success and on each branched reply; `len(steps)` is completion."""
    names = [s.name for s in saga.steps]
    success = step.action.command.success
    on_success = step.branch(success.name) if success is not None else None
    route = here.route + ((step.name, on_success.reply.name),) if on_success else here.route
    exits = [
        (
            names.index(on_success.step) if on_success and on_success.step else index + 1,
            Arrival(here.succeeded | {index}, route),
        )
    ]
    for b in step.branches:
        if b.step is not None and b.reply is not success:
            exits.append((names.index(b.step), Arrival(here.succeeded, here.route + ((step.name, b.reply.name),))))
    if step.wait is not None and step.wait.timeout_step is not None:
        later = Arrival(here.succeeded, here.route + ((step.name, TIMED_OUT),))
        exits.append((names.index(step.wait.timeout_step), later))
    return exits


def _block_exits(
    block: ParallelBlock, index: int, here: Arrival, found: dict[int, Arrival]
) -> list[tuple[int, Arrival]]:
    """A parallel block is entered at its first step, which starts every step of it with what held
    there (a sibling's reply is not there yet); it leaves, after the join, with all of them succeeded."""
    if index != block.first:
        return []
    for member in block.indexes[1:]:
        found[member] = here
    return [(block.last + 1, Arrival(here.succeeded | set(block.indexes), here.route))]


TIMED_OUT = "timeout"
"""The route entry of a wait whose timeout led on (`on timeout -> X`)."""


def _unanswered(saga: Saga, index: int, step: SagaStep) -> str | None:
    """How a step without an answer ends the saga; None: it does not end it (an await's timeout
    leads to a later step). A wait that timed out did nothing, so it fails as a failure reply would."""
    if step.wait is None:
        return "compensated" if index < saga.pivot_index else "failed"
    if step.wait.timeout_step is not None:
        return None
    if step.wait.timeout_outcome is not None:
        return step.wait.timeout_outcome
    return "compensated" if index <= saga.pivot_index else "failed"


def endings(saga: Saga) -> tuple[Ending, ...]:
    """Every way `saga` can end, in step order; completed first.

    With branches, a way is one per place the saga can end (the state machine has one state
    there), and what it holds is what every way to that place holds."""
    reached = arrivals(saga)
    steps = saga.steps
    found = []
    done = reached.get(len(steps))
    if done is not None:
        found.append(Ending("completed", succeeded=_steps(saga, done.succeeded), route=done.route))
    for index, step in enumerate(steps):
        if index not in reached:
            continue
        before, route = _steps(saga, reached[index].succeeded), reached[index].route
        sure: OutcomeKind = "compensated" if index <= saga.pivot_index else "failed"
        for reply in step.action.command.failures:
            branch = step.branch(reply.name)
            if branch is None or branch.outcome is not None:
                outcome = branch.outcome if branch is not None and branch.outcome else sure
                found.append(Ending(outcome, step, reply, succeeded=before, route=route))
        unanswered = _unanswered(saga, index, step)
        if unanswered is not None:
            found.append(Ending(unanswered, step, succeeded=before, route=route))
    for index, step in enumerate(saga.compensable_steps):
        if step.compensation is not None and index in reached:
            before = _steps(saga, reached[index].succeeded)
            found.append(Ending("failed", step, undoing=True, succeeded=before, route=reached[index].route))
    if saga.trigger_compensation is not None and any(compensates(saga, w) for w in found):
        found.append(Ending("failed", undoing=True, trigger=saga.trigger))
    return tuple(found)


TRIGGER_STEP = "trigger"
"""The step name of the trigger's own local transaction: its compensation is `undo trigger`."""


def trigger_undo_sources(saga: Saga, call: StepCall) -> dict[str, FillSource]:
    """The fields of the trigger's compensation, by name from the trigger: nothing else has run for sure."""
    here = call.span
    found = {}
    for target in call.command.fields:
        source = FillSource(origin="trigger", field=target.name, span=here)
        if step_source_available(saga, (), source, target):
            found[target.name] = source
    return found


def _steps(saga: Saga, indexes: frozenset[int]) -> tuple[SagaStep, ...]:
    return tuple(s for i, s in enumerate(saga.steps) if i in indexes)


def compensates(saga: Saga, ending: Ending) -> bool:
    """The ending undoes what ran: `compensated`, or a named outcome reached up to the pivot."""
    if ending.outcome == "compensated":
        return True
    if ending.outcome in ("completed", "failed") or ending.step is None:
        return False
    return saga.steps.index(ending.step) <= saga.pivot_index


def compensates_itself(ending: Ending) -> bool:
    """A step that gave no answer may have run: its own compensation runs first."""
    return ending.reply is None and not ending.undoing


def undo_policy(call: StepCall) -> DeliveryPolicy:
    """How the orchestrator sends a compensation: once, waiting the handler's worst case (the
    adapter makes the handler's attempts with its backoff); then it gives up: failed."""
    policy = call.handler.policy
    return replace(policy, attempts=1, backoff=None, retry_span=None, timeout_ms=policy.handler_worst_case_ms())


def unwrap(t: TypeRef) -> TypeRef:
    return t.inner if isinstance(t, OptionalRef) else t


def carries(source: Event | None, name: str, target: Field) -> bool:
    """`source` always has field `name`, required, of `target`'s type."""
    found = source.field(name) if source is not None else None
    return found is not None and not found.optional and found.type == unwrap(target.type)


def constant_fits(value: int | float | str | None, target: Field) -> bool:
    t = unwrap(target.type)
    if isinstance(value, str):
        if isinstance(t, ScalarRef):
            return t.scalar == Scalar.STRING
        return isinstance(t, EnumRef) and any(m.name == value for m in t.enum.members)
    if not isinstance(t, ScalarRef) or value is None:
        return False
    numeric = {Scalar.INT} if isinstance(value, int) else set()
    return t.scalar in numeric | {Scalar.FLOAT, Scalar.DECIMAL}


def available(saga: Saga, ending: Ending, source: FillSource, target: Field) -> bool:
    """Whether `source` has a value of `target`'s type on `ending`."""
    if source.origin == "constant":
        return constant_fits(source.value, target)
    name = source.field or ""
    if source.origin == "trigger":
        return carries(saga.trigger, name, target)
    if source.origin == "step":
        step = next((s for s in ending.succeeded if s.name == source.step), None)
        return step is not None and carries(step.action.command.success, name, target)
    if ending.outcome == "completed":
        return False
    if name in FAILURE_BUILTINS:
        return unwrap(target.type) == STRING
    return carries(ending.reply, name, target)


def implicit_sources(saga: Saga, ending: Ending, target: Field) -> tuple[FillSource, ...]:
    """Without a fill: the same name in the trigger, the failure reply, then the latest success reply."""
    here = target.span
    found = [FillSource(origin="trigger", field=target.name, span=here)]
    if ending.outcome != "completed" and target.name not in FAILURE_BUILTINS:
        found.append(FillSource(origin="failure", field=target.name, span=here))
    found += [FillSource(origin="step", step=s.name, field=target.name, span=here) for s in reversed(ending.succeeded)]
    return tuple(found)


def ran_before(saga: Saga, step: SagaStep) -> tuple[SagaStep, ...]:
    """The steps that succeeded on every way to `step` (all steps before it, without branches)."""
    here = arrivals(saga).get(saga.steps.index(step))
    return _steps(saga, here.succeeded) if here is not None else ()


def command_sources(saga: Saga, step: SagaStep, call: StepCall) -> dict[str, FillSource]:
    """Where each field of `call`'s command (the step's action or its compensation) comes from on
    every way to `step`; a field with no source is left out (FLOW414 warns about required ones).

    The action's own fills come first (`booking_id = trigger.trip_id or "none"`: the first source
    there on every way); any other field by name, from the latest reply that is there on every way
    and always has it, else from the trigger. A compensation sees what its step saw, never the
    step's own reply: a step that timed out has none.
    """
    before = ran_before(saga, step)
    fills = {f.field: f for f in step.fills} if call is step.action else {}
    found: dict[str, FillSource] = {}
    for target in call.command.fields:
        fill = fills.get(target.name)
        sources = fill.sources if fill is not None else _by_name(before, target)
        source = next((s for s in sources if step_source_available(saga, before, s, target)), None)
        if source is not None:
            found[target.name] = source
    return found


def _by_name(before: tuple[SagaStep, ...], target: Field) -> tuple[FillSource, ...]:
    here = target.span
    found = [FillSource(origin="step", step=s.name, field=target.name, span=here) for s in reversed(before)]
    return (*found, FillSource(origin="trigger", field=target.name, span=here))


def step_source_available(saga: Saga, before: tuple[SagaStep, ...], source: FillSource, target: Field) -> bool:
    """Whether `source` has a value of `target`'s type when a step whose `before` succeeded is sent."""
    if source.origin == "constant":
        return constant_fits(source.value, target)
    if source.origin == "trigger":
        return carries(saga.trigger, source.field or "", target)
    if source.origin == "step":
        step = next((s for s in before if s.name == source.step), None)
        return step is not None and carries(step.action.command.success, source.field or "", target)
    return False


def fill_source(saga: Saga, outcome: Outcome, ending: Ending, target: Field) -> FillSource | None:
    """Where `target` of the outcome event comes from on `ending`; None: nowhere."""
    fill = outcome.fill(target.name)
    sources = fill.sources if fill is not None else implicit_sources(saga, ending, target)
    return next((s for s in sources if available(saga, ending, s, target)), None)
