"""A saga's parallel block in the state machine (docs/semantics.md, section 12).

A Parallel state `parallel <block>` runs one branch per step of the block. Each
branch runs its step's own states (grace period, task, resends) and ends with a
report of how the step ended, because Step Functions stops the other branches of
a Parallel state when one fails: a step stopped mid-way would be one whose effect
nobody knows. The join (`join <block>`, a Choice) keeps the replies and goes on,
or records the first failure and undoes, in reverse, exactly the steps of the
block that succeeded or gave no answer (each compensation asks `did <step> run`),
then the steps before it; after the pivot it ends `failed` at once.
"""

from __future__ import annotations

from flowgen_design.codegen.targets.cloudformation.states import (
    _Builder,
    caught_state,
    own_entry_state,
    parallel_state,
    state_name,
    step_state,
)
from flowgen_design.codegen.targets.cloudformation.template import Json
from flowgen_design.dsl.durations import seconds_ceil
from flowgen_design.dsl.model import ParallelBlock, SagaStep
from flowgen_design.dsl.sagapaths import Ending


def build_block(parent: _Builder, block: ParallelBlock, ways: tuple[Ending, ...], done: Ending | None) -> None:
    """Add the Parallel state of `block`, its join and what follows the join, to `parent`'s states."""
    _ParallelBuilder(parent, block, ways, done).build()


SUCCEEDED, ANSWERED_NO, NO_ANSWER = "succeeded", "failed", "unknown"
"""How a step of a block ended, as its branch reports it: success (its reply kept), a failure reply
(it did nothing: not undone), or no answer (it may have run: undone)."""


def block_path(block: str, step: SagaStep) -> str:
    """Where the join keeps what `step`'s branch reported: `{"status", "reply"}` or `{"status", "failure"}`."""
    return f"$.parallel.{block}.{step.name}"


def ran_in_block(step: SagaStep, undo: str, skip: str) -> Json:
    """Before undoing a step of a block: did its branch run and not answer with a failure reply?"""
    assert step.parallel is not None
    status = block_path(step.parallel, step) + ".status"
    return {
        "Type": "Choice",
        "Choices": [
            {"Variable": status, "IsPresent": False, "Next": skip},
            {"Variable": status, "StringEquals": ANSWERED_NO, "Next": skip},
        ],
        "Default": undo,
    }


class _ParallelBuilder:
    """A parallel block: a Parallel state whose branches each run one step and report how it ended
    (each branch catches its own failure, since Step Functions stops the other branches when one
    fails), then a Choice at the join: all succeeded -> keep their replies and go on; else record
    the first failure at `$.failure` and undo the steps of the block that may have run, in reverse
    (each asks `did <step> run`), then the steps before it; after the pivot, end `failed` at once."""

    def __init__(self, parent: _Builder, block: ParallelBlock, ways: tuple[Ending, ...], done: Ending | None) -> None:
        self.parent, self.block, self.ways, self.done = parent, block, ways, done
        self.steps = parent.saga.steps[block.first : block.last + 1]

    def build(self) -> None:
        parent, block = self.parent, self.block
        join = state_name(f"join {block.name}")
        parent.states[parallel_state(block.name)] = {
            "Type": "Parallel",
            "Comment": f"parallel {block.name}: " + ", ".join(s.name for s in self.steps),
            "Branches": [self._branch(s) for s in self.steps],
            "ResultSelector": {f"{s.name}.$": f"$[{i}]" for i, s in enumerate(self.steps)},
            "ResultPath": f"$.parallel.{block.name}",
            "Next": join,
        }
        choices: list[Json] = []
        for step in self.steps:
            failed = parent._add(state_name(f"{block.name} failed at {step.name}"), self._failed(step))
            status = block_path(block.name, step) + ".status"
            choices += [{"Variable": status, "StringEquals": s, "Next": failed} for s in (ANSWERED_NO, NO_ANSWER)]
        parent.states[join] = {"Type": "Choice", "Choices": choices, "Default": self._keep_replies()}

    def _branch(self, step: SagaStep) -> Json:
        branch = _BranchBuilder(self.parent)
        index = self.parent.saga.steps.index(step)
        done = state_name(f"done {step.name}")
        if step.delay_ms:
            wait = {"Type": "Wait", "Seconds": max(1, seconds_ceil(step.delay_ms)), "Next": step_state(step)}
            branch.states[own_entry_state(step)] = wait
        branch.states[step_state(step)] = branch._step_task(index, done)
        branch.states[done] = {
            "Type": "Pass",
            "Parameters": {"status": SUCCEEDED, "reply.$": f"$.steps.{step.name}"},
            "End": True,
        }
        mine = [w for w in self.ways if w.step is step and not w.undoing]
        branch.states[caught_state(step)] = branch._caught(step, mine)
        return {"StartAt": own_entry_state(step), "States": branch.states}

    def _failed(self, step: SagaStep) -> Json:
        """Record the failure `step`'s branch reported, then undo (before the pivot) or end `failed`."""
        return {
            "Type": "Pass",
            "InputPath": block_path(self.block.name, step) + ".failure",
            "ResultPath": "$.failure",
            "Next": self._after_failure(),
        }

    def _after_failure(self) -> str:
        parent, block = self.parent, self.block
        if block.first <= parent.saga.pivot_index:
            undoable = [s for s in parent._undoable() if parent.saga.steps.index(s) <= block.last]
            return parent._undo_from(undoable)
        mine = [w for w in self.ways if w.step in self.steps and not w.undoing]
        return parent._add(state_name(f"{block.name} failed: which event"), parent._route(mine))

    def _keep_replies(self) -> str:
        """After the join: each step's reply where a step's reply is kept (`$.steps.<step>`), then on."""
        following = self.parent._after_success(self.block.last, self.done)
        for step in reversed(self.steps):
            keep = {
                "Type": "Pass",
                "InputPath": block_path(self.block.name, step) + ".reply",
                "ResultPath": f"$.steps.{step.name}",
                "Next": following,
            }
            following = self.parent._add(state_name(f"keep {step.name}"), keep)
        return following


class _BranchBuilder(_Builder):
    """The states of one branch of a Parallel state: a step's own states, whose failures end the
    branch with a report (`{"status", "failure"}`) instead of going on to compensate."""

    def __init__(self, parent: _Builder) -> None:
        super().__init__(parent.flow, parent.saga, parent.queue, parent.bus, parent.table)
        self.parent = parent

    def _emit_for(self, way: Ending) -> str:
        return self.parent._emit_for(way)

    def _after_failure(self, way: Ending) -> str:
        return ""  # a branch ends where it records the failure: the join decides what follows

    def _record(self, way: Ending, following: str) -> Json:
        recorded = super()._record(way, following)["Parameters"]
        status = ANSWERED_NO if way.reply is not None else NO_ANSWER
        return {"Type": "Pass", "Parameters": {"status": status, "failure": recorded}, "End": True}
