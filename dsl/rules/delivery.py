"""Delivery rules: every retried or at-least-once handler is idempotent, windows cover retries."""

from __future__ import annotations

from collections import defaultdict

from flowgen_design.dsl import ast, codes
from flowgen_design.dsl.durations import format_ms
from flowgen_design.dsl.model import Handler
from flowgen_design.dsl.rules import RuleContext
from flowgen_design.dsl.source import Span

# What the resolver reports when it has to leave a handler's `idempotent by` (or the
# `use` of a policy that brings one) out of the model: `check_idempotency` reads these.
IDEMPOTENCY_LOST = (
    codes.KEY_FIELD_MISSING,
    codes.KEY_NOT_SCALAR,
    codes.UNDEFINED_NAME,
    codes.WRONG_KIND,
    codes.POLICY_CYCLE,
    codes.NESTING_TOO_DEEP,
)


def check_idempotency(ctx: RuleContext) -> None:
    errors = _errors_by_line(ctx)
    policy_spans = {p.name: p.span for p in ctx.flow.policies}
    defaults = [d.span for m in ctx.modules for d in m.declarations if isinstance(d, ast.DefaultsDecl)]
    for handler in ctx.flow.handlers():
        policy = handler.policy
        if policy.idempotency is None:
            blocks = [handler.span, *defaults, *(policy_spans[p] for p in handler.policy.policies if p in policy_spans)]
            if not _has_error_within(blocks, errors):
                _not_idempotent(ctx, handler)
            continue
        window = policy.idempotency.within_ms
        if window and window < policy.handler_worst_case_ms():
            ctx.report.add(
                codes.IDEMPOTENCY_WINDOW_TOO_SHORT,
                f"`{handler.name}` remembers keys for {format_ms(window)}, but its retries can span {format_ms(policy.handler_worst_case_ms())}",
                policy.idempotency.span,
                f"use `within {format_ms(policy.handler_worst_case_ms() * 2)}` or longer, or drop `within` to keep keys for the default window",
            )


ErrorIndex = dict[tuple[str, int], list[Span]]


def _errors_by_line(ctx: RuleContext) -> ErrorIndex:
    index: ErrorIndex = defaultdict(list)
    for d in ctx.earlier:
        index[(d.span.file, d.span.line)].append(d.span)
    return index


def _has_error_within(blocks: list[Span], errors: ErrorIndex) -> bool:
    """An error in `IDEMPOTENCY_LOST` already reported in the handler's options, a policy it uses or `defaults`.

    `idempotent by` a misspelt field leaves the handler without idempotency; the
    error says so, and a second warning that it is not idempotent would be noise.
    """
    return any(
        _within(span, block)
        for block in blocks
        for line in range(block.line, block.end_line + 1)
        for span in errors.get((block.file, line), ())
    )


def _within(inner: Span, outer: Span) -> bool:
    return (
        inner.file == outer.file
        and (outer.line, outer.column) <= inner.start
        and (inner.end_line, inner.end_column) <= (outer.end_line, outer.end_column)
    )


_IDENTITY_FIELDS = ("id", "message_id", "event_id", "request_id", "idempotency_key")


def _idempotency_hint(handler: Handler) -> str:
    """Deduplicate by what identifies one message, never by a field many messages share.

    The declared `key` is the message's identity, so it is the suggestion; without one,
    a field named like an identity is. Any other field (a like's `comment_id`) would
    drop every later message that shares it, so the hint asks for an identity instead.
    """
    message = handler.input
    if message.key is not None:
        return f"add `idempotent by {message.key.name}` to the handler (the key of `{message.name}`, its identity)"
    identity = next((f.name for f in message.fields if f.name in _IDENTITY_FIELDS), None)
    if identity is not None:
        return f"add `idempotent by {identity}` to the handler"
    return (
        f"give `{message.name}` a field unique to each message (e.g. `event_id: uuid  key event_id`) and add "
        "`idempotent by event_id` to the handler; deduplicating by a field that messages share drops every later one"
    )


def _not_idempotent(ctx: RuleContext, handler: Handler) -> None:
    hint = _idempotency_hint(handler)
    if handler.policy.retried:
        ctx.report.add(
            codes.RETRIED_NOT_IDEMPOTENT,
            f"`{handler.service}.{handler.name}` is retried up to {handler.policy.attempts} times but is not idempotent: an attempt that fails after some of its side effects runs again and repeats them",
            handler.span,
            hint,
        )
        return
    ctx.report.add(
        codes.AT_LEAST_ONCE_NOT_IDEMPOTENT,
        f"`{handler.service}.{handler.name}` is deduplicated by message id only: a redelivered `{handler.input.name}` runs once, but the same `{handler.input.name}` published twice (a new message id, e.g. a publisher's retry) runs its side effects twice",
        handler.span,
        hint,
    )


def check_dead_letters(ctx: RuleContext) -> None:
    for handler in ctx.flow.handlers():
        policy = handler.policy
        if policy.dlq and not policy.retried and policy.dlq_span is not None:
            ctx.report.add(
                codes.DLQ_WITHOUT_RETRY,
                f"`{handler.name}` is tried once, so its dead-letter queue receives every failure on the first try",
                handler.span,
                "add `retry N backoff ...` so transient failures are retried before dead-lettering",
            )
