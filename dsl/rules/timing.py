"""Timing rules: timeouts add up, on the model the generated runtime follows.

A handler's attempts: each runs up to its timeout; after a failure the next starts
after the spec's backoff delay (whole seconds), after a killed attempt its timeout
plus a redelivery margin (`DeliveryPolicy.handler_worst_case_ms`); a batch holds one
message. A saga's steps: the state machine waits each step's timeout per send.

Whether they fit a platform's limits (Lambda's 15 minutes, ...) is that
platform's check: see `codegen.aws.checks`.
"""

from __future__ import annotations

from flowgen_design.dsl import codes
from flowgen_design.dsl.durations import format_ms, seconds_ceil
from flowgen_design.dsl.model import DeliveryPolicy, Saga, SagaStep
from flowgen_design.dsl.rules import RuleContext
from flowgen_design.dsl.sagapaths import undo_policy


def _breakdown(policy: DeliveryPolicy) -> str:
    text = f"{policy.attempts} x {format_ms(policy.timeout_ms)}"
    waits = policy.handler_worst_case_ms() - policy.attempts * policy.timeout_ms
    return text + (f" + {format_ms(waits)} between attempts" if waits else "")


def check_step_timeouts(ctx: RuleContext) -> None:
    for saga in ctx.flow.sagas:
        for step in saga.steps:
            handler = step.action.handler.policy
            if step.timeout_span is not None and step.timeout_ms < handler.handler_worst_case_ms():
                ctx.report.add(
                    codes.STEP_TIMEOUT_TOO_SHORT,
                    f"step `{step.name}` waits {format_ms(step.timeout_ms)}, but `{step.action.service}.{step.action.handler.name}` may take {format_ms(handler.handler_worst_case_ms())} ({_breakdown(handler)})",
                    step.timeout_span,
                    f"use `timeout {format_ms(handler.handler_worst_case_ms())}` or more, or give the handler fewer attempts",
                )


def saga_worst_case_ms(saga: Saga) -> int:
    """The slowest way to an end: every orchestrator attempt waits its step's timeout, and a
    failure that compensates (before the pivot; at it, a failure reply) then waits every
    compensation the same way. tests/test_saga_machine.py measures this very figure."""
    return max(ms for ms, _ in _ways(saga))


def _ways(saga: Saga) -> list[tuple[int, str]]:
    """(worst case, its parts) for running every step, and for failing at each step up to the pivot."""
    if saga.parallels:
        return _parallel_ways(saga)
    if saga.branched:
        return _branched_ways(saga)
    run = [(s.policy.worst_case_ms() + _grace_ms(s), s.name) for s in saga.steps]
    trigger_undo = saga.trigger_compensation
    last = [(undo_policy(trigger_undo).worst_case_ms(), "undo trigger")] if trigger_undo is not None else []
    ways = [run]
    for index in range(min(saga.pivot_index + 1, len(saga.steps))):
        if index == saga.pivot_index and not saga.steps[index].action.command.failures and not saga.steps[index].wait:
            continue  # a pivot without an answer needs a human: nothing is undone (a wait's timeout is an answer)
        undo = [
            (undo_policy(s.compensation).worst_case_ms(), f"undo {s.name}")
            for s in reversed(saga.steps[: index + 1])
            if s.compensation is not None and saga.steps.index(s) < saga.pivot_index
        ]
        ways.append(run[: index + 1] + undo + last)
    return [(sum(ms for ms, _ in way), ", ".join(f"{name} {format_ms(ms)}" for ms, name in way)) for way in ways]


Part = tuple[int, str]


def _branched_ways(saga: Saga) -> list[tuple[int, str]]:
    """With branches, the slowest way into each step (branches go forward, so one pass in step
    order), then: through the end, or failing there and undoing every compensable step before it."""
    steps, names = saga.steps, [s.name for s in saga.steps]
    slowest: dict[int, list[Part]] = {0: []}
    for index, step in enumerate(steps):
        if index not in slowest:
            continue
        here = slowest[index] + [(step.policy.worst_case_ms() + _grace_ms(step), step.name)]
        success = step.action.command.success
        skip = step.branch(success.name) if success is not None else None
        targets = {names.index(skip.step) if skip and skip.step else index + 1}
        targets |= {names.index(b.step) for b in step.branches if b.step is not None}
        targets |= {names.index(t) for t in _timeout_step(step)}
        for target in targets:
            known = slowest.get(target)
            if known is None or sum(ms for ms, _ in here) > sum(ms for ms, _ in known):
                slowest[target] = here
    trigger_undo = saga.trigger_compensation
    last = [(undo_policy(trigger_undo).worst_case_ms(), "undo trigger")] if trigger_undo is not None else []
    ways = [slowest[len(steps)]] if len(steps) in slowest else []
    for index in range(min(saga.pivot_index + 1, len(steps))):
        pivot_unanswered = not steps[index].action.command.failures and steps[index].wait is None
        if index not in slowest or (index == saga.pivot_index and pivot_unanswered):
            continue  # unreached, or a pivot without an answer: it needs a human, nothing is undone
        run = slowest[index] + [(steps[index].policy.worst_case_ms() + _grace_ms(steps[index]), steps[index].name)]
        undo = [
            (undo_policy(s.compensation).worst_case_ms(), f"undo {s.name}")
            for s in reversed(steps[: min(index + 1, saga.pivot_index)])
            if s.compensation is not None
        ]
        ways.append(run + undo + last)
    return [(sum(ms for ms, _ in way), ", ".join(f"{name} {format_ms(ms)}" for ms, name in way)) for way in ways]


