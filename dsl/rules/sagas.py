"""Saga rules: what runs before the pivot can be undone, what runs after it can be repeated."""

from __future__ import annotations

from flowgen_design.dsl import ast, codes
from flowgen_design.dsl.model import Event, Field, FillSource, Saga, SagaStep, StepCall, type_text
from flowgen_design.dsl.rules import RuleContext
from flowgen_design.dsl.sagapaths import arrivals, ran_before, step_source_available


def check_step_fills(ctx: RuleContext) -> None:
    """Every source of a step's fill has a value of the field's type on every way to the step: a
    source that may be missing would fail the step (the state machine cannot read a missing path)."""
    for saga in ctx.flow.sagas:
        for step in saga.steps:
            before = ran_before(saga, step) if step.fills else ()
            for fill in step.fills:
                target = step.action.command.field(fill.field)
                if target is None:
                    continue
                for source in fill.sources:
                    if not step_source_available(saga, before, source, target):
                        ctx.report.add(codes.STEP_FILL_INVALID, _fill_why(saga, step, source, target), source.span)


def _fill_why(saga: Saga, step: SagaStep, source: FillSource, target: Field) -> str:
    wanted = f"`{step.action.command.name}.{target.name}` is `{type_text(target.type)}`"
    if source.origin == "constant":
        return f"{wanted}: the constant `{source.value}` does not fit it"
    if source.origin == "trigger":
        return f"{wanted}, but the trigger `{saga.trigger.name}` has no required field `{source.field}` of that type"
    return f"{wanted}, but step `{source.step}` does not always succeed before `{step.name}` with a required `{source.field}` of that type"


def check_reachable_steps(ctx: RuleContext) -> None:
    """A step that no way through the branches reaches is dead design: say so where it is."""
    for saga in ctx.flow.sagas:
        if not saga.branched:
            continue
        reached = arrivals(saga)
        for index, step in enumerate(saga.steps):
            if index not in reached:
                ctx.report.add(
                    codes.STEP_NEVER_RUNS,
                    f"no way through saga `{saga.name}` reaches step `{step.name}`: every step before it branches past it",
                    step.span,
                    f"lead a reply to it (`on REPLY -> {step.name}`), or remove it",
                )


def check_compensation(ctx: RuleContext) -> None:
    for saga in ctx.flow.sagas:
        pivot = saga.steps[saga.pivot_index]
        for step in saga.compensable_steps:
            if step.compensation is None and not step.readonly:
                ctx.report.add(
                    codes.STEP_NOT_COMPENSABLE,
                    f"step `{step.name}` runs before the pivot `{pivot.name}` but cannot be undone",
                    step.span,
                    f"add `compensate {step.action.service}.<UndoCommand>`, or mark it `readonly` if it changes nothing",
                )
            if step.compensation is not None:
                _check_undo(ctx, step.compensation)
        if saga.trigger_compensation is not None:
            _check_undo(ctx, saga.trigger_compensation)


def _check_undo(ctx: RuleContext, call: StepCall) -> None:
    """A compensation may run for a step that did nothing, or twice, and must not give up."""
    handler = call.handler
    if not handler.policy.idempotent:
        ctx.report.add(
            codes.COMPENSATION_NOT_IDEMPOTENT,
            f"compensation `{call.service}.{call.command.name}` is not idempotent, but a compensation may run for a step that did nothing, or twice",
            call.span,
            f"add `idempotent by ...` to `handles {call.command.name}` in service `{call.service}`",
        )
    if not handler.policy.retried:
        ctx.report.add(
            codes.COMPENSATION_NOT_RETRIED,
            f"compensation `{call.service}.{call.command.name}` is tried once: one failure leaves the saga half undone",
            call.span,
            f"give `handles {call.command.name}` a retry policy, e.g. `use standard`",
        )


def check_after_pivot(ctx: RuleContext) -> None:
    for saga in ctx.flow.sagas:
        for index, step in enumerate(saga.steps):
            if index < saga.pivot_index:
                continue
            if step.compensation is not None:
                where = "is the pivot" if index == saga.pivot_index else "runs after the pivot"
                ctx.report.add(
                    codes.COMPENSATION_AFTER_PIVOT,
                    f"step `{step.name}` {where}, so its compensation never runs",
                    step.compensation.span,
                    "remove the compensation, or move the pivot",
                )
            if index > saga.pivot_index and step.wait is None and not step.action.handler.policy.idempotent:
                ctx.report.add(
                    codes.AFTER_PIVOT_NOT_IDEMPOTENT,
                    f"step `{step.name}` runs after the pivot, where it must finish and may be delivered twice, but `{step.action.service}.{step.action.handler.name}` is not idempotent",
                    step.span,
                    f"add `idempotent by ...` to `handles {step.action.command.name}` in service `{step.action.service}`",
                )


def _declared_replies(ctx: RuleContext) -> set[str]:
    """Commands written with replies, even replies that failed to resolve (already reported)."""
    return {d.name.text for m in ctx.modules for d in m.declarations if isinstance(d, ast.CommandDecl) and d.replies}


