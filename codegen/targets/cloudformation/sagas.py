"""A saga's resources: its state machine and role, and the rule that starts it on the trigger.

The definition is an object (`Definition`), with queue URLs and the bus name
filled in by CloudFormation through `DefinitionSubstitutions`.
"""

from __future__ import annotations

from collections.abc import Callable

from flowgen_design.codegen.aws.plan import Plan, event_pattern
from flowgen_design.codegen.targets.cloudformation import iam
from flowgen_design.codegen.targets.cloudformation.handlers import Stack
from flowgen_design.codegen.targets.cloudformation.states import definition
from flowgen_design.codegen.targets.cloudformation.template import Json, Template, get_att, ref
from flowgen_design.dsl.model import Handler, Saga


def saga_handlers(saga: Saga) -> list[Handler]:
    """The handlers a saga sends commands to: step actions and compensations."""
    calls = [c for s in saga.steps for c in (s.action, s.compensation) if c is not None]
    return [c.handler for c in calls]


def add_saga(t: Template, stack: Stack, saga: Saga) -> None:
    label, planned = f"saga {saga.name}", stack.plan.saga(saga)
    queues = sorted({stack.plan.handler(h).queue.logical_id for h in saga_handlers(saga)})
    statements = [iam.send_to_queues(queues)]
    outcomes = [e.name for e in (saga.on_completed, saga.on_compensated) if e is not None]
    if outcomes:
        statements.append(iam.put_events(stack.bus, stack.flow.name, outcomes))
    role = iam.role("states.amazonaws.com", "saga", statements)
    t.put(planned.role, role)
    machine: Json = {
        "Definition": definition(stack.flow, saga, _queue_placeholder(stack.plan), "${" + stack.bus + "}"),
        "DefinitionSubstitutions": {**{q: ref(q) for q in queues}, stack.bus: stack.bus_name},
        "RoleArn": get_att(planned.role.logical_id, "Arn"),
        "StateMachineType": "STANDARD",
    }
    state_machine = t.put(planned.state_machine, machine)
    _trigger(t, stack, saga, state_machine)
    t.output(state_machine + "Arn", ref(state_machine), f"state machine of {label}")


def _queue_placeholder(plan: Plan) -> Callable[[Handler], str]:
    return lambda handler: "${" + plan.handler(handler).queue.logical_id + "}"


def _trigger(t: Template, stack: Stack, saga: Saga, state_machine: str) -> None:
    planned = stack.plan.saga(saga)
    role = iam.role("events.amazonaws.com", "start", [iam.start_execution(state_machine)])
    t.put(planned.trigger_role, role)
    target = {
        "Arn": ref(state_machine),
        "Id": "StateMachine",
        "RoleArn": get_att(planned.trigger_role.logical_id, "Arn"),
    }
    rule = {
        "Description": f"{saga.trigger.name} starts saga {saga.name}",
        "EventBusName": stack.bus_name,
        "EventPattern": event_pattern(stack.flow, saga.trigger.name),
        "State": "ENABLED",
        "Targets": [target],
    }
    t.put(planned.trigger_rule, rule)
