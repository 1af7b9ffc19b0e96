"""Differential: simulated scenarios run through the local test kit and the generated state machine under moto
give the trace the simulator predicted.

The sample is the one `tests/test_simulate.py` replays through the generated local test kit
(`SAMPLE`: every scenario whose faults the kit can inject, one fault per handler), narrowed to what
moto can run: moto's Step Functions runs the generated machine for real but in real time, so
scenarios with a timeout are left to the interpreter (tests/test_saga_machine.py). The handlers
here answer each command as the scenario says (a failure reply, `AttemptsExhausted`, or success),
and the machine must send the commands, in order, that the simulator's schedule sends, end as it
ends (`completed` and `compensated` succeed, `failed` fails) and put the outcome event it predicts.
The same scenario in the generated local test kit (faults injected as `tests/test_simulate.py` does)
must send the same commands, end the same way and publish the same outcome event.
"""

from __future__ import annotations

import functools
import json
import time
from collections import defaultdict, deque
from typing import Any

import boto3
import pytest
from moto import mock_aws

from flowgen_design.codegen.simulate import explore
from flowgen_design.codegen.simulate.moves import Move
from flowgen_design.codegen.targets.cloudformation.states import definition
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.model import Flow, Saga
from tests import test_testkit
from tests.conftest import ROOT
from tests.saga_world import payload_of, trigger_input
from tests.test_simulate import SAMPLE, _id, _inject
from tests.test_testkit import SPECS, Setup

generated, flows = test_testkit.generated, test_testkit.flows  # the kit's fixtures: the generated packages

REGION, ACCOUNT = "us-east-1", "123456789012"
MOTO_FAULTS = {"failure-reply", "exhausted", "undo-failed", "duplicate-trigger"}
pytestmark = pytest.mark.slow

Case = tuple[str, str, tuple[Move, ...]]


def _moto_case(case: Case) -> bool:
    return all(m.kind in MOTO_FAULTS for m in case[2] if m.fault)


MOTO_SAMPLE = [c for c in SAMPLE if _moto_case(c)]


@functools.cache
def _flow(pkg: str) -> Flow:
    flow = check_file(SPECS[pkg]).flow
    assert flow is not None
    return flow


def _predicted(moves: tuple[Move, ...]) -> tuple[list[str], str, list[str]]:
    """The commands sent (by step, `undo <step>`), the outcome, the outcome event."""
    sent = [m.step for m in moves if m.step and m.kind not in ("duplicate-trigger",)]
    return sent, moves[-1].result, list(moves[-1].events)


class _Handlers:
    """Answer each command as the schedule's move for its step says, in order (a step may be resent)."""

    def __init__(self, saga: Saga, moves: tuple[Move, ...]) -> None:
        self.saga = saga
        self.plan: dict[str, deque[Move]] = defaultdict(deque)
        for move in moves:
            if move.step:
                self.plan[move.step].append(move)

    def answer(self, label: str) -> tuple[str | None, dict[str, Any] | None, str]:
        """(error, output, cause)."""
        move = self.plan[label].popleft()
        if label == "undo trigger":
            call = self.saga.trigger_compensation
        else:
            step = next(s for s in self.saga.steps if s.name == label.removeprefix("undo "))
            call = step.compensation if label.startswith("undo ") else step.action
        assert call is not None
        if move.kind in ("failure-reply", "branch"):
            reply = next(r for r in call.command.failures if r.name == move.result)
            return reply.name, None, json.dumps(payload_of(reply))
        if move.kind in ("exhausted", "undo-failed"):
            return "AttemptsExhausted", None, "{}"
        success = call.command.replies[0]
        return None, {"reply": success.name, "payload": payload_of(success)}, ""


def _run_in_moto(flow: Flow, saga: Saga, moves: tuple[Move, ...]) -> tuple[list[str], str, list[str]]:
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    sqs, sfn, events = (boto3.client(s, region_name=REGION) for s in ("sqs", "stepfunctions", "events"))
    events.create_event_bus(Name="bus")
    urls = {h.name: sqs.create_queue(QueueName=h.name)["QueueUrl"] for h in flow.handlers()}
    sink = sqs.create_queue(QueueName="sink")["QueueUrl"]
    sink_arn = sqs.get_queue_attributes(QueueUrl=sink, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventBusName="bus", EventPattern=json.dumps({"source": [flow.name]}))
    events.put_targets(Rule="all", EventBusName="bus", Targets=[{"Id": "sink", "Arn": sink_arn}])
    machine = definition(flow, saga, lambda h: urls[h.name], "bus")
    for state in machine["States"].values():  # moto waits in real time: a grace period (`after 1m`) waits 1 s
        if state["Type"] == "Wait" and "Seconds" in state:
            state["Seconds"] = 1
    role = f"arn:aws:iam::{ACCOUNT}:role/saga"
    arn = sfn.create_state_machine(name="saga", definition=json.dumps(machine), roleArn=role)["stateMachineArn"]
    started = sfn.start_execution(stateMachineArn=arn, name="exec-1", input=json.dumps(trigger_input(saga)))
    if any(m.kind == "duplicate-trigger" for m in moves):  # the starter names executions after the trigger
        with pytest.raises(sfn.exceptions.ExecutionAlreadyExists):
            sfn.start_execution(stateMachineArn=arn, name="exec-1", input=json.dumps({"other": "input"}))
    backend = stepfunctions_parser_backends[ACCOUNT][REGION]
    handlers = _Handlers(saga, moves)
    sent: list[str] = []
    status, deadline = "RUNNING", time.monotonic() + 60
    while status == "RUNNING" and time.monotonic() < deadline:
        for url in urls.values():
            for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                body = json.loads(message["Body"])
                label = body["envelope"]["message_id"].split("/", 1)[1]
                sent.append(label)
                error, output, cause = handlers.answer(label)
                if error is None:
                    sfn.send_task_success(taskToken=body["taskToken"], output=json.dumps(output))
                else:
                    backend.send_task_failure(body["taskToken"], error=error, cause=cause)
        status = sfn.describe_execution(executionArn=started["executionArn"])["status"]
        time.sleep(0.05)
    emitted = [
        json.loads(m["Body"])["detail-type"]
        for m in sqs.receive_message(QueueUrl=sink, MaxNumberOfMessages=10).get("Messages", [])
    ]
    return sent, status, emitted


