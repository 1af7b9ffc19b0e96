"""A saga's resources: its state machine and role, the starter that runs it once per trigger
event (rule -> queue + DLQ -> function); its alarms are `observability.py`'s.

The definition is an object (`Definition`), with queue URLs and the bus name
filled in by CloudFormation through `DefinitionSubstitutions`.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from flowgen_design.codegen.aws.limits import LAMBDA_DESCRIPTION
from flowgen_design.codegen.aws.plan import (
    LOG_RETENTION_DAYS,
    QUEUE_RETENTION_SECONDS,
    RUNTIME,
    STARTER_ATTEMPTS,
    STARTER_BATCH_SIZE,
    Plan,
    StarterPlan,
    event_pattern,
)
from flowgen_design.codegen.targets.cloudformation import iam
from flowgen_design.codegen.targets.cloudformation.handlers import Stack
from flowgen_design.codegen.targets.cloudformation.observability import (
    ACTIVE_TRACING,
    deliver_logs,
    state_machine_observability,
    write_traces,
)
from flowgen_design.codegen.targets.cloudformation.states import definition
from flowgen_design.codegen.targets.cloudformation.template import Json, Template, get_att, ref
from flowgen_design.codegen.targets.cloudformation.waits import SWEEP, awaited_events
from flowgen_design.dsl.durations import seconds_ceil
from flowgen_design.dsl.model import Event, Handler, Saga
from flowgen_design.dsl.rules.timing import saga_worst_case_ms
from flowgen_design.dsl.sagapaths import endings


def saga_handlers(saga: Saga) -> list[Handler]:
    """The handlers a saga sends commands to: step actions and compensations (an `await` sends nothing)."""
    calls = [c for s in saga.steps for c in (s.action if s.wait is None else None, s.compensation) if c is not None]
    if saga.trigger_compensation is not None and any(w.step is None and w.undoing for w in endings(saga)):
        calls.append(saga.trigger_compensation)  # only when some way compensates: else the machine never sends it
    return [c.handler for c in calls]


def add_saga(t: Template, stack: Stack, saga: Saga) -> None:
    label, planned = f"saga {saga.name}", stack.plan.saga(saga)
    queues = sorted({stack.plan.handler(h).queue.logical_id for h in saga_handlers(saga)} | set(_awaiter(stack, saga)))
    statements = [iam.send_to_queues(queues), deliver_logs(), write_traces()]
    outcomes = [e.name for e in (saga.on_completed, saga.on_compensated, saga.on_failed) if e is not None]
    outcomes += [o.event.name for o in saga.named_outcomes if o.event.name not in outcomes]
    if outcomes:
        statements.append(iam.put_events(stack.bus, stack.flow.name, outcomes))
    numbers = stack.table is not None and any(e.ordered_by is not None for e in _outcome_events(saga))
    if numbers:
        statements.append(iam.allow(["dynamodb:UpdateItem"], get_att(str(stack.table), "Arn")))  # per-key order
    role = iam.role("states.amazonaws.com", "saga", statements)
    table = "${" + str(stack.table) + "}" if numbers else None
    substitutions: Json = {**{q: ref(q) for q in queues}, stack.bus: stack.bus_name}
    if numbers:
        substitutions[str(stack.table)] = ref(str(stack.table))
    t.put(planned.role, role)
    awaiter = "".join("${" + q + "}" for q in _awaiter(stack, saga)) or None
    machine: Json = {
        "Definition": definition(
            stack.flow, saga, _queue_placeholder(stack.plan), "${" + stack.bus + "}", table, awaiter
        ),
        "DefinitionSubstitutions": substitutions,
        "RoleArn": get_att(planned.role.logical_id, "Arn"),
        "StateMachineType": "STANDARD",
        **state_machine_observability(t, planned),
    }
    state_machine = t.put(planned.state_machine, machine)
    _trigger(t, stack, saga, state_machine)
    t.output(state_machine + "Arn", ref(state_machine), f"state machine of {label}")


def _awaiter(stack: Stack, saga: Saga) -> list[str]:
    """The queue a saga's waits register on: its starter's, which also receives the awaited events."""
    return [stack.plan.saga(saga).starter.queue.logical_id] if awaited_events(saga) else []


def _wait_settings(stack: Stack, saga: Saga) -> Json:
    """The starter's environment for its awaiter half (docs/semantics.md, section 11)."""
    waits: dict[str, list[Json]] = {}
    for step in saga.steps:
        if step.wait is not None:
            for index, event in enumerate(step.wait.events):
                waits.setdefault(event.name, []).append(
                    {"step": step.name, "by": step.wait.by.name, "success": index == 0}
                )
    keep = seconds_ceil(saga.timeout_ms) if saga.timeout_ms is not None else seconds_ceil(saga_worst_case_ms(saga))
    return {
        "SAGA_WAITS": json.dumps(waits, sort_keys=True, separators=(",", ":")),
        "TRIGGER_EVENT": saga.trigger.name,
        "WAIT_TABLE": ref(str(stack.table)),
        "WAIT_RETENTION_SECONDS": str(keep),
    }


def _outcome_events(saga: Saga) -> list[Event]:
    return [e for e in (saga.on_completed, saga.on_compensated, saga.on_failed) if e is not None]