def check_replies_and_outcomes(ctx: RuleContext) -> None:
    declared = _declared_replies(ctx)
    for saga in ctx.flow.sagas:
        for step in saga.steps:
            for call in (step.action, step.compensation):
                if call is not None and call.command.name not in declared and step.wait is None:
                    learn = "succeeded" if call is step.action else "was undone"
                    ctx.report.add(
                        codes.COMMAND_WITHOUT_REPLIES,
                        f"`{call.command.name}` declares no replies, so the saga cannot learn whether step `{step.name}` {learn}",
                        call.span,
                        f"add `-> {call.command.name}Done` (an event) to `command {call.command.name}`",
                    )
        if saga.on_completed is None or (saga.on_compensated is None and saga.compensable_steps):
            missing = "completed" if saga.on_completed is None else "compensated"
            ctx.report.add(
                codes.MISSING_OUTCOME,
                f"saga `{saga.name}` emits nothing when it is {missing}",
                saga.name_span,
                f"add `on {missing} emit EVENT`",
            )


def check_step_inputs(ctx: RuleContext) -> None:
    """The orchestrator fills each command from the saga's context by field name:
    the trigger event, then the success reply of every step before it. A
    compensation sees the same as its step: the step it undoes may have timed out
    without a reply (docs/semantics.md). A required field that
    is not there, or has another type there, fails the step on every run."""
    for saga in ctx.flow.sagas:
        available = {f.name: f for f in saga.trigger.fields}
        undo = saga.trigger_compensation
        if undo is not None:
            _check_trigger_undo(ctx, saga.trigger, undo)
        for step in saga.steps:
            # What every way to the step has: the trigger, and replies that are always there (a step of a
            # parallel block sees the steps before the block, never a sibling's reply).
            if saga.branched or saga.parallels:
                ran = [s.action.command.success for s in ran_before(saga, step)]
                replies = [f for reply in ran if reply is not None for f in reply.fields]
                available = {**{f.name: f for f in saga.trigger.fields}, **{f.name: f for f in replies}}
            _check_call(ctx, saga.trigger.name, step, step.action, available)
            success = step.action.command.success
            if step.compensation is not None:
                _check_compensation_input(ctx, step, success, available)
                _check_call(ctx, saga.trigger.name, step, step.compensation, available)
            available = {**available, **{f.name: f for f in (success.fields if success else ())}}


def _check_trigger_undo(ctx: RuleContext, trigger: Event, call: StepCall) -> None:
    for f in call.command.fields:
        source = trigger.field(f.name)
        if not f.optional and (source is None or source.type != f.type):
            ctx.report.add(
                codes.STEP_FIELD_UNAVAILABLE,
                f"the trigger's compensation `{call.command.name}` needs `{f.name}` of type `{type_text(f.type)}`, which the trigger `{trigger.name}` does not carry",
                call.span,
                f"it is filled from the trigger only: add `{f.name}` to `{trigger.name}`, or make it optional",
            )


def _check_compensation_input(
    ctx: RuleContext, step: SagaStep, success: Event | None, available: dict[str, Field]
) -> None:
    """A field only the undone step's reply has: say why that reply is not enough."""
    call = step.compensation
    assert call is not None
    for f in call.command.fields:
        if not f.optional and f.name not in available and success is not None and success.field(f.name) is not None:
            ctx.report.add(
                codes.STEP_FIELD_UNAVAILABLE,
                f"the compensation `{call.command.name}` of step `{step.name}` needs `{f.name}`, which only the step's own reply has: a step that timed out has no reply, and is compensated all the same",
                call.span,
                f"make `{f.name}` optional in `{call.command.name}` (and undo by what the trigger identifies), or add it to the trigger",
            )


def _in_block(step: SagaStep) -> str:
    if step.parallel is None:
        return ""
    return f" (a step of parallel block `{step.parallel}` sees the steps before the block, not its siblings)"


def _check_call(ctx: RuleContext, trigger: str, step: SagaStep, call: StepCall, available: dict[str, Field]) -> None:
    own = step.action.command.success
    filled = {f.field for f in step.fills} if call is step.action else set()
    for f in call.command.fields:
        if f.optional or f.name in filled:
            continue
        source = available.get(f.name)
        if source is None and call is step.compensation and own is not None and own.field(f.name) is not None:
            continue  # reported by _check_compensation_input
        if source is None:
            ctx.report.add(
                codes.STEP_FIELD_UNAVAILABLE,
                f"step `{step.name}` sends `{call.command.name}`, but its field `{f.name}` is neither in `{trigger}` nor in an earlier reply",
                call.span,
                f"the saga fills commands by field name: add `{f.name}` to `{trigger}` or to an earlier step's reply, or make it optional"
                + _in_block(step),
            )
        elif source.type != f.type:
            ctx.report.add(
                codes.STEP_FIELD_UNAVAILABLE,
                f"step `{step.name}` sends `{call.command.name}`, whose field `{f.name}` is `{type_text(f.type)}`, but the saga has it as `{type_text(source.type)}`",
                call.span,
                f"give `{f.name}` the same type in both places",
            )
