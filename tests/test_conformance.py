"""Conformance: the generated test kit and the generated state machine tell the same story.

For every saga of the bundled specs, each failure scenario (a step failing by its
failure reply, by raising until its attempts are exhausted, by timing out while its
success arrives late; a duplicate command; a poison command; a duplicate trigger; no
fault at all) runs twice:

- through the generated local test kit (`<flow>.testing`), whose orchestrator is
  Python written to follow the state machine;
- through the generated state machine itself: the same kit (the same generated
  Lambda adapters, in-memory AWS, user services, faults and virtual clock), but
  with its orchestrator replaced by `MachineOrchestrator`, which runs the real
  `definition(...)` in the ASL interpreter of `tests/asl.py`. Every command the
  machine sends goes into the kit's queue for that handler, the real adapter
  answers through the fake Step Functions client, and the outcome events the
  machine puts go onto the kit's bus.

Both runs must produce the same observable trace: the commands sent (compensations
included) in order, the events put on the bus in order, the user's code that ran,
and the outcome. A difference is a bug in the kit or in the machine.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import json
from collections.abc import Callable
from typing import Any

import pytest

from flowgen_design.codegen.targets.cloudformation.states import (
    COMPENSATED,
    COMPLETED,
    FAILED,
    definition,
    outcome_state,
)
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.model import REDELIVERY_MARGIN_MS, Flow, Handler
from tests import asl, test_testkit
from tests.test_testkit import (
    FAILURE_REPLIES,
    REPLY_STEPS,
    SAGAS,
    SPECS,
    STEPS,
    Setup,
    _ids,
    _step,
)

pytestmark = pytest.mark.slow  # generates the kit and runs every saga path through kit and machine

generated, flows = test_testkit.generated, test_testkit.flows  # the kit's fixtures: the generated packages

TIMEOUT = "States.Timeout"


def _queue(handler: Handler) -> str:
    """The kit names a handler's queue `Service.handler`."""
    return f"{handler.service}.{handler.name}"


@functools.cache
def _flow(pkg: str) -> Flow:
    flow = check_file(SPECS[pkg]).flow
    assert flow is not None
    return flow


