"""The `cloudformation` target: one deployable template per flow, `infra/<flow>/template.json`.

Plain CloudFormation JSON (no SAM transform), built as dicts. The stack has one
EventBridge bus; per handler a queue, a function and a least-privilege role
(`handlers.py`); per saga a Step Functions state machine (`sagas.py`,
`states.py`); per API endpoint a REST API method that checks the caller, validates the
body and puts its event on the bus (`api.py`); and a DynamoDB idempotency table when any handler is idempotent.
The functions' code comes from the `CodeBucket`/`CodeKey` parameters: the
deployment package of the generated Python.

Over the finished resources, one at a time: data safety (`safety.py`: retain policies,
the rule targets' retry policy and dead-letter queue; the event archive), the `Stage`
parameter and tags (`stage.py`), then your `infra/<flow>/deploy.toml` and
`overrides.json`, created once and merged in on every run (`customise.py`). After an
edit, only the elements it reaches are built (`parts.py`); the rest is taken back from
the last run's template.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from functools import cache, partial
from pathlib import PurePosixPath

from flowgen_design.codegen import prettyjson
from flowgen_design.codegen.aws.plan import Alarm, HandlerPlan, Plan, Resource, RoutePlan, SagaPlan, plan_of
from flowgen_design.codegen.files import GeneratedFile
from flowgen_design.codegen.header import DO_NOT_EDIT, header_lines
from flowgen_design.codegen.options import GenerateOptions
from flowgen_design.codegen.straight import straight
from flowgen_design.codegen.targets import register
from flowgen_design.codegen.targets.cloudformation.api import (
    API_ENDPOINT_OUTPUT,
    THROTTLING_PARAMETERS,
    add_api_stage,
    add_route,
)
from flowgen_design.codegen.targets.cloudformation.customise import (
    UserFiles,
    load_user_files,
    merge_user_files,
    user_files,
)
from flowgen_design.codegen.targets.cloudformation.handlers import Stack, add_handler
from flowgen_design.codegen.targets.cloudformation.observability import add_alarm_topic, put_alarm
from flowgen_design.codegen.targets.cloudformation.parts import template_in_parts
from flowgen_design.codegen.targets.cloudformation.safety import (
    add_shared_safety,
    delivery_queue,
    plan_rules,
    rules,
    secure,
)
from flowgen_design.codegen.targets.cloudformation.sagas import add_saga, saga_handlers
from flowgen_design.codegen.targets.cloudformation.stage import add_stage, owners, physical_name, tag
from flowgen_design.codegen.targets.cloudformation.template import Json, Template, get_att
from flowgen_design.codegen.targets.cloudformation.verify import flow_problems
from flowgen_design.codegen.targets.cloudformation.waits import heartbeat_handlers
from flowgen_design.dsl.frozen import frozen
from flowgen_design.dsl.model import Flow, Saga

CODE_PARAMETERS = {
    "CodeBucket": {
        "Type": "String",
        "Description": "S3 bucket of the functions' deployment package (the generated Python)",
    },
    "CodeKey": {"Type": "String", "Description": "S3 key of the functions' deployment package"},
}


def template_path(flow: Flow) -> PurePosixPath:
    return PurePosixPath("infra") / flow.name / "template.json"


@register("cloudformation", "AWS CloudFormation template: bus, queues, functions, sagas, REST API")
def build(flow: Flow, options: GenerateOptions) -> list[GeneratedFile]:
    plan = plan_of(flow)
    loaded = load_user_files(plan, options.out_dir)  # your deploy.toml and overrides.json
    parts = loaded is None and not straight()  # your files add to it: built whole, and merged
    text = _built_in_parts(flow, plan) if parts else _built_whole(flow, plan, loaded)
    return [GeneratedFile(template_path(flow), text), *user_files(flow)]


def _built_in_parts(flow: Flow, plan: Plan) -> str:
    """The template as `_built_whole` writes it, of parts taken back where an edit did not reach (`parts.py`)."""
    head = _skeleton(flow)
    add_shared(head, plan)
    dlq = delivery_queue(plan, head.resources)
    finish(head.resources, plan, {}, dlq)  # the shared resources have no owner
    owned = cache(partial(owners, plan))  # only when a group is built

    def finish_part(resources: Json) -> None:
        finish(resources, plan, owned(), dlq)

    return template_in_parts(flow, plan, str(template_path(flow)), head, groups(_stack(plan)), finish_part)


def _built_whole(flow: Flow, plan: Plan, loaded: UserFiles | None) -> str:
    """The plain road: the whole template built, written, parsed again and checked, and the user's
    files merged in (`parts.py` builds the same bytes from the parts an edit reaches)."""
    t = build_template(flow)
    text, written = t.render_parsed()
    problems = flow_problems(flow, written)  # the template exactly as written
    if rules(t.resources) != plan_rules(plan):  # the event-delivery queue's policy names the plan's
        problems.append(f"the template's rules {rules(t.resources)} are not the plan's {plan_rules(plan)}")
    if problems:
        raise RuntimeError("flowgen bug: the generated template is inconsistent:\n  " + "\n  ".join(problems))
    if loaded is not None:
        text = prettyjson.dumps(merge_user_files(t, plan, loaded)) + "\n"
    return text


def build_template(flow: Flow) -> Template:
    """The template renders the flow's deployment plan: one resource per planned resource."""
    plan = plan_of(flow)
    t = _skeleton(flow)
    add_shared(t, plan)
    for group in groups(_stack(plan)):
        group.build(t)
    finish(t.resources, plan, owners(plan), delivery_queue(plan, t.resources))
    return t


