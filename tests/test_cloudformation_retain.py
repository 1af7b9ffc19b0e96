"""Environments, retain policies and your deployment files, deployed into moto.

Executed here: the `Stage` parameter names the bus and tags the resources moto creates;
deleting the stack keeps the idempotency table (with its items), every queue (with its
messages) and every log group, where the same template without the policies loses them
(the control); the settings of `deploy.toml` and the extra resources of `overrides.json`
are in the deployed stack after `generate` ran twice.

Structural only: an update that would *replace* the table. moto does not model replacement
(an update that changes the key schema leaves the old table as it was and forgets it), so
what is proven is that the template CloudFormation holds for the deployed stack carries
`UpdateReplacePolicy: Retain` on every stateful resource: the policy under which
CloudFormation keeps the old table when an update replaces it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from flowgen_design.codegen.aws.ids import handler_base
from flowgen_design.codegen.aws.plan import plan_of
from flowgen_design.codegen.targets.cloudformation.safety import RETAINED_TYPES
from tests.cloudformation_support import REGION, for_moto, generate, load_flow, upload_code
from tests.conftest import ROOT
from tests.test_deploy_settings import customise
from tests.test_deploy_settings import generate as run_generate

pytestmark = pytest.mark.slow  # deploys templates into moto

SPEC = ROOT / "specs" / "checkout.flow"
STACK = "checkout-prod"
Json = dict[str, Any]
PARAMETERS = [
    {"ParameterKey": "CodeBucket", "ParameterValue": "flowgen-code"},
    {"ParameterKey": "CodeKey", "ParameterValue": "package.zip"},
    {"ParameterKey": "Stage", "ParameterValue": "prod"},
]


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def deploy(template: Json) -> dict[str, str]:
    """Create the stack; its outputs."""
    cloudformation = client("cloudformation")
    cloudformation.create_stack(
        StackName=STACK,
        TemplateBody=json.dumps(for_moto(template)),
        Parameters=PARAMETERS,
        Capabilities=["CAPABILITY_IAM"],
    )
    described = cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]
    assert described["StackStatus"] == "CREATE_COMPLETE", described.get("StackStatusReason")
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def physical_ids() -> dict[str, str]:
    summaries = client("cloudformation").list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    return {s["LogicalResourceId"]: s["PhysicalResourceId"] for s in summaries}


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        upload_code("flowgen-code", "package.zip")
        yield


def test_the_stage_names_the_bus_and_tags_every_queue(aws: None) -> None:
    outputs = deploy(generate(SPEC).template)
    assert outputs["EventBusName"] == "checkout-prod"
    plan, ids = plan_of(load_flow(SPEC)), physical_ids()
    for planned in plan.handlers:
        service = planned.handler.service
        url = outputs[planned.queue.logical_id + "Url"]
        tags = client("sqs").list_queue_tags(QueueUrl=url)["Tags"]
        assert tags == {
            "flowgen:flow": "checkout",
            "flowgen:stage": "prod",
            "flowgen:spec-version": "1.2.0",
            "flowgen:service": service,
        }
        assert planned.function.logical_id in ids  # (moto keeps no tags of a function it creates from a stack)


def _fill(outputs: dict[str, str], ids: dict[str, str]) -> tuple[str, list[str]]:
    """An idempotency record and a message in every queue: the data a delete must not take."""
    table = ids["IdempotencyTable"]
    client("dynamodb").put_item(TableName=table, Item={"id": {"S": "order-1#charge"}, "status": {"S": "COMPLETED"}})
    queues = [url for key, url in outputs.items() if key.endswith("QueueUrl")]
    for url in queues:
        body = {"kept": True}
        extra = {"MessageGroupId": "g", "MessageDeduplicationId": "d"} if url.endswith(".fifo") else {}
        client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps(body), **extra)
    return table, queues


def test_deleting_the_stack_keeps_the_table_queues_and_logs_with_their_data(aws: None) -> None:
    outputs = deploy(generate(SPEC).template)
    ids = physical_ids()
    table, queues = _fill(outputs, ids)
    resources = generate(SPEC).template["Resources"]
    log_groups = [ids[rid] for rid, r in resources.items() if r["Type"] == "AWS::Logs::LogGroup"]
    flow = generate(SPEC).flow
    # one per handler, per saga starter and state machine, and the API's access log
    expected = len(flow.handlers()) + 2 * len(flow.sagas) + (1 if any(s.apis for s in flow.services) else 0)
    assert len(log_groups) == expected and all(_log_group_exists(name) for name in log_groups)
    client("cloudformation").delete_stack(StackName=STACK)
    item = client("dynamodb").get_item(TableName=table, Key={"id": {"S": "order-1#charge"}})
    assert item["Item"]["status"] == {"S": "COMPLETED"}
    for url in queues:
        attributes = client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "1", url
    assert all(_log_group_exists(name) for name in log_groups)


def _log_group_exists(name: str) -> bool:
    groups = client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    return any(g["logGroupName"] == name for g in groups)


def test_without_the_policies_the_same_delete_loses_them(aws: None) -> None:
    """The control: moto does delete what is not retained, so the test above proves the policies."""
    template = copy.deepcopy(generate(SPEC).template)
    for resource in template["Resources"].values():
        resource.pop("DeletionPolicy", None)
        resource.pop("UpdateReplacePolicy", None)
    outputs = deploy(template)
    table, _ = _fill(outputs, physical_ids())
    client("cloudformation").delete_stack(StackName=STACK)
    assert table not in client("dynamodb").list_tables()["TableNames"]
    assert client("sqs").list_queues().get("QueueUrls", []) == []


def test_the_deployed_template_keeps_the_table_when_an_update_replaces_it(aws: None) -> None:
    deploy(generate(SPEC).template)
    body = client("cloudformation").get_template(StackName=STACK)["TemplateBody"]
    deployed = json.loads(body) if isinstance(body, str) else body
    stateful = {rid: r for rid, r in deployed["Resources"].items() if r["Type"] in RETAINED_TYPES}
    assert "IdempotencyTable" in stateful and len(stateful) > 10
    for rid, resource in stateful.items():
        assert resource.get("UpdateReplacePolicy") == "Retain" and resource.get("DeletionPolicy") == "Retain", rid


def test_your_settings_and_extra_resources_are_in_the_deployed_stack(
    aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    out = tmp_path / "generated"
    assert run_generate(out) == 0
    customise(out)
    assert run_generate(out) == 0 and run_generate(out) == 0
    template = json.loads((out / "infra/checkout/template.json").read_text())
    outputs = deploy(template)
    ids = physical_ids()
    ledger = client("dynamodb").describe_table(TableName=outputs["PaymentsLedgerName"])["Table"]
    assert ledger["KeySchema"] == [{"AttributeName": "payment_id", "KeyType": "HASH"}]
    assert ids["PaymentsLedger"] == outputs["PaymentsLedgerName"]
    charge = client("lambda").get_function_configuration(
        FunctionName=ids[handler_base("Payments", "charge") + "Function"]
    )
    assert charge["MemorySize"] == 1024
    body = client("cloudformation").get_template(StackName=STACK)["TemplateBody"]
    deployed = json.loads(body) if isinstance(body, str) else body  # moto ignores a function's architecture
    charge_id = handler_base("Payments", "charge") + "Function"
    assert deployed["Resources"][charge_id]["Properties"]["Architectures"] == ["arm64"]
    assert charge["Environment"]["Variables"]["PAYMENTS_TABLE"] == outputs["PaymentsLedgerName"]
    assert charge["Environment"]["Variables"]["PROVIDER_URL"] == "https://pay.example.com"
    orders = plan_of(load_flow(SPEC)).handlers[0].function.logical_id
    assert client("lambda").get_function_configuration(FunctionName=ids[orders])["MemorySize"] == 256


PER_STAGE = """\
[handlers."Payments.charge"]
memory = { "Fn::If" = ["IsProd", 1024, 256] }
reserved_concurrency = { "Fn::If" = ["IsProd", 20, { Ref = "AWS::NoValue" }] }
"""
IS_PROD = {"Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}}}


@pytest.mark.parametrize(("stage", "memory"), [("prod", 1024), ("dev", 256)])
def test_a_setting_may_depend_on_the_stage(
    aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage: str, memory: int
) -> None:
    """One template, settings per environment: a CloudFormation condition on `Stage` (declared in
    overrides.json) chooses the value the deploy gets."""
    monkeypatch.chdir(ROOT)
    out = tmp_path / "generated"
    assert run_generate(out) == 0
    (out / "infra/checkout/deploy.toml").write_text(PER_STAGE)
    (out / "infra/checkout/overrides.json").write_text(json.dumps(IS_PROD))
    assert run_generate(out) == 0
    template = json.loads((out / "infra/checkout/template.json").read_text())
    from tests.test_cloudformation_ops import lint_everything

    assert lint_everything(json.dumps(template)) == []
    parameters = [p if p["ParameterKey"] != "Stage" else {**p, "ParameterValue": stage} for p in PARAMETERS]
    client("cloudformation").create_stack(
        StackName=STACK,
        TemplateBody=json.dumps(for_moto(template)),
        Parameters=parameters,
        Capabilities=["CAPABILITY_IAM"],
    )
    charge = physical_ids()[handler_base("Payments", "charge") + "Function"]
    assert client("lambda").get_function_configuration(FunctionName=charge)["MemorySize"] == memory
