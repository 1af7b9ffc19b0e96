"""Resolving parallel blocks: `parallel NAME { step ...  step ... }` inside a saga.

The resolver sees a saga with each block's steps in place (`flatten`), so every rule
about steps holds for them unchanged; `attach` then marks the resolved steps with
their block. What a block may not hold is reported here, each with why:

- a pivot (FLOW440): the point of no return is one step; in a block it would run at
  the same time as steps that may still fail and need undoing;
- a branch from a step in a block (FLOW441): its siblings run at the same time, so
  there is no "next step" to skip to and no single way out; the block either joins
  or is compensated;
- a branch into a block's step from outside (FLOW442): lead to the block as a whole;
- a block inside a block (FLOW443): one level says every join; nesting adds nothing
  a flat block cannot say;
- a fill reading a sibling's reply (FLOW444): the sibling runs at the same time, so
  its reply is not there when the step is sent;
- fewer than two steps (FLOW445): a block of one is a step.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from flowgen_design.dsl import ast, codes
from flowgen_design.dsl.diagnostics import Reporter
from flowgen_design.dsl.model import ParallelBlock, Saga
from flowgen_design.dsl.source import Span


@dataclass(frozen=True)
class Blocks:
    """A saga's blocks as written, each with the names of its steps."""

    decls: tuple[tuple[ast.ParallelDecl, tuple[str, ...]], ...] = ()
    entered: dict[Span, str] = field(default_factory=dict)
    """Branch targets that named a block (by the target's span), now its first step: the block's name."""

    def written(self, target: ast.Name) -> str:
        """A branch target as the user wrote it: a step, or the block `flatten` replaced by its first step."""
        block = self.entered.get(target.span)
        return f"parallel block `{block}`" if block is not None else f"step `{target.text}`"


def flatten(decl: ast.SagaDecl, report: Reporter) -> tuple[ast.SagaDecl, Blocks]:
    """`decl` with each parallel block's steps in its place, what a block may not hold taken out
    (and reported), and the blocks themselves."""
    blocks = tuple(m for m in decl.members if isinstance(m, ast.ParallelDecl))
    if not blocks:
        return decl, Blocks()
    for block in blocks:
        _check_shape(block, report)
    _check_names(decl, blocks, report)
    entries = {b.name.text: b.steps[0].name.text for b in blocks if b.steps}
    inside = {s.name.text: b for b in blocks for s in b.steps}
    members: list[ast.SagaMember] = []
    entered: dict[Span, str] = {}
    for m in decl.members:
        if isinstance(m, ast.ParallelDecl):
            members += [_member_step(s, m, report) for s in m.steps]
        elif isinstance(m, ast.StepDecl):
            members.append(_outside_step(m, entries, inside, report, entered))
        else:
            members.append(m)
    flat = replace(decl, members=tuple(members))
    return flat, Blocks(tuple((b, tuple(s.name.text for s in b.steps)) for b in blocks), entered)


def _check_shape(block: ast.ParallelDecl, report: Reporter) -> None:
    for nested in (m for m in block.members if isinstance(m, ast.ParallelDecl)):
        report.add(
            codes.PARALLEL_NESTED,
            f"parallel block `{nested.name.text}` is inside parallel block `{block.name.text}`",
            nested.name.span,
            f"write its steps directly in `{block.name.text}`: they all start together and join once either way",
        )
    if len(block.steps) < 2:
        report.add(
            codes.PARALLEL_TOO_SMALL,
            f"parallel block `{block.name.text}` has {len(block.steps) or 'no'} step{'' if len(block.steps) == 1 else 's'}",
            block.name.span,
            "a block runs two or more steps at the same time: add a step, or write the step without `parallel`",
        )


def _check_names(decl: ast.SagaDecl, blocks: tuple[ast.ParallelDecl, ...], report: Reporter) -> None:
    """A block's name is a branch target beside the steps' names: it must be neither a step's nor another block's."""
    taken = {s.name.text for s in decl.steps}
    seen: set[str] = set()
    for block in blocks:
        name = block.name.text
        if name in taken or name in seen:
            what = "a step" if name in taken else "another parallel block"
            report.add(
                codes.DUPLICATE_NAME,
                f"parallel block `{name}` has the name of {what} of saga `{decl.name.text}`",
                block.name.span,
                "a branch may lead to a block by name: give it a name no step or block has",
            )
        seen.add(name)


