"""Resolving sagas: trigger, steps and their handlers, pivot, timeout and outcomes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from flowgen_design.dsl import ast, codes
from flowgen_design.dsl.model import (
    Command,
    DeliveryPolicy,
    Event,
    Fill,
    FillSource,
    Outcome,
    OutcomeKind,
    Saga,
    SagaInvariant,
    SagaStep,
    Service,
    StepCall,
)
from flowgen_design.dsl.resolve.delivery import DeliveryResolver
from flowgen_design.dsl.resolve.symbols import Symbols, did_you_mean
from flowgen_design.dsl.source import Span

OUTCOMES: tuple[OutcomeKind, ...] = ("completed", "compensated", "failed")
FILL_ROOTS = ("trigger", "failure")


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
        step_names = tuple(m.name.text for m in decl.members if isinstance(m, ast.StepDecl))
        outcomes = self._outcomes(decl, step_names)
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
        pivot = pivots[0] if pivots else len(steps) - 1
        return Saga(
            name=decl.name.text,
            trigger=trigger,
            steps=steps,
            pivot_index=pivot,
            explicit_pivot=bool(pivots),
            timeout_ms=timeout.duration.millis if isinstance(timeout, ast.SagaTimeout) else None,
            timeout_span=timeout.span if timeout else None,
            on_completed=outcomes["completed"].event if "completed" in outcomes else None,
            on_compensated=outcomes["compensated"].event if "compensated" in outcomes else None,
            on_failed=outcomes["failed"].event if "failed" in outcomes else None,
            outcomes=tuple(outcomes.values()),
            invariants=self._invariants(decl),
            doc=decl.doc,
            span=decl.span,
            name_span=decl.name.span,
        )

    def _invariants(self, decl: ast.SagaDecl) -> tuple[SagaInvariant, ...]:
        """Each `invariant` whose events all exist (an unknown name is reported by `lookup`)."""
        found = []
        for m in decl.members:
            if isinstance(m, ast.SagaInvariant):
                names = (m.event, *m.followers)
                events = [self.events.get(n.text) if self.symbols.lookup(n, "event") else None for n in names]
                if all(e is not None for e in events):
                    first, *rest = [e for e in events if e is not None]
                    found.append(SagaInvariant(event=first, followers=tuple(rest), span=m.span))
        return tuple(found)

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

    def _outcomes(self, decl: ast.SagaDecl, steps: tuple[str, ...]) -> dict[str, Outcome]:
        out: dict[str, Outcome] = {}
        seen: dict[str, ast.OutcomeDecl] = {}
        for m in decl.members:
            if not isinstance(m, ast.OutcomeDecl):
                continue
            if m.outcome.text not in OUTCOMES:
                hint = (
                    did_you_mean(m.outcome.text, OUTCOMES)
                    or "use `on completed emit EVENT`, `on compensated emit EVENT` or `on failed emit EVENT`"
                )
                self.report.add(codes.UNKNOWN_OUTCOME, f"unknown saga outcome `{m.outcome.text}`", m.outcome.span, hint)
                continue
            if m.outcome.text in seen:
                continue
            seen[m.outcome.text] = m
            if self.symbols.lookup(m.event, "event") is not None and m.event.text in self.events:
                event = self.events[m.event.text]
                kind = next(k for k in OUTCOMES if k == m.outcome.text)
                fills = tuple(f for f in (self._fill(event, kind, f, steps) for f in m.fills) if f is not None)
                out[kind] = Outcome(kind=kind, event=event, fills=fills, span=m.span)
        return out

    def _fill(self, event: Event, kind: OutcomeKind, fill: ast.Fill, steps: tuple[str, ...]) -> Fill | None:
        """A fill's sources, each checked for its root; field types are checked per path by a rule."""
        if event.field(fill.field.text) is None:
            self.report.add(
                codes.INVALID_FILL,
                f"`{event.name}` has no field `{fill.field.text}`",
                fill.field.span,
                did_you_mean(fill.field.text, [f.name for f in event.fields]),
            )
            return None
        sources = [self._source(kind, src, steps) for src in fill.sources]
        if any(s is None for s in sources):
            return None  # reported; the field falls back to its implicit sources, so no follow-on errors
        return Fill(field=fill.field.text, sources=tuple(s for s in sources if s is not None), span=fill.span)

    def _source(self, kind: OutcomeKind, src: ast.FillSource, steps: tuple[str, ...]) -> FillSource | None:
        if src.root is None or src.field is None:
            return FillSource(origin="constant", value=src.value, span=src.span)
        root = src.root.text
        if root == "failure" and kind == "completed":
            self.report.add(
                codes.INVALID_FILL,
                "a completed saga has no failure to read",
                src.root.span,
                "use `trigger.FIELD`, `STEP.FIELD` or a constant",
            )
            return None
        if root in FILL_ROOTS:
            origin: Literal["trigger", "failure"] = "trigger" if root == "trigger" else "failure"
            return FillSource(origin=origin, field=src.field.text, span=src.span)
        if root in steps:
            return FillSource(origin="step", step=root, field=src.field.text, span=src.span)
        self.report.add(
            codes.INVALID_FILL,
            f"`{root}` is neither `trigger`, `failure` nor a step of this saga",
            src.root.span,
            did_you_mean(root, (*FILL_ROOTS, *steps))
            or "write `trigger.FIELD`, `failure.FIELD`, `STEP.FIELD` or a constant",
        )
        return None

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
        timeout_ms = step_timeout[0] if step_timeout else base.handler_worst_case_ms()
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
            if isinstance(option, (ast.DlqOption, ast.IdempotentOption, ast.EmitsOption, ast.RaisesOption)):
                word = {
                    ast.DlqOption: "dlq",
                    ast.IdempotentOption: "idempotent by",
                    ast.EmitsOption: "emits",
                    ast.RaisesOption: "raises",
                }[type(option)]
                self.report.add(
                    codes.MISPLACED_OPTION,
                    f"`{word}` has no meaning on a saga step",
                    option.span,
                    f"a step takes `timeout`, `retry` and `use`; put `{word}` on the handler in its service",
                )