class MachineOrchestrator:
    """The kit's saga orchestrator, replaced by the generated state machine run in `tests.asl`.

    The interpreter is synchronous: when the machine sends a command, this runs the kit's
    virtual clock forward (queues, adapters, retries) until the task is answered or its
    timeout passes, and hands the answer back. Time in the interpreter is time since the
    execution started; `offset` maps it onto the kit's clock.
    """

    def __init__(self, host: Any, flow: Flow) -> None:
        self.host, self.flow = host, flow
        self.executions: set[str] = set()
        self.tasks: dict[str, dict[str, Any]] = {}
        self.offset = 0.0
        self.saga = ""
        self.instance = ""

    # ---- the starter ----

    def start(self, saga: Any, trigger_id: str, payload: dict[str, Any], envelope: dict[str, Any] | None) -> None:
        """As the generated saga starter: the execution is named after the trigger event and the saga."""
        name = hashlib.sha256((trigger_id + saga.name).encode()).hexdigest()[:80]
        if name in self.executions:
            self.host.note("duplicate-start", saga.name, saga=saga.name, instance=name, message_id=trigger_id)
            return
        self.executions.add(name)
        self.host.note("start", saga.name, saga=saga.name, instance=name, message_id=trigger_id)
        correlation = (envelope or {}).get("correlation_id") or trigger_id
        trigger_envelope = {**self.host.envelope(trigger_id, correlation, None, None), **(envelope or {})}
        model = next(s for s in self.flow.sagas if s.name == saga.name)
        machine = definition(self.flow, model, _queue, "bus")
        self.offset, self.saga, self.instance = self.host.loop.now, saga.name, name
        epoch, asl.EPOCH = asl.EPOCH, self.host.loop.datetime(self.offset)
        try:
            ex = asl.run(machine, {"trigger": {"envelope": trigger_envelope, "payload": payload}}, self, name)
        finally:
            asl.EPOCH = epoch
        self._advance(self.offset + ex.clock)
        outcome = {
            **{outcome_state(o.kind): o.kind for o in model.named_outcomes},
            COMPLETED: "completed",
            COMPENSATED: "compensated",
            FAILED: "failed",
        }.get(ex.end_state)
        if ex.status == "TIMED_OUT" or outcome is None:
            self.host.note("problem", saga.name, saga=saga.name, instance=name, result=f"{ex.status} {ex.end_state}")
            return
        self.host.note("outcome", outcome, saga=saga.name, instance=name)

    # ---- asl.World: what the machine's tasks do ----

    def send(self, queue: str, body: Any, now: float) -> asl.Answer | None:
        sent = self.offset + now
        self._advance(sent, inclusive=False)
        token, envelope = body["taskToken"], body["envelope"]
        label = envelope["message_id"].split("/", 1)[1]
        deadline = sent + float(envelope["timeout_seconds"])
        task = {"label": label, "deadline": deadline, "answer": None, "open": True}
        self.tasks[token] = task
        where = {"saga": self.saga, "instance": self.instance}
        self.host.note("command", label, handler=queue, message_id=envelope["message_id"], **where)
        self.host.send(queue, body)
        loop = self.host.loop
        while task["answer"] is None and loop._heap and loop._heap[0].time <= deadline:
            self._step()
        if task["answer"] is None:
            self._advance(deadline)
            task["open"] = False
            self.host.note("timeout", label, result=TIMEOUT, **where)
            return None
        at, result, payload, failed = task["answer"]
        if failed:
            return asl.Answer(at - self.offset, error=result, cause=_json(payload))
        return asl.Answer(at - self.offset, output={"reply": result, "payload": payload})

    def put_events(self, entries: list[Any], now: float) -> None:
        self._advance(self.offset + now, inclusive=False)
        for entry in entries:
            detail = entry["Detail"]
            self.host.emit(entry["DetailType"], detail["payload"], detail["envelope"])

    # ---- the fake Step Functions client's callbacks (the adapters answer here) ----

    def answer(self, token: str, result: str, payload: dict[str, Any], operation: str, failed: bool) -> None:
        task = self.tasks.get(token)
        if task is None:
            raise _client_error(self.host, "InvalidToken", operation)
        where = {"saga": self.saga, "instance": self.instance}
        if not task["open"] or task["answer"] is not None or self.host.loop.now > task["deadline"]:
            self.host.note("late-answer", task["label"], result=result, **where)
            raise _client_error(self.host, "TaskTimedOut", operation)
        task["answer"] = (self.host.loop.now, result, payload, failed)
        task["open"] = False
        self.host.note("answer", task["label"], result=result, payload=payload, **where)

    # ---- the kit's clock ----

    def _step(self) -> None:
        loop = self.host.loop
        timer = heapq.heappop(loop._heap)
        if not timer.cancelled:
            loop.now = timer.time
            timer.action()

    def _advance(self, until: float, *, inclusive: bool = True) -> None:
        """Run everything the kit has to do up to `until`, then stand there.

        Not `inclusive`: what else happens at `until` itself comes after the machine's own
        action then, as the kit's orchestrator acts inside the callback that answered it."""
        loop = self.host.loop
        while loop._heap and (loop._heap[0].time < until or (inclusive and loop._heap[0].time == until)):
            self._step()
        loop.now = max(loop.now, until)


def _json(payload: dict[str, Any]) -> str:
    return json.dumps(payload)


def _client_error(host: Any, code: str, operation: str) -> Exception:
    aws = __import__(type(host).__module__.rsplit(".", 1)[0] + ".testkit_aws", fromlist=["client_error"])
    return aws.client_error(code, operation)  # type: ignore[no-any-return]


# ---- the two runs --------------------------------------------------------------------------------------

Fault = Callable[[Setup], None]


def _both(pkg: str, flows: Any, fault: Fault, kit_class: Any = None) -> tuple[Any, Any]:
    """The same scenario through the kit and through the state machine."""
    kit = Setup(pkg, flows, kit_class=kit_class(flows(f"{pkg}.testing")) if kit_class else None)
    fault(kit)
    by_kit = kit.kit.publish(kit.trigger())
    machine_kit = type(
        "MachineKit", (kit.testing.TestKit,), {"orchestrator": functools.partial(MachineOrchestrator, flow=_flow(pkg))}
    )
    machine = Setup(pkg, flows, kit_class=machine_kit)
    machine.key = kit.key
    fault(machine)
    by_machine = machine.kit.publish(machine.trigger())
    return by_kit, by_machine


def _observable(run: Any, saga: str) -> dict[str, Any]:
    return {
        "commands": run.commands(saga),
        "compensations": run.compensations(saga),
        "events": run.events(),
        "calls": run.calls(),
        "outcomes": run.outcomes(saga),
        "outcome events": [
            (e.name, dict(e.payload or {}))
            for e in run.entries
            if e.kind == "publish" and not e.input and not e.handler
        ],
        "step results": run.step_results(saga),
        "instances": len(run.instances(saga)),
        "problems": run.problems(),
    }


def _same(pkg: str, saga: str, flows: Any, fault: Fault, kit_class: Any = None) -> None:
    by_kit, by_machine = _both(pkg, flows, fault, kit_class)
    kit, machine = _observable(by_kit, saga), _observable(by_machine, saga)
    assert kit == machine, f"test kit:\n{by_kit.format()}\n\nstate machine:\n{by_machine.format()}"
    assert len(kit["outcomes"]) == 1, by_kit.format()


