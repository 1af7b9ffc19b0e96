"""The AsyncAPI document, the Lambda adapters and the CloudFormation template describe
one deployment: the queues the document names exist with the same FIFO and
dead-letter settings, and each function is given what its adapter reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flowgen_design.codegen.aws.plan import plan_of
from flowgen_design.codegen.targets.asyncapi.document import document
from flowgen_design.codegen.targets.cloudformation import build_template
from flowgen_design.codegen.targets.lambda_adapters import service_source
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.model import Flow, Handler
from tests.conftest import SKETCH, example_specs

SPECS = [*example_specs(), SKETCH, Path(__file__).resolve().parent / "lambda_adapters.flow"]


def flow_of(spec: Path) -> Flow:
    result = check_file(spec)
    assert result.ok and result.flow is not None, [d.message for d in result.diagnostics]
    return result.flow


def _dlq(flow: Flow, handler: Handler) -> str:
    dlq = plan_of(flow).handler(handler).dead_letter_queue
    assert dlq is not None
    return dlq.logical_id


def resources(flow: Flow) -> dict[str, Any]:
    template = json.loads(build_template(flow).render())
    assert isinstance(template["Resources"], dict)
    return template["Resources"]


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_asyncapi_queues_are_the_templates_queues(spec: Path) -> None:
    flow = flow_of(spec)
    found, ops = resources(flow), document(flow)["operations"]
    for handler in flow.handlers():
        queues = ops[f"{handler.service}.receive.{handler.name}"]["bindings"]["sqs"]["queues"]
        queue = found[queues[0]["name"]]
        assert (queue["Type"], queues[0]["name"]) == (
            "AWS::SQS::Queue",
            plan_of(flow).handler(handler).queue.logical_id,
        )
        assert queue["Properties"].get("FifoQueue", False) is queues[0].get("fifoQueue", False)
        redrive = queue["Properties"].get("RedrivePolicy")
        if handler.policy.dlq:
            assert redrive["maxReceiveCount"] == queues[0]["redrivePolicy"]["maxReceiveCount"]
            assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": [_dlq(flow, handler), "Arn"]}
            assert queues[1]["name"] == _dlq(flow, handler)
        else:
            assert redrive is None and len(queues) == 1


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_each_function_gets_what_its_adapter_reads(spec: Path) -> None:
    flow = flow_of(spec)
    found, ops = resources(flow), document(flow)["operations"]
    for service in flow.services:
        adapter = service_source(flow, service)
        for handler in service.handlers:
            function = found[plan_of(flow).handler(handler).function.logical_id]["Properties"]
            assert function["Handler"] == ops[f"{handler.service}.receive.{handler.name}"]["x-flowgen-handler"]
            assert f"def {handler.name}(event: dict[str, Any], context: LambdaContext)" in adapter
            variables = function["Environment"]["Variables"]
            assert "EVENT_BUS_NAME" in variables
            assert "IDEMPOTENCY_TABLE" in variables  # deduplicated by message id unless `idempotent by`
            mapping = found[plan_of(flow).handler(handler).event_source_mapping.logical_id]["Properties"]
            assert "ReportBatchItemFailures" in mapping["FunctionResponseTypes"]
            assert mapping["EventSourceArn"] == {"Fn::GetAtt": [plan_of(flow).handler(handler).queue.logical_id, "Arn"]}
