"""Observability from the spec, run: metrics, logs and alarms of the generated system.

- The adapters' Powertools metrics: a generated adapter runs in process (moto) with a duplicate,
  a failure, an exhausted record and a compensation; the EMF blob each batch flushes is captured
  and read as CloudWatch would read it. Outside Lambda nothing is printed; in Lambda one EMF line.
- Log lines are Powertools JSON with the envelope's correlation id.
- Alarms under moto: the template is deployed with moto's CloudFormation; moto has no model of
  `AWS::CloudWatch::Alarm`, so the template's alarms are created through moto's CloudWatch API
  from their template properties (references resolved to the deployed resources). Then every
  dead-letter queue, handler queue and state machine that moto holds must have its alarm, with the
  threshold computed here from the spec's own numbers (not from the plan).
- A fault drives an alarm: a message whose every attempt fails is moved by SQS's redrive into the
  dead-letter queue. moto's SQS publishes no CloudWatch metrics and moto's CloudWatch evaluates no
  alarms, so the test publishes the queue's depth as AWS/SQS would, reads it back as statistics,
  and applies the deployed alarm's own rule (statistic, comparison, threshold) to them.
"""

from __future__ import annotations

import json
import logging
import math
import operator
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from flowgen_design.codegen.aws.ids import handler_base, saga_base
from flowgen_design.codegen.aws.plan import RULE_TARGET_ATTEMPTS, RULE_TARGET_MAX_AGE_SECONDS
from flowgen_design.dsl.model import Flow, Handler
from tests import test_lambda_adapters as adapters
from tests.cloudformation_support import REGION, Generated, all_specs, for_moto, generate, spec_id, upload_code
from tests.test_lambda_adapters import FakeContext, bus_event, failed_ids, order_id, saga_command, sqs_batch

pytestmark = pytest.mark.slow  # moto, and the generated package

# The adapter tests' fixtures: the generated `shop` package with its services, and AWS under moto.
package_dir, shop, aws = adapters.package_dir, adapters.shop, adapters.aws

Json = dict[str, Any]
CLOCK = datetime.now(UTC).replace(microsecond=0)
"""A fixed time for the adapters' clock (CloudWatch takes EMF timestamps from 14 days back to 2 h ahead)."""


# ---- metrics: one EMF blob per batch -------------------------------------------------------------------


@pytest.fixture
def blobs(shop: Any, aws: Any) -> list[Json]:
    runtime = shop("adapters.runtime")
    captured: list[Json] = []
    runtime.SETTINGS.emit_metrics = captured.append
    runtime.SETTINGS.clock = lambda: CLOCK
    return captured


def counts(blob: Json) -> dict[str, float]:
    """The metrics of an EMF blob as CloudWatch sums them (a metric's values are a list per blob)."""
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    names = [m["Name"] for m in directive["Metrics"]]
    assert all(m["Unit"] == "Count" for m in directive["Metrics"])
    return {n: float(sum(blob[n]) if isinstance(blob[n], list) else blob[n]) for n in names}


def dimensions(blob: Json) -> dict[str, str]:
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    (names,) = directive["Dimensions"]
    return {n: blob[n] for n in names}


