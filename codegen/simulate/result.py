"""What exploring one saga or one subscription found (`flowgen simulate`'s result)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from flowgen_design.codegen.simulate.moves import Move, Violation
from flowgen_design.dsl.frozen import frozen


@frozen(kw_only=False)
class Counterexample:
    violation: Violation
    moves: tuple[Move, ...]


@dataclass(slots=True)
class SagaReport:
    """What exploring one saga (or one subscription, `kind="subscription"`) found."""

    saga: str  # the saga's name, or `Service.handler` for a subscription
    bound: int
    states: int = 0
    schedules: int = 0
    worst_case_ms: int = 0  # the slowest explored schedule's clock at its outcome
    arithmetic_ms: int = 0  # `check`'s figure (FLOW502)
    timeout_ms: int | None = None
    seconds: float = 0.0
    violations: list[Counterexample] = field(default_factory=list)
    scenarios: list[tuple[Move, ...]] = field(default_factory=list)
    kind: Literal["saga", "subscription"] = "saga"
    unexplored: str | None = None
    """Why the saga was not explored: it uses constructs the simulator does not model yet (lang-saga's branches)."""

    @property
    def clean(self) -> bool:
        return not self.violations and self.unexplored is None
