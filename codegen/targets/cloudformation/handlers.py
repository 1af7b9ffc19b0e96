"""A handler's resources: its queue (and dead-letter queue), the rule that fills it,
the function that drains it, and the function's role, log group and event source.

Event subscriptions get an EventBridge rule matching `source` = the flow and
`detail-type` = the event; command handlers get no rule, because commands are
sent to their queue by the saga's state machine (see `sagas.py`).

Ordering: a command `ordered by` a field gets FIFO queues with content-based
deduplication, and its saga sends it with the field's value as message group,
so each key keeps its order and keys do not wait for each other. An event
`ordered by` a field does not: EventBridge keeps no order, and a rule target
takes only a *static* MessageGroupId (its SqsParameters accept no JSON path),
so a FIFO queue would put every key in one group, where one failing message
stops all of them. Its queue is a standard one; the order is the publisher's
per-key `envelope.sequence`, which the adapter enforces per key, holding back a
message ahead of its turn by sending it again to this queue with a delay (the
role may send to its own queue for that). See docs/semantics.md, "Per-key order".
"""

from __future__ import annotations

from flowgen_design.codegen.aws.limits import LAMBDA_DESCRIPTION
from flowgen_design.codegen.aws.plan import (
    BATCH_SIZE,
    LOG_RETENTION_DAYS,
    QUEUE_RETENTION_SECONDS,
    RUNTIME,
    HandlerPlan,
    Plan,
    event_pattern,
    handler_element,
)
from flowgen_design.codegen.targets.cloudformation import iam
from flowgen_design.codegen.targets.cloudformation.observability import ACTIVE_TRACING, write_traces
from flowgen_design.codegen.targets.cloudformation.template import Json, Template, get_att, ref
from flowgen_design.codegen.targets.cloudformation.waits import heartbeat_handlers
from flowgen_design.dsl.frozen import frozen
from flowgen_design.dsl.model import Flow


@frozen(kw_only=False)
class Stack:
    """What every builder needs to know about the stack besides its own element."""

    plan: Plan
    saga_handlers: frozenset[tuple[str, str]]
    code_bucket: str = "CodeBucket"
    code_key: str = "CodeKey"

    @property
    def flow(self) -> Flow:
        return self.plan.flow

    @property
    def bus(self) -> str:
        return self.plan.event_bus.logical_id

    @property
    def table(self) -> str | None:
        return self.plan.idempotency_table.logical_id if self.plan.idempotency_table else None

    @property
    def bus_name(self) -> Json:
        """The bus's name as `GetAtt Name`: the same as `Ref`, and also what moto resolves."""
        return get_att(self.bus, "Name")


def add_handler(t: Template, stack: Stack, planned: HandlerPlan) -> None:
    handler = planned.handler
    queue = _queues(t, planned)
    if planned.rule is not None and planned.queue_policy is not None:
        _subscription(t, stack, planned, queue)
    log_group = t.put(planned.log_group, {"RetentionInDays": LOG_RETENTION_DAYS})
    policy = iam.role("lambda.amazonaws.com", "handler", _statements(stack, planned, queue, log_group))
    role = t.put(planned.role, policy)
    function = t.put(planned.function, _function(stack, planned, role, log_group))
    mapping = {
        "EventSourceArn": get_att(queue, "Arn"),
        "FunctionName": ref(function),
        "BatchSize": BATCH_SIZE,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    }
    t.put(planned.event_source_mapping, mapping)
    t.output(queue + "Url", ref(queue), f"queue of {handler_element(handler)}")