def test_the_sample_covers_every_kind_moto_can_run() -> None:
    kinds = {m.kind for _, _, moves in MOTO_SAMPLE for m in moves if m.fault}
    assert kinds == MOTO_FAULTS
    assert {saga for _, saga, _ in MOTO_SAMPLE} == {"Checkout", "BookTrip"}


@pytest.mark.parametrize("case", MOTO_SAMPLE, ids=_id)
def test_a_simulated_scenario_runs_the_same_in_the_kit_and_in_the_state_machine_under_moto(
    case: Case, flows: Any
) -> None:
    """One trace, three ways: the simulator's schedule, the local test kit running the sample services through
    the generated adapters, and moto running the generated state machine."""
    pkg, saga_name, moves = case
    flow = _flow(pkg)
    saga = next(s for s in flow.sagas if s.name == saga_name)
    predicted_sent, outcome, events = _predicted(moves)
    setup = Setup(pkg, flows)
    for move in moves:
        if move.fault:
            _inject(setup, saga_name, move)
    run = setup.kit.publish(setup.trigger())
    assert (run.commands(saga_name), run.outcome(saga_name)) == (predicted_sent, outcome), run.format()
    assert [e for e in run.events() if e in events] == events, run.format()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sent, status, emitted = _run_in_moto(flow, saga, moves)
    assert sent == predicted_sent
    assert status == ("FAILED" if outcome == "failed" else "SUCCEEDED")
    assert emitted == events


# ---- branched sagas -------------------------------------------------------------------------------

BRANCHED = {
    "ordering": ROOT / "specs" / "examples" / "eshop_ordering.flow",
    "ftgo": ROOT / "specs" / "examples" / "ftgo_create_order.flow",
    "trip_transaction": ROOT / "specs" / "examples" / "bpmn_trip_transaction.flow",  # a parallel block
}


@functools.cache
def _branched_flow(pkg: str) -> Flow:
    flow = check_file(BRANCHED[pkg]).flow
    assert flow is not None
    return flow


def _branched_sample() -> list[Case]:
    """Per example, one schedule (the shortest) per distinct outcome and set of branches taken, with at
    most one fault moto can inject: every route through the branches, and the compensating failures."""
    cases: list[Case] = []
    for pkg in sorted(BRANCHED):
        (saga,) = _branched_flow(pkg).sagas
        seen: set[tuple[str, tuple[str, ...], tuple[str, ...]]] = set()
        for moves in explore(saga, bound=1).scenarios:
            faults = tuple(f"{m.kind} {m.step}" for m in moves if m.fault)
            if not _moto_case((pkg, saga.name, moves)):
                continue
            key = (moves[-1].result, tuple(m.result for m in moves if m.kind == "branch"), faults)
            if key not in seen:
                seen.add(key)
                cases.append((pkg, saga.name, moves))
    return cases


BRANCHED_SAMPLE = _branched_sample()


def test_the_branched_sample_takes_every_route_and_outcome() -> None:
    outcomes = {(pkg, moves[-1].result) for pkg, _, moves in BRANCHED_SAMPLE}
    assert {o for p, o in outcomes if p == "ordering"} == {
        "completed",
        "compensated",
        "failed",
        "cancelled",
        "rejected",
        "backordered",
    }
    assert {o for p, o in outcomes if p == "ftgo"} == {"completed", "compensated", "failed"}
    assert any(m.step == "undo trigger" for _, _, moves in BRANCHED_SAMPLE for m in moves)


def _branched_id(case: Case) -> str:
    moves = case[2]
    route = [m.result for m in moves if m.kind == "branch"]
    return "-".join([_id(case), *route, moves[-1].result])


@pytest.mark.parametrize("case", BRANCHED_SAMPLE, ids=_branched_id)
def test_a_branched_scenario_runs_in_the_state_machine_under_moto_as_simulated(case: Case) -> None:
    """The generated machine for a branched or trigger-compensated saga, under moto, with each command
    answered as the schedule says: the same commands in order, the same end, the same outcome event."""
    pkg, saga_name, moves = case
    flow = _branched_flow(pkg)
    saga = next(s for s in flow.sagas if s.name == saga_name)
    predicted_sent, outcome, events = _predicted(moves)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sent, status, emitted = _run_in_moto(flow, saga, moves)
    assert sent == predicted_sent
    assert status == ("FAILED" if outcome == "failed" else "SUCCEEDED")
    assert emitted == events
