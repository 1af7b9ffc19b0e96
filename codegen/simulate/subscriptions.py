"""Every failure schedule of a subscription (`on Event -> handler`), checked like a saga's.

A subscription has no orchestrator: a message reaches the handler's queue, the
adapter runs the user's code with the spec's retries, and a message whose
attempts run out goes to the dead-letter queue (`dlq`) or is dropped. The
schedules, each with at most one injected fault (a subscription's bound is
`min(bound, 1)`; there is no later step for a second fault to change):

- the message is handled (the happy path), and handled after exceptions on every
  attempt but the last;
- exceptions on every attempt: dead-lettered, or dropped without `dlq`;
- a duplicate delivery while the original's retries may still run (the handler's
  worst case, as FLOW303 counts it): dropped within the idempotency window, else
  the effect happens twice, a violation;
- a duplicate after the window: handled again, which the contract allows;
- two messages of one key arriving reversed, and a message of another key
  arriving while the first is retried: what happens is `ordering.RUNTIME`'s to say.

Durations are worst cases, as for sagas: an attempt runs to its timeout, the
next starts after the longer of its backoff delay and the redelivery margin.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from flowgen_design.codegen.simulate.moves import Arrow, Move, Violation, _window
from flowgen_design.codegen.simulate.ordering import RUNTIME, Ordering, key_of, promised, reversal_kept_in_order
from flowgen_design.codegen.simulate.result import Counterexample, SagaReport
from flowgen_design.dsl.durations import format_ms
from flowgen_design.dsl.model import REDELIVERY_MARGIN_MS, Flow, Handler

BUS, DLQ = "Bus", "DLQ"

Schedule = tuple[tuple[Move, ...], tuple[Violation, ...]]


def subscriptions(flow: Flow) -> tuple[Handler, ...]:
    """The event handlers of `flow`, in declaration order."""
    return tuple(h for h in flow.handlers() if h.trigger == "event")


def handler_name(handler: Handler) -> str:
    return f"{handler.service}.{handler.name}"


def explore_subscription(
    handler: Handler, bound: int, ordering: Ordering = RUNTIME, numbered: bool = True
) -> SagaReport:
    """Every schedule of `handler` with at most `min(bound, 1)` faults; the shortest counterexample per property.
    `numbered`: every publisher of the handler's event numbers it per key (`ordering.numbered_by_publishers`)."""
    started = time.perf_counter()
    policy = handler.policy
    report = SagaReport(handler_name(handler), bound, arithmetic_ms=policy.handler_worst_case_ms(), kind="subscription")
    schedules = [_handled(handler)] + (list(_faults(handler, ordering, numbered)) if bound > 0 else [])
    seen: set[tuple[Move, ...]] = set()
    found: set[str] = set()
    for moves, violations in schedules:
        seen |= {moves[:n] for n in range(1, len(moves) + 1)}
        report.scenarios.append(moves)
        report.worst_case_ms = max(report.worst_case_ms, moves[-1].at_ms)
        for violation in violations:
            if violation.code not in found:
                found.add(violation.code)
                report.violations.append(Counterexample(violation, moves))
    report.states, report.schedules = len(seen) + 1, len(schedules)
    report.violations.sort(key=lambda c: len(c.moves))
    report.seconds = time.perf_counter() - started
    return report


