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
from flowgen_design.codegen.simulate.moves import Move, sends_of
from flowgen_design.codegen.targets.cloudformation.states import definition
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.model import Flow, Saga
from tests import test_testkit
from tests.asl import sent_together_sorted
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
        if move.kind in ("failure-reply", "branch", "retryable-reply", "retryable-exhausted"):
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
    # a parallel block's commands go out together: moto's threads send them in either order
    assert sent_together_sorted(saga, sent, str) == sent_together_sorted(saga, predicted_sent, str)
    assert status == ("FAILED" if outcome == "failed" else "SUCCEEDED")
    assert emitted == events


# ---- a `retryable` reply the step resends ------------------------------------------------------------------

RESENT_SPECS = ("retryable-resent", "retryable-branched")
RESENT_FAULTS = {"retryable-reply", "retryable-exhausted", "failure-reply", "exhausted", "undo-failed"}


@functools.cache
def _resent_flow(name: str) -> Flow:
    flow = check_file(ROOT / "tests" / "simulate" / f"{name}.flow").flow
    assert flow is not None
    return flow


def _per_send(moves: tuple[Move, ...]) -> tuple[Move, ...]:
    """The schedule with one move per command sent: a `retryable` reply on every send left once per send."""
    return tuple(m for move in moves for m in [move] * sends_of(move))


def _resent_sample() -> list[Case]:
    """Per spec, one schedule per distinct outcome, branches and faults (kinds moto can inject) that resends a
    `retryable` reply."""
    cases: list[Case] = []
    for name in RESENT_SPECS:
        (saga,) = _resent_flow(name).sagas
        seen: set[tuple[str, tuple[str, ...]]] = set()
        for moves in explore(saga, bound=2).scenarios:
            kinds = tuple(m.kind for m in moves if m.fault or m.kind == "branch")
            resent = any(m.kind.startswith("retryable-") or sends_of(m) > 1 for m in moves)
            if not resent or not set(kinds) <= RESENT_FAULTS | {"branch"}:
                continue  # nothing resent after a `retryable` reply, or a fault moto cannot inject
            if (moves[-1].result, kinds) not in seen:
                seen.add((moves[-1].result, kinds))
                cases.append((name, saga.name, moves))
    return cases


RESENT_SAMPLE = [
    c for c in _resent_sample() if any(m.kind.startswith("retryable-") or m.kind == "branch" for m in c[2])
]


def test_the_resent_sample_resends_to_success_to_the_failure_reply_and_to_a_branch() -> None:
    found = {(name, moves[-1].result, tuple(m.kind for m in moves if m.fault)) for name, _, moves in RESENT_SAMPLE}
    assert found >= {
        ("retryable-resent", "completed", ("retryable-reply",)),
        ("retryable-resent", "completed", ("retryable-reply", "retryable-reply")),
        ("retryable-resent", "compensated", ("retryable-exhausted",)),
        ("retryable-resent", "failed", ("retryable-exhausted", "undo-failed")),
        ("retryable-branched", "rejected", ()),
        ("retryable-branched", "failed", ("retryable-exhausted",)),
    }


@pytest.mark.parametrize("case", RESENT_SAMPLE, ids=lambda c: "-".join([c[0], _id(c), c[2][-1].result]))
def test_a_resent_retryable_reply_runs_in_the_state_machine_under_moto_as_simulated(case: Case) -> None:
    """The generated machine under moto, each command answered as the schedule says (the `retryable` reply on a
    send, then what the resend gets): the commands the simulator sends (each resend), its end and outcome event."""
    name, saga_name, moves = case
    flow = _resent_flow(name)
    saga = next(s for s in flow.sagas if s.name == saga_name)
    sends = _per_send(moves)
    predicted_sent, outcome, events = _predicted(sends)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sent, status, emitted = _run_in_moto(flow, saga, sends)
    assert sent == predicted_sent
    assert status == ("FAILED" if outcome == "failed" else "SUCCEEDED")
    assert emitted == events
