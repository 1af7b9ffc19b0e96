"""A handler's resources: its queue (and dead-letter queue), the rule that fills it,
the function that drains it, and the function's role, log group and event source.

Event subscriptions get an EventBridge rule matching `source` = the flow and
`detail-type` = the event; command handlers get no rule, because commands are
sent to their queue by the saga's state machine (see `sagas.py`).

Ordering: an input with `ordered by` gets FIFO queues with content-based
deduplication. An EventBridge rule target takes only a *static* MessageGroupId
(its SqsParameters accept no JSON path), so every event of that rule shares
one message group named after the ordering field: delivery to the handler is
in total order, which keeps the per-key order the spec asks for at the price of
one batch at a time. Commands sent by a saga carry a per-key group instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from flowgen_design.codegen import names
from flowgen_design.codegen.names import lambda_handler
from flowgen_design.codegen.targets.cloudformation import iam
from flowgen_design.codegen.targets.cloudformation.template import Json, Scope, Template, get_att, ref
from flowgen_design.dsl.durations import seconds_ceil
from flowgen_design.dsl.model import Flow, Handler

RUNTIME = "python3.12"
RETENTION_SECONDS = 14 * 86_400
LOG_DAYS = 30  # retention of a function's logs
BATCH_SIZE = 1
"""One message per invocation: the function's timeout is one attempt's, as the spec and `check` count it."""
MAX_DESCRIPTION = 256  # of a function
# AWS's advice for a queue that feeds a function batches: six times the function timeout.
# Handler queues do not use it (see `visibility_timeout`); kept for other queues.
VISIBILITY_FACTOR = 6
VISIBILITY_MARGIN_SECONDS = 10
"""How long after an attempt's timeout its message becomes visible again when the function was
stopped mid-attempt (no backoff can be applied then). A failed attempt sets its own
visibility to the spec's backoff delay (the adapters' runtime)."""


@dataclass(frozen=True)
class Stack:
    """What every builder needs to know about the stack besides its own element."""

    flow: Flow
    bus: str
    table: str | None
    saga_handlers: frozenset[tuple[str, str]]
    code_bucket: str = "CodeBucket"
    code_key: str = "CodeKey"

    @property
    def bus_name(self) -> Json:
        """The bus's name as `GetAtt Name`: the same as `Ref`, and also what moto resolves."""
        return get_att(self.bus, "Name")


def element(handler: Handler) -> str:
    """How a handler reads in the spec, for resource metadata."""
    if handler.trigger == "event":
        return f"service {handler.service} / on {handler.input.name} -> {handler.name}"
    return f"service {handler.service} / handles {handler.input.name}"


def function_timeout(handler: Handler) -> int:
    """One attempt: the spec's timeout (a batch holds one message)."""
    return max(1, seconds_ceil(handler.policy.timeout_ms))


def visibility_timeout(handler: Handler) -> int:
    """The queue's visibility timeout: one attempt, plus a margin for the invocation to start."""
    return function_timeout(handler) + VISIBILITY_MARGIN_SECONDS


def is_fifo(handler: Handler) -> bool:
    return handler.input.ordered_by is not None


def add_handler(t: Template, stack: Stack, handler: Handler) -> None:
    here = t.scope(handler.span, element(handler))
    queue = _queues(t, here, handler)
    if handler.trigger == "event":
        _subscription(here, stack, handler, queue)
    log_group = here.add(names.log_group_logical_id(handler), "AWS::Logs::LogGroup", {"RetentionInDays": LOG_DAYS})
    policy = iam.role("lambda.amazonaws.com", "handler", _statements(stack, handler, queue, log_group))
    role = here.add(names.role_logical_id(handler), "AWS::IAM::Role", policy)
    function = here.add(
        names.function_logical_id(handler), "AWS::Lambda::Function", _function(stack, handler, role, log_group)
    )
    mapping = {
        "EventSourceArn": get_att(queue, "Arn"),
        "FunctionName": ref(function),
        "BatchSize": BATCH_SIZE,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    }
    here.add(names.event_source_mapping_logical_id(handler), "AWS::Lambda::EventSourceMapping", mapping)
    t.output(queue + "Url", ref(queue), f"queue of {element(handler)}")


