"""The template deploys, in-process, into moto: the stack is created through the
CloudFormation API, its resources exist with the spec's settings, and an event put
on the bus reaches exactly the queues of its subscribers.

What moto cannot model is adapted in `tests.cloudformation_support.for_moto`
(the REST API's stage, models, validator, authorizer and account, and queue policies, are left
out; cfn-lint covers them, and tests/test_api_gateway.py runs what API Gateway would do with them).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from flowgen_design.codegen.aws.ids import handler_base, saga_base
from flowgen_design.codegen.aws.plan import plan_of
from flowgen_design.codegen.names import lambda_handler
from flowgen_design.codegen.targets.cloudformation.verify import all_states
from flowgen_design.dsl.model import Flow, Handler
from tests.cloudformation_support import REGION, Generated, all_specs, for_moto, generate, spec_id, upload_code

pytestmark = pytest.mark.slow  # deploys templates into moto


def handler_logical_id(h: Handler, suffix: str) -> str:
    """The naming scheme of the deployment plan, pinned: tests look resources up by it."""
    return handler_base(h.service, h.name) + suffix


STACK = "flowgen-test"
CODE = [
    {"ParameterKey": "CodeBucket", "ParameterValue": "flowgen-code"},
    {"ParameterKey": "CodeKey", "ParameterValue": "package.zip"},
]


@dataclass
class Deployed:
    generated: Generated
    deployed: dict[str, Any]
    outputs: dict[str, str]
    physical: dict[str, str]

    @property
    def flow(self) -> Flow:
        return self.generated.flow

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION)

    def queue_url(self, h: Handler) -> str:
        return self.outputs[handler_logical_id(h, "QueueUrl")]


@pytest.fixture(scope="module", params=all_specs(), ids=spec_id)
def stack(request: pytest.FixtureRequest) -> Iterator[Deployed]:
    generated = generate(request.param)
    template = for_moto(generated.template)
    with mock_aws():
        upload_code("flowgen-code", "package.zip")
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an unsupported resource left in the template is a test bug
            cloudformation.create_stack(
                StackName=STACK,
                TemplateBody=json.dumps(template),
                Parameters=[p for p in CODE if p["ParameterKey"] in template.get("Parameters", {})],
                Capabilities=["CAPABILITY_IAM"],
            )
        described = cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]
        assert described["StackStatus"] == "CREATE_COMPLETE", described.get("StackStatusReason")
        outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
        summaries = cloudformation.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
        physical = {s["LogicalResourceId"]: s["PhysicalResourceId"] for s in summaries}
        yield Deployed(generated, template, outputs, physical)


def test_every_resource_is_created(stack: Deployed) -> None:
    assert set(stack.physical) == set(stack.deployed["Resources"])
    assert set(stack.outputs) == set(stack.deployed.get("Outputs", {}))


def test_queues_exist_with_the_policy_settings(stack: Deployed) -> None:
    sqs = stack.client("sqs")
    for h in stack.flow.handlers():
        attributes = sqs.get_queue_attributes(QueueUrl=stack.queue_url(h), AttributeNames=["All"])["Attributes"]
        planned = plan_of(stack.flow).handler(h)
        assert int(attributes["VisibilityTimeout"]) == planned.visibility_timeout_seconds > planned.timeout_seconds
        assert attributes.get("FifoQueue", "false") == ("true" if planned.fifo else "false")
        redrive = json.loads(attributes.get("RedrivePolicy", "null"))
        assert (redrive is not None) == h.policy.dlq
        if redrive:
            assert int(redrive["maxReceiveCount"]) == h.policy.attempts


def test_functions_and_their_event_sources_exist(stack: Deployed) -> None:
    lambdas = stack.client("lambda")
    every_mapping = lambdas.list_event_source_mappings()["EventSourceMappings"]
    for h in stack.flow.handlers():
        config = lambdas.get_function(FunctionName=stack.physical[handler_logical_id(h, "Function")])["Configuration"]
        assert (config["Runtime"], config["Handler"], config["Timeout"]) == (
            "python3.12",
            lambda_handler(stack.flow, h),
            plan_of(stack.flow).handler(h).timeout_seconds,
        )
        assert config["Environment"]["Variables"]["EVENT_BUS_NAME"] == stack.outputs["EventBusName"]
        mappings = [m for m in every_mapping if m["FunctionArn"] == config["FunctionArn"]]
        assert [m["EventSourceArn"].split(":")[-1] for m in mappings] == [stack.queue_url(h).rsplit("/", 1)[-1]]


def test_state_machines_and_their_triggers_exist(stack: Deployed) -> None:
    sfn, events = stack.client("stepfunctions"), stack.client("events")
    for saga in stack.flow.sagas:
        arn = stack.outputs[(saga_base(saga.name) + "StateMachine") + "Arn"]
        definition = json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])
        starter_queue = stack.physical[plan_of(stack.flow).saga(saga).starter.queue.logical_id]
        # commands go to their handlers' queues; an `await` step registers with the saga's starter
        queue_urls = {stack.queue_url(h) for h in stack.flow.handlers()} | {starter_queue}
        sent_to = {
            s["Parameters"]["QueueUrl"]
            for s in all_states(definition).values()  # a parallel block's steps are in its branches
            if "QueueUrl" in s.get("Parameters", {})
        }
        assert sent_to and sent_to <= queue_urls, "placeholders were substituted with the real queue URLs"
        rule = stack.physical[(saga_base(saga.name) + "TriggerRule")]
        targets = events.list_targets_by_rule(Rule=rule, EventBusName=stack.outputs["EventBusName"])["Targets"]
        assert [t["Arn"].rsplit(":", 1)[-1] for t in targets] == [starter_queue.rsplit("/", 1)[-1]]


def test_idempotency_table_has_the_powertools_layout(stack: Deployed) -> None:
    if "IdempotencyTable" not in stack.physical:
        assert not stack.flow.handlers()
        return
    dynamodb = stack.client("dynamodb")
    table = dynamodb.describe_table(TableName=stack.physical["IdempotencyTable"])["Table"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    # moto's CloudFormation ignores TimeToLiveSpecification; test_cloudformation checks it in the template.


def _quiet_consumers(stack: Deployed) -> None:
    """Stop moto from acting on deliveries it cannot carry out, after their wiring was checked above:
    it would invoke the functions (through Docker) and cannot start Step Functions from a rule."""
    lambdas, events = stack.client("lambda"), stack.client("events")
    for mapping in lambdas.list_event_source_mappings()["EventSourceMappings"]:
        lambdas.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
    for saga in stack.flow.sagas:
        events.remove_targets(
            Rule=stack.physical[(saga_base(saga.name) + "TriggerRule")],
            EventBusName=stack.outputs["EventBusName"],
            Ids=["StarterQueue"],
        )


def _drain(stack: Deployed) -> dict[str, list[dict[str, Any]]]:
    """Messages waiting in each handler's queue, by handler, removing them."""
    sqs = stack.client("sqs")
    found: dict[str, list[dict[str, Any]]] = {}
    for h in stack.flow.handlers():
        got = sqs.receive_message(QueueUrl=stack.queue_url(h), MaxNumberOfMessages=10, AttributeNames=["All"]).get(
            "Messages", []
        )
        for message in got:
            sqs.delete_message(QueueUrl=stack.queue_url(h), ReceiptHandle=message["ReceiptHandle"])
        if got:
            found[f"{h.service}.{h.name}"] = got
    return found