def test_a_batch_with_a_duplicate_and_a_failure_emits_its_counts_in_the_flows_namespace(
    shop: Any, blobs: list[Json]
) -> None:
    oid = order_id()
    again = bus_event("PaymentFailed", {"order_id": oid, "reason": "declined"})
    batch = sqs_batch(
        bus_event("PaymentFailed", {"order_id": oid, "reason": "declined"}),
        again,  # `idempotent by order_id`: the same order again is a duplicate
        bus_event("PaymentFailed", {"order_id": order_id(), "reason": "boom"}),  # the service raises
    )
    assert failed_ids(shop("adapters.orders").cancel_order(batch, FakeContext())) == ["m2"]
    (blob,) = blobs
    assert blob["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "shop"
    assert blob["_aws"]["Timestamp"] == int(CLOCK.timestamp() * 1000)
    assert dimensions(blob) == {"service": "Orders", "handler": "Orders.cancel_order"}
    assert counts(blob) == {"Processed": 2, "DuplicatesSkipped": 1, "Failures": 1}
    assert shop("services.orders").CALLS == [("cancel_order", oid), ("cancel_order", batch_order(batch, 2))]


def batch_order(batch: Json, index: int) -> str:
    return str(json.loads(batch["Records"][index]["body"])["detail"]["order_id"])


def test_exhausted_records_count_as_dead_lettered_with_a_dlq_and_dropped_without(shop: Any, blobs: list[Json]) -> None:
    price = {"change_id": order_id(), "sku": "a", "price": {"amount": 0, "currency": "EUR"}}  # raises
    shop("adapters.pricing").apply_price(
        sqs_batch(bus_event("PriceChanged", price), groups=["a"], receives=3), FakeContext()
    )
    boom = bus_event("PaymentFailed", {"order_id": order_id(), "reason": "boom"})
    shop("adapters.orders").cancel_order(sqs_batch(boom, receives=3), FakeContext())
    shop("adapters.orders").cancel_order(sqs_batch("not json"), FakeContext())
    assert [(dimensions(b)["handler"], counts(b)) for b in blobs] == [
        ("Pricing.apply_price", {"Failures": 1, "DeadLettered": 1}),
        ("Orders.cancel_order", {"Failures": 1, "Dropped": 1}),
        ("Orders.cancel_order", {"InvalidMessages": 1}),
    ]


def test_a_compensation_counts_in_compensations(shop: Any, blobs: list[Json]) -> None:
    runtime = shop("adapters.runtime")
    client = boto3.client("stepfunctions", region_name=REGION)
    runtime.CLIENTS["stepfunctions"] = client
    command = saga_command("ReleaseStock", "reserve", {"order_id": order_id(), "reservation_id": order_id()})
    with Stubber(client) as stub:
        stub.add_response("send_task_success", {}, {"taskToken": "token-1", "output": ANY})
        assert failed_ids(shop("adapters.inventory").release_stock(sqs_batch(command), FakeContext())) == []
    (blob,) = blobs
    assert dimensions(blob) == {"service": "Inventory", "handler": "Inventory.release_stock"}
    assert counts(blob) == {"Processed": 1, "Compensations": 1}


def test_metrics_print_one_emf_line_in_lambda_and_nothing_elsewhere(
    shop: Any, aws: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("POWERTOOLS_METRICS_DISABLED", "POWERTOOLS_DEV", "AWS_LAMBDA_FUNCTION_NAME"):
        monkeypatch.delenv(name, raising=False)
    event = bus_event(
        "Charged", {"order_id": order_id(), "payment_id": order_id(), "amount": {"amount": 5, "currency": "EUR"}}
    )
    shop("adapters.orders").log_charge(sqs_batch(event), FakeContext())
    assert capsys.readouterr().out == "", "outside Lambda a batch prints no metrics"
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "shop-log-charge")
    event = bus_event(
        "Charged", {"order_id": order_id(), "payment_id": order_id(), "amount": {"amount": 5, "currency": "EUR"}}
    )
    shop("adapters.orders").log_charge(sqs_batch(event), FakeContext())
    (line,) = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert counts(line) == {"Processed": 1} and dimensions(line)["handler"] == "Orders.log_charge"
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")  # Powertools' own switch is honoured
    shop("adapters.orders").log_charge(sqs_batch(charged()), FakeContext())
    assert '"_aws"' not in capsys.readouterr().out


def charged() -> Json:
    return bus_event(
        "Charged", {"order_id": order_id(), "payment_id": order_id(), "amount": {"amount": 5, "currency": "EUR"}}
    )


def test_log_lines_are_json_with_the_envelopes_correlation_id(
    shop: Any, aws: Any, caplog: pytest.LogCaptureFixture
) -> None:
    command = saga_command("ReleaseStock", "reserve", {"order_id": order_id(), "reservation_id": order_id()})
    command["payload"]["reservation_id"] = "00000000-0000-4000-8000-00000000dead"  # the service raises
    shop("adapters.inventory").release_stock(sqs_batch(command), FakeContext())
    logger = shop("adapters.runtime").user_logger("shop")
    (record,) = [
        r for r in caplog.records if r.levelno == logging.ERROR and "failed (attempt 1 of 3)" in r.getMessage()
    ]
    line = json.loads(logger.registered_formatter.format(record))
    assert line["correlation_id"] == "corr-exec-1"
    assert line["handler"] == "Inventory.release_stock" and line["service"] == "shop" and line["level"] == "ERROR"


# ---- alarms, deployed ----------------------------------------------------------------------------------------

STACK = "flowgen-obs"
TOPIC = "flowgen-alarms"
STAGE = "dev"
"""The `Stage` parameter's default, which the deployed stack takes (alarm tags refer to it)."""
REDELIVERY_MARGIN_S = 10
"""docs/semantics.md: a killed attempt's message comes back 10 s after the attempt's timeout."""


@dataclass
class Deployed:
    generated: Generated
    physical: dict[str, str]
    topic: str

    @property
    def flow(self) -> Flow:
        return self.generated.flow

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION)

    def alarms(self) -> list[Json]:
        return list(self.client("cloudwatch").describe_alarms()["MetricAlarms"])


