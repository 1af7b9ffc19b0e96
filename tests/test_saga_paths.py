"""Branched sagas, drawn at random: `check` never crashes on them, and when it accepts one, the
generated state machine is well formed and every way `dsl.sagapaths` lists ends, in the ASL
interpreter, with that way's outcome, having undone exactly the steps that succeeded before the pivot.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowgen_design.codegen.checks import check_spec
from flowgen_design.codegen.targets.cloudformation.states import definition
from flowgen_design.codegen.targets.cloudformation.verify import definition_problems
from flowgen_design.dsl.model import Saga
from flowgen_design.dsl.sagapaths import Ending, endings
from tests.asl import Answer, run
from tests.saga_world import payload_of, trigger_input

STEPS = ("a", "b", "c", "d")
REPLIES = ("Ok", "No", "Maybe")
TARGETS = (*STEPS, "rejected", "held", "compensated", "nowhere")

HEAD = """flow paths version 1.0.0
event Placed { id: uuid  key id }
event Ok { id: uuid  key id }
event No { id: uuid  reason: string  key id }
event Maybe { id: uuid  key id }
event Undone { id: uuid  key id }
event Done { id: uuid  key id }
event Cancelled { id: uuid  key id }
event Rejected { id: uuid  key id }
event Held { id: uuid  key id }
event Stuck { id: uuid  step: string  error: string  key id }
command Work { id: uuid } -> Ok | No | Maybe
command Undo { id: uuid } -> Undone
policy safe { retry 3 backoff fixed 1s  idempotent by id }
service S {
  handles Work { use safe }
  handles Undo { use safe }
}
"""

# Mostly well-formed branches, so that many drawn sagas are accepted and run; some are refused.
targets = st.one_of(st.sampled_from(TARGETS[:-2]), st.sampled_from(TARGETS))
branches = st.lists(st.tuples(st.sampled_from(REPLIES), targets), max_size=2, unique_by=lambda b: b[0])


def _spec(per_step: list[list[tuple[str, str]]], pivot: int, local: bool) -> str:
    lines = ["saga Paths {", "  trigger Placed" + (" compensate S.Undo" if local else "")]
    for index, name in enumerate(STEPS):
        head = ("pivot " if index == pivot else "") + f"step {name}: S.Work"
        head += " compensate S.Undo" if index < pivot else ""
        body = "  ".join(f"on {reply} -> {target}" for reply, target in per_step[index])
        lines.append(f"  {head}" + (f" {{ {body} }}" if body else ""))
    reached = {target for branches in per_step for _, target in branches}
    lines += ["  on completed emit Done", "  on compensated emit Cancelled"]
    lines += [f"  on {name} emit {EVENTS[name]}" for name in ("rejected", "held") if name in reached]
    lines += ["  on failed emit Stuck { step = failure.step  error = failure.error }", "}"]
    named = [EVENTS[name] for name in ("rejected", "held") if name in reached]
    lines += [
        "external World {",
        "  publishes Placed",
        "  consumes " + ", ".join(["Done", "Cancelled", "Stuck", *named]),
        "}",
    ]
    return HEAD + "\n".join(lines) + "\n"


class _World:
    """Answers each command as `way` needs: its route's replies, its failure, success otherwise."""

    def __init__(self, saga: Saga, way: Ending) -> None:
        self.saga, self.way = saga, way
        self.sent: list[str] = []
        self.events: list[str] = []
        self.succeeded: list[str] = []  # the steps answered with success on this run

    def send(self, queue: str, body: Any, now: float) -> Answer:
        label = body["envelope"]["message_id"].split("/", 1)[1]
        self.sent.append(label)
        way, undo = self.way, label.startswith("undo ")
        name = label.removeprefix("undo ")
        failing = way.step.name if way.step is not None else ("trigger" if way.trigger is not None else None)
        if name == failing and way.undoing:
            return Answer(0, error="AttemptsExhausted", cause="{}")  # the step gives no answer, then its undo fails
        if name == failing and not undo:
            if way.reply is None:
                return Answer(0, error="AttemptsExhausted", cause="{}")
            return Answer(0, error=way.reply.name, cause=json.dumps(payload_of(way.reply)))
        routed = dict(way.route).get(name) if not undo else None
        if routed is not None and routed != "Ok":
            return Answer(0, error=routed, cause=json.dumps({"id": "x", "reason": "r"}))
        reply = "Undone" if undo else "Ok"
        if not undo:
            self.succeeded.append(name)
        return Answer(0, output={"reply": reply, "payload": {"id": "00000000-0000-4000-8000-000000000001"}})

    def put_events(self, entries: list[Any], now: float) -> None:
        self.events += [e["DetailType"] for e in entries]


EVENTS = {"completed": "Done", "compensated": "Cancelled", "rejected": "Rejected", "held": "Held", "failed": "Stuck"}


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    per_step=st.lists(branches, min_size=len(STEPS), max_size=len(STEPS)),
    pivot=st.integers(0, len(STEPS) - 1),
    local=st.booleans(),
)
def test_every_accepted_branched_saga_ends_each_way_as_its_paths_say(
    tmp_path: Path, per_step: list[list[tuple[str, str]]], pivot: int, local: bool
) -> None:
    spec = tmp_path / "paths.flow"
    spec.write_text(_spec(per_step, pivot, local))
    result = check_spec(spec)
    if result.flow is None or any(d.severity.value == "error" for d in result.diagnostics):
        return  # refused with diagnostics (checked for shape by test_properties); nothing to run
    (saga,) = result.flow.sagas
    machine = definition(result.flow, saga, lambda h: h.name, "bus")
    assert definition_problems(machine, {}) == []
    for way in [w for w in endings(saga) if w.step is not None or not w.undoing]:  # the trigger's: in the kit tests
        world = _World(saga, way)
        ex = run(machine, trigger_input(saga), world)
        assert ex.end_state == way.outcome, (way.describe(), world.sent)
        assert world.events[-1:] == [EVENTS[way.outcome]], (way.describe(), world.sent)
        undone = [label for label in world.sent if label.startswith("undo ")]
        assert undone == _expected_undo(saga, way, world.succeeded), (way.describe(), world.sent)


def _expected_undo(saga: Saga, way: Ending, succeeded: list[str]) -> list[str]:
    """What a way undoes, said from the language's rules rather than from `sagapaths`."""
    if way.undoing and way.step is not None:  # the step gives no answer, its own undo runs and fails
        return [f"undo {way.step.name}"]
    if way.step is None or way.outcome in ("completed", "failed"):
        return []
    index = saga.steps.index(way.step)
    if way.outcome != "compensated" and index > saga.pivot_index:
        return []  # a named outcome after the pivot: nothing to undo
    return _all_undo(saga, way, succeeded)


def _all_undo(saga: Saga, way: Ending, succeeded: list[str]) -> list[str]:
    ran = [s for s in saga.steps if s.name in succeeded and saga.steps.index(s) < saga.pivot_index and s.compensation]
    own = []
    if way.step is not None and way.reply is None and not way.undoing and way.step.compensation is not None:
        own = [way.step] if saga.steps.index(way.step) < saga.pivot_index else []
    undo = [f"undo {s.name}" for s in [*own, *reversed(ran)]]
    return undo + (["undo trigger"] if saga.trigger_compensation is not None else [])
