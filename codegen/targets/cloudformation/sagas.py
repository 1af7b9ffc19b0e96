"""A saga's resources: its state machine and role, the starter that runs it once per trigger
event (rule -> queue + DLQ -> function), and the alarms of its failed outcome.

The definition is an object (`Definition`), with queue URLs and the bus name
filled in by CloudFormation through `DefinitionSubstitutions`.
"""

from __future__ import annotations

from flowgen_design.codegen import names
from flowgen_design.codegen.targets.cloudformation import iam
from flowgen_design.codegen.targets.cloudformation.handlers import (
    LOG_DAYS,
    MAX_DESCRIPTION,
    RETENTION_SECONDS,
    RUNTIME,
    VISIBILITY_FACTOR,
    Stack,
    event_pattern,
)
from flowgen_design.codegen.targets.cloudformation.states import definition, needs_attention_error
from flowgen_design.codegen.targets.cloudformation.template import Json, Scope, Template, get_att, ref
from flowgen_design.codegen.targets.lambda_adapters import starter_handler
from flowgen_design.dsl.model import Handler, Saga

STARTER_TIMEOUT_S = 30  # ten StartExecution calls take well under a second
STARTER_BATCH = 10
STARTER_ATTEMPTS = 5  # deliveries of a trigger before it is dead-lettered


def saga_handlers(saga: Saga) -> list[Handler]:
    """The handlers a saga sends commands to: step actions and compensations."""
    calls = [c for s in saga.steps for c in (s.action, s.compensation) if c is not None]
    return [c.handler for c in calls]


def add_saga(t: Template, stack: Stack, saga: Saga) -> None:
    label = f"saga {saga.name}"
    queues = sorted({names.queue_logical_id(h) for h in saga_handlers(saga)})
    statements = [iam.send_to_queues(queues)]
    outcomes = [e.name for e in (saga.on_completed, saga.on_compensated, saga.on_failed) if e is not None]
    if outcomes:
        statements.append(iam.put_events(stack.bus, stack.flow.name, outcomes))
    role = iam.role("states.amazonaws.com", "saga", statements)
    here = t.scope(saga.span, label)
    here.add(names.state_machine_role_logical_id(saga), "AWS::IAM::Role", role)
    machine: Json = {
        "Definition": definition(stack.flow, saga, _queue_placeholder, "${" + stack.bus + "}"),
        "DefinitionSubstitutions": {**{q: ref(q) for q in queues}, stack.bus: stack.bus_name},
        "RoleArn": get_att(names.state_machine_role_logical_id(saga), "Arn"),
        "StateMachineType": "STANDARD",
    }
    state_machine = here.add(names.state_machine_logical_id(saga), "AWS::StepFunctions::StateMachine", machine)
    _trigger(t, stack, saga, state_machine)
    _needs_attention_alarm(t, saga, state_machine)
    t.output(state_machine + "Arn", ref(state_machine), f"state machine of {label}")


def _queue_placeholder(handler: Handler) -> str:
    return "${" + names.queue_logical_id(handler) + "}"


