"""`x-flowgen-*` extensions and SQS bindings: the delivery facts AsyncAPI has no field for.

AsyncAPI describes what travels where; retries, backoff, timeouts, dead-letter
queues, idempotency and ordering are what flowgen adds, so they ride along as
specification extensions (always valid) and, where a binding fits, as the
standard `sqs` operation binding (each handler reads from its own queue).
Durations are written the way the spec writes them (`200ms`, `24h`).
"""

from __future__ import annotations

from typing import Any

from flowgen_design.codegen.aws.plan import HandlerPlan
from flowgen_design.dsl.durations import format_ms
from flowgen_design.dsl.model import Backoff, DeliveryPolicy, FillSource, Message, Saga, SagaStep, StepCall

Extensions = dict[str, Any]

SQS_BINDING_VERSION = "0.2.0"


def backoff(b: Backoff) -> Extensions:
    out: Extensions = {"strategy": b.strategy, "initial": format_ms(b.initial_ms)}
    if b.strategy == "exponential":
        out["max"] = format_ms(b.max_ms)
    out["jitter"] = b.jitter
    return out


def retries(policy: DeliveryPolicy) -> Extensions:
    """Attempts, backoff and timeout: what a saga step's orchestrator applies."""
    out: Extensions = {"x-flowgen-attempts": policy.attempts}
    if policy.backoff is not None:
        out["x-flowgen-backoff"] = backoff(policy.backoff)
    out["x-flowgen-timeout"] = format_ms(policy.timeout_ms)
    return out


def delivery(policy: DeliveryPolicy) -> Extensions:
    """Retry, timeout, dead-letter and idempotency settings of a handler."""
    out = retries(policy)
    out["x-flowgen-dlq"] = policy.dlq
    if policy.idempotency is not None:
        out["x-flowgen-idempotent-by"] = ", ".join(f.name for f in policy.idempotency.fields)
        if policy.idempotency.within_ms is not None:
            out["x-flowgen-idempotent-within"] = format_ms(policy.idempotency.within_ms)
    if policy.policies:
        out["x-flowgen-policies"] = list(policy.policies)
    return out


def message(m: Message) -> Extensions:
    """Deduplication key and ordering key of an event or command."""
    out: Extensions = {}
    if m.key is not None:
        out["x-flowgen-key"] = m.key.name
    if m.ordered_by is not None:
        out["x-flowgen-ordered-by"] = m.ordered_by.name
    return out


def sqs_binding(planned: HandlerPlan) -> Extensions:
    """The handler's queue, and its dead-letter queue after `attempts` receives.

    A command that is `ordered by` a field is read from FIFO queues (grouped by that field); an
    event that is, from a standard queue, in its key's `sequence` (docs/semantics.md).

    Queue names are the CloudFormation logical IDs of the queues (the physical
    names are chosen by CloudFormation at deploy time).
    """
    fifo = {"fifoQueue": True} if planned.fifo else {}
    queue: Extensions = {"name": planned.queue.logical_id, **fifo}
    queues = [queue]
    if planned.dead_letter_queue is not None:
        dlq = planned.dead_letter_queue.logical_id
        queue["redrivePolicy"] = {"deadLetterQueue": {"name": dlq}, "maxReceiveCount": planned.handler.policy.attempts}
        queues.append({"name": dlq, **fifo})
    return {"sqs": {"queues": queues, "bindingVersion": SQS_BINDING_VERSION}}


def _call(call: StepCall) -> Extensions:
    return {"service": call.service, "command": call.command.name, "handler": call.handler.name}


def _wait(step: SagaStep, pivot: bool) -> Extensions:
    """An `await` step: the events it waits for, how they are matched, and where its timeout leads."""
    wait = step.wait
    assert wait is not None
    out: Extensions = {"name": step.name, "await": [e.name for e in wait.events], "by": wait.by.name}
    out["pivot"] = pivot
    out["timeout"] = format_ms(step.timeout_ms)
    if wait.timeout_step or wait.timeout_outcome:
        out["onTimeout"] = {"step": wait.timeout_step} if wait.timeout_step else {"outcome": wait.timeout_outcome}
    if step.heartbeat_ms:
        out["heartbeat"] = format_ms(step.heartbeat_ms)
    if step.delay_ms:
        out["after"] = format_ms(step.delay_ms)
    if step.branches:
        out["branches"] = {b.reply.name: {"step": b.step} if b.step else {"outcome": b.outcome} for b in step.branches}
    if step.doc:
        out["description"] = step.doc
    return out


def _step(step: SagaStep, pivot: bool) -> Extensions:
    if step.wait is not None:
        return _wait(step, pivot)
    out: Extensions = {"name": step.name, **_call(step.action)}
    if step.compensation is not None:
        out["compensation"] = _call(step.compensation)
    out["readonly"] = step.readonly
    out["pivot"] = pivot
    out["timeout"] = format_ms(step.timeout_ms)
    out["attempts"] = step.policy.attempts
    if step.delay_ms:
        out["after"] = format_ms(step.delay_ms)
    if step.heartbeat_ms:
        out["heartbeat"] = format_ms(step.heartbeat_ms)
    if step.fills:
        out["fills"] = {f.field: [_source(s) for s in f.sources] for f in step.fills}
    if step.branches:
        out["branches"] = {b.reply.name: {"step": b.step} if b.step else {"outcome": b.outcome} for b in step.branches}
    if step.doc:
        out["description"] = step.doc
    return out


def _source(source: FillSource) -> str | int | float | None:
    """A fill's source as written: `trigger.F`, `STEP.F`, or the constant itself."""
    if source.origin == "constant":
        return source.value
    return f"{source.step if source.origin == 'step' else source.origin}.{source.field}"


def saga(s: Saga) -> Extensions:
    """A saga as data: trigger, ordered steps, pivot, timeout and outcome events."""
    out: Extensions = {}
    if s.doc:
        out["description"] = s.doc
    out["trigger"] = s.trigger.name
    if s.trigger_compensation is not None:
        out["trigger-compensation"] = _call(s.trigger_compensation)
    out["steps"] = [_step(step, i == s.pivot_index) for i, step in enumerate(s.steps)]
    out["pivot"] = s.steps[s.pivot_index].name
    if s.timeout_ms is not None:
        out["timeout"] = format_ms(s.timeout_ms)
    if s.on_completed is not None:
        out["on-completed"] = s.on_completed.name
    if s.on_compensated is not None:
        out["on-compensated"] = s.on_compensated.name
    if s.on_failed is not None:
        out["on-failed"] = s.on_failed.name
    if s.named_outcomes:
        out["outcomes"] = {o.kind: o.event.name for o in s.named_outcomes}
    return out