def _attempt_ends(handler: Handler) -> list[int]:
    """When each attempt ends at its worst (runs to its timeout), measured from the first delivery."""
    policy, ends, at = handler.policy, [], 0
    for attempt in range(1, policy.attempts + 1):
        at += policy.timeout_ms
        ends.append(at)
        delay = policy.backoff.delay_ms(attempt) if policy.backoff is not None else 0
        at += max(-(-delay // 1000) * 1000, REDELIVERY_MARGIN_MS)
    return ends


def _delivery(handler: Handler, note: str = "") -> Arrow:
    return Arrow(BUS, handler.service, f"{handler.input.name}{note}")


def _outputs(handler: Handler) -> tuple[tuple[Arrow, ...], tuple[str, ...]]:
    names = tuple(e.name for e in handler.outputs)
    return tuple(Arrow(handler.service, BUS, n, True) for n in names), names


def _start(handler: Handler, text: str = "") -> Move:
    what = text or f"`{handler.input.name}` is published"
    return Move(0, what, (), kind="start", step=handler_name(handler))


def _done(handler: Handler, at: int, text: str, kind: str, fault: bool = False, note: str = "") -> Move:
    arrows, events = _outputs(handler)
    return Move(
        at,
        text,
        (_delivery(handler, note), *arrows),
        events,
        fault=fault,
        kind=kind,
        step=handler_name(handler),
        result="handled",
    )


def _end(at: int, outcome: str) -> Move:
    return Move(at, f"the message ends `{outcome}`", (), kind="outcome", result=outcome)


def _handled(handler: Handler) -> Schedule:
    first = handler.policy.timeout_ms
    text = f"`{handler_name(handler)}` handles `{handler.input.name}`"
    return (_start(handler), _done(handler, first, text, "handled"), _end(first, "handled")), ()


def _faults(handler: Handler, ordering: Ordering, numbered: bool) -> Iterator[Schedule]:
    yield from _retries(handler)
    yield from _duplicates(handler)
    yield from _reorderings(handler, ordering, numbered)


def _retries(handler: Handler) -> Iterator[Schedule]:
    name, policy, ends = handler_name(handler), handler.policy, _attempt_ends(handler)
    if policy.attempts > 1:
        text = f"`{name}` raises on {policy.attempts - 1} attempt(s), then handles `{handler.input.name}`"
        last = _done(handler, ends[-1], text, "retried", fault=True)
        yield (_start(handler), last, _end(ends[-1], "handled")), ()
    outcome = "dead-lettered" if policy.dlq else "dropped"
    where = "goes to the dead-letter queue" if policy.dlq else "is dropped (no `dlq`)"
    text = f"`{name}` raises on all {policy.attempts} attempt(s): the message {where}"
    arrows = (_delivery(handler),) + ((Arrow(handler.service, DLQ, handler.input.name),) if policy.dlq else ())
    move = Move(ends[-1], text, arrows, fault=True, kind="exhausted", step=name, result=outcome)
    yield (_start(handler), move, _end(ends[-1], outcome)), ()


def _duplicates(handler: Handler) -> Iterator[Schedule]:
    name, policy = handler_name(handler), handler.policy
    first = policy.timeout_ms
    span = _attempt_ends(handler)[-1]
    window = _window(policy)
    gap = span - first
    handled = _done(handler, first, f"`{name}` handles `{handler.input.name}`", "handled")
    copy_text = f"`{handler.input.name}` is delivered again {format_ms(gap) if gap else 'at once'} later"
    if window is not None and gap < window:
        dropped = Move(
            span,
            f"{copy_text}: `{name}` drops it (it remembers keys for {format_ms(window)})",
            (_delivery(handler, " (duplicate)"),),
            fault=True,
            kind="duplicate",
            step=name,
            result="dropped",
        )
        yield (_start(handler), handled, dropped, _end(span, "handled")), ()
    else:
        why = "it is not idempotent" if window is None else f"it remembers keys for {format_ms(window)} only"
        again = _done(handler, span, f"{copy_text}: `{name}` handles it again", "duplicate", True, " (duplicate)")
        bad = Violation("effect-twice", f"`{name}` took effect twice, {format_ms(gap)} apart: {why}")
        yield (_start(handler), handled, again, _end(span, "handled twice")), (bad,)
    if window is not None:
        late = first + window + 1000
        text = f"`{handler.input.name}` is delivered again {format_ms(window + 1000)} later, after the window: handled again"
        again = _done(handler, late, text, "duplicate-late", True, " (duplicate)")
        yield (_start(handler), handled, again, _end(late, "handled twice")), ()


def _reorderings(handler: Handler, ordering: Ordering, numbered: bool) -> Iterator[Schedule]:
    name, event, first = handler_name(handler), handler.input, handler.policy.timeout_ms
    key = key_of(event)
    start = _start(handler, f"`{event.name}` #1 and #2 of one `{key}` are published, in that order")
    if reversal_kept_in_order(event, ordering, numbered):
        held = Move(
            0, f"#2 reaches `{name}` first and is held back until #1 is handled", fault=True, kind="reorder", step=name
        )
        one = _done(handler, first, f"`{name}` handles #1", "handled", note=" #1")
        two = _done(handler, 2 * first, f"`{name}` handles #2", "handled", note=" #2")
        yield (start, held, one, two, _end(2 * first, "handled in order")), ()
    else:
        two = _done(handler, first, f"#2 reaches `{name}` first and is handled", "reorder", True, " #2")
        bad: tuple[Violation, ...] = ()
        if promised(event):
            message = f"`{event.name}` is `ordered by {key}`, but #2 was handled before #1"
            bad = (Violation("ordering", message),)
        if _same_identity(handler, key):
            text = f"#1 reaches `{name}` after #2 and is dropped as its duplicate (same `{key}`)"
            one = Move(first, text, (_delivery(handler, " #1"),), kind="dropped", step=name, result="dropped")
            yield (start, two, one, _end(first, "#1 dropped")), bad
        else:
            one = _done(handler, 2 * first, f"`{name}` handles #1 after #2", "handled", note=" #1")
            yield (start, two, one, _end(2 * first, "handled out of order")), bad
    yield _other_key(handler, ordering)


def _same_identity(handler: Handler, key: str) -> bool:
    """Two messages of one `key` look like duplicates to the handler: it is idempotent by that field only."""
    idem = handler.policy.idempotency
    return idem is not None and bool(idem.fields) and all(f.name == key for f in idem.fields)


def _other_key(handler: Handler, ordering: Ordering) -> Schedule:
    name, event, policy = handler_name(handler), handler.input, handler.policy
    key, span = key_of(event), _attempt_ends(handler)[-1]
    start = _start(handler, f"`{event.name}` of `{key}` A, then of `{key}` B, are published")
    failing = Move(
        0, f"`{name}` raises on A and retries it", (_delivery(handler, " A"),), fault=True, kind="retrying", step=name
    )
    b_at = span + policy.timeout_ms if ordering.keys_block_each_other else policy.timeout_ms
    waits = "after A's retries" if ordering.keys_block_each_other else "while A is retried: keys do not wait"
    b = _done(handler, b_at, f"`{name}` handles B {waits}", "other-key", note=" B")
    a = _done(handler, span, f"`{name}` handles A on its last attempt", "handled", note=" A")
    moves = (start, failing, *sorted((a, b), key=lambda m: m.at_ms))
    return (*moves, _end(max(span, b_at), "handled")), ()