def _trigger(t: Template, stack: Stack, saga: Saga, state_machine: str) -> None:
    """Trigger -> rule -> starter queue (+DLQ) -> starter function -> StartExecution, named per event.

    EventBridge delivers at least once and a rule that starts a state machine
    itself sets no execution name, so a duplicate delivery would start a second
    saga. The starter names the execution after the trigger's message id
    (`codegen/templates/saga_starter.py.txt`): one event, one saga instance.
    """
    label = f"saga {saga.name} / trigger {saga.trigger.name}"
    here = t.scope(saga.span, label)
    dlq = here.add(_starter(saga, "DeadLetterQueue"), "AWS::SQS::Queue", _queue_props())
    queue_props = {
        **_queue_props(),
        "VisibilityTimeout": VISIBILITY_FACTOR * STARTER_TIMEOUT_S,
        "RedrivePolicy": {"deadLetterTargetArn": get_att(dlq, "Arn"), "maxReceiveCount": STARTER_ATTEMPTS},
    }
    queue = here.add(_starter(saga, "Queue"), "AWS::SQS::Queue", queue_props)
    rule = {
        "Description": f"{saga.trigger.name} starts saga {saga.name}",
        "EventBusName": stack.bus_name,
        "EventPattern": event_pattern(stack.flow, saga.trigger.name),
        "State": "ENABLED",
        "Targets": [{"Arn": get_att(queue, "Arn"), "Id": "StarterQueue"}],
    }
    rule_id = here.add(names.saga_trigger_rule_logical_id(saga), "AWS::Events::Rule", rule)
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": get_att(queue, "Arn"),
        "Condition": {"ArnEquals": {"aws:SourceArn": get_att(rule_id, "Arn")}},
    }
    policy = {"Queues": [ref(queue)], "PolicyDocument": {"Version": iam.VERSION, "Statement": [statement]}}
    here.add(_starter(saga, "QueuePolicy"), "AWS::SQS::QueuePolicy", policy)
    _starter_function(here, stack, saga, state_machine, queue)


def _starter(saga: Saga, suffix: str) -> str:
    return names.saga_logical_id(saga, "Starter" + suffix)


def _queue_props() -> Json:
    return {"MessageRetentionPeriod": RETENTION_SECONDS, "SqsManagedSseEnabled": True}


def _starter_function(here: Scope, stack: Stack, saga: Saga, state_machine: str, queue: str) -> None:
    log_group = here.add(_starter(saga, "LogGroup"), "AWS::Logs::LogGroup", {"RetentionInDays": LOG_DAYS})
    statements = [iam.write_logs(log_group), iam.consume_queue(queue), iam.start_execution(state_machine)]
    role = here.add(_starter(saga, "Role"), "AWS::IAM::Role", iam.role("lambda.amazonaws.com", "starter", statements))
    variables = {"STATE_MACHINE_ARN": ref(state_machine), "SAGA_NAME": saga.name, "FLOW_VERSION": stack.flow.version}
    function = {
        "Description": f"starts saga {saga.name} once per {saga.trigger.name} event"[:MAX_DESCRIPTION],
        "Runtime": RUNTIME,
        "Handler": starter_handler(stack.flow),
        "Code": {"S3Bucket": ref(stack.code_bucket), "S3Key": ref(stack.code_key)},
        "Role": get_att(role, "Arn"),
        "Timeout": STARTER_TIMEOUT_S,
        "Environment": {"Variables": variables},
        "LoggingConfig": {"LogGroup": ref(log_group)},
    }
    function_id = here.add(_starter(saga, "Function"), "AWS::Lambda::Function", function)
    mapping = {
        "EventSourceArn": get_att(queue, "Arn"),
        "FunctionName": ref(function_id),
        "BatchSize": STARTER_BATCH,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    }
    here.add(_starter(saga, "EventSourceMapping"), "AWS::Lambda::EventSourceMapping", mapping)


def _needs_attention_alarm(t: Template, saga: Saga, state_machine: str) -> None:
    """The failed outcome (and a machine that fails or times out any other way) raises this alarm."""
    here = t.scope(saga.span, f"saga {saga.name} / failed")
    for metric in ("ExecutionsFailed", "ExecutionsTimedOut"):
        alarm = {
            "AlarmDescription": f"saga {saga.name} needs a human ({needs_attention_error(saga)}): see docs/semantics.md",
            "Namespace": "AWS/States",
            "MetricName": metric,
            "Dimensions": [{"Name": "StateMachineArn", "Value": ref(state_machine)}],
            "Statistic": "Sum",
            "Period": 60,
            "EvaluationPeriods": 1,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
        }
        here.add(
            names.saga_logical_id(saga, metric.removeprefix("Executions") + "Alarm"), "AWS::CloudWatch::Alarm", alarm
        )
