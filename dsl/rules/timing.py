"""Timing rules: timeouts add up, and the deployment target's limits hold."""

from __future__ import annotations

from flowgen_design.dsl.durations import format_ms
from flowgen_design.dsl.model import DeliveryPolicy, Saga
from flowgen_design.dsl.rules import RuleContext
from flowgen_design.dsl.sagapaths import undo_policy

FUNCTION_TIMEOUT_LIMIT_MS = 15 * 60_000
QUEUE_RETENTION_LIMIT_MS = 14 * 86_400_000
WORKFLOW_LIMIT_MS = 365 * 86_400_000
API_INTEGRATION_LIMIT_MS = 30_000
MAX_BATCH = 10  # messages an SQS event source hands a function at once


def batch_size(policy: DeliveryPolicy) -> int:
    """How many messages one invocation takes: as many as fit one after another in a function's limit.

    The adapter processes a batch's messages one after another, each up to the
    handler's timeout, so a batch of n needs n x timeout; the generated function's
    timeout is exactly that (`function_timeout_ms`).
    """
    return max(1, min(MAX_BATCH, FUNCTION_TIMEOUT_LIMIT_MS // max(1, policy.timeout_ms)))


def function_timeout_ms(policy: DeliveryPolicy) -> int:
    return batch_size(policy) * policy.timeout_ms


def _breakdown(policy: DeliveryPolicy) -> str:
    text = f"{policy.attempts} x {format_ms(policy.timeout_ms)}"
    backoff = policy.backoff_total_ms()
    return text + (f" + {format_ms(backoff)} backoff" if backoff else "")


def check_step_timeouts(ctx: RuleContext) -> None:
    for saga in ctx.flow.sagas:
        for step in saga.steps:
            handler = step.action.handler.policy
            if step.timeout_span is not None and step.timeout_ms < handler.worst_case_ms():
                ctx.report.add(
                    "step-timeout-too-short",
                    f"step `{step.name}` waits {format_ms(step.timeout_ms)}, but `{step.action.service}.{step.action.handler.name}` may take {format_ms(handler.worst_case_ms())} ({_breakdown(handler)})",
                    step.timeout_span,
                    f"use `timeout {format_ms(handler.worst_case_ms())}` or more, or give the handler fewer attempts",
                )


def saga_worst_case_ms(saga: Saga) -> int:
    """The slowest way to an end: every orchestrator attempt waits its step's timeout, and a
    failure that compensates (before the pivot; at it, a failure reply) then waits every
    compensation the same way. tests/test_saga_machine.py measures this very figure."""
    return max(ms for ms, _ in _ways(saga))


def _ways(saga: Saga) -> list[tuple[int, str]]:
    """(worst case, its parts) for running every step, and for failing at each step up to the pivot."""
    run = [(s.policy.worst_case_ms(), s.name) for s in saga.steps]
    ways = [run]
    for index in range(min(saga.pivot_index + 1, len(saga.steps))):
        if index == saga.pivot_index and not saga.steps[index].action.command.failures:
            continue  # a pivot without an answer needs a human: nothing is undone
        undo = [
            (undo_policy(s.compensation).worst_case_ms(), f"undo {s.name}")
            for s in reversed(saga.steps[: index + 1])
            if s.compensation is not None and saga.steps.index(s) < saga.pivot_index
        ]
        ways.append(run[: index + 1] + undo)
    return [(sum(ms for ms, _ in way), ", ".join(f"{name} {format_ms(ms)}" for ms, name in way)) for way in ways]


def check_saga_timeouts(ctx: RuleContext) -> None:
    for saga in ctx.flow.sagas:
        if saga.timeout_ms is None or saga.timeout_span is None:
            continue
        need, parts = max(_ways(saga))
        if saga.timeout_ms < need:
            ctx.report.add(
                "saga-timeout-too-short",
                f"saga `{saga.name}` times out after {format_ms(saga.timeout_ms)}, but it may take {format_ms(need)} ({parts})",
                saga.timeout_span,
                f"use `timeout {format_ms(need)}` or more, or shorten the steps' retries",
            )
        if saga.timeout_ms > WORKFLOW_LIMIT_MS:
            ctx.report.add(
                "target-limit",
                f"saga `{saga.name}` times out after {format_ms(saga.timeout_ms)}; a Step Functions workflow runs at most a year",
                saga.timeout_span,
            )


def check_target_limits(ctx: RuleContext) -> None:
    for handler in ctx.flow.handlers():
        policy = handler.policy
        span = policy.timeout_span or handler.span
        if function_timeout_ms(policy) > FUNCTION_TIMEOUT_LIMIT_MS:
            ctx.report.add(
                "batch-exceeds-function",
                f"`{handler.service}.{handler.name}` has a timeout of {format_ms(policy.timeout_ms)}: not even a batch of one message finishes within an AWS Lambda function's 15m",
                span,
                "split the work into smaller steps, or use a saga",
            )
        elif policy.attempts * policy.timeout_ms * 6 > QUEUE_RETENTION_LIMIT_MS:
            ctx.report.add(
                "target-limit",
                f"`{handler.service}.{handler.name}` retries longer than an SQS queue keeps a message (14d)",
                policy.retry_span or span,
                "use fewer attempts",
            )
