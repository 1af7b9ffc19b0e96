"""Outcome rules: every field of every event a saga emits has a value on every way it can end.

The ways and their data come from `dsl.sagapaths`, which the state-machine
generator reads too: an event `check` accepts is an event the machine can fill.
"""

from __future__ import annotations

from flowgen_design.dsl import ast, codes
from flowgen_design.dsl.model import Field, FillSource, Outcome, Saga, type_text
from flowgen_design.dsl.rules import RuleContext
from flowgen_design.dsl.sagapaths import FAILURE_BUILTINS, Ending, available, endings, fill_source

SHOWN_PATHS = 3


def check_outcome_fills(ctx: RuleContext) -> None:
    decls = [d for m in ctx.modules for d in m.declarations]
    replies = {d.name.text: len(d.replies) for d in decls if isinstance(d, ast.CommandDecl)}
    sagas = {d.name.text: d for d in decls if isinstance(d, ast.SagaDecl)}
    for saga in ctx.flow.sagas:
        if not _resolved_whole(saga, sagas.get(saga.name), replies):
            continue  # a step or reply failed to resolve (reported): the ways to an end are not known
        ways = endings(saga)
        for outcome in saga.outcomes:
            mine = [w for w in ways if w.outcome == outcome.kind]
            _check_sources(ctx, saga, outcome, mine)
            for target in outcome.event.fields:
                if not target.optional:
                    _check_filled(ctx, saga, outcome, mine, target)


def _resolved_whole(saga: Saga, steps: ast.SagaDecl | None, replies: dict[str, int]) -> bool:
    """Every step and reply of `saga` as written resolved (none was dropped with a diagnostic)."""
    declared = list(steps.steps) if steps is not None else []
    calls = [c for s in saga.steps for c in (s.action, s.compensation) if c is not None]
    return (
        len(declared) == len(saga.steps)
        and all(len(c.command.replies) == replies.get(c.command.name) for c in calls)
        and all(
            len(s.compensate) <= 1 and (s.compensate == () or saga.steps[i].compensation is not None)
            for i, s in enumerate(declared)
        )
    )


def _check_filled(ctx: RuleContext, saga: Saga, outcome: Outcome, ways: list[Ending], target: Field) -> None:
    empty = [w for w in ways if fill_source(saga, outcome, w, target) is None]
    if not empty:
        return
    paths = "; ".join(w.describe() for w in empty[:SHOWN_PATHS])
    more = f" (and {len(empty) - SHOWN_PATHS} more)" if len(empty) > SHOWN_PATHS else ""
    fill = outcome.fill(target.name)
    example = '"..."' if type_text(target.type).startswith("string") else "trigger.FIELD"
    ctx.report.add(
        codes.OUTCOME_FIELD_UNFILLED,
        f"saga `{saga.name}` emits `{outcome.event.name}` without its field `{target.name}` {paths}{more}",
        fill.span if fill is not None else outcome.span,
        (
            f"say where it comes from on every path, e.g. `{target.name} = failure.{target.name} or {example}`"
            if outcome.kind != "completed"
            else f"say where it comes from: `{target.name} = trigger.FIELD` or `STEP.FIELD`"
        ),
    )


def _check_sources(ctx: RuleContext, saga: Saga, outcome: Outcome, ways: list[Ending]) -> None:
    """A source that no path can use is a mistake in the spec (a typo, a wrong type)."""
    for fill in outcome.fills:
        target = outcome.event.field(fill.field)
        if target is None:
            continue
        for source in fill.sources:
            if not any(available(saga, w, source, target) for w in ways):
                ctx.report.add(codes.INVALID_FILL, _why(saga, source, target), source.span, _hint(source))


def _why(saga: Saga, source: FillSource, target: Field) -> str:
    wanted = f"`{target.name}` is `{type_text(target.type)}`"
    if source.origin == "constant":
        return f"{wanted}: the constant `{source.value}` does not fit it"
    if source.origin == "trigger":
        return f"{wanted}, but the trigger `{saga.trigger.name}` has no required field `{source.field}` of that type"
    if source.origin == "step":
        return (
            f"{wanted}, but step `{source.step}` never holds a required `{source.field}` of that type on this outcome"
        )
    return f"{wanted}, but no failure of this outcome carries a required `{source.field}` of that type"


def _hint(source: FillSource) -> str:
    if source.origin == "failure":
        builtins = ", ".join(f"`failure.{b}`" for b in FAILURE_BUILTINS)
        return f"`failure.FIELD` reads the failure reply that stopped the saga; {builtins} are always there"
    if source.origin == "step":
        return "`STEP.FIELD` reads the success reply of a step that ran before this outcome"
    return "use a field of the same type, or a constant of that type"
