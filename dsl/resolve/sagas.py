"""Resolving sagas: trigger, steps and their handlers, pivot, timeout and outcomes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flowgen_design.dsl import ast, codes
from flowgen_design.dsl.model import Command, DeliveryPolicy, Event, Saga, SagaStep, Service, StepCall
from flowgen_design.dsl.resolve.delivery import DeliveryResolver
from flowgen_design.dsl.resolve.symbols import Symbols, did_you_mean
from flowgen_design.dsl.source import Span

OUTCOMES = ("completed", "compensated")


class SagaResolver:
    def __init__(
        self, symbols: Symbols, delivery: DeliveryResolver, services: dict[str, Service], events: dict[str, Event]
    ) -> None:
        self.symbols = symbols
        self.report = symbols.reporter
        self.delivery = delivery
        self.services = services
        self.events = events

    def saga(self, decl: ast.SagaDecl) -> Saga | None:
        trigger = self._trigger(decl)
        steps = tuple(s for m in decl.members if isinstance(m, ast.StepDecl) if (s := self._step(m)))
        outcomes = self._outcomes(decl)
        timeout = self._single(decl, ast.SagaTimeout)
        step_decls = [m for m in decl.members if isinstance(m, ast.StepDecl)]
        if not step_decls:
            self.report.add(
                codes.EMPTY_SAGA,
                f"saga `{decl.name.text}` has no steps",
                decl.name.span,
                "add `step NAME: Service.Command`",
            )
        pivots = [i for i, s in enumerate(steps) if s.pivot]
        for extra in [m for m in step_decls if m.pivot][1:]:
            self.report.add(
                codes.MULTIPLE_PIVOTS,
                f"saga `{decl.name.text}` has more than one pivot",
                extra.span,
                "a saga has one point of no return: keep one `pivot`",
            )
        if trigger is None or not steps:
            return None
        return Saga(
            name=decl.name.text,
            trigger=trigger,
            steps=steps,
            pivot_index=pivots[0] if pivots else len(steps) - 1,
            explicit_pivot=bool(pivots),
            timeout_ms=timeout.duration.millis if isinstance(timeout, ast.SagaTimeout) else None,
            timeout_span=timeout.span if timeout else None,
            on_completed=outcomes.get("completed"),
            on_compensated=outcomes.get("compensated"),
            doc=decl.doc,
            span=decl.span,
            name_span=decl.name.span,
        )

    def _single(self, decl: ast.SagaDecl, kind: type) -> ast.SagaMember | None:
        """The first `kind` clause (a repeat is reported by `rules.clauses`)."""
        return next((m for m in decl.members if isinstance(m, kind)), None)

    def _trigger(self, decl: ast.SagaDecl) -> Event | None:
        trigger = self._single(decl, ast.TriggerDecl)
        if not isinstance(trigger, ast.TriggerDecl):
            self.report.add(
                codes.MISSING_TRIGGER,
                f"saga `{decl.name.text}` has no trigger",
                decl.name.span,
                "add `trigger EVENT`: the event that starts it",
            )
            return None
        if self.symbols.lookup(trigger.event, "event") is None:
            return None
        return self.events.get(trigger.event.text)

    def _outcomes(self, decl: ast.SagaDecl) -> dict[str, Event]:
        out: dict[str, Event] = {}
        seen: dict[str, ast.OutcomeDecl] = {}
        for m in decl.members:
            if not isinstance(m, ast.OutcomeDecl):
                continue
            if m.outcome.text not in OUTCOMES:
                hint = (
                    did_you_mean(m.outcome.text, OUTCOMES)
                    or "use `on completed emit EVENT` or `on compensated emit EVENT`"
                )
                self.report.add(codes.UNKNOWN_OUTCOME, f"unknown saga outcome `{m.outcome.text}`", m.outcome.span, hint)
                continue
            if m.outcome.text in seen:
                continue
            seen[m.outcome.text] = m
            if self.symbols.lookup(m.event, "event") is not None and m.event.text in self.events:
                out[m.outcome.text] = self.events[m.event.text]
        return out

    def _call(self, q: ast.QualifiedName) -> StepCall | None:
        if self.symbols.lookup(q.service, "service") is None or self.symbols.lookup(q.command, "command") is None:
            return None
        service = self.services.get(q.service.text)
        if service is None:
            return None
        handler = service.handler_for(q.command.text)
        if handler is None or handler.trigger != "command" or not isinstance(handler.input, Command):
            self.report.add(
                codes.STEP_NOT_HANDLED,
                f"service `{q.service.text}` does not handle `{q.command.text}`",
                q.span,
                f"add `handles {q.command.text}` to service `{q.service.text}`",
            )
            return None
        return StepCall(service=service.name, command=handler.input, handler=handler, span=q.span)

    def _step(self, decl: ast.StepDecl) -> SagaStep | None:
        action = self._call(decl.target)
        compensations = [c for c in (self._call(q) for q in decl.compensate)]
        if decl.readonly and decl.compensate:
            self.report.add(
                codes.READONLY_COMPENSATED,
                f"step `{decl.name.text}` is `readonly` but also compensated",
                decl.readonly[0],
                "a readonly step changes nothing: drop `readonly` or the compensation",
            )
        if action is None:
            return None
        options = decl.body.options if decl.body else ()
        policy, timeout_ms, timeout_span = self._step_policy(action, options)
        return SagaStep(
            name=decl.name.text,
            action=action,
            compensation=compensations[0] if compensations else None,
            readonly=bool(decl.readonly),
            pivot=decl.pivot,
            policy=policy,
            timeout_ms=timeout_ms,
            timeout_span=timeout_span,
            doc=decl.doc,
            span=decl.span,
        )

    def _step_policy(
        self, action: StepCall, options: tuple[ast.Option, ...]
    ) -> tuple[DeliveryPolicy, int, Span | None]:
        """The orchestrator's view of a step: how long it waits, and how often it resends.

        A step's timeout is how long the orchestrator waits for a reply, so by
        default it is the handler's worst case (every attempt and backoff). The
        handler already retries on its own, so the orchestrator sends the command
        once unless the step body says `retry`: counting the handler's attempts
        again would multiply them.
        """
        self._misplaced(options)
        layer = self.delivery.layer(options)
        base = action.handler.policy
        step_timeout = layer.values.get("timeout_ms")
        timeout_ms = step_timeout[0] if step_timeout else base.worst_case_ms()
        # The clause that set the timeout: in the step body, or in a policy it `use`s.
        updates: dict[str, Any] = {
            "timeout_ms": timeout_ms,
            "timeout_span": step_timeout[1] if step_timeout else None,
        }
        updates.update(attempts=1, backoff=None, retry_span=None)
        if "attempts" in layer.values:
            updates.update(
                attempts=max(1, layer.values["attempts"][0]),
                backoff=layer.values["backoff"][0],
                retry_span=layer.values["attempts"][1],
            )
        return replace(base, **updates), timeout_ms, step_timeout[1] if step_timeout else None

    def _misplaced(self, options: tuple[ast.Option, ...]) -> None:
        for option in options:
            if isinstance(option, (ast.DlqOption, ast.IdempotentOption, ast.EmitsOption)):
                word = {ast.DlqOption: "dlq", ast.IdempotentOption: "idempotent by", ast.EmitsOption: "emits"}[
                    type(option)
                ]
                self.report.add(
                    codes.MISPLACED_OPTION,
                    f"`{word}` has no meaning on a saga step",
                    option.span,
                    f"a step takes `timeout`, `retry` and `use`; put `{word}` on the handler in its service",
                )