def _queues(t: Template, here: Scope, handler: Handler) -> str:
    """The handler's queue, behind a dead-letter queue when the policy asks for one."""
    fifo: Json = {"FifoQueue": True} if is_fifo(handler) else {}
    props: Json = {
        "VisibilityTimeout": visibility_timeout(handler),
        "MessageRetentionPeriod": RETENTION_SECONDS,
        "SqsManagedSseEnabled": True,
        **fifo,
        **({"ContentBasedDeduplication": True} if fifo else {}),
    }
    if handler.policy.dlq:
        dlq_props = {"MessageRetentionPeriod": RETENTION_SECONDS, "SqsManagedSseEnabled": True, **fifo}
        dlq_scope = t.scope(handler.policy.dlq_span or handler.span, element(handler))
        dlq = dlq_scope.add(names.dlq_logical_id(handler), "AWS::SQS::Queue", dlq_props)
        props["RedrivePolicy"] = {
            "deadLetterTargetArn": get_att(dlq, "Arn"),
            "maxReceiveCount": handler.policy.attempts,
        }
    return here.add(names.queue_logical_id(handler), "AWS::SQS::Queue", props)


def _subscription(here: Scope, stack: Stack, handler: Handler, queue: str) -> None:
    """The rule that sends the handler's event to its queue, and the policy that lets only it."""
    target: Json = {"Arn": get_att(queue, "Arn"), "Id": "Queue"}
    if handler.input.ordered_by is not None:
        target["SqsParameters"] = {"MessageGroupId": handler.input.ordered_by.name}
    rule_props = {
        "Description": f"{handler.input.name} -> {handler.service}.{handler.name}",
        "EventBusName": stack.bus_name,
        "EventPattern": event_pattern(stack.flow, handler.input.name),
        "State": "ENABLED",
        "Targets": [target],
    }
    rule = here.add(names.rule_logical_id(handler), "AWS::Events::Rule", rule_props)
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": get_att(queue, "Arn"),
        "Condition": {"ArnEquals": {"aws:SourceArn": get_att(rule, "Arn")}},
    }
    policy = {"Queues": [ref(queue)], "PolicyDocument": {"Version": iam.VERSION, "Statement": [statement]}}
    here.add(names.queue_policy_logical_id(handler), "AWS::SQS::QueuePolicy", policy)


def event_pattern(flow: Flow, event: str) -> Json:
    """Events of this flow with this name: what handlers publish and routes put."""
    return {"source": [flow.name], "detail-type": [event]}


def _statements(stack: Stack, handler: Handler, queue: str, log_group: str) -> list[Json]:
    statements = [iam.write_logs(log_group), iam.consume_queue(queue)]
    if stack.table is not None:
        statements.append(iam.use_idempotency_table(stack.table))
    if handler.outputs:
        statements.append(iam.put_events(stack.bus, stack.flow.name, [e.name for e in handler.outputs]))
    if (handler.service, handler.name) in stack.saga_handlers:
        statements.append(iam.answer_saga_tasks())
    return statements


def _function(stack: Stack, handler: Handler, role: str, log_group: str) -> Json:
    variables: Json = {"EVENT_BUS_NAME": stack.bus_name, "FLOW_NAME": stack.flow.name}
    if stack.table is not None:
        variables["IDEMPOTENCY_TABLE"] = ref(stack.table)
    return {
        "Description": element(handler)[:MAX_DESCRIPTION],
        "Runtime": RUNTIME,
        "Handler": lambda_handler(stack.flow, handler),
        "Code": {"S3Bucket": ref(stack.code_bucket), "S3Key": ref(stack.code_key)},
        "Role": get_att(role, "Arn"),
        "Timeout": function_timeout(handler),
        "Environment": {"Variables": variables},
        "LoggingConfig": {"LogGroup": ref(log_group)},
    }
