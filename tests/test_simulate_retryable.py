"""Sagas that resend `retryable` replies, drawn at random: `flowgen simulate` explores every one (nothing is "not
explored"), and each schedule it explores, answered command by command in the generated state machine (the ASL
interpreter of `tests/asl.py`), sends the commands the simulator sent, at the times it said, and ends as it said.

The draws vary which replies are `retryable`, each step's own `retry` (how many sends, which backoff), branches
(a `retryable` reply branched to a named outcome is resent first; to a later step it is an answer), and the
pivot. Every fault the simulator injects is answered as the machine would see it: a reply or an error at the
move's time, no answer for a timeout (the task's own `TimeoutSeconds` then fires), success for a duplicate.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowgen_design.codegen.checks import check_spec
from flowgen_design.codegen.simulate import explore
from flowgen_design.codegen.simulate.moves import Move, reply_delay_ms, sends_of
from flowgen_design.codegen.targets.cloudformation.states import definition
from flowgen_design.dsl.model import Saga
from tests.asl import Answer, run
from tests.saga_world import payload_of, trigger_input

STEPS = ("a", "b", "c")

HEAD = """flow resends version 1.0.0
event Placed { id: uuid  key id }
event Ok { id: uuid  key id }
event No { id: uuid  reason: string  key id }
event Busy { id: uuid  key id }
event Undone { id: uuid  key id }
event Done { id: uuid  key id }
event Cancelled { id: uuid  key id }
event Rejected { id: uuid  key id }
event Stuck { id: uuid  step: string  error: string  key id }
command Work { id: uuid } -> Ok | No@NO@ | Busy retryable
command Undo { id: uuid } -> Undone
service S {
  handles Work { retry @ATTEMPTS@  timeout 5s  idempotent by id }
  handles Undo { retry 2  timeout 5s  idempotent by id }
}
"""

NO_ANSWER = {"late-success", "lost-answer", "late-delivery", "no-attempt"}
SUCCESS = {"reply", "undo", "duplicate", "undo-duplicate"}
REPLY = {"failure-reply", "branch", "retryable-reply", "retryable-exhausted", "retryable-duplicate"}
ERROR = {"exhausted", "undo-failed"}

step_options = st.tuples(
    st.integers(1, 3),  # the step's own sends
    st.sampled_from(("", " backoff fixed 2s", " backoff exponential 1s..4s")),
    st.sampled_from(("", "rejected", "next")),  # where `Busy` branches to, if anywhere
)


def _spec(steps: list[tuple[int, str, str]], pivot: int, no_retryable: bool, attempts: int) -> str:
    lines = ["saga Resends {", "  trigger Placed"]
    for index, (sends, backoff, branch) in enumerate(steps):
        head = ("pivot " if index == pivot else "") + f"step {STEPS[index]}: S.Work"
        head += " compensate S.Undo" if index < pivot else ""
        body = [f"retry {sends}{backoff}"] if sends > 1 else []
        if branch == "rejected":
            body.append("on Busy -> rejected")
        elif branch == "next" and index + 1 < len(steps):
            body.append(f"on Busy -> {STEPS[index + 1]}")
        lines.append(f"  {head}" + (f" {{ {'  '.join(body)} }}" if body else ""))
    rejected = any(b == "rejected" for _, _, b in steps)
    lines += ["  on completed emit Done", "  on compensated emit Cancelled"]
    lines += ["  on rejected emit Rejected"] if rejected else []
    lines += ["  on failed emit Stuck { step = failure.step  error = failure.error }", "}"]
    consumes = ["Done", "Cancelled", "Stuck", "Busy", "No"] + (["Rejected"] if rejected else [])
    lines += ["external World {", "  publishes Placed", f"  consumes {', '.join(consumes)}", "}"]
    head = HEAD.replace("@NO@", " retryable" if no_retryable else "").replace("@ATTEMPTS@", str(attempts))
    return head + "\n".join(lines) + "\n"


class _World:
    """Answers each command as the schedule's move for its label says, one move per send, in order."""

    def __init__(self, saga: Saga, moves: tuple[Move, ...]) -> None:
        self.saga = saga
        self.plan: dict[str, list[tuple[Move, bool]]] = {}
        for move in moves:
            if move.step:
                n = sends_of(move)
                self.plan.setdefault(move.step, []).extend((move, k == n - 1) for k in range(n))
        self.sent: list[str] = []
        self.events: list[str] = []
        self.early: list[str] = []

    def send(self, queue: str, body: Any, now: float) -> Answer | None:
        label = body["envelope"]["message_id"].split("/", 1)[1]
        self.sent.append(label)
        move, last = self.plan[label].pop(0)
        if last:
            at = move.at_ms / 1000
        else:  # a send before the last of a multi-send move: its reply as late as the handler's last attempt
            step = next(s for s in self.saga.steps if s.name == label)
            delay = reply_delay_ms(step)
            assert delay is not None, "a `retryable` reply resent on every send reaches the saga on each"
            at = now + delay / 1000
        if at < now:
            self.early.append(f"{move.text}: answered at {at}s, sent at {now}s")
        if move.kind in NO_ANSWER:
            return None
        if move.kind in SUCCESS:
            reply = "Undone" if label.startswith("undo ") else "Ok"
            return Answer(at, output={"reply": reply, "payload": {"id": "00000000-0000-4000-8000-000000000001"}})
        if move.kind in ERROR:
            return Answer(at, error="AttemptsExhausted", cause="{}")
        assert move.kind in REPLY, move.kind
        event = next(e for e in self.saga.steps[0].action.command.failures if e.name == move.result)
        return Answer(at, error=event.name, cause=json.dumps(payload_of(event)))

    def put_events(self, entries: list[Any], now: float) -> None:
        self.events += [e["DetailType"] for e in entries]