def _value(node: Any, stack: Deployed, topic_set: bool) -> Any:
    """A template value with the references an alarm uses resolved against the deployed stack."""
    if node == {"Ref": "AWS::NoValue"}:
        return node
    if isinstance(node, dict) and "Ref" in node:
        if node["Ref"] == "AlarmTopicArn":
            return stack.topic
        return STAGE if node["Ref"] == "Stage" else stack.physical[node["Ref"]]
    if isinstance(node, dict) and "Fn::GetAtt" in node:
        logical, attribute = node["Fn::GetAtt"]
        assert attribute == "QueueName"
        return stack.physical[logical].rsplit("/", 1)[1]
    if isinstance(node, dict) and "Fn::If" in node:
        condition, yes, no = node["Fn::If"]
        assert condition == "HasAlarmTopic"
        return _value(yes if topic_set else no, stack, topic_set)
    if isinstance(node, list):
        return [_value(v, stack, topic_set) for v in node]
    if isinstance(node, dict):
        return {k: _value(v, stack, topic_set) for k, v in node.items()}
    return node


def put_alarms(stack: Deployed) -> None:
    """Create the template's alarms in moto's CloudWatch, as CloudFormation would have."""
    cloudwatch = stack.client("cloudwatch")
    for logical, resource in stack.generated.template["Resources"].items():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        props = _value(resource["Properties"], stack, topic_set=True)
        if isinstance(props.get("AlarmActions"), dict):  # AWS::NoValue
            del props["AlarmActions"]
        cloudwatch.put_metric_alarm(AlarmName=logical, **props)


@pytest.fixture(scope="module", params=all_specs(), ids=spec_id)
def stack(request: pytest.FixtureRequest) -> Iterator[Deployed]:
    generated = generate(request.param)
    template = for_moto(generated.template)
    with mock_aws():
        upload_code("flowgen-code", "package.zip")
        topic = boto3.client("sns", region_name=REGION).create_topic(Name=TOPIC)["TopicArn"]
        parameters = {"CodeBucket": "flowgen-code", "CodeKey": "package.zip", "AlarmTopicArn": topic}
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            cloudformation.create_stack(
                StackName=STACK,
                TemplateBody=json.dumps(template),
                Parameters=[
                    {"ParameterKey": k, "ParameterValue": v}
                    for k, v in parameters.items()
                    if k in template.get("Parameters", {})
                ],
                Capabilities=["CAPABILITY_IAM"],
            )
        described = cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]
        assert described["StackStatus"] == "CREATE_COMPLETE", described.get("StackStatusReason")
        summaries = cloudformation.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
        deployed = Deployed(generated, {s["LogicalResourceId"]: s["PhysicalResourceId"] for s in summaries}, topic)
        put_alarms(deployed)
        yield deployed


def alarms_on(stack: Deployed, metric: str, dimension: str, value: str) -> list[Json]:
    return [
        a
        for a in stack.alarms()
        if a["MetricName"] == metric and a["Dimensions"] == [{"Name": dimension, "Value": value}]
    ]


