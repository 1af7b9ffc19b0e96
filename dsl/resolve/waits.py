"""Resolving waits: `step NAME: await E | F by field`, `on timeout -> X` and `heartbeat D`.

An await step becomes a `SagaStep` whose `wait` says what it waits for; its `action`
is a stand-in call whose command "replies" with the awaited events, so branches,
fills, endings and the worst-case arithmetic read it as any step (docs/semantics.md,
section 11). What only a wait has (the correlation field, the timeout branch) is
resolved here; what a wait cannot have is FLOW434.
"""

from __future__ import annotations

from dataclasses import replace

from flowgen_design.dsl import ast, codes
from flowgen_design.dsl.diagnostics import Reporter
from flowgen_design.dsl.model import (
    REDELIVERY_MARGIN_MS,
    WAIT_SERVICE,
    Command,
    DeliveryPolicy,
    Event,
    Field,
    Handler,
    SagaStep,
    StepCall,
    Wait,
)
from flowgen_design.dsl.resolve.symbols import Symbols, did_you_mean
from flowgen_design.dsl.sagapaths import unwrap
from flowgen_design.dsl.source import Span

MIN_WAIT_HEARTBEAT_MS = 120_000
"""An await's heartbeat: the awaiter's sweep (an EventBridge schedule, at best every minute) runs twice in it."""
TIMEOUT_REPLY = "timeout"
"""`on timeout -> X`: the one branch an await has that is not an event."""


def await_step(
    symbols: Symbols, events: dict[str, Event], decl: ast.StepDecl, clause: ast.AwaitClause, trigger: Event | None
) -> SagaStep | None:
    """The await step `decl`, or None when an event or the correlation does not resolve (reported)."""
    report = symbols.reporter
    _misplaced(report, decl)
    found = [events.get(n.text) if symbols.lookup(n, "event") else None for n in clause.events]
    awaited = [e for e in found if e is not None]
    timeout = _timeout(report, decl)
    if len(awaited) != len(found) or trigger is None:
        return None
    by = _correlation(report, clause, trigger, awaited)
    if by is None or timeout is None:
        return None
    millis, span = timeout
    unique = tuple({e.name: e for e in reversed(awaited)}.values())[::-1]
    wait = Wait(events=unique, by=by, span=clause.span)
    policy = DeliveryPolicy(attempts=1, timeout_ms=millis, timeout_span=span)
    command = Command(
        name=f"await {decl.name.text}", fields=(), replies=unique, span=clause.span, name_span=clause.span
    )
    handler = Handler(
        name=decl.name.text,
        service=WAIT_SERVICE,
        trigger="command",
        input=command,
        outputs=unique,
        policy=policy,
        span=clause.span,
    )
    return SagaStep(
        name=decl.name.text,
        action=StepCall(service=WAIT_SERVICE, command=command, handler=handler, span=clause.span),
        readonly=True,
        policy=policy,
        timeout_ms=millis,
        timeout_span=span,
        delay_ms=decl.delays[0].duration.millis if decl.delays else 0,
        wait=wait,
        doc=decl.doc,
        span=decl.span,
    )


def _timeout(report: Reporter, decl: ast.StepDecl) -> tuple[int, Span] | None:
    """The wait's `timeout D` (written in its body: a wait's length is the design's, not a policy's)."""
    options = decl.body.options if decl.body else ()
    written = next((o for o in options if isinstance(o, ast.TimeoutOption)), None)
    if written is not None:
        return written.duration.millis, written.span
    report.add(
        codes.AWAIT_WITHOUT_TIMEOUT,
        f"step `{decl.name.text}` waits for an event but does not say for how long",
        decl.name.span,
        "add `timeout D` to its body (`{ timeout 2d }`): a wait needs an end, and `on timeout -> STEP` "
        "or an outcome says what happens then",
    )
    return None


def _misplaced(report: Reporter, decl: ast.StepDecl) -> None:
    """What only a command step can have: a wait sends nothing, so there is nothing to undo or resend."""
    spans: list[tuple[Span, str, str]] = []
    spans += [
        (q.span, "a compensation", "a wait changes nothing, so there is nothing to undo") for q in decl.compensate
    ]
    spans += [(r, "`readonly`", "a wait is always readonly: drop it") for r in decl.readonly]
    spans += [(f.span, "a fill", "a wait sends no command: drop the fill") for f in decl.fills]
    options = decl.body.options if decl.body else ()
    for option in options:
        if not isinstance(option, ast.TimeoutOption):
            how = "a wait takes `timeout`, `heartbeat`, `after` and `on` in its body"
            spans.append((option.span, "this option (a wait is not sent, so nothing is retried or delivered)", how))
    for span, what, why in spans:
        report.add(codes.AWAIT_MISPLACED_CLAUSE, f"an `await` step cannot have {what}", span, why)


