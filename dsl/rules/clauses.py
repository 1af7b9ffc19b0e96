"""Clauses that may be written once: the one home of `duplicate-clause` (FLOW108).

A second `key`, `trigger`, `timeout`, constraint or option is always a mistake of
the text: the resolver keeps the first one (for options, the last one wins, as
they layer) and says nothing, and this rule reports every repeat, on the syntax
tree, so no element needs to resolve for its repeats to be seen.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

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
            if isinstance(decl, (ast.EventDecl, ast.CommandDecl)):
                _once(ctx, decl.members, ast.KeyClause, "`key` is declared more than once")
                _once(ctx, decl.members, ast.OrderedClause, "`ordered by` is declared more than once")
            elif isinstance(decl, ast.SagaDecl):
                _saga(ctx, decl)
        for f in _fields(module):
            _constraints(ctx, f)
        for block in option_blocks(module):
            _options(ctx, block)


def _defaults(ctx: RuleContext, blocks: list[ast.DefaultsDecl]) -> None:
    for extra in blocks[1:]:
        ctx.report.add(
            DUPLICATE,
            "`defaults` is declared more than once",
            extra.span,
            f"merge it into the first at {where(blocks[0].span)}",
        )


def _once(ctx: RuleContext, members: Sequence[ast.Node], kind: type, message: str) -> None:
    found = [m for m in members if isinstance(m, kind)]
    for extra in found[1:]:
        ctx.report.add(DUPLICATE, message, extra.span, f"keep one; the first is at {where(found[0].span)}")


def _saga(ctx: RuleContext, decl: ast.SagaDecl) -> None:
    name = decl.name.text
    _once(ctx, decl.members, ast.TriggerDecl, f"`trigger` is declared more than once in saga `{name}`")
    _once(ctx, decl.members, ast.SagaTimeout, f"`timeout` is declared more than once in saga `{name}`")
    seen: dict[str, Span] = {}
    for m in decl.members:
        if isinstance(m, ast.OutcomeDecl) and m.outcome.text in OUTCOMES:
            if m.outcome.text in seen:
                ctx.report.add(
                    DUPLICATE,
                    f"`on {m.outcome.text}` is declared more than once",
                    m.span,
                    f"keep one; the first is at {where(seen[m.outcome.text])}",
                )
            seen.setdefault(m.outcome.text, m.span)
        elif isinstance(m, ast.StepDecl):
            for extra in m.compensate[1:]:
                ctx.report.add(DUPLICATE, "a step has one compensation", extra.span, "keep one `compensate`")
            for extra_span in m.readonly[1:]:
                ctx.report.add(DUPLICATE, "`readonly` is written more than once", extra_span)


def _fields(module: ast.Module) -> Iterator[ast.Field]:
    for decl in module.declarations:
        if isinstance(decl, ast.TypeDecl):
            yield from decl.fields
        elif isinstance(decl, (ast.EventDecl, ast.CommandDecl)):
            yield from (m for m in decl.members if isinstance(m, ast.Field))


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