def dead_letter_queues(stack: Deployed) -> set[str]:
    """Every queue of the deployed stack that another queue's redrive policy or a rule target's
    dead-letter config names."""
    sqs = stack.client("sqs")
    found = set()
    for url in sqs.list_queues().get("QueueUrls", []):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"]).get("Attributes", {})
        if "RedrivePolicy" in attributes:
            found.add(json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"].rsplit(":", 1)[1])
    return found | rule_target_dead_letter_queues(stack)


def rule_targets(stack: Deployed) -> list[Json]:
    """Every deployed rule's targets, as EventBridge lists them (not those of the rule EventBridge
    itself makes for an archive)."""
    events, found = stack.client("events"), []
    for bus in events.list_event_buses()["EventBuses"]:
        for rule in events.list_rules(EventBusName=bus["Name"])["Rules"]:
            if not rule["Name"].startswith("Events-Archive-"):
                found += events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus["Name"])["Targets"]
    return found


def rule_target_dead_letter_queues(stack: Deployed) -> set[str]:
    """The queues EventBridge sends what it cannot deliver to the deployed rules' targets."""
    return {t["DeadLetterConfig"]["Arn"].rsplit(":", 1)[1] for t in rule_targets(stack) if "DeadLetterConfig" in t}


def test_every_dead_letter_queue_has_an_alarm_on_any_message(stack: Deployed) -> None:
    queues = dead_letter_queues(stack)
    delivery = 1 if stack.flow.sagas or any(h.trigger == "event" for h in stack.flow.handlers()) else 0
    assert len(rule_target_dead_letter_queues(stack)) == delivery, "one event-delivery queue for every rule"
    assert len(queues) == sum(h.policy.dlq for h in stack.flow.handlers()) + len(stack.flow.sagas) + delivery
    for name in queues:
        (alarm,) = alarms_on(stack, "ApproximateNumberOfMessagesVisible", "QueueName", name)
        assert (alarm["Namespace"], alarm["Statistic"]) == ("AWS/SQS", "Maximum")
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1.0)
        assert alarm["AlarmActions"] == [stack.topic]


def test_every_state_machine_has_failed_and_timed_out_alarms(stack: Deployed) -> None:
    machines = stack.client("stepfunctions").list_state_machines()["stateMachines"]
    assert len(machines) == len(stack.flow.sagas)
    for machine in machines:
        for metric in ("ExecutionsFailed", "ExecutionsTimedOut"):
            (alarm,) = alarms_on(stack, metric, "StateMachineArn", machine["stateMachineArn"])
            assert (alarm["Namespace"], alarm["Statistic"], alarm["Threshold"]) == ("AWS/States", "Sum", 1.0)
            assert alarm["AlarmActions"] == [stack.topic]
    # moto's CloudFormation drops a state machine's logging and tracing settings (it reports level OFF),
    # so these are read from the template: structural, not executed.
    for saga in stack.flow.sagas:
        machine = stack.generated.template["Resources"][saga_base(saga.name) + "StateMachine"]["Properties"]
        assert machine["TracingConfiguration"] == {"Enabled": True}
        logging_config = machine["LoggingConfiguration"]
        assert (logging_config["Level"], logging_config["IncludeExecutionData"]) == ("ERROR", False)
        (destination,) = logging_config["Destinations"]
        log_group = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
        assert stack.generated.template["Resources"][log_group]["Properties"]["RetentionInDays"] == 30
        assert stack.physical[log_group].startswith("/aws/vendedlogs/states/"), "deployed, with its name"


def worst_case_retry_seconds(h: Handler) -> int:
    """The spec's numbers, added up here: every attempt runs to `timeout`; before each retry the
    queue waits the backoff delay (whole seconds), or the redelivery margin if that is longer."""
    policy, total = h.policy, h.policy.attempts * h.policy.timeout_ms / 1000
    for retry in range(1, policy.attempts):
        b, delay = policy.backoff, 0.0
        if b is not None and b.strategy == "fixed":
            delay = b.initial_ms / 1000
        elif b is not None:
            delay = min(b.initial_ms * 2 ** (retry - 1), b.max_ms) / 1000
        total += max(math.ceil(delay), REDELIVERY_MARGIN_S)
    return math.ceil(total)


