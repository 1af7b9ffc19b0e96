"""`flowgen simulate`: every failure schedule of a saga, explored on a virtual clock and checked.

The model is the one docs/semantics.md promises, derived from the resolved
model only (no second, hand-written model): a saga instance is an explicit
state (its position, which effects are applied and when, the clock, the
failure that decided it, the user invariants still open). From each state the
explorer takes every move the runtime allows (`moves.py`), breadth-first with
a visited set, so the first counterexample found for a property is a shortest
one. The bound is the number of injected faults per schedule. A "schedule" in
the report is a distinct end state reached: schedules that reach the same state
are explored once, from the shortest.

Subscriptions (`on Event -> handler`) are explored by `subscriptions.py`, with
re-ordering of messages of one key and of different keys as `ordering.py` says
the runtime does. Within one saga instance commands go one at a time, so there
is nothing to re-order; instances of different keys are independent.

Branches (docs/semantics.md 10.): a branched reply is a route the design declares,
explored on every schedule and not counted as a fault; it leads to its later step
(never resent, nothing undone at that step) or to a named outcome (compensating
what succeeded on this way, then the trigger's transaction, up to the pivot). A
grace period (`after D`, 9.) advances the clock before the step's first send.

A `retryable` failure reply (4.) comes on the handler's last attempt (the adapter
retries it before that and records nothing). When the step has its own `retry`
with a send left, the machine resends after the step's backoff (a fault per
send); the reply on every send left is one fault too, so the failure the last
send's reply decides is explored at every bound; and a duplicate of the command
that succeeds after the machine resent leaves a recorded success the resend finds.

Parallel blocks (12.): the steps of a block are explored one after another, each from the
block's start time, so every combination of how they end is a schedule; the order in which
their answers arrive changes nothing, since each step runs to its end and the join decides on
all of them. The join goes on at the slowest step's end, or undoes, in reverse, the steps of
the block that succeeded or gave no answer, then those before it.

Not covered yet: an exception raised after the handler's effect took place, a
duplicate other than the latest one the deadline check lets run.

What the moves cover: each declared reply; a `retryable` reply resent;
exceptions until the handler's attempts are exhausted; a timeout with a late success; a lost answer; a
duplicate trigger; a duplicate command delivery at the latest moment the
adapter's deadline check lets it run; the orchestrator's resends; for each
compensation, success, a duplicate delivery and a compensation that cannot
finish. Durations are each move's worst case, so the clock at an outcome is
that schedule's worst case (compare `dsl.rules.timing.saga_worst_case_ms`).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from functools import partial

from flowgen_design.codegen.simulate.invariants import Invariant
from flowgen_design.codegen.simulate.moves import Move, State, initial_state, moves
from flowgen_design.codegen.simulate.ordering import RUNTIME, Ordering, numbered_by_publishers
from flowgen_design.codegen.simulate.result import Counterexample, SagaReport
from flowgen_design.codegen.simulate.subscriptions import explore_subscription, handler_name, subscriptions
from flowgen_design.dsl.frozen import frozen
from flowgen_design.dsl.model import Flow, Saga
from flowgen_design.dsl.rules.timing import saga_worst_case_ms

DEFAULT_BOUND = 2
"""Faults injected per schedule by default: every single and double fault of every saga."""


@frozen(kw_only=False)
class Node:
    """A state reached by a shortest schedule: its last move and the node before it."""

    state: State
    move: Move | None = None
    parent: Node | None = None

    def path(self) -> tuple[Move, ...]:
        found: list[Move] = []
        node: Node | None = self
        while node is not None and node.move is not None:
            found.append(node.move)
            node = node.parent
        return tuple(reversed(found))


def unexplored(saga: Saga) -> str | None:
    """The constructs of `saga` that the moves do not model yet, said for the user; None: none.

    Branches, named outcomes, a compensated trigger, grace periods (docs/semantics.md 9. and 10.),
    a `retryable` failure reply that the step's own `retry` resends (4.) and parallel blocks (12.)
    are modelled."""
    del saga
    return None


def explore(saga: Saga, bound: int = DEFAULT_BOUND, invariants: tuple[Invariant, ...] = ()) -> SagaReport:
    """Every schedule of `saga` with at most `bound` faults; the first (shortest) counterexample per property."""
    started = time.perf_counter()
    report = SagaReport(saga.name, bound, arithmetic_ms=saga_worst_case_ms(saga), timeout_ms=saga.timeout_ms)
    report.unexplored = unexplored(saga)
    if report.unexplored is not None:
        return report
    declared = tuple(Invariant(i.text, i.event.name, tuple(f.name for f in i.followers)) for i in saga.invariants)
    mine = declared + tuple(i for i in invariants if i.applies_to(saga) and i not in declared)
    start = Node(initial_state(mine))
    seen = {start.state}
    queue = deque([start])
    found: set[str] = set()
    while queue:
        node = queue.popleft()
        for move, state, violations in moves(saga, node.state, bound, mine):
            child = Node(state, move, node)
            for violation in violations:
                if violation.code not in found:
                    found.add(violation.code)
                    report.violations.append(Counterexample(violation, child.path()))
            if state in seen:
                continue
            seen.add(state)
            if state.ended:
                report.schedules += 1
                report.worst_case_ms = max(report.worst_case_ms, state.clock)
                report.scenarios.append(child.path())
            elif not violations:
                queue.append(child)
    report.states = len(seen)
    report.seconds = time.perf_counter() - started
    return report


def simulate(
    flow: Flow,
    saga: str | None = None,
    bound: int = DEFAULT_BOUND,
    invariants: tuple[Invariant, ...] = (),
    subscription: str | None = None,
    ordering: Ordering = RUNTIME,
) -> list[SagaReport]:
    """Explore every saga and every subscription of `flow`, or only the saga or subscription named."""
    return [run() for _, run in explorations(flow, saga, bound, invariants, subscription, ordering)]


Exploration = tuple[tuple[object, ...], Callable[[], SagaReport]]
"""What one exploration reads (model elements and plain values) and the exploration, not yet run."""


def explorations(
    flow: Flow,
    saga: str | None = None,
    bound: int = DEFAULT_BOUND,
    invariants: tuple[Invariant, ...] = (),
    subscription: str | None = None,
    ordering: Ordering = RUNTIME,
) -> list[Exploration]:
    """The explorations `simulate` runs, each with its inputs: the review page runs only those
    whose inputs changed since its last run (`codegen.fragments`)."""
    everything = saga is None and subscription is None
    found: list[Exploration] = [
        ((s, bound, invariants), partial(explore, s, bound, invariants))
        for s in flow.sagas
        if everything or s.name == saga
    ]
    for h in subscriptions(flow):
        if everything or handler_name(h) == subscription:
            numbered = numbered_by_publishers(flow, h.input)
            found.append(((h, bound, ordering, numbered), partial(explore_subscription, h, bound, ordering, numbered)))
    return found


__all__ = [
    "DEFAULT_BOUND",
    "Counterexample",
    "Exploration",
    "Node",
    "SagaReport",
    "explorations",
    "explore",
    "simulate",
]