def _stack(plan: Plan) -> Stack:
    flow = plan.flow
    return Stack(plan, frozenset((h.service, h.name) for s in flow.sagas for h in saga_handlers(s)))


@frozen(kw_only=False)
class Group:
    """What one element of the flow becomes in the template, built together: a handler's resources,
    a saga's, the API's. `inputs` is everything its builder reads besides what every group reads
    (the flow's name and version, the stack's shared resources: the identity `parts` keys them under); the plan entries
    are functions of these elements and the flow's name (`codegen.aws.plan`, flowgen's own code).
    `resources`, `alarms`, `outputs` and `parameters` are what it adds, known from the plan without
    building it."""

    kind: str
    inputs: tuple[object, ...]
    resources: tuple[Resource, ...]
    alarms: tuple[Alarm, ...]
    outputs: tuple[str, ...]
    parameters: tuple[str, ...]
    build: Callable[[Template], None] = field(compare=False)
    saga: Saga | None = None


def groups(stack: Stack) -> list[Group]:
    """Every element's group, handlers first, then sagas, then the API and its routes."""
    plan = stack.plan
    beats = heartbeat_handlers(plan.flow)
    found = [_handler_group(stack, planned, beats) for planned in plan.handlers]
    found += [_saga_group(stack, planned) for planned in plan.sagas]
    if plan.api is not None and plan.routes:
        api, auth = plan.api, plan.api.authorizer
        alarms = auth.alarms if auth is not None else ()

        def build_api(t: Template) -> None:
            add_api_stage(t, stack)
            for alarm in alarms:
                put_alarm(t, alarm)

        inputs = (tuple(route.endpoint for route in plan.routes),)  # the deployment's ID digests every route
        outputs, parameters = (API_ENDPOINT_OUTPUT,), tuple(THROTTLING_PARAMETERS)
        found.append(Group("api", inputs, api.resources(), alarms, outputs, parameters, build_api))
        found += [_route_group(stack, route) for route in plan.routes]
    return found


def _route_group(stack: Stack, route: RoutePlan) -> Group:
    def build_route(t: Template) -> None:
        add_route(t, stack, route)

    inputs = (route.endpoint, route.authorizer is not None)
    return Group("route", inputs, route.resources(), (), (), (), build_route)


def _handler_group(stack: Stack, planned: HandlerPlan, beats: set[tuple[str, str]]) -> Group:
    h = planned.handler

    def build_handler(t: Template) -> None:
        add_handler(t, stack, planned)
        for alarm in planned.alarms:
            put_alarm(t, alarm)

    inputs = (h, (h.service, h.name) in stack.saga_handlers, (h.service, h.name) in beats)
    outputs = (planned.queue.logical_id + "Url",)
    return Group("handler", inputs, planned.resources(), planned.alarms, outputs, (), build_handler)


def _saga_group(stack: Stack, planned: SagaPlan) -> Group:
    saga = planned.saga

    def build_saga(t: Template) -> None:
        add_saga(t, stack, saga)
        for alarm in planned.all_alarms():
            put_alarm(t, alarm)

    queues = tuple(stack.plan.handler(h).queue.logical_id for h in saga_handlers(saga))
    outputs = (planned.state_machine.logical_id + "Arn",)
    return Group("saga", (saga, queues), planned.resources(), planned.all_alarms(), outputs, (), build_saga, saga)


def add_shared(t: Template, plan: Plan) -> None:
    """The stack's shared resources and parameters: the bus, the idempotency table, the alarm topic and
    the event-delivery alarm, data safety's dead-letter queue and archive, the `Stage` parameter."""
    _bus(t, plan)
    _idempotency_table(t, plan)
    add_alarm_topic(t, plan)
    if plan.event_delivery_alarm is not None:
        put_alarm(t, plan.event_delivery_alarm)
    add_shared_safety(t, plan)
    add_stage(t)


def finish(resources: Json, plan: Plan, owned: dict[str, dict[str, str]], dlq: str | None) -> None:
    """The passes over finished resources, one resource at a time: data safety (`safety.py`), then
    tags (`stage.py`); `owned` is `stage.owners(plan)`, `dlq` is `safety.delivery_queue`."""
    for rid, resource in resources.items():
        secure(rid, resource, plan, dlq)
        tag(resource, plan, owned.get(rid, {}))


def _skeleton(flow: Flow) -> Template:
    lines = header_lines(flow)
    assert DO_NOT_EDIT in lines[1]
    return Template(
        description=" ".join(lines),
        metadata={
            "flowgen": {"notice": " ".join(lines), "flow": flow.name, "version": flow.version, "spec": flow.path}
        },
        parameters=dict(CODE_PARAMETERS) if flow.handlers() or flow.sagas else {},  # the functions, starters too
    )


def _bus(t: Template, plan: Plan) -> None:
    flow = plan.flow
    bus = t.put(plan.event_bus, {"Name": physical_name(flow)})
    t.output("EventBusName", get_att(bus, "Name"), f"event bus of flow {flow.name}")
    t.output("EventBusArn", get_att(bus, "Arn"), f"ARN of the event bus of flow {flow.name}")


def _idempotency_table(t: Template, plan: Plan) -> None:
    """The table layout of Powertools' DynamoDB idempotency store: key `id`, TTL `expiration`."""
    if plan.idempotency_table is None:
        return
    props = {
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True},
    }
    t.put(plan.idempotency_table, props)