def _put(stack: Deployed, source: str, event: str) -> None:
    result = stack.client("events").put_events(
        Entries=[
            {
                "Source": source,
                "DetailType": event,
                "Detail": json.dumps({"probe": event}),
                "EventBusName": stack.outputs["EventBusName"],
            }
        ]
    )
    assert result["FailedEntryCount"] == 0


def test_an_event_reaches_exactly_the_queues_of_its_subscribers(stack: Deployed) -> None:
    _quiet_consumers(stack)
    assert _drain(stack) == {}
    for event in stack.flow.events:
        _put(stack, stack.flow.name, event.name)
        delivered = _drain(stack)
        subscribers = stack.flow.subscribers(event.name)
        assert set(delivered) == {f"{h.service}.{h.name}" for h in subscribers}, event.name
        for h in subscribers:
            (message,) = delivered[f"{h.service}.{h.name}"]
            body = json.loads(message["Body"])
            assert (body["source"], body["detail-type"], body["detail"]) == (
                stack.flow.name,
                event.name,
                {"probe": event.name},
            )
            assert "MessageGroupId" not in message["Attributes"], "an event's queue is a standard one"


def test_an_event_from_another_source_reaches_no_queue(stack: Deployed) -> None:
    _quiet_consumers(stack)
    for event in stack.flow.events:
        _put(stack, "someone-else", event.name)
    assert _drain(stack) == {}