def _queues(t: Template, planned: HandlerPlan) -> str:
    """The handler's queue, behind a dead-letter queue when the policy asks for one."""
    fifo: Json = {"FifoQueue": True} if planned.fifo else {}
    props: Json = {
        "VisibilityTimeout": planned.visibility_timeout_seconds,
        "MessageRetentionPeriod": QUEUE_RETENTION_SECONDS,
        "SqsManagedSseEnabled": True,
        **fifo,
        **({"ContentBasedDeduplication": True} if fifo else {}),
    }
    if planned.dead_letter_queue is not None:
        dlq_props = {"MessageRetentionPeriod": QUEUE_RETENTION_SECONDS, "SqsManagedSseEnabled": True, **fifo}
        dlq = t.put(planned.dead_letter_queue, dlq_props)
        props["RedrivePolicy"] = {
            "deadLetterTargetArn": get_att(dlq, "Arn"),
            "maxReceiveCount": planned.handler.policy.attempts,
        }
    return t.put(planned.queue, props)


def _subscription(t: Template, stack: Stack, planned: HandlerPlan, queue: str) -> None:
    """The rule that sends the handler's event to its queue, and the policy that lets only it."""
    assert planned.rule is not None and planned.queue_policy is not None
    handler = planned.handler
    target: Json = {"Arn": get_att(queue, "Arn"), "Id": "Queue"}
    rule_props = {
        "Description": f"{handler.input.name} -> {handler.service}.{handler.name}",
        "EventBusName": stack.bus_name,
        "EventPattern": event_pattern(stack.flow, handler.input.name),
        "State": "ENABLED",
        "Targets": [target],
    }
    rule = t.put(planned.rule, rule_props)
    policy = iam.rule_may_send(queue, rule)
    t.put(planned.queue_policy, policy)


def _statements(stack: Stack, planned: HandlerPlan, queue: str, log_group: str) -> list[Json]:
    handler = planned.handler
    statements = [iam.write_logs(log_group), iam.consume_queue(queue), write_traces()]
    if stack.table is not None:
        statements.append(iam.use_idempotency_table(stack.table))
    if planned.gap_timeout_seconds is not None:
        statements.append(iam.allow(["sqs:SendMessage"], get_att(queue, "Arn")))  # holding back, per key
    if handler.outputs:
        statements.append(iam.put_events(stack.bus, stack.flow.name, [e.name for e in handler.outputs]))
    if (handler.service, handler.name) in stack.saga_handlers:
        statements.append(iam.answer_saga_tasks())
    if (handler.service, handler.name) in heartbeat_handlers(stack.flow):  # a step's `heartbeat` (section 11)
        statements.append(iam.allow(["states:SendTaskHeartbeat"], "*"))
    dead_letters = _final_errors_dead_letter(planned)
    if dead_letters is not None:
        statements.append(iam.send_to_queues([dead_letters]))
    return statements


def _final_errors_dead_letter(planned: HandlerPlan) -> str | None:
    """The dead-letter queue an event handler sends a message to itself when it raises an error the
    spec declares final (`raises`): SQS's redrive would only move it after every attempt."""
    handler, dlq = planned.handler, planned.dead_letter_queue
    if not handler.raises or handler.trigger != "event" or dlq is None:
        return None
    return dlq.logical_id


def _function(stack: Stack, planned: HandlerPlan, role: str, log_group: str) -> Json:
    handler = planned.handler
    variables: Json = {"EVENT_BUS_NAME": stack.bus_name, "FLOW_NAME": stack.flow.name}
    if stack.table is not None:
        variables["IDEMPOTENCY_TABLE"] = ref(stack.table)
    dead_letters = _final_errors_dead_letter(planned)
    if dead_letters is not None:
        variables["DEAD_LETTER_QUEUE_URL"] = ref(dead_letters)
    return {
        "Description": handler_element(handler)[: LAMBDA_DESCRIPTION.value],
        "Runtime": RUNTIME,
        "Handler": planned.entry_point,
        "Code": {"S3Bucket": ref(stack.code_bucket), "S3Key": ref(stack.code_key)},
        "Role": get_att(role, "Arn"),
        "Timeout": planned.timeout_seconds,
        "Environment": {"Variables": variables},
        "LoggingConfig": {"LogGroup": ref(log_group)},
        "TracingConfig": ACTIVE_TRACING,
    }