def _runs_as_simulated(spec: Path) -> int:
    """Every schedule `simulate` explores of the saga in `spec` runs in the machine as simulated; how many ran."""
    result = check_spec(spec)
    if result.flow is None or any(d.severity.value == "error" for d in result.diagnostics):
        return 0  # refused with diagnostics (their shape is test_properties' business)
    (saga,) = result.flow.sagas
    report = explore(saga)
    assert report.unexplored is None
    assert report.worst_case_ms <= report.arithmetic_ms
    machine = definition(result.flow, saga, lambda h: h.name, "bus")
    for moves in report.scenarios:
        world = _World(saga, moves)
        ex = run(machine, trigger_input(saga), world)
        commands = [m.step for m in moves for _ in range(sends_of(m)) if m.step]
        said = [m.text for m in moves]
        assert world.sent == commands, said
        assert ex.end_state == moves[-1].result, said
        assert world.events[-1:] == list(moves[-1].events), said
        assert world.early == [], said
        assert ex.clock == moves[-1].at_ms / 1000, said  # every answer at the simulator's time: so is the end
    return len(report.scenarios)


@pytest.mark.slow  # 40 drawn sagas, every schedule of each through the interpreter
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    steps=st.lists(step_options, min_size=2, max_size=len(STEPS)),
    pivot=st.integers(0, len(STEPS) - 1),
    no_retryable=st.booleans(),
    attempts=st.integers(1, 3),
)
def test_every_schedule_of_a_resending_saga_runs_in_the_state_machine_as_simulated(
    tmp_path_factory: Any, steps: list[tuple[int, str, str]], pivot: int, no_retryable: bool, attempts: int
) -> None:
    spec = tmp_path_factory.mktemp("resends") / "resends.flow"
    spec.write_text(_spec(steps, min(pivot, len(steps) - 1), no_retryable, attempts))
    _runs_as_simulated(spec)


def test_a_saga_resending_before_and_at_the_pivot_runs_as_simulated(tmp_path: Path) -> None:
    """One draw, fixed: `a` resends `Busy` three times (2 s apart), the pivot `b` sends once."""
    spec = tmp_path / "resends.flow"
    spec.write_text(_spec([(3, " backoff fixed 2s", ""), (2, "", "rejected")], 1, True, 2))
    assert _runs_as_simulated(spec) > 20
