"""Timing rules: timeouts add up.

Whether they fit a platform's limits (Lambda's 15 minutes, ...) is that
platform's check: see `codegen.aws.checks`.
"""

from __future__ import annotations

from flowgen_design.dsl import codes
from flowgen_design.dsl.durations import format_ms
from flowgen_design.dsl.model import DeliveryPolicy, Saga
from flowgen_design.dsl.rules import RuleContext


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
                    codes.STEP_TIMEOUT_TOO_SHORT,
                    f"step `{step.name}` waits {format_ms(step.timeout_ms)}, but `{step.action.service}.{step.action.handler.name}` may take {format_ms(handler.worst_case_ms())} ({_breakdown(handler)})",
                    step.timeout_span,
                    f"use `timeout {format_ms(handler.worst_case_ms())}` or more, or give the handler fewer attempts",
                )


def saga_worst_case_ms(saga: Saga) -> int:
    """All steps failing slowly: every orchestrator attempt waits the step timeout."""
    return sum(step.policy.worst_case_ms() for step in saga.steps)


def check_saga_timeouts(ctx: RuleContext) -> None:
    for saga in ctx.flow.sagas:
        if saga.timeout_ms is None or saga.timeout_span is None:
            continue
        need = saga_worst_case_ms(saga)
        if saga.timeout_ms < need:
            parts = ", ".join(f"{s.name} {format_ms(s.policy.worst_case_ms())}" for s in saga.steps)
            ctx.report.add(
                codes.SAGA_TIMEOUT_TOO_SHORT,
                f"saga `{saga.name}` times out after {format_ms(saga.timeout_ms)}, but its steps may take {format_ms(need)} ({parts})",
                saga.timeout_span,
                f"use `timeout {format_ms(need)}` or more, or shorten the steps' retries",
            )
