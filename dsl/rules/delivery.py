"""Delivery rules: every retried or at-least-once handler is idempotent, windows cover retries."""

from __future__ import annotations

from dsl.durations import format_ms
from dsl.model import Handler
from dsl.rules import RuleContext


def check_idempotency(ctx: RuleContext) -> None:
    for handler in ctx.flow.handlers():
        policy = handler.policy
        if policy.idempotency is None:
            _not_idempotent(ctx, handler)
            continue
        window = policy.idempotency.within_ms
        if window is not None and window < policy.worst_case_ms():
            ctx.report.add(
                "idempotency-window-too-short",
                f"`{handler.name}` remembers keys for {format_ms(window)}, but its retries can span {format_ms(policy.worst_case_ms())}",
                policy.idempotency.span,
                f"use `within {format_ms(policy.worst_case_ms() * 2)}` or longer, or drop `within` to keep keys for the default window",
            )


def _not_idempotent(ctx: RuleContext, handler: Handler) -> None:
    key = handler.input.key.name if handler.input.key else next((f.name for f in handler.input.fields), "id")
    hint = f"add `idempotent by {key}` to the handler"
    if handler.policy.retried:
        ctx.report.add(
            "retried-not-idempotent",
            f"`{handler.service}.{handler.name}` is retried up to {handler.policy.attempts} times but is not idempotent: a retry after a partial failure repeats its side effects",
            handler.span,
            hint,
        )
        return
    ctx.report.add(
        "at-least-once-not-idempotent",
        f"`{handler.service}.{handler.name}` consumes `{handler.input.name}` from a queue that delivers at least once, but is not idempotent: a duplicate delivery repeats its side effects",
        handler.span,
        hint,
    )


def check_dead_letters(ctx: RuleContext) -> None:
    for handler in ctx.flow.handlers():
        policy = handler.policy
        if policy.dlq and not policy.retried and policy.dlq_span is not None:
            ctx.report.add(
                "dlq-without-retry",
                f"`{handler.name}` is tried once, so its dead-letter queue receives every failure on the first try",
                handler.span,
                "add `retry N backoff ...` so transient failures are retried before dead-lettering",
            )
