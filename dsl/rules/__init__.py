"""Semantic rules: small passes over the resolved model, run in the order listed.

Each rule is a function `(RuleContext) -> None` that reports diagnostics; none
raises or changes the model. Adding a rule means writing one function and
listing it in `RULES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flowgen_design.dsl import ast
from flowgen_design.dsl.diagnostics import Reporter
from flowgen_design.dsl.model import Flow


@dataclass(frozen=True)
class RuleContext:
    flow: Flow
    modules: list[ast.Module]
    report: Reporter


Rule = Callable[[RuleContext], None]


def _rules() -> tuple[Rule, ...]:
    from flowgen_design.dsl.rules import delivery, eventflow, literals, names, outcomes, sagas, timing

    return (
        literals.check_literals,
        literals.check_patterns,
        names.check_target_names,
        names.check_duplicate_routes,
        delivery.check_idempotency,
        delivery.check_dead_letters,
        sagas.check_compensation,
        sagas.check_after_pivot,
        sagas.check_replies_and_outcomes,
        sagas.check_step_inputs,
        outcomes.check_outcome_fills,
        timing.check_step_timeouts,
        timing.check_saga_timeouts,
        timing.check_target_limits,
        eventflow.check_publishers,
        eventflow.check_api_events,
        eventflow.check_consumers,
        eventflow.check_cycles,
    )


RULES: tuple[Rule, ...] = _rules()


def run_rules(flow: Flow, modules: list[ast.Module], reporter: Reporter) -> None:
    ctx = RuleContext(flow=flow, modules=modules, report=reporter)
    for rule in RULES:
        rule(ctx)