def _correlation(report: Reporter, clause: ast.AwaitClause, trigger: Event, awaited: list[Event]) -> Field | None:
    """The trigger's field whose value picks this instance's events: `by F`, else the trigger's key."""
    if clause.by is not None:
        field = trigger.field(clause.by.text)
        if field is None:
            report.add(
                codes.AWAIT_UNCORRELATED,
                f"the trigger `{trigger.name}` has no field `{clause.by.text}` to match the awaited events by",
                clause.by.span,
                did_you_mean(clause.by.text, [f.name for f in trigger.fields]) or "name a field of the trigger",
            )
            return None
        if field.optional:
            report.add(
                codes.AWAIT_UNCORRELATED,
                f"`{clause.by.text}` of the trigger `{trigger.name}` is optional: an instance without it could not "
                "be matched",
                clause.by.span,
                "match by a required field of the trigger",
            )
            return None
    elif trigger.key is not None:
        field = trigger.key
    else:
        report.add(
            codes.AWAIT_UNCORRELATED,
            f"the trigger `{trigger.name}` has no key, so nothing says which `{awaited[0].name}` is this saga's",
            clause.span,
            "give the trigger a `key FIELD`, or write `by FIELD` after the awaited events",
        )
        return None
    ok = True
    for event, name in zip(awaited, clause.events, strict=True):
        own = event.field(field.name)
        if own is None or own.optional or unwrap(own.type) != unwrap(field.type):
            ok = False
            what = "has no field" if own is None else "has another type for" if not own.optional else "may lack"
            report.add(
                codes.AWAIT_UNCORRELATED,
                f"`{event.name}` {what} `{field.name}`, the trigger's value that picks this saga instance's events",
                name.span,
                f"add `{field.name}` to `{event.name}` (required, as in `{trigger.name}`), or match by another "
                "field with `by FIELD`",
            )
    return field if ok else None


def heartbeat(report: Reporter, decl: ast.StepDecl, step: SagaStep) -> SagaStep:
    """The step with its `heartbeat D`, checked against its timeout and (for a command) its handler."""
    if not decl.heartbeats:
        return step
    beat = decl.heartbeats[0]
    millis = beat.duration.millis
    if millis <= 0:
        return step  # FLOW506 says so
    if millis >= step.timeout_ms:
        report.add(
            codes.HEARTBEAT_INVALID,
            f"step `{step.name}` has a heartbeat of {beat.duration.text}, not shorter than its timeout: it never fires",
            beat.span,
            "a heartbeat is the longest silence accepted within the timeout: make it shorter, or drop it",
        )
        return step
    if step.wait is not None and millis < MIN_WAIT_HEARTBEAT_MS:
        report.add(
            codes.HEARTBEAT_INVALID,
            f"step `{step.name}` has a heartbeat of {beat.duration.text}, but the awaiter confirms waits at most "
            "once a minute",
            beat.span,
            "make a wait's heartbeat 2m or more",
        )
        return step
    if step.wait is None:
        silence = longest_silence_ms(step.action.handler.policy)
        if millis < silence:
            report.add(
                codes.HEARTBEAT_INVALID,
                f"step `{step.name}` has a heartbeat of {beat.duration.text}, but its handler "
                f"`{step.action.service}.{step.action.handler.name}` may be silent for {silence // 1000}s between "
                "two signs of life (an attempt that runs to its timeout, then the wait for the next)",
                beat.span,
                f"make the heartbeat at least {-(-silence // 1000)}s, or shorten the handler's timeout",
            )
            return step
    return replace(step, heartbeat_ms=millis, heartbeat_span=beat.span)


def longest_silence_ms(policy: DeliveryPolicy) -> int:
    """The longest time between two heartbeats of a command's adapter: it sends one as each attempt
    starts and when it schedules a retry, so an attempt killed at its timeout and the redelivery
    after it is the longest gap (docs/semantics.md, section 11)."""
    if policy.attempts <= 1:
        return policy.timeout_ms
    delays = [_redelivery_ms(policy, k) for k in range(1, min(policy.attempts, 64))]
    return policy.timeout_ms + max(delays)


def _redelivery_ms(policy: DeliveryPolicy, retry: int) -> int:
    delay = policy.backoff.delay_ms(retry) if policy.backoff is not None else 0
    return max(-(-delay // 1000) * 1000, REDELIVERY_MARGIN_MS)


def timeout_branch(
    report: Reporter, step: SagaStep, b: ast.Branch, names: tuple[str, ...], outcomes: tuple[str, ...]
) -> SagaStep:
    """`on timeout -> X` on an await: to a later step or a named outcome (else reported)."""
    assert step.wait is not None
    target = b.target.text
    if step.wait.timeout_step is not None or step.wait.timeout_outcome is not None:
        report.add(
            codes.BRANCH_REPLY_UNKNOWN,
            f"the timeout of step `{step.name}` already has a branch",
            b.span,
            "a timeout leads to one place: keep one `on timeout`",
        )
        return step
    if target in names and names.index(target) > names.index(step.name):
        return replace(step, wait=replace(step.wait, timeout_step=target, timeout_branch_span=b.span))
    if target in outcomes:
        return replace(step, wait=replace(step.wait, timeout_outcome=target, timeout_branch_span=b.span))
    if target in names:
        report.add(
            codes.BRANCH_BACKWARDS,
            f"step `{step.name}` leads its timeout back to step `{target}`: branches go forward only",
            b.target.span,
            "lead to a later step, or to a named outcome (`on expired emit EVENT`)",
        )
        return step
    later = names[names.index(step.name) + 1 :]
    report.add(
        codes.BRANCH_TARGET_UNKNOWN,
        f"step `{step.name}` leads its timeout to `{target}`, which is neither a later step nor an outcome it names",
        b.target.span,
        did_you_mean(target, (*later, *outcomes)) or f"declare the outcome: `on {target} emit EVENT` in the saga",
    )
    return step


def timeout_on_command(report: Reporter, step: SagaStep, b: ast.Branch) -> None:
    report.add(
        codes.TIMEOUT_BRANCH_MISPLACED,
        f"step `{step.name}` sends a command: when it times out the command may have run",
        b.reply.span,
        "a command step that times out is compensated (up to the pivot) or fails; only an `await` step can "
        "lead its timeout elsewhere",
    )