def _parallel_ways(saga: Saga) -> list[tuple[int, str]]:
    """As `_branched_ways`, with each parallel block one part: its slowest step, since its steps run
    at the same time. A block that fails still waits for every step of it (each one catches its
    own failure), then undoes all of them that may have run, and the compensable steps before it."""
    steps, names = saga.steps, [s.name for s in saga.steps]
    slowest: dict[int, list[Part]] = {0: []}
    for index, step in enumerate(steps):
        block = saga.block_at(index)
        if index not in slowest or (block is not None and index != block.first):
            continue
        here = slowest[index] + [_unit_part(saga, index)]
        if block is not None:
            targets = {block.last + 1}
        else:
            success = step.action.command.success
            skip = step.branch(success.name) if success is not None else None
            targets = {names.index(skip.step) if skip and skip.step else index + 1}
            targets |= {names.index(b.step) for b in step.branches if b.step is not None}
        for target in targets:
            known = slowest.get(target)
            if known is None or sum(ms for ms, _ in here) > sum(ms for ms, _ in known):
                slowest[target] = here
    trigger_undo = saga.trigger_compensation
    last = [(undo_policy(trigger_undo).worst_case_ms(), "undo trigger")] if trigger_undo is not None else []
    ways = [slowest[len(steps)]] if len(steps) in slowest else []
    for index in range(min(saga.pivot_index + 1, len(steps))):
        block = saga.block_at(index)
        if block is not None and index != block.first:
            continue  # one way per block: every step of it runs, whichever fails
        if index not in slowest or (index == saga.pivot_index and not steps[index].action.command.failures):
            continue  # unreached, or a pivot without an answer: it needs a human, nothing is undone
        upto = block.last + 1 if block is not None else min(index + 1, saga.pivot_index)
        undo = [
            (undo_policy(s.compensation).worst_case_ms(), f"undo {s.name}")
            for s in reversed(steps[:upto])
            if s.compensation is not None
        ]
        ways.append(slowest[index] + [_unit_part(saga, index)] + undo + last)
    return [(sum(ms for ms, _ in way), ", ".join(f"{name} {format_ms(ms)}" for ms, name in way)) for way in ways]


def _unit_part(saga: Saga, index: int) -> Part:
    """A step at its worst, or the parallel block that starts at `index` at its slowest step's worst."""
    block = saga.block_at(index)
    if block is None:
        step = saga.steps[index]
        return (step.policy.worst_case_ms() + _grace_ms(step), step.name)
    worst = [(s.policy.worst_case_ms() + _grace_ms(s), s.name) for s in saga.steps[block.first : block.last + 1]]
    ms, name = max(worst)
    return (ms, f"parallel {block.name} (slowest: {name})")


def _grace_ms(step: SagaStep) -> int:
    """`after D`, as the state machine's Wait state waits it: whole seconds."""
    return 1000 * max(1, seconds_ceil(step.delay_ms)) if step.delay_ms else 0


def _timeout_step(step: SagaStep) -> tuple[str, ...]:
    """An await's `on timeout -> STEP`: one more way forward."""
    return (step.wait.timeout_step,) if step.wait is not None and step.wait.timeout_step is not None else ()


def longest_waits(saga: Saga) -> tuple[int, list[str]]:
    """The most time the awaits on one way through `saga` may wait (each its whole timeout), and their names."""
    names = [s.name for s in saga.steps]
    slowest: dict[int, tuple[int, list[str]]] = {0: (0, [])}
    for index, step in enumerate(saga.steps):
        if index not in slowest:
            continue
        ms, waits = slowest[index]
        here = (ms + step.timeout_ms, [*waits, step.name]) if step.wait is not None else (ms, waits)
        success = step.action.command.success
        skip = step.branch(success.name) if success is not None else None
        targets = {names.index(skip.step) if skip and skip.step else index + 1}
        targets |= {names.index(b.step) for b in step.branches if b.step is not None}
        targets |= {names.index(t) for t in _timeout_step(step)}
        for target in targets:
            if target not in slowest or here[0] > slowest[target][0]:
                slowest[target] = here
    return max(slowest.values(), key=lambda found: found[0])


def _check_waits(ctx: RuleContext, saga: Saga, timeout_ms: int) -> bool:
    """FLOW433 when the waits alone outlast the saga (then FLOW502 would only repeat it)."""
    waited, names = longest_waits(saga)
    if waited <= timeout_ms or saga.timeout_span is None:
        return False
    which = ", ".join(f"`{n}`" for n in names)
    ctx.report.add(
        codes.WAIT_LONGER_THAN_SAGA,
        f"saga `{saga.name}` times out after {format_ms(timeout_ms)}, but it may wait {format_ms(waited)} for "
        f"events (step {which})",
        saga.timeout_span,
        f"use `timeout {format_ms(waited)}` or more (plus the steps' own time), or shorten the waits",
    )
    return True


def check_saga_timeouts(ctx: RuleContext) -> None:
    for saga in ctx.flow.sagas:
        if saga.timeout_ms is None or saga.timeout_span is None:
            continue
        if _check_waits(ctx, saga, saga.timeout_ms):
            continue
        need, parts = max(_ways(saga))
        if saga.timeout_ms < need:
            ctx.report.add(
                codes.SAGA_TIMEOUT_TOO_SHORT,
                f"saga `{saga.name}` times out after {format_ms(saga.timeout_ms)}, but it may take {format_ms(need)} ({parts})",
                saga.timeout_span,
                f"use `timeout {format_ms(need)}` or more, or shorten the steps' retries",
            )
