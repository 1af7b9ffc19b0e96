"""Plain-text wording of delivery settings, shared by the diagrams and the review page.

These return plain text; escaping for DOT, Mermaid or HTML happens later, once,
in `codegen.escape`.
"""

from __future__ import annotations

from functools import lru_cache

from flowgen_design.dsl import durations
from flowgen_design.dsl.model import DeliveryPolicy, Field, type_text

format_ms = lru_cache(maxsize=4096, typed=True)(durations.format_ms)
"""`durations.format_ms`, kept per value: the views print a few durations thousands of times."""


def attempts_text(policy: DeliveryPolicy) -> str:
    """`5 attempts, exponential 200ms..30s + jitter`, or `1 attempt (no retry)`."""
    if not policy.retried:
        return "1 attempt (no retry)"
    text = f"{policy.attempts} attempts"
    backoff = policy.backoff
    if backoff is None:
        return text
    if backoff.strategy == "fixed":
        text += f", fixed {format_ms(backoff.initial_ms)}"
    else:
        text += f", exponential {format_ms(backoff.initial_ms)}..{format_ms(backoff.max_ms)}"
    return text + (" + jitter" if backoff.jitter else "")


def sends_text(policy: DeliveryPolicy) -> str:
    """How often the saga sends a step's command: once by default, the handler retries on its own."""
    if not policy.retried:
        return "sent once (no resend)"
    how = attempts_text(policy).removeprefix(f"{policy.attempts} attempts")
    return f"sent up to {policy.attempts} times{how}"


def handler_text(policy: DeliveryPolicy) -> str:
    """The handler's own delivery attempts for each send: `handler: 3 attempts, fixed 1s`."""
    return f"handler: {attempts_text(policy)}"


def timeout_text(ms: int) -> str:
    return f"timeout {format_ms(ms)}"


def idempotency_text(policy: DeliveryPolicy) -> str:
    idem = policy.idempotency
    if idem is None:
        return "not idempotent"
    window = f" within {format_ms(idem.within_ms)}" if idem.within_ms else ""
    return f"idempotent by {', '.join(f.name for f in idem.fields)}{window}"


def delivery_lines(policy: DeliveryPolicy) -> tuple[str, ...]:
    """What an edge into a handler says: attempts and backoff, timeout, dead-letter queue."""
    second = timeout_text(policy.timeout_ms) + (", DLQ" if policy.dlq else "")
    return (attempts_text(policy), second)


def field_text(field: Field) -> str:
    return f"{field.name}: {type_text(field.type)}"
