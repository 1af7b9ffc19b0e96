"""The `cloudformation` target: one deployable template per flow, `infra/<flow>/template.json`.

Plain CloudFormation JSON (no SAM transform), built as dicts. The stack has one
EventBridge bus; per handler a queue, a function and a least-privilege role
(`handlers.py`); per saga a Step Functions state machine (`sagas.py`,
`states.py`); per API endpoint a REST API method that checks the caller, validates the
body and puts its event on the bus (`api.py`); and a DynamoDB idempotency table when any handler is idempotent.
The functions' code comes from the `CodeBucket`/`CodeKey` parameters: the
deployment package of the generated Python.

Over the finished template: data safety (`safety.py`: retain policies, the rule
targets' retry policy and dead-letter queue, the event archive), the `Stage`
parameter and tags (`stage.py`), then your `infra/<flow>/deploy.toml` and
`overrides.json`, created once and merged in on every run (`customise.py`).
"""

from __future__ import annotations

from pathlib import PurePosixPath

from flowgen_design.codegen import prettyjson
from flowgen_design.codegen.aws.plan import Plan, plan_of
from flowgen_design.codegen.files import GeneratedFile
from flowgen_design.codegen.header import DO_NOT_EDIT, header_lines
from flowgen_design.codegen.options import GenerateOptions
from flowgen_design.codegen.targets import register
from flowgen_design.codegen.targets.cloudformation.api import add_api
from flowgen_design.codegen.targets.cloudformation.customise import customised, user_files
from flowgen_design.codegen.targets.cloudformation.handlers import Stack, add_handler
from flowgen_design.codegen.targets.cloudformation.observability import add_alarms
from flowgen_design.codegen.targets.cloudformation.safety import add_data_safety
from flowgen_design.codegen.targets.cloudformation.sagas import add_saga, saga_handlers
from flowgen_design.codegen.targets.cloudformation.stage import add_stage, physical_name, tag_resources
from flowgen_design.codegen.targets.cloudformation.template import Template, get_att
from flowgen_design.codegen.targets.cloudformation.verify import flow_problems
from flowgen_design.dsl.model import Flow

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
    t = build_template(flow)
    text, written = t.render_parsed()
    problems = flow_problems(flow, written)  # the template exactly as written
    if problems:
        raise RuntimeError("flowgen bug: the generated template is inconsistent:\n  " + "\n  ".join(problems))
    merged = customised(t, plan_of(flow), options.out_dir)  # your deploy.toml and overrides.json
    if merged is not None:
        text = prettyjson.dumps(merged) + "\n"
    return [GeneratedFile(template_path(flow), text), *user_files(flow)]


def build_template(flow: Flow) -> Template:
    """The template renders the flow's deployment plan: one resource per planned resource."""
    t = _skeleton(flow)
    plan = plan_of(flow)
    stack = Stack(plan, frozenset((h.service, h.name) for s in flow.sagas for h in saga_handlers(s)))
    _bus(t, plan)
    _idempotency_table(t, plan)
    for handler in plan.handlers:
        add_handler(t, stack, handler)
    for saga in flow.sagas:
        add_saga(t, stack, saga)
    if plan.routes:
        add_api(t, stack)
    add_alarms(t, plan)
    _environment_and_safety(t, plan)
    return t


def _environment_and_safety(t: Template, plan: Plan) -> None:
    """Over the finished template: data safety (`safety.py`), then the stage and tags (`stage.py`)."""
    add_data_safety(t, plan)
    add_stage(t)
    tag_resources(t, plan)


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
