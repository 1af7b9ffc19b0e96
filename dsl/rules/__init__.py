"""Semantic rules: small passes over the resolved model, run in the order listed.

Each rule is a function `(RuleContext) -> None` that reports diagnostics; none
raises or changes the model. `RULES` lists them as data (sqlglot's optimizer
rules, buf's rule specs): each `Rule` names the codes it may emit and the codes
of earlier stages or rules whose diagnostics it reads (`requires`), which it sees,
and only those, as `ctx.earlier`. Adding a rule means writing one function,
giving it a code in `dsl.codes`, and listing it here; `tests/test_rules.py`
proves each rule emits only what it declares and runs after what it requires.
Rules know no target: what a target cannot take is that target's check, a `Rule`
of the same kind (`codegen.checks`).
"""

from __future__ import annotations

from collections.abc import Callable

from flowgen_design.dsl import ast, codes
from flowgen_design.dsl.codes import ErrorCode
from flowgen_design.dsl.diagnostics import Diagnostic, Reporter
from flowgen_design.dsl.frozen import frozen
from flowgen_design.dsl.model import Flow


@frozen(kw_only=False, slots=False)
class RuleContext:
    flow: Flow
    modules: list[ast.Module]
    report: Reporter
    earlier: tuple[Diagnostic, ...] = ()
    """What was reported before this rule with a code the rule `requires`."""


Check = Callable[[RuleContext], None]


@frozen(kw_only=False, slots=False)
class Rule:
    check: Check
    emits: tuple[ErrorCode, ...]
    requires: tuple[ErrorCode, ...] = ()

    @property
    def name(self) -> str:
        """`module.function`, e.g. `delivery.check_idempotency`."""
        return f"{self.check.__module__.rsplit('.', 1)[-1]}.{self.check.__name__}"

    def run(self, flow: Flow, modules: list[ast.Module], reporter: Reporter) -> None:
        wanted = {c.code for c in self.requires}
        earlier = tuple(d for d in reporter.items if d.code in wanted) if wanted else ()
        self.check(RuleContext(flow=flow, modules=modules, report=reporter, earlier=earlier))


def _rules() -> tuple[Rule, ...]:
    from flowgen_design.dsl.rules import (
        bus,
        clauses,
        delivery,
        endpoints,
        eventflow,
        literals,
        messages,
        names,
        ordering,
        outcomes,
        sagas,
        timing,
    )

    c = codes
    return (
        Rule(
            literals.check_literals,
            (
                c.NON_POSITIVE_DURATION,
                c.INVALID_LITERAL,
                c.ATTEMPTS_BELOW_ONE,
                c.BACKOFF_RANGE_REVERSED,
                c.UNKNOWN_BACKOFF,
            ),
        ),
        Rule(literals.check_patterns, (c.CONSTRAINT_MISMATCH,)),
        Rule(clauses.check_repeated_clauses, (c.DUPLICATE_CLAUSE,)),
        Rule(names.check_duplicate_routes, (c.DUPLICATE_NAME,)),
        Rule(
            delivery.check_idempotency,
            (c.IDEMPOTENCY_WINDOW_TOO_SHORT, c.RETRIED_NOT_IDEMPOTENT, c.AT_LEAST_ONCE_NOT_IDEMPOTENT),
            requires=delivery.IDEMPOTENCY_LOST,
        ),
        Rule(delivery.check_dead_letters, (c.DLQ_WITHOUT_RETRY,)),
        Rule(ordering.check_unnumbered_publishers, (c.ORDERED_EVENT_UNNUMBERED,)),
        Rule(
            sagas.check_compensation,
            (c.STEP_NOT_COMPENSABLE, c.COMPENSATION_NOT_IDEMPOTENT, c.COMPENSATION_NOT_RETRIED),
        ),
        Rule(sagas.check_after_pivot, (c.COMPENSATION_AFTER_PIVOT, c.AFTER_PIVOT_NOT_IDEMPOTENT)),
        Rule(sagas.check_replies_and_outcomes, (c.COMMAND_WITHOUT_REPLIES, c.MISSING_OUTCOME)),
        Rule(sagas.check_step_inputs, (c.STEP_FIELD_UNAVAILABLE,)),
        Rule(sagas.check_reachable_steps, (c.STEP_NEVER_RUNS,)),
        Rule(sagas.check_step_fills, (c.STEP_FILL_INVALID,)),
        Rule(outcomes.check_outcome_fills, (c.OUTCOME_FIELD_UNFILLED, c.INVALID_FILL)),
        Rule(timing.check_step_timeouts, (c.STEP_TIMEOUT_TOO_SHORT,)),
        Rule(timing.check_saga_timeouts, (c.SAGA_TIMEOUT_TOO_SHORT, c.WAIT_LONGER_THAN_SAGA)),
        Rule(eventflow.check_publishers, (c.CONSUMED_NEVER_PUBLISHED,)),
        Rule(eventflow.check_api_events, (c.API_EVENT_NOT_PUBLISHED,)),
        Rule(endpoints.check_endpoint_auth, (c.PUBLIC_ENDPOINT, c.JWT_ISSUER_NOT_HTTPS)),
        Rule(eventflow.check_consumers, (c.PUBLISHED_NEVER_CONSUMED,)),
        Rule(eventflow.check_cycles, (c.EVENT_CYCLE,)),
        Rule(messages.check_headers_filled, (c.HEADER_NEVER_FILLED,)),
        Rule(messages.check_channels, (c.DUPLICATE_CHANNEL, c.INVALID_CHANNEL)),
        Rule(messages.check_retryable_replies, (c.RETRYABLE_SUCCESS, c.RETRYABLE_NOT_RETRIED)),
        Rule(messages.check_error_names, (c.ERROR_NAME_TAKEN,)),
        Rule(bus.check_archive, (c.ARCHIVE_RETENTION, c.DUPLICATE_CLAUSE)),
    )


RULES: tuple[Rule, ...] = _rules()


def run_rules(flow: Flow, modules: list[ast.Module], reporter: Reporter) -> None:
    for rule in RULES:
        rule.run(flow, modules, reporter)
