"""A saga's resources: its state machine and role, and the rule that starts it on the trigger.

The definition is an object (`Definition`), with queue URLs and the bus name
filled in by CloudFormation through `DefinitionSubstitutions`.
"""

from __future__ import annotations

from flowgen_design.codegen import names
from flowgen_design.codegen.targets.cloudformation import iam
from flowgen_design.codegen.targets.cloudformation.handlers import Stack, event_pattern
from flowgen_design.codegen.targets.cloudformation.states import definition
from flowgen_design.codegen.targets.cloudformation.template import Json, Template, get_att, ref
from flowgen_design.dsl.model import Handler, Saga


def saga_handlers(saga: Saga) -> list[Handler]:
    """The handlers a saga sends commands to: step actions and compensations."""
    calls = [c for s in saga.steps for c in (s.action, s.compensation) if c is not None]
    return [c.handler for c in calls]


def add_saga(t: Template, stack: Stack, saga: Saga) -> None:
    label = f"saga {saga.name}"
    queues = sorted({names.queue_logical_id(h) for h in saga_handlers(saga)})
    statements = [iam.send_to_queues(queues)]
    outcomes = [e.name for e in (saga.on_completed, saga.on_compensated) if e is not None]
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
    t.output(state_machine + "Arn", ref(state_machine), f"state machine of {label}")


def _queue_placeholder(handler: Handler) -> str:
    return "${" + names.queue_logical_id(handler) + "}"


def _trigger(t: Template, stack: Stack, saga: Saga, state_machine: str) -> None:
    label = f"saga {saga.name} / trigger {saga.trigger.name}"
    role = iam.role("events.amazonaws.com", "start", [iam.start_execution(state_machine)])
    t.add(names.saga_trigger_role_logical_id(saga), "AWS::IAM::Role", role, saga.span, label)
    target = {
        "Arn": ref(state_machine),
        "Id": "StateMachine",
        "RoleArn": get_att(names.saga_trigger_role_logical_id(saga), "Arn"),
    }
    rule = {
        "Description": f"{saga.trigger.name} starts saga {saga.name}",
        "EventBusName": stack.bus_name,
        "EventPattern": event_pattern(stack.flow, saga.trigger.name),
        "State": "ENABLED",
        "Targets": [target],
    }
    t.add(names.saga_trigger_rule_logical_id(saga), "AWS::Events::Rule", rule, saga.span, label)