def _member_step(step: ast.StepDecl, block: ast.ParallelDecl, report: Reporter) -> ast.StepDecl:
    """A step of `block`, without a pivot, branches or fills from its siblings (each reported)."""
    if step.pivot:
        report.add(
            codes.PARALLEL_PIVOT,
            f"step `{step.name.text}` is the pivot, but it runs in parallel block `{block.name.text}`",
            step.span,
            "the point of no return is one step, after which nothing is undone; its siblings may still fail and "
            "need undoing: make a step before or after the block the pivot",
        )
    if isinstance(step.target, ast.AwaitClause):
        report.add(
            codes.PARALLEL_AWAIT,
            f"step `{step.name.text}` awaits an event, but it runs in parallel block `{block.name.text}`",
            step.target.span,
            "a block joins steps that send commands; a wait inside one is not supported: put the wait before or "
            "after the block",
        )
    for b in step.branches:
        report.add(
            codes.PARALLEL_BRANCH,
            f"step `{step.name.text}` runs in parallel block `{block.name.text}`, so it cannot branch",
            b.span,
            "its siblings run at the same time: the block joins when every step succeeds, and any other reply "
            "compensates; put the branch on a step after the block",
        )
    siblings = {s.name.text for s in block.steps} - {step.name.text}
    fills = tuple(f for f in (_own_fill(step, f, siblings, report) for f in step.fills) if f is not None)
    return replace(step, pivot=False, branches=(), fills=fills)


def _own_fill(step: ast.StepDecl, fill: ast.Fill, siblings: set[str], report: Reporter) -> ast.Fill | None:
    kept = []
    for source in fill.sources:
        if source.root is not None and source.root.text in siblings:
            report.add(
                codes.PARALLEL_SIBLING_FILL,
                f"step `{step.name.text}` reads `{source.root.text}`'s reply, which runs at the same time",
                source.span,
                "a step in a parallel block sees the trigger and the steps before the block; "
                "read the sibling's reply in a step after the block",
            )
        else:
            kept.append(source)
    return replace(fill, sources=tuple(kept)) if kept else None


def _outside_step(
    step: ast.StepDecl,
    entries: dict[str, str],
    inside: dict[str, ast.ParallelDecl],
    report: Reporter,
    entered: dict[Span, str],
) -> ast.StepDecl:
    """A step outside every block: a branch to a block leads to its first step (the block's entry);
    a branch to a step inside a block is reported and dropped."""
    if not step.branches:
        return step
    kept = []
    for b in step.branches:
        target = b.target.text
        if target in entries:
            kept.append(replace(b, target=replace(b.target, text=entries[target])))
            entered[b.target.span] = target
        elif target in inside:
            block = inside[target].name.text
            report.add(
                codes.PARALLEL_BRANCH_INTO,
                f"step `{step.name.text}` leads `{b.reply.text}` into parallel block `{block}`, to its step `{target}`",
                b.target.span,
                f"a block starts all its steps together: lead to the block, `-> {block}`",
            )
        else:
            kept.append(b)
    return replace(step, branches=tuple(kept))


def attach(saga: Saga, blocks: Blocks, report: Reporter) -> Saga:
    """`saga` with each step of a block marked with it, and the blocks by step index; a pivot
    that falls in a block by default (the last step) is reported."""
    if not blocks.decls:
        return saga
    names = [s.name for s in saga.steps]
    found, steps = [], list(saga.steps)
    for decl, members in blocks.decls:
        indexes = sorted(names.index(n) for n in members if n in names)
        if not indexes:
            continue
        found.append(
            ParallelBlock(
                name=decl.name.text,
                first=indexes[0],
                last=indexes[-1],
                doc=decl.doc,
                span=decl.span,
                name_span=decl.name.span,
            )
        )
        for i in indexes:
            steps[i] = replace(steps[i], parallel=decl.name.text)
    result = replace(saga, steps=tuple(steps), parallels=tuple(found))
    last = result.block_at(result.pivot_index)
    if last is not None and not result.explicit_pivot:
        report.add(
            codes.PARALLEL_PIVOT,
            f"saga `{saga.name}` ends with parallel block `{last.name}`, so its last step would be the pivot",
            last.name_span,
            "without `pivot`, the last step is the point of no return, but a block's steps run at the same time: "
            "mark a step before the block `pivot`, or add a step after it",
        )
    return result