def test_every_handler_queue_alarms_when_a_message_outlives_its_retries(stack: Deployed) -> None:
    for h in stack.flow.handlers():
        name = stack.physical[handler_base(h.service, h.name) + "Queue"].rsplit("/", 1)[1]
        (alarm,) = alarms_on(stack, "ApproximateAgeOfOldestMessage", "QueueName", name)
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["Threshold"] == worst_case_retry_seconds(h), f"{h.service}.{h.name}"


def test_every_saga_starter_queue_alarms_when_a_trigger_outlives_its_deliveries(stack: Deployed) -> None:
    """The threshold is read off the deployed queue: SQS hides a received message for the visibility
    timeout, and moves it to the dead-letter queue after `maxReceiveCount` receives."""
    sqs = stack.client("sqs")
    for saga in stack.flow.sagas:
        url = stack.physical[saga_base(saga.name) + "StarterQueue"]
        wanted = ["VisibilityTimeout", "RedrivePolicy"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=wanted)["Attributes"]
        receives = int(json.loads(attributes["RedrivePolicy"])["maxReceiveCount"])
        (alarm,) = alarms_on(stack, "ApproximateAgeOfOldestMessage", "QueueName", url.rsplit("/", 1)[1])
        assert (alarm["Statistic"], alarm["ComparisonOperator"]) == ("Maximum", "GreaterThanThreshold")
        assert alarm["Threshold"] == receives * int(attributes["VisibilityTimeout"]), saga.name
        assert alarm["AlarmActions"] == [stack.topic]


def test_an_event_eventbridge_gave_up_on_fires_the_delivery_alarm(stack: Deployed) -> None:
    """EventBridge's give-up is not something moto does: the test puts the dead letter EventBridge
    would have sent to the deployed queue, and applies the deployed alarm's rule to its depth."""
    if not (stack.flow.sagas or any(h.trigger == "event" for h in stack.flow.handlers())):
        pytest.skip("no rules")  # nothing EventBridge delivers: no event-delivery queue
    sqs, cloudwatch = stack.client("sqs"), stack.client("cloudwatch")
    queue = stack.physical["EventDeliveryDeadLetterQueue"]
    # the queue every deployed rule's target gives up to, after its retries (not a skip when the targets lost them)
    targets = rule_targets(stack)
    assert targets and rule_target_dead_letter_queues(stack) == {queue.rsplit("/", 1)[1]}
    retries = {"MaximumRetryAttempts": RULE_TARGET_ATTEMPTS, "MaximumEventAgeInSeconds": RULE_TARGET_MAX_AGE_SECONDS}
    assert all(t.get("DeadLetterConfig") and t.get("RetryPolicy") == retries for t in targets), targets
    (alarm,) = alarms_on(stack, "ApproximateNumberOfMessagesVisible", "QueueName", queue.rsplit("/", 1)[1])
    assert alarm["AlarmName"] == "EventDeliveryDeadLetterQueueAlarm"
    assert not in_alarm(alarm, observe_depth(sqs, cloudwatch, queue, datetime.now(UTC) - timedelta(minutes=5)))
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"detail-type": "undeliverable"}))
    assert in_alarm(alarm, observe_depth(sqs, cloudwatch, queue, datetime.now(UTC)))


def test_every_function_alarms_on_errors_and_throttles(stack: Deployed) -> None:
    functions = stack.client("lambda").list_functions()["Functions"]
    authorizers = 1 if any(e.auth.kind == "jwt" for s in stack.flow.services for e in s.apis) else 0
    assert len(functions) == len(stack.flow.handlers()) + len(stack.flow.sagas) + authorizers
    for function in functions:
        for metric in ("Errors", "Throttles"):
            (alarm,) = alarms_on(stack, metric, "FunctionName", function["FunctionName"])
            assert (alarm["Namespace"], alarm["Threshold"]) == ("AWS/Lambda", 1.0)
    # moto's CloudFormation drops `TracingConfig` (it reports PassThrough): read from the template.
    resources = stack.generated.template["Resources"].values()
    configs = [r["Properties"]["TracingConfig"] for r in resources if r["Type"] == "AWS::Lambda::Function"]
    assert len(configs) == len(functions) and all(c == {"Mode": "Active"} for c in configs)


