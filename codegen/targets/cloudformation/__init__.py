"""The `cloudformation` target: one deployable template per flow, `infra/<flow>/template.json`.

Plain CloudFormation JSON (no SAM transform), built as dicts. The stack has one
EventBridge bus; per handler a queue, a function and a least-privilege role
(`handlers.py`); per saga a Step Functions state machine (`sagas.py`,
`states.py`); per API endpoint an HTTP API route that puts its event on the bus
(`api.py`); and a DynamoDB idempotency table when any handler is idempotent.
The functions' code comes from the `CodeBucket`/`CodeKey` parameters: the
deployment package of the generated Python.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath

from flowgen_design.codegen import names
from flowgen_design.codegen.files import GeneratedFile
from flowgen_design.codegen.header import DO_NOT_EDIT, header_lines
from flowgen_design.codegen.options import GenerateOptions
from flowgen_design.codegen.targets import register
from flowgen_design.codegen.targets.cloudformation.api import add_api
from flowgen_design.codegen.targets.cloudformation.handlers import Stack, add_handler
from flowgen_design.codegen.targets.cloudformation.sagas import add_saga, saga_handlers
from flowgen_design.codegen.targets.cloudformation.template import Template, get_att, ref, sub
from flowgen_design.codegen.targets.cloudformation.verify import flow_problems
from flowgen_design.dsl.model import Flow

BUS, TABLE = names.EVENT_BUS_LOGICAL_ID, names.IDEMPOTENCY_TABLE_LOGICAL_ID
CODE_PARAMETERS = {
    "CodeBucket": {
        "Type": "String",
        "Description": "S3 bucket of the functions' deployment package (the generated Python)",
    },
    "CodeKey": {"Type": "String", "Description": "S3 key of the functions' deployment package"},
}


def template_path(flow: Flow) -> PurePosixPath:
    return PurePosixPath("infra") / flow.name / "template.json"


@register("cloudformation", "AWS CloudFormation template: bus, queues, functions, sagas, HTTP API")
def build(flow: Flow, options: GenerateOptions) -> list[GeneratedFile]:
    template = build_template(flow)
    problems = flow_problems(flow, json.loads(template.render()))
    if problems:
        raise RuntimeError("flowgen bug: the generated template is inconsistent:\n  " + "\n  ".join(problems))
    return [GeneratedFile(template_path(flow), template.render())]


def build_template(flow: Flow) -> Template:
    t = _skeleton(flow)
    idempotent = bool(flow.handlers())  # every handler deduplicates: by message id unless `idempotent by`
    stack = Stack(
        flow=flow,
        bus=BUS,
        table=TABLE if idempotent else None,
        saga_handlers=frozenset((h.service, h.name) for s in flow.sagas for h in saga_handlers(s)),
    )
    _bus(t, flow)
    if idempotent:
        _idempotency_table(t, flow)
    for handler in flow.handlers():
        add_handler(t, stack, handler)
    for saga in flow.sagas:
        add_saga(t, stack, saga)
    endpoints = [api for service in flow.services for api in service.apis]
    if endpoints:
        add_api(t, stack, endpoints)
    return t


def _skeleton(flow: Flow) -> Template:
    lines = header_lines(flow)
    assert DO_NOT_EDIT in lines[1]
    return Template(
        description=" ".join(lines),
        metadata={
            "flowgen": {"notice": " ".join(lines), "flow": flow.name, "version": flow.version, "spec": flow.path}
        },
        parameters=dict(CODE_PARAMETERS) if flow.handlers() else {},
    )


def _bus(t: Template, flow: Flow) -> None:
    t.add(BUS, "AWS::Events::EventBus", {"Name": sub("${AWS::StackName}-" + flow.name)}, flow.span, f"flow {flow.name}")
    t.output("EventBusName", get_att(BUS, "Name"), f"event bus of flow {flow.name}")
    t.output("EventBusArn", get_att(BUS, "Arn"), f"ARN of the event bus of flow {flow.name}")


def _idempotency_table(t: Template, flow: Flow) -> None:
    """The table layout of Powertools' DynamoDB idempotency store: key `id`, TTL `expiration`."""
    props = {
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True},
    }
    t.add(TABLE, "AWS::DynamoDB::Table", props, flow.span, f"flow {flow.name} / idempotency records")
