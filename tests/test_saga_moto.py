"""The ASL interpreter of the saga tests agrees with moto's Step Functions on the generated machines.

moto (5.2+, `stepfunctions.execute_state_machine`) runs state machines for real,
`.waitForTaskToken` included, but in real time: so every way a saga can end
that needs no timeout (completion, each failure reply, exhausted attempts, a
compensation that fails) is run both by moto and by `tests.asl`, answering the
same commands the same way, and the two must agree on the commands sent (with
their payloads and envelopes), the events emitted and how the execution ended.
Timeouts are proven on the interpreter only (tests/test_saga_machine.py).

Adapted here, not in the product: moto's SendTaskFailure drops `cause`, so the
harness calls moto's backend with it directly.
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from moto import mock_aws

from flowgen_design.codegen.targets.cloudformation.states import definition
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.model import Flow, Saga
from flowgen_design.dsl.sagapaths import Ending, endings
from tests.asl import Answer, run, sent_together_sorted
from tests.conftest import ROOT
from tests.saga_world import payload_of, trigger_input
from tests.test_saga_machine import SAGAS

REGION, ACCOUNT = "us-east-1", "123456789012"
pytestmark = pytest.mark.slow


def _answer(saga: Saga, way: Ending, body: dict[str, Any]) -> Answer:
    """How the simulated handlers answer a command so that `way` happens."""
    trigger_undone = way.step is None and way.undoing  # the trigger's undo fails, after the first step does
    if body["step"] == "trigger":
        assert saga.trigger_compensation is not None
        if trigger_undone:
            return Answer(0, error="AttemptsExhausted", cause="{}")
        success = saga.trigger_compensation.command.replies[0]
        return Answer(0, output={"reply": success.name, "payload": payload_of(success)})
    step = next(s for s in saga.steps if s.name == body["step"])
    if trigger_undone and step is saga.steps[0]:
        return Answer(0, error="AttemptsExhausted", cause="{}")
    undo = body["envelope"]["message_id"].endswith(f"/undo {step.name}")
    call = step.compensation if undo else step.action
    assert call is not None
    if way.step is step and (way.undoing == undo or (way.undoing and not undo)):
        if way.reply is not None and not undo:
            return Answer(0, error=way.reply.name, cause=json.dumps(payload_of(way.reply)))
        return Answer(0, error="AttemptsExhausted", cause="{}")
    routed = dict(way.route).get(step.name) if not undo else None
    if routed is not None and routed != call.command.replies[0].name:  # a branch taken on the way
        reply = next(r for r in call.command.replies if r.name == routed)
        return Answer(0, error=reply.name, cause=json.dumps(payload_of(reply)))
    success = call.command.replies[0]
    return Answer(0, output={"reply": success.name, "payload": payload_of(success)})


class _Recorder:
    def __init__(self, saga: Saga, way: Ending) -> None:
        self.saga, self.way = saga, way
        self.sent: list[tuple[str, Any]] = []
        self.events: list[tuple[str, Any]] = []

    def send(self, queue: str, body: Any, now: float) -> Answer:
        self.sent.append((body["envelope"]["message_id"], body["payload"]))
        return _answer(self.saga, self.way, body)

    def put_events(self, entries: list[Any], now: float) -> None:
        self.events += [(e["DetailType"], e["Detail"]["payload"]) for e in entries]


def _interpreted(flow: Flow, saga: Saga, way: Ending) -> tuple[list[Any], list[Any], str]:
    recorder = _Recorder(saga, way)
    ex = run(definition(flow, saga, lambda h: h.name, "bus"), trigger_input(saga), recorder, name="exec-1")
    return recorder.sent, recorder.events, ex.status


def _moto(flow: Flow, saga: Saga, way: Ending) -> tuple[list[Any], list[Any], str]:
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    sqs, sfn, events = (boto3.client(s, region_name=REGION) for s in ("sqs", "stepfunctions", "events"))
    events.create_event_bus(Name="bus")
    urls = {h.name: sqs.create_queue(QueueName=h.name)["QueueUrl"] for h in flow.handlers()}
    sink = sqs.create_queue(QueueName="sink")["QueueUrl"]
    sink_arn = sqs.get_queue_attributes(QueueUrl=sink, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventBusName="bus", EventPattern=json.dumps({"source": [flow.name]}))
    events.put_targets(Rule="all", EventBusName="bus", Targets=[{"Id": "sink", "Arn": sink_arn}])
    machine = _in_real_time(definition(flow, saga, lambda h: urls[h.name], "bus"))
    role = f"arn:aws:iam::{ACCOUNT}:role/saga"
    arn = sfn.create_state_machine(name="saga", definition=json.dumps(machine), roleArn=role)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, name="exec-1", input=json.dumps(trigger_input(saga)))
    backend = stepfunctions_parser_backends[ACCOUNT][REGION]
    sent, status = [], "RUNNING"
    deadline = time.monotonic() + 60
    while status == "RUNNING" and time.monotonic() < deadline:
        for url in urls.values():
            for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                body = json.loads(message["Body"])
                sent.append((body["envelope"]["message_id"], body["payload"]))
                answer = _answer(saga, way, body)
                if answer.error is None:
                    sfn.send_task_success(taskToken=body["taskToken"], output=json.dumps(answer.output))
                else:
                    backend.send_task_failure(body["taskToken"], error=answer.error, cause=answer.cause)
        status = sfn.describe_execution(executionArn=execution["executionArn"])["status"]
        time.sleep(0.05)
    emitted = []
    for message in sqs.receive_message(QueueUrl=sink, MaxNumberOfMessages=10).get("Messages", []):
        event = json.loads(message["Body"])
        emitted.append((event["detail-type"], event["detail"]["payload"]))
    return sent, emitted, status


BRANCHED = [
    ROOT / "specs" / "examples" / name
    for name in (
        "eshop_ordering.flow",
        "ftgo_create_order.flow",
        "aws_travel_booking.flow",
        "temporal_money_transfer.flow",
        "bpmn_trip_transaction.flow",  # a parallel block: moto runs the Parallel state, its branches and join
    )
]


def _branched() -> list[tuple[Flow, Saga]]:
    flows = [check_file(spec).flow for spec in BRANCHED]
    return [(f, s) for f in flows if f is not None for s in f.sagas]


def _in_real_time(machine: Any) -> Any:
    """moto waits a Wait state for real: a grace period (`after 1m`) waits 1 s here. What is compared
    (commands, events, the end) does not depend on it; the interpreter proves the timing."""
    for state in machine["States"].values():
        if state["Type"] == "Wait" and "Seconds" in state:
            state["Seconds"] = 1
    return machine


def _cases() -> list[tuple[Flow, Saga, Ending]]:
    return [(f, s, w) for f, s in [*SAGAS, *_branched()] for w in endings(s)]


@pytest.mark.parametrize(
    "flow, saga, way", _cases(), ids=[f"{s.name}: {w.outcome} {w.describe()}" for _, s, w in _cases()]
)
def test_moto_and_the_interpreter_agree(flow: Flow, saga: Saga, way: Ending) -> None:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        by_moto = _moto(flow, saga, way)
    assert _concurrent_sorted(saga, by_moto) == _concurrent_sorted(saga, _interpreted(flow, saga, way))


def _concurrent_sorted(saga: Saga, run: tuple[list[Any], list[Any], str]) -> tuple[list[Any], list[Any], str]:
    """The commands a parallel block sends together compared in no order (`asl.sent_together_sorted`)."""
    sent, emitted, status = run
    return sent_together_sorted(saga, sent, lambda message: message[0].split("/", 1)[1]), emitted, status