def test_a_message_whose_attempts_all_fail_reaches_the_dlq_and_its_alarm_fires(stack: Deployed) -> None:
    """Executed: SQS's redrive moves the message; the alarm's rule is applied to the metric data."""
    handlers = [h for h in stack.flow.handlers() if h.policy.dlq]
    if not handlers:
        pytest.skip("no handler with a dead-letter queue")
    h = handlers[0]
    sqs, cloudwatch = stack.client("sqs"), stack.client("cloudwatch")
    base = handler_base(h.service, h.name)
    queue, dlq = stack.physical[base + "Queue"], stack.physical[base + "DeadLetterQueue"]
    (alarm,) = alarms_on(stack, "ApproximateNumberOfMessagesVisible", "QueueName", dlq.rsplit("/", 1)[1])
    # moto cannot run the function (its event source mapping would take the message and fail to
    # start a container): the test plays the mapping's part, a delivery whose attempt fails.
    stack.client("lambda").update_event_source_mapping(UUID=stack.physical[base + "EventSourceMapping"], Enabled=False)
    assert not in_alarm(alarm, observe_depth(sqs, cloudwatch, dlq, datetime.now(UTC) - timedelta(minutes=5)))
    fifo = {"MessageGroupId": "g", "MessageDeduplicationId": "d"} if queue.endswith(".fifo") else {}
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"poison": True}), **fifo)
    for _ in range(h.policy.attempts):  # every attempt fails: received, never deleted
        assert sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0).get("Messages")
    assert not sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0).get("Messages"), "moved after the last"
    assert in_alarm(alarm, observe_depth(sqs, cloudwatch, dlq, datetime.now(UTC)))


def observe_depth(sqs: Any, cloudwatch: Any, queue: str, at: datetime) -> list[Json]:
    """Publish the queue's visible messages as AWS/SQS does, then read them back as the alarm would."""
    visible = int(
        sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
            "ApproximateNumberOfMessages"
        ]
    )
    dimension = [{"Name": "QueueName", "Value": queue.rsplit("/", 1)[1]}]
    datum = {"MetricName": "ApproximateNumberOfMessagesVisible", "Dimensions": dimension, "Value": visible}
    cloudwatch.put_metric_data(Namespace="AWS/SQS", MetricData=[{**datum, "Timestamp": at}])
    statistics = cloudwatch.get_metric_statistics(
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=dimension,
        StartTime=at - timedelta(seconds=30),
        EndTime=at + timedelta(seconds=30),
        Period=60,
        Statistics=["Maximum"],
    )
    return list(statistics["Datapoints"])


def in_alarm(alarm: Json, datapoints: list[Json]) -> bool:
    """CloudWatch's rule for one evaluation period: the alarm's statistic against its threshold."""
    compare = {"GreaterThanOrEqualToThreshold": operator.ge, "GreaterThanThreshold": operator.gt}[
        alarm["ComparisonOperator"]
    ]
    assert alarm["EvaluationPeriods"] == 1 and alarm["TreatMissingData"] == "notBreaching"
    return any(compare(p[alarm["Statistic"]], alarm["Threshold"]) for p in datapoints)


def test_saga_alarm_names_follow_the_plan(stack: Deployed) -> None:
    names = {a["AlarmName"] for a in stack.alarms()}
    for saga in stack.flow.sagas:
        assert {saga_base(saga.name) + s for s in ("FailedAlarm", "TimedOutAlarm")} <= names


def test_without_a_topic_the_alarms_have_no_actions(stack: Deployed) -> None:
    for resource in stack.generated.template["Resources"].values():
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            props = _value(resource["Properties"], stack, topic_set=False)
            assert props["AlarmActions"] == {"Ref": "AWS::NoValue"} or "AlarmActions" not in props
