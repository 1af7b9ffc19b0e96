"""Clauses that may be written once: the one home of `duplicate-clause` (FLOW108).

A second `key`, `trigger`, `timeout`, constraint or option is always a mistake of
the text: the resolver keeps the first one (for options, the last one wins, as
they layer) and says nothing, and this rule reports every repeat, on the syntax
tree, so no element needs to resolve for its repeats to be seen.
"""

from __future__ import annotations

from flowgen_design.dsl import ast, codes
from flowgen_design.dsl.resolve.symbols import where
from flowgen_design.dsl.rules import RuleContext
from flowgen_design.dsl.rules.literals import option_blocks
from flowgen_design.dsl.source import Span

DUPLICATE = codes.DUPLICATE_CLAUSE
OUTCOMES = ("completed", "compensated")


def check_repeated_clauses(ctx: RuleContext) -> None:
    _defaults(ctx, [d for m in ctx.modules for d in m.declarations if isinstance(d, ast.DefaultsDecl)])
    for module in ctx.modules:
        for decl in module.declarations:
            if isinstance(decl, (ast.EventDecl, ast.CommandDecl, ast.SagaDecl)):
                _members(ctx, decl)
            elif isinstance(decl, ast.TypeDecl):
                for f in decl.fields:
                    if f.constraints:
                        _constraints(ctx, f)
        for block in option_blocks(module):
            if len(block) > 1:
                _options(ctx, block)


def _defaults(ctx: RuleContext, blocks: list[ast.DefaultsDecl]) -> None:
    for extra in blocks[1:]:
        ctx.report.add(
            DUPLICATE,
            "`defaults` is declared more than once",
            extra.span,
            f"merge it into the first at {where(blocks[0].span)}",
        )


# Members written once per event, command or saga, with what a repeat is called.
_ONCE_PER_DECLARATION = {
    ast.KeyClause: "`key` is declared more than once",
    ast.OrderedClause: "`ordered by` is declared more than once",
    ast.ChannelClause: "`channel` is declared more than once",
    ast.TriggerDecl: "`trigger` is declared more than once in saga `{name}`",
    ast.SagaTimeout: "`timeout` is declared more than once in saga `{name}`",
}


def _members(ctx: RuleContext, decl: ast.EventDecl | ast.CommandDecl | ast.SagaDecl) -> None:
    """One pass over the members of a declaration: repeated clauses and outcomes, and the
    repeats inside fields and steps."""
    first: dict[object, Span] = {}
    for m in decl.members:
        if isinstance(m, ast.Field | ast.HeaderClause):
            field = m.field if isinstance(m, ast.HeaderClause) else m
            if field.constraints:
                _constraints(ctx, field)
        elif isinstance(m, ast.StepDecl):
            _step(ctx, m)
        elif isinstance(m, ast.ParallelDecl):
            for s in m.steps:
                _step(ctx, s)
        elif isinstance(m, ast.OutcomeDecl):
            _outcome(ctx, m, first)
        elif type(m) in _ONCE_PER_DECLARATION:
            earlier = first.setdefault(type(m), m.span)
            if earlier is not m.span:
                message = _ONCE_PER_DECLARATION[type(m)].format(name=decl.name.text)
                ctx.report.add(DUPLICATE, message, m.span, f"keep one; the first is at {where(earlier)}")


def _outcome(ctx: RuleContext, m: ast.OutcomeDecl, first: dict[object, Span]) -> None:
    if m.outcome.text not in OUTCOMES:
        return  # an unknown outcome is reported by the resolver
    earlier = first.setdefault(m.outcome.text, m.span)
    if earlier is not m.span:
        ctx.report.add(
            DUPLICATE,
            f"`on {m.outcome.text}` is declared more than once",
            m.span,
            f"keep one; the first is at {where(earlier)}",
        )


def _step(ctx: RuleContext, m: ast.StepDecl) -> None:
    for extra in m.compensate[1:]:
        ctx.report.add(DUPLICATE, "a step has one compensation", extra.span, "keep one `compensate`")
    for extra_span in m.readonly[1:]:
        ctx.report.add(DUPLICATE, "`readonly` is written more than once", extra_span)
    for delay in m.delays[1:]:
        ctx.report.add(DUPLICATE, "a step waits once before it is sent", delay.span, "keep one `after`")
    for beat in m.heartbeats[1:]:
        ctx.report.add(DUPLICATE, "a step has one heartbeat", beat.span, "keep one `heartbeat`")


def _constraints(ctx: RuleContext, f: ast.Field) -> None:
    written: dict[str, ast.Constraint] = {}
    for c in f.constraints:
        first = written.setdefault(c.name.text, c)
        if first is not c:
            ctx.report.add(
                DUPLICATE, f"`{c.name.text}` is given twice", c.span, f"keep one; the first is `{_shown(first)}`"
            )


def _shown(c: ast.Constraint) -> str:
    return f'{c.name.text} "{c.value}"' if isinstance(c.value, str) else f"{c.name.text} {c.value}"


_ONCE_PER_BLOCK = {
    ast.RetryOption: "retry",
    ast.TimeoutOption: "timeout",
    ast.DlqOption: "dlq",
    ast.IdempotentOption: "idempotent by",
    ast.EmitsOption: "emits",
}


def _options(ctx: RuleContext, block: tuple[ast.Option, ...]) -> None:
    """One block setting the same option twice: the later silently wins, so say so.

    `use` may repeat (policies layer), and an option may override one a `use` brought in.
    """
    first: dict[type, ast.Option] = {}
    for option in block:
        label = _ONCE_PER_BLOCK.get(type(option))
        if label is None:
            continue
        if type(option) in first:
            ctx.report.add(
                DUPLICATE,
                f"`{label}` is set twice in this block; the second one wins",
                option.span,
                f"keep one; the first is at line {first[type(option)].span.line}",
            )
        first.setdefault(type(option), option)
