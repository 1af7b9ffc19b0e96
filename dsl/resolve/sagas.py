"""Resolving sagas: trigger, steps and their handlers, pivot, timeout and outcomes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from flowgen_design.dsl import ast, codes
from flowgen_design.dsl.model import (
    Branch,
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
from flowgen_design.dsl.resolve import parallel, waits
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
        self._blocks = parallel.Blocks()  # the saga being resolved: its blocks as written

    def saga(self, decl: ast.SagaDecl) -> Saga | None:
        decl, blocks = parallel.flatten(decl, self.report)
        self._blocks = blocks
        saga = self._saga(decl)
        return parallel.attach(saga, blocks, self.report) if saga is not None else None

    def _saga(self, decl: ast.SagaDecl) -> Saga | None:
        trigger = self._trigger(decl)
        steps = tuple(s for m in decl.members if isinstance(m, ast.StepDecl) if (s := self._step(m, trigger)))
        step_names = tuple(m.name.text for m in decl.members if isinstance(m, ast.StepDecl))
        reached = {b.target.text for m in decl.members if isinstance(m, ast.StepDecl) for b in m.branches}
        outcomes = self._outcomes(decl, step_names, reached - set(step_names) - set(OUTCOMES))
        steps = self._branches(decl, steps, step_names, tuple(k for k in outcomes if k not in OUTCOMES))
        steps = self._step_fills(decl, steps, step_names)
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
            trigger_compensation=self._trigger_compensation(decl),
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

    def _outcomes(self, decl: ast.SagaDecl, steps: tuple[str, ...], named: set[str]) -> dict[str, Outcome]:
        """The three outcomes, and each named outcome (`on rejected emit E`) that some branch leads to."""
        out: dict[str, Outcome] = {}
        seen: dict[str, ast.OutcomeDecl] = {}
        for m in decl.members:
            if not isinstance(m, ast.OutcomeDecl):
                continue
            if m.outcome.text not in OUTCOMES and m.outcome.text not in named:
                hint = did_you_mean(m.outcome.text, OUTCOMES) or (
                    "use `on completed emit EVENT`, `on compensated emit EVENT` or `on failed emit EVENT`, "
                    f"or lead a step's reply to it: `on REPLY -> {m.outcome.text}` in the step's body"
                )
                self.report.add(codes.UNKNOWN_OUTCOME, f"unknown saga outcome `{m.outcome.text}`", m.outcome.span, hint)
                continue
            if m.outcome.text in seen:
                continue
            seen[m.outcome.text] = m
            if self.symbols.lookup(m.event, "event") is not None and m.event.text in self.events:
                event = self.events[m.event.text]
                kind = m.outcome.text
                fills = tuple(f for f in (self._fill(event, kind, f, steps) for f in m.fills) if f is not None)
                out[kind] = Outcome(kind=kind, event=event, fills=fills, span=m.span)
        return out

    def _step_fills(
        self, decl: ast.SagaDecl, steps: tuple[SagaStep, ...], names: tuple[str, ...]
    ) -> tuple[SagaStep, ...]:
        """Each step's `field = source or ...`: a field of its command, from the trigger, an earlier
        step or a constant (whether the value is there on every way is the rule `check_step_fills`'s)."""
        fills = {
            m.name.text: m.fills
            for m in decl.members
            if isinstance(m, ast.StepDecl) and m.fills and not isinstance(m.target, ast.AwaitClause)
        }
        out = []
        for step in steps:
            earlier = names[: names.index(step.name)] if step.name in names else ()
            found = [self._step_fill(step, f, earlier) for f in fills.get(step.name, ())]
            resolved = tuple(f for f in found if f is not None)
            out.append(replace(step, fills=resolved) if resolved else step)
        return tuple(out)

    def _step_fill(self, step: SagaStep, fill: ast.Fill, earlier: tuple[str, ...]) -> Fill | None:
        command = step.action.command
        if command.field(fill.field.text) is None:
            self.report.add(
                codes.STEP_FILL_INVALID,
                f"step `{step.name}` sends `{command.name}`, which has no field `{fill.field.text}`",
                fill.field.span,
                did_you_mean(fill.field.text, [f.name for f in command.fields]),
            )
            return None
        sources = [self._step_source(src, earlier) for src in fill.sources]
        # A source that failed to resolve (reported) is dropped; the field stays filled, so no follow-on FLOW414.
        return Fill(field=fill.field.text, sources=tuple(s for s in sources if s is not None), span=fill.span)

    def _step_source(self, src: ast.FillSource, earlier: tuple[str, ...]) -> FillSource | None:
        if src.root is None or src.field is None:
            return FillSource(origin="constant", value=src.value, span=src.span)
        root = src.root.text
        if root == "trigger":
            return FillSource(origin="trigger", field=src.field.text, span=src.span)
        if root in earlier:
            return FillSource(origin="step", step=root, field=src.field.text, span=src.span)
        why = (
            "a step has no failure to read"
            if root == "failure"
            else f"`{root}` is neither `trigger` nor an earlier step"
        )
        self.report.add(
            codes.STEP_FILL_INVALID,
            why,
            src.root.span,
            did_you_mean(root, ("trigger", *earlier))
            or "write `trigger.FIELD`, `STEP.FIELD` (an earlier step) or a constant",
        )
        return None

    def _trigger_compensation(self, decl: ast.SagaDecl) -> StepCall | None:
        trigger = self._single(decl, ast.TriggerDecl)
        if not isinstance(trigger, ast.TriggerDecl) or trigger.compensate is None:
            return None
        return self._call(trigger.compensate)

    def _branches(
        self, decl: ast.SagaDecl, steps: tuple[SagaStep, ...], names: tuple[str, ...], outcomes: tuple[str, ...]
    ) -> tuple[SagaStep, ...]:
        """Each step with its branches resolved: a declared reply, to a later step or a named outcome."""
        by_name = {s.name: s for s in steps}
        kept = set(by_name)  # a branch to a step that did not resolve is dropped: that step's error says why
        resolved = []
        for m in decl.members:
            if isinstance(m, ast.StepDecl) and m.name.text in by_name:
                step = by_name.pop(m.name.text)
                step = self._timeout_branches(step, m, names, outcomes)
                branches = (self._branch(step, b, names, outcomes) for b in m.branches if not self._on_timeout(step, b))
                found = tuple(b for b in branches if b and (b.step is None or b.step in kept))
                unique = tuple(b for i, b in enumerate(found) if all(o.reply != b.reply for o in found[:i]))
                for twice in (b for b in found if b not in unique):
                    self.report.add(
                        codes.BRANCH_REPLY_UNKNOWN,
                        f"reply `{twice.reply.name}` of step `{step.name}` already has a branch",
                        twice.span,
                        "a reply leads to one place: keep one `on` for it",
                    )
                resolved.append(replace(step, branches=unique) if unique else step)
        return tuple(resolved)

    def _on_timeout(self, step: SagaStep, b: ast.Branch) -> bool:
        """`on timeout -> X`: the timeout's branch (an await's), unless the command has a reply `timeout`."""
        return b.reply.text == waits.TIMEOUT_REPLY and all(r.name != b.reply.text for r in step.action.command.replies)

    def _timeout_branches(
        self, step: SagaStep, m: ast.StepDecl, names: tuple[str, ...], outcomes: tuple[str, ...]
    ) -> SagaStep:
        for b in (b for b in m.branches if self._on_timeout(step, b)):
            if step.wait is None:
                waits.timeout_on_command(self.report, step, b)
            else:
                step = waits.timeout_branch(self.report, step, b, names, outcomes)
        return step

    def _branch(
        self, step: SagaStep, b: ast.Branch, names: tuple[str, ...], outcomes: tuple[str, ...]
    ) -> Branch | None:
        replies = step.action.command.replies
        reply = next((r for r in replies if r.name == b.reply.text), None)
        if reply is None:
            listed = ", ".join(f"`{r.name}`" for r in replies) or "none"
            self.report.add(
                codes.BRANCH_REPLY_UNKNOWN,
                f"step `{step.name}` sends `{step.action.command.name}`, which has no reply `{b.reply.text}`",
                b.reply.span,
                did_you_mean(b.reply.text, [r.name for r in replies]) or f"its replies: {listed}",
            )
            return None
        target = b.target.text
        if target in names:
            if names.index(target) <= names.index(step.name):
                self.report.add(
                    codes.BRANCH_BACKWARDS,
                    f"step `{step.name}` leads back to {self._blocks.written(b.target)}: branches go forward only,"
                    " so every saga ends",
                    b.target.span,
                    "lead to a later step, or to a named outcome (`on rejected emit EVENT`)",
                )
                return None
            return Branch(reply=reply, step=target, span=b.span)
        if target in outcomes and reply is not replies[0]:
            return Branch(reply=reply, outcome=target, span=b.span)
        self.report.add(codes.BRANCH_TARGET_UNKNOWN, *self._unknown_target(step, b, reply is replies[0], names))
        return None

    def _unknown_target(
        self, step: SagaStep, b: ast.Branch, success: bool, names: tuple[str, ...]
    ) -> tuple[str, Span, str]:
        target = b.target.text
        later = names[names.index(step.name) + 1 :]
        if success:
            return (
                f"`{b.reply.text}` is the success reply of step `{step.name}`: it can only skip ahead to a later step",
                b.target.span,
                did_you_mean(target, later) or "name a later step, or branch on a failure reply",
            )
        if target in OUTCOMES:
            return (
                f"a branch leads to a later step or a named outcome, not to `{target}`",
                b.target.span,
                "name the ending: `on NAME emit EVENT` in the saga and `on REPLY -> NAME` here (without a branch, "
                "a failure reply already ends the saga compensated, or failed after the pivot)",
            )
        return (
            f"step `{step.name}` leads `{b.reply.text}` to `{target}`, which is neither a step of this saga "
            "nor an outcome it names",
            b.target.span,
            did_you_mean(target, later) or f"declare the outcome: `on {target} emit EVENT` in the saga",
        )

    def _fill(self, event: Event, kind: str, fill: ast.Fill, steps: tuple[str, ...]) -> Fill | None:
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

    def _source(self, kind: str, src: ast.FillSource, steps: tuple[str, ...]) -> FillSource | None:
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

    def _step(self, decl: ast.StepDecl, trigger: Event | None) -> SagaStep | None:
        if isinstance(decl.target, ast.AwaitClause):
            waited = waits.await_step(self.symbols, self.events, decl, decl.target, trigger)
            return waits.heartbeat(self.report, decl, waited) if waited is not None else None
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
        step = SagaStep(
            name=decl.name.text,
            action=action,
            compensation=compensations[0] if compensations else None,
            readonly=bool(decl.readonly),
            pivot=decl.pivot,
            policy=policy,
            timeout_ms=timeout_ms,
            timeout_span=timeout_span,
            delay_ms=decl.delays[0].duration.millis if decl.delays else 0,
            doc=decl.doc,
            span=decl.span,
        )
        return waits.heartbeat(self.report, decl, step)

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