@pytest.mark.parametrize("case", SAGAS, ids=_ids)
def test_no_fault(case: tuple[str, str], flows: Any) -> None:
    _same(*case, flows, lambda s: None)


@pytest.mark.parametrize("case", SAGAS, ids=_ids)
def test_a_duplicate_trigger(case: tuple[str, str], flows: Any) -> None:
    pkg, saga = case
    _same(pkg, saga, flows, lambda s: s.kit.deliver_twice(saga))


@pytest.mark.parametrize("case", REPLY_STEPS, ids=_ids)
def test_a_step_failing_by_reply(case: tuple[str, str, str], flows: Any) -> None:
    pkg, saga, name = case

    def fault(s: Setup) -> None:
        handler = _step(s, saga, name).action.handler
        s.kit.reply(handler, lambda c: FAILURE_REPLIES[handler](s.models, c))

    _same(pkg, saga, flows, fault)


@pytest.mark.parametrize("case", STEPS, ids=_ids)
def test_a_step_raising_until_exhausted(case: tuple[str, str, str], flows: Any) -> None:
    pkg, saga, name = case
    _same(pkg, saga, flows, lambda s: s.kit.fail(_step(s, saga, name).action.handler, times=None))


@pytest.mark.parametrize("case", STEPS, ids=_ids)
def test_a_duplicate_command(case: tuple[str, str, str], flows: Any) -> None:
    pkg, saga, name = case
    _same(pkg, saga, flows, lambda s: s.kit.deliver_twice(_step(s, saga, name).action.handler))


@pytest.mark.parametrize("case", STEPS, ids=_ids)
def test_a_poison_command(case: tuple[str, str, str], flows: Any) -> None:
    pkg, saga, name = case
    _same(pkg, saga, flows, lambda s: s.kit.poison(_step(s, saga, name).action.handler))


@pytest.mark.parametrize("case", STEPS, ids=_ids)
def test_a_step_timing_out_with_a_late_success(case: tuple[str, str, str], flows: Any) -> None:
    pkg, saga, name = case

    def fault(s: Setup) -> None:
        step = _step(s, saga, name)
        s.kit.deliver_late(step.action.handler, seconds=step.action.timeout_seconds + 30)

    _same(pkg, saga, flows, fault)


def test_a_kit_that_skips_the_timed_out_steps_compensation_disagrees(flows: Any) -> None:
    """The comparison has teeth: a kit orchestrator that does not compensate a step that gave no
    answer (it may have run) no longer tells the machine's story."""

    def broken(testing: Any) -> Any:
        orchestrator = type("Broken", (testing.TestKit.orchestrator,), {"compensate_unanswered": False})
        return type("BrokenKit", (testing.TestKit,), {"orchestrator": orchestrator})

    def fault(s: Setup) -> None:
        step = _step(s, "Checkout", "charge")
        s.kit.deliver_late(step.action.handler, seconds=step.action.timeout_seconds + 30)

    with pytest.raises(AssertionError, match="undo charge"):
        _same("checkout", "Checkout", flows, fault, kit_class=broken)


@pytest.mark.parametrize("case", STEPS, ids=_ids)
def test_checks_handler_worst_case_is_what_the_runtime_takes(case: tuple[str, str, str], flows: Any) -> None:
    """FLOW501's figure (and a step's default timeout) is the adapters' schedule: every attempt of the
    step's handler hangs until its function is stopped, and its message returns after the queue's
    visibility timeout (attempt + 10 s); the last attempt ends at `handler_worst_case_ms`."""
    pkg, saga, name = case
    model = next(s for s in next(g for g in _flow(pkg).sagas if g.name == saga).steps if s.name == name)
    policy = model.action.handler.policy
    setup = Setup(pkg, flows)
    handler = _step(setup, saga, name).action.handler
    setup.kit.delay(handler, seconds=10**6, times=None)
    run = setup.kit.publish(setup.trigger())
    sent = next(e.time for e in run.entries if e.kind == "command" and e.name == name)
    killed = [e.time for e in run.entries if e.kind == "killed" and e.name == handler]
    assert len(killed) == policy.attempts * model.policy.attempts, run.format()  # per send of the step
    delays = [policy.backoff.delay_ms(k) for k in range(1, policy.attempts)] if policy.backoff else []
    worst = policy.handler_worst_case_ms() / 1000
    if all(d <= REDELIVERY_MARGIN_MS for d in delays):  # a stopped attempt is the slowest way to the next
        assert killed[policy.attempts - 1] - sent == worst, run.format()
    else:
        assert killed[policy.attempts - 1] - sent <= worst, run.format()