def _queue_placeholder(plan: Plan) -> Callable[[Handler], str]:
    return lambda handler: "${" + plan.handler(handler).queue.logical_id + "}"


def _trigger(t: Template, stack: Stack, saga: Saga, state_machine: str) -> None:
    """Trigger -> rule -> starter queue (+DLQ) -> starter function -> StartExecution, named per event.

    EventBridge delivers at least once and a rule that starts a state machine
    itself sets no execution name, so a duplicate delivery would start a second
    saga. The starter names the execution after the trigger's message id
    (`codegen/templates/saga_starter.py.txt`): one event, one saga instance.
    """
    starter = stack.plan.saga(saga).starter
    dlq = t.put(starter.dead_letter_queue, _queue_props())
    queue_props = {
        **_queue_props(),
        "VisibilityTimeout": starter.visibility_timeout_seconds,
        "RedrivePolicy": {"deadLetterTargetArn": get_att(dlq, "Arn"), "maxReceiveCount": STARTER_ATTEMPTS},
    }
    queue = t.put(starter.queue, queue_props)
    pattern = event_pattern(stack.flow, saga.trigger.name)
    awaited = [e.name for e in awaited_events(saga) if e.name != saga.trigger.name]
    if awaited:
        pattern = {**pattern, "detail-type": [saga.trigger.name, *awaited]}
    rule = {
        "Description": f"{saga.trigger.name} starts saga {saga.name}"
        + (f"; {', '.join(awaited)} reach its waits" if awaited else ""),
        "EventBusName": stack.bus_name,
        "EventPattern": pattern,
        "State": "ENABLED",
        "Targets": [{"Arn": get_att(queue, "Arn"), "Id": "StarterQueue"}],
    }
    rule_id = t.put(starter.rule, rule)
    policy = iam.rule_may_send(queue, rule_id)
    if starter.sweep_rule is not None:
        sweep = _sweep(t, starter, queue)
        policy["PolicyDocument"]["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"] = [
            get_att(rule_id, "Arn"),
            get_att(sweep, "Arn"),
        ]
    t.put(starter.queue_policy, policy)
    _starter_function(t, stack, saga, starter, state_machine, queue)


def _sweep(t: Template, starter: StarterPlan, queue: str) -> str:
    """The schedule (on the default bus, where schedules run) that asks the awaiter to send every
    registered wait's heartbeat: a wait whose registration was lost fails at its heartbeat."""
    assert starter.sweep_rule is not None
    minutes = starter.sweep_minutes
    rule = {
        "Description": "the awaiter confirms every registered wait (SendTaskHeartbeat)",
        "ScheduleExpression": f"rate({minutes} minute{'s' if minutes != 1 else ''})",
        "State": "ENABLED",
        "Targets": [{"Arn": get_att(queue, "Arn"), "Id": "AwaiterSweep", "Input": json.dumps({"kind": SWEEP})}],
    }
    return t.put(starter.sweep_rule, rule)


def _queue_props() -> Json:
    return {"MessageRetentionPeriod": QUEUE_RETENTION_SECONDS, "SqsManagedSseEnabled": True}


def _starter_function(
    t: Template, stack: Stack, saga: Saga, starter: StarterPlan, state_machine: str, queue: str
) -> None:
    log_group = t.put(starter.log_group, {"RetentionInDays": LOG_RETENTION_DAYS})
    statements = [
        iam.write_logs(log_group),
        iam.consume_queue(queue),
        iam.start_execution(state_machine),
        write_traces(),
    ]
    variables = {
        "STATE_MACHINE_ARN": ref(state_machine),
        "SAGA_NAME": saga.name,
        "FLOW_NAME": stack.flow.name,
        "FLOW_VERSION": stack.flow.version,
    }
    if awaited_events(saga) and stack.table is not None:  # the awaiter: registrations and awaited events
        statements.append(iam.allow(["dynamodb:Scan", "dynamodb:UpdateItem"], get_att(str(stack.table), "Arn")))
        statements.append(
            iam.allow(["states:SendTaskFailure", "states:SendTaskHeartbeat", "states:SendTaskSuccess"], "*")
        )
        variables.update(_wait_settings(stack, saga))
    role = t.put(starter.role, iam.role("lambda.amazonaws.com", "starter", statements))
    function = {
        "Description": f"starts saga {saga.name} once per {saga.trigger.name} event"[: LAMBDA_DESCRIPTION.value],
        "Runtime": RUNTIME,
        "Handler": starter.entry_point,
        "Code": {"S3Bucket": ref(stack.code_bucket), "S3Key": ref(stack.code_key)},
        "Role": get_att(role, "Arn"),
        "Timeout": starter.timeout_seconds,
        "Environment": {"Variables": variables},
        "LoggingConfig": {"LogGroup": ref(log_group)},
        "TracingConfig": ACTIVE_TRACING,
    }
    function_id = t.put(starter.function, function)
    mapping = {
        "EventSourceArn": get_att(queue, "Arn"),
        "FunctionName": ref(function_id),
        "BatchSize": STARTER_BATCH_SIZE,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    }
    t.put(starter.event_source_mapping, mapping)
