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

from dataclasses import dataclass, replace

from flowgen_design.dsl.model import (
    DeliveryPolicy,
    EnumRef,
    Event,
    Field,
    FillSource,
    OptionalRef,
    Outcome,
    OutcomeKind,
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


@dataclass(frozen=True)
class Ending:
    """One way a saga instance ends."""

    outcome: OutcomeKind
    step: SagaStep | None = None  # the step whose failure decided it; None when completed
    reply: Event | None = None  # the failure reply that decided it; None for no answer
    undoing: bool = False  # the failure is the compensation of `step`
    succeeded: tuple[SagaStep, ...] = ()  # steps whose success replies the machine holds

    def describe(self) -> str:
        """The path, as a diagnostic says it."""
        if self.step is None:
            return "when every step succeeds"
        if self.undoing:
            return f"when the compensation of step `{self.step.name}` cannot finish"
        if self.reply is not None:
            return f"when step `{self.step.name}` replies `{self.reply.name}`"
        return f"when step `{self.step.name}` times out or runs out of attempts"


def endings(saga: Saga) -> tuple[Ending, ...]:
    """Every way `saga` can end, in step order; completed first."""
    found = [Ending("completed", succeeded=saga.steps)]
    for index, step in enumerate(saga.steps):
        before = saga.steps[:index]
        sure: OutcomeKind = "compensated" if index <= saga.pivot_index else "failed"
        for reply in step.action.command.failures:
            found.append(Ending(sure, step, reply, succeeded=before))
        found.append(Ending("compensated" if index < saga.pivot_index else "failed", step, succeeded=before))
    for index, step in enumerate(saga.compensable_steps):
        if step.compensation is not None:
            found.append(Ending("failed", step, undoing=True, succeeded=saga.steps[:index]))
    return tuple(found)


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


def fill_source(saga: Saga, outcome: Outcome, ending: Ending, target: Field) -> FillSource | None:
    """Where `target` of the outcome event comes from on `ending`; None: nowhere."""
    fill = outcome.fill(target.name)
    sources = fill.sources if fill is not None else implicit_sources(saga, ending, target)
    return next((s for s in sources if available(saga, ending, s, target)), None)
