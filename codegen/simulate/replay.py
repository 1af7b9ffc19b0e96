"""Simulated scenarios written out as pytest cases for the generated local test kit (`<flow>.testing`).

`flowgen simulate SPEC --replay DIR` writes, for each saga and subscription explored,
`DIR/test_replay_<flow>_<name>.py`: one test per counterexample (and with
`--replay-all`, per scenario with one fault or none). A test injects the scenario's
faults into `TestKit` (`fail`, `reply`, `deliver_late`, `deliver_twice`), publishes a
sample trigger, runs the user's services through the generated adapters, and asserts
the trace the simulator predicted. A counterexample's test then asserts the property
the simulator found broken, so it fails the way `flowgen simulate` said until the
design or the code is fixed.

What the kit cannot do is said in the test (a `pytest.skip` with the reason): make a
handler's answer arrive after the step's timeout, or lose it (`late-success`,
`lost-answer`); interleave two publishes (the kit runs one to the end); fault a
resend but not a late duplicate of the send before it; time a `retryable` reply's
attempts at their worst (for a `saga-timeout` counterexample). A `retryable` reply
the step resends is injected as the handler's answer on every attempt of a send
(`retryable-exhausted`: of every send left).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import PurePosixPath
from typing import Any

from flowgen_design.codegen.names import python_package
from flowgen_design.codegen.simulate.moves import Move, Violation, sends_of
from flowgen_design.codegen.simulate.result import SagaReport
from flowgen_design.codegen.simulate.samples import sample_payload, unsatisfied
from flowgen_design.codegen.simulate.subscriptions import handler_name, subscriptions
from flowgen_design.dsl.durations import seconds_ceil
from flowgen_design.dsl.frozen import frozen
from flowgen_design.dsl.model import Flow, Handler, Message, Saga, SagaStep, Scalar, ScalarRef, StepCall
from flowgen_design.dsl.naming import snake_case
from flowgen_design.dsl.sagapaths import TRIGGER_STEP, undo_policy

UNREPLAYABLE = {
    "late-success": "the kit cannot deliver a handler's answer after the step's timeout",
    "lost-answer": "the kit cannot lose a handler's answer",
}


INTERLEAVED = "the kit cannot tell a late duplicate's attempts from a resend's, to fault only the resend"
UNTIMED = "the kit cannot make a `retryable` reply's attempts take their worst case"


@frozen(kw_only=False)
class Scenario:
    """One schedule to replay: its moves, and the violation it is a counterexample of (if any)."""

    moves: tuple[Move, ...]
    violation: Violation | None = None


def scenarios_of(report: SagaReport, everything: bool = False) -> list[Scenario]:
    """The counterexamples of `report`, then (with `everything`) each scenario with one fault or none."""
    found = [Scenario(c.moves, c.violation) for c in report.violations]
    if everything:
        found += [Scenario(s) for s in report.scenarios if sum(m.fault for m in s) <= 1]
    return found


def replay_files(flow: Flow, reports: list[SagaReport], everything: bool = False) -> dict[PurePosixPath, str]:
    """One pytest module per report that has something to replay."""
    files: dict[PurePosixPath, str] = {}
    for report in reports:
        cases = scenarios_of(report, everything)
        if not cases:
            continue
        name = PurePosixPath(f"test_replay_{python_package(flow)}_{snake_case(report.saga.replace('.', '_'))}.py")
        if report.kind == "saga":
            saga = next(s for s in flow.sagas if s.name == report.saga)
            files[name] = _formatted(_SagaModule(flow, saga).render(cases))
        else:
            handler = next(h for h in subscriptions(flow) if handler_name(h) == report.saga)
            files[name] = _formatted(_SubscriptionModule(flow, handler).render(cases))
    return files


def _messages(moves: tuple[Move, ...]) -> list[str]:
    """The events of `moves`, one per message: a step's reply published again (a duplicate's, the recorded
    one a resend finds) is the same message; a `retryable` reply, which the adapter does not record, is
    another message on each send."""
    keys = [
        (n, i, e) if (m.kind.startswith("retryable-") or m.kind == "branch") and e == m.result else (m.step, e)
        for n, m in enumerate(moves)
        for i, e in enumerate(m.events)
    ]
    return [key[-1] for key in dict.fromkeys(keys)]


def _formatted(source: str) -> str:
    import black

    return black.format_str(source, mode=black.Mode(line_length=120))


def _slug(scenario: Scenario, n: int) -> str:
    faults = [f"{m.kind}_{m.step}" for m in scenario.moves if m.fault] or ["happy_path"]
    prefix = "counterexample_" if scenario.violation else ""
    return re.sub(r"\W+", "_", f"test_{n}_{prefix}{'_'.join(faults)}").strip("_").lower()


def _doc(scenario: Scenario) -> str:
    faults = "; ".join(m.text for m in scenario.moves if m.fault) or "no fault"
    end = scenario.moves[-1].result if scenario.moves[-1].kind == "outcome" else "no outcome"
    text = f"{faults} -> {end}"
    if scenario.violation is not None:
        text += f". Violates {scenario.violation.code}: {scenario.violation.message}"
    return text.replace("\\", "\\\\").replace('"""', "'''")


def _test_module(head: list[str], cases: Sequence[Scenario], body: Callable[[Scenario], list[str]]) -> str:
    """A replay module: its head, then one test per case, each running the case's body."""
    lines = list(head)
    for n, case in enumerate(cases, 1):
        lines += ["", "", f"def {_slug(case, n)}(kit: TestKit) -> None:", f'    """{_doc(case)}"""']
        lines += ["    " + line for line in body(case)]
    return "\n".join(lines) + "\n"


def _head(flow: Flow, what: str, extra: list[str]) -> list[str]:
    pkg = python_package(flow)
    return [
        f'"""Replays of `flowgen simulate` scenarios of {what} in the local test kit of flow `{flow.name}` {flow.version}.',
        "",
        "Written by `flowgen simulate --replay`. Each test injects one scenario's faults into",
        f"`{pkg}.testing.TestKit`, publishes a sample message, runs your services (`services/`) through",
        "the generated adapters and asserts the trace the simulator predicted. A counterexample's test then",
        "asserts the property the simulator found broken: it fails the way `flowgen simulate` said until",
        "the design or the code is fixed. Edit the samples below to realistic values as you like.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import Any",
        "",
        "import pytest",
        "",
        f"from {pkg} import models",
        f"from {pkg}.testing import TestKit",
        "",
        *extra,
        "",
        "",
        "@pytest.fixture",
        "def kit() -> TestKit:",
        '    """The kit with your services; override this fixture to pass `services={...}`."""',
        "    return TestKit()",
    ]


def _sample(message: Message) -> str:
    missing = unsatisfied(message)
    note = f"  # edit: {', '.join(missing)} must match the field's pattern" if missing else ""
    return f"{sample_payload(message)!r}{note}"


def _calls(handler: str) -> str:
    """Code for the entries of the user's handler `handler` (a Python expression) running, in `run`."""
    return f"[e for e in run.entries if e.kind == 'call' and e.name == {handler}]"


class _SagaModule:
    def __init__(self, flow: Flow, saga: Saga) -> None:
        self.flow, self.saga = flow, saga

    def render(self, cases: list[Scenario]) -> str:
        replies = sorted({r for s in self.saga.steps for r in s.action.command.failures}, key=lambda e: e.name)
        samples = ", ".join(f"{r.name!r}: {sample_payload(r)!r}" for r in replies)
        extra = [
            f"SAGA = {self.saga.name!r}",
            f"TRIGGER: dict[str, Any] = {_sample(self.saga.trigger)}",
            f"FAILURE_REPLIES: dict[str, dict[str, Any]] = {{{samples}}}",
            "",
            "",
            "def _reply(name: str) -> Any:",
            '    """A failure reply to a command: its sample, with the command\'s values for the fields they share."""',
            "    model = getattr(models, name)",
            "",
            "    def make(command: Any) -> Any:",
            "        given = command.model_dump(mode='json', by_alias=True)",
            "        sample = FAILURE_REPLIES[name]",
            "        return model.model_validate({**sample, **{k: v for k, v in given.items() if k in sample}})",
            "",
            "    return make",
        ]
        return _test_module(_head(self.flow, f"saga `{self.saga.name}`", extra), cases, self._body)

    def _call(self, move: Move) -> StepCall:
        if move.step == f"undo {TRIGGER_STEP}":
            call = self.saga.trigger_compensation
        else:
            step = self._step(move)
            call = step.compensation if move.step.startswith("undo ") else step.action
        assert call is not None
        return call

    def _step(self, move: Move) -> SagaStep:
        return next(s for s in self.saga.steps if s.name == move.step.removeprefix("undo "))

    def _body(self, case: Scenario) -> list[str]:
        faults = [m for m in case.moves if m.fault]
        skipped = [UNREPLAYABLE[m.kind] for m in faults if m.kind in UNREPLAYABLE]
        copies = [n for n, m in enumerate(faults) if m.kind == "retryable-duplicate"]
        if any(m.step == faults[n].step for n in copies for m in faults[n + 1 :]):
            skipped.append(INTERLEAVED)
        timed = case.violation is not None and case.violation.code == "saga-timeout"
        if timed and any(m.kind.startswith("retryable-") for m in case.moves):
            skipped.append(UNTIMED)
        if skipped:
            return [f"pytest.skip({skipped[0]!r})"]
        body: list[str] = []
        exhausted: dict[str, int] = {}
        if case.violation is not None and case.violation.code == "saga-timeout":
            body += self._worst_case(case.moves)
        for move in case.moves:  # the faults, and the replies that take a branch (the kit's services give success)
            if (move.fault or move.kind == "branch") and not self._awaits(move):
                body += self._inject(move, exhausted)
        body += [f"kit.fail({h!r}, times={n})" for h, n in exhausted.items()]
        body += self._awaited(case.moves)
        body.append(f"run = kit.publish(models.{self.saga.trigger.name}.model_validate(TRIGGER))")
        return body + self._predicted(case.moves, case.violation) + self._property(case.violation)

    def _worst_case(self, moves: tuple[Move, ...]) -> list[str]:
        """Every handler on the path at its worst, as the simulator times it: each attempt but the last
        hangs past its function timeout (killed, redelivered after the queue's visibility timeout), the
        last takes its whole timeout; an exhausted handler hangs its whole timeout on every attempt."""
        lines = ["# every handler at its worst case, as the simulator timed this schedule"]
        for move in moves:
            if move.kind not in ("reply", "undo", "exhausted", "undo-failed", "failure-reply", "branch"):
                continue
            call = self._call(move)
            handler, policy = handler_name(call.handler), call.handler.policy
            seconds = policy.timeout_ms / 1000
            if move.kind in ("failure-reply", "branch"):  # an answer on the first attempt, as late as it can be
                lines.append(f"kit.delay({handler!r}, seconds={seconds - 0.001!r}, times=1)")
                continue
            if move.kind in ("exhausted", "undo-failed"):
                lines.append(f"kit.delay({handler!r}, seconds={seconds - 0.001!r}, times={policy.attempts})")
                continue
            if policy.attempts > 1:
                lines.append(f"kit.delay({handler!r}, seconds={seconds + 1!r}, times={policy.attempts - 1})")
            lines.append(f"kit.delay({handler!r}, seconds={seconds - 0.001!r}, times=1)")
        return lines

    def _awaits(self, move: Move) -> bool:
        step = next((s for s in self.saga.steps if s.name == move.step), None)
        return step is not None and step.wait is not None

    def _awaited(self, moves: tuple[Move, ...]) -> list[str]:
        """The awaited events of the schedule's waits (docs/semantics.md, section 11): one that arrives
        in time is published before the trigger (the kit keeps it and delivers it when the wait
        registers); one that arrives late, after the simulator's time of the timeout."""
        lines: list[str] = []
        for move in (m for m in moves if self._awaits(m)):
            wait = self._step(move).wait
            assert wait is not None
            event = next((e for e in wait.events if move.kind != "late-event" and e.name == move.result), None)
            late = next((e for e in wait.events if move.kind == "late-event" and e.name in move.events), None)
            found = event or late
            if found is None:
                continue  # the timeout: nothing arrives
            sample = f"{{**{sample_payload(found)!r}, {wait.by.name!r}: TRIGGER[{wait.by.name!r}]}}"
            made = f"models.{found.name}.model_validate({sample})"
            if late is not None:
                lines.append(f"kit.publish_later({made}, {move.at_ms / 1000 + 1})")
            else:
                lines.append(f"kit.publish({made})")
        return lines

    def _inject(self, move: Move, exhausted: dict[str, int]) -> list[str]:
        if move.kind == "duplicate-trigger":
            return ["kit.deliver_twice(SAGA)"]
        if move.kind == "no-attempt":
            return []
        call = self._call(move)
        handler = handler_name(call.handler)
        if move.kind in ("failure-reply", "branch"):
            retried = move.result in {r.name for r in call.command.retryable}  # else retried before the last attempt
            times = call.handler.policy.attempts * sends_of(move) if retried else 1
            return [f"kit.reply({handler!r}, _reply({move.result!r}){f', times={times}' if times > 1 else ''})"]
        if move.kind in ("exhausted", "undo-failed"):
            exhausted[handler] = exhausted.get(handler, 0) + call.handler.policy.attempts
            return []
        if move.kind == "late-delivery":
            return [f"kit.deliver_late({handler!r}, seconds={seconds_ceil(self._step(move).timeout_ms) + 1})"]
        if move.kind == "duplicate":
            gap = (self._step(move).timeout_ms - call.handler.policy.timeout_ms) / 1000
            return [f"kit.deliver_twice({handler!r}, gap={gap!r})"]
        if move.kind == "undo-duplicate":
            gap = (undo_policy(call).timeout_ms - call.handler.policy.timeout_ms) / 1000
            return [f"kit.deliver_twice({handler!r}, gap={gap!r})"]
        if move.kind.startswith("retryable-"):
            return self._retryable(move, handler)
        raise AssertionError(f"no replay for a `{move.kind}` move")

    def _retryable(self, move: Move, handler: str) -> list[str]:
        """A `retryable` reply the step resends: the handler answers it on every attempt of a send (the adapter
        retries it until the last), on each send left for `retryable-exhausted`; `retryable-duplicate` also
        delivers that send's command twice, the copy as late as the deadline check lets it run."""
        step = self._step(move)
        attempts = step.action.handler.policy.attempts
        lines = [f"kit.reply({handler!r}, _reply({move.result!r}), times={attempts * sends_of(move)})"]
        if move.kind == "retryable-duplicate":
            gap = (step.timeout_ms - step.action.handler.policy.timeout_ms) / 1000
            lines.append(f"kit.deliver_twice({handler!r}, gap={gap!r})")
        return lines

    def _predicted(self, moves: tuple[Move, ...], violation: Violation | None) -> list[str]:
        timed_out = violation is not None and violation.code == "saga-timeout"
        limit = self.saga.timeout_ms
        if timed_out and limit is not None:  # an answer after the saga's timeout is late: the saga holds no result
            moves = tuple(m for m in moves if m.at_ms <= limit or m.step.startswith("undo "))
        results = {m.step: m.result for m in moves if m.step and not m.step.startswith("undo ")}
        undone = list(dict.fromkeys(m.step.removeprefix("undo ") for m in moves if m.step.startswith("undo ")))
        events = _messages(tuple(m for m in moves if not self._awaits(m)))  # an awaited event is an outsider's
        ended = moves[-1].kind == "outcome"
        if not ended and not timed_out:  # the simulator stops a schedule at its violation
            return [
                "# what the simulator predicted, up to the violation (where it stopped this schedule)",
                f"predicted = {results!r}",
                "assert {k: v for k, v in run.step_results(SAGA).items() if k in predicted} == predicted, run.format()",
            ]
        # past the saga's timeout the execution ends `failed`, with no outcome event (the kit says so too)
        outcome = moves[-1].result if ended else "failed"
        return [
            "# what the simulator predicted",
            f"assert run.step_results(SAGA) == {results!r}, run.format()",
            f"assert run.compensations(SAGA) == {undone!r}, run.format()",
            f"assert run.outcome(SAGA) == {outcome!r}, run.format()",
            "# each event once per message id: a duplicate's re-published reply is the same message",
            "published = {e.message_id: e.name for e in run.entries if e.kind == 'publish' and not e.input}",
            f"assert [e for e in published.values() if e in {tuple(sorted(set(events)))!r}] == {events!r}, run.format()",
        ]

    def _property(self, violation: Violation | None) -> list[str]:
        if violation is None:
            return []
        why = f"violated: {violation.code}: {violation.message}"
        code, saga = violation.code, self.saga
        if code == "effect-twice":
            handler = _named(violation)
            return ["# the property it breaks", f"assert len({_calls(repr(handler))}) <= 1, {why!r}"]
        if code == "saga-timeout":
            return ["# the property it breaks", f"assert not run.problems(), {why!r}"]
        if code == "compensation":
            steps = {s.name: handler_name(s.action.handler) for s in saga.steps[: saga.pivot_index] if not s.readonly}
            undoing = ["compensated"] + [
                b.outcome for s in saga.steps[: saga.pivot_index + 1] for b in s.branches if b.outcome is not None
            ]
            return [
                "# the property it breaks",
                f"took_effect = [s for s, h in {steps!r}.items() if {_calls('h')}]",
                "undone = run.compensations(SAGA)",
                f"assert run.outcome(SAGA) not in {sorted(set(undoing))!r} or all(s in undone for s in took_effect), {why!r}",
            ]
        if code.startswith("invariant: "):
            inv = next(i for i in saga.invariants if code == f"invariant: {i.text}")
            followers = {f.name for f in inv.followers}
            return [
                "# the property it breaks",
                "events = run.events()",
                f"assert all(any(f in events[i + 1 :] for f in {followers!r}) "
                f"for i, e in enumerate(events) if e == {inv.event.name!r}), {why!r}",
            ]
        if code == "one-outcome":
            return ["# the property it breaks", f"assert len(run.outcomes(SAGA)) == 1, {why!r}"]
        return ["# the property it breaks", f"assert not run.problems(), {why!r}"]


def _tagged_messages(event: Message) -> tuple[dict[str, dict[str, Any]], tuple[str, ...]]:
    """#1 and #2 (one key, told apart by another field) and A and B (two keys), and the fields that differ."""
    base = sample_payload(event)
    key = event.ordered_by or event.key
    free = [f for f in event.fields if f is not key and f.type == ScalarRef(scalar=Scalar.STRING)]
    other = next((f.name for f in free if f.constraints.pattern is None and f.constraints.max_length is None), None)
    messages = {tag: dict(base) for tag in ("#1", "#2", "A", "B")}
    for tag in ("#1", "#2", "A", "B"):
        if other is not None:
            messages[tag][other] = f"{base[other]}{tag}"
    if key is not None:
        for n, tag in enumerate(("A", "B"), 1):
            messages[tag][key.name] = _another(base[key.name], n)
    return messages, tuple(n for n in (other, key.name if key else None) if n is not None)


def _another(value: Any, n: int) -> Any:
    """A value like `value` with another identity (`n` = 1, 2, ...)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value + n
    text = str(value)
    if re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", text):
        return text[:-1] + "abcdef"[n % 6]
    return f"{text}{n}"


def _named(violation: Violation) -> str:
    """The handler a violation's message starts with: "`Service.handler` took effect twice"."""
    match = re.match(r"`([^`]+)`", violation.message)
    assert match is not None, violation.message
    return match.group(1)


class _SubscriptionModule:
    def __init__(self, flow: Flow, handler: Handler) -> None:
        self.flow, self.handler = flow, handler
        self.messages, self.fields = _tagged_messages(handler.input)

    def render(self, cases: list[Scenario]) -> str:
        event = self.handler.input.name
        extra = [
            f"HANDLER = {handler_name(self.handler)!r}",
            "# the sample message; #1 and #2 share a key, A and B do not",
            f"MESSAGES: dict[str, dict[str, Any]] = {self.messages!r}",
            f"DISTINCT = {self.fields!r}",
            "",
            "",
            "def _message(tag: str = '#1') -> Any:",
            f"    return models.{event}.model_validate(MESSAGES[tag])",
            "",
            "",
            "def _handled(*runs: Any) -> list[str]:",
            '    """The messages your handler ran on, in order, by tag."""',
            "    payloads = [e.payload or {} for run in runs for e in run.entries if e.kind == 'call' and e.name == HANDLER]",
            "    return [",
            "        next(t for t, m in MESSAGES.items() if all(str(p.get(f)) == str(m[f]) for f in DISTINCT))",
            "        for p in payloads",
            "    ]",
        ]
        return _test_module(_head(self.flow, f"subscription `{handler_name(self.handler)}`", extra), cases, self._body)

    def _body(self, case: Scenario) -> list[str]:
        fault = next((m for m in case.moves if m.fault), None)
        kind = fault.kind if fault is not None else "handled"
        policy, end = self.handler.policy, case.moves[-1].result
        if kind in ("reorder", "retrying") and not self.fields:
            return ["pytest.skip('the message has no field to tell two messages apart')"]
        body: list[str]
        if kind == "retried":
            body = [f"kit.fail(HANDLER, times={policy.attempts - 1})", "run = kit.publish(_message())"]
            body += ["# what the simulator predicted", f"assert len({_calls('HANDLER')}) == 1, run.format()"]
        elif kind == "exhausted":
            letters = 1 if policy.dlq else 0
            body = [f"kit.fail(HANDLER, times={policy.attempts})", "run = kit.publish(_message())"]
            body += [
                "# what the simulator predicted",
                f"assert {_calls('HANDLER')} == [], run.format()",
                f"assert len([e for e in run.entries if e.kind == 'dead-letter' and e.name == HANDLER]) == {letters}, run.format()",
            ]
        elif kind in ("duplicate", "duplicate-late"):
            assert fault is not None
            gap = (fault.at_ms - case.moves[1].at_ms) / 1000
            times = 2 if end == "handled twice" else 1
            body = [f"kit.deliver_twice(HANDLER, gap={gap!r})", "run = kit.publish(_message())"]
            body += ["# what the simulator predicted", f"assert len({_calls('HANDLER')}) == {times}, run.format()"]
        elif kind == "reorder":
            expected = {"#1 dropped": ["#2"], "handled in order": ["#1", "#2"]}.get(end, ["#2", "#1"])
            body = [
                "# #2 arrives first: the kit handles messages in the order they arrive",
                "run2 = kit.publish(_message('#2'))",
                "run1 = kit.publish(_message('#1'))",
                "# what the simulator predicted",
                f"assert _handled(run2, run1) == {expected!r}, run2.format() + run1.format()",
            ]
            if self.messages["#1"] == self.messages["#2"]:  # nothing tells them apart: count them
                body[-1] = f"assert len(_handled(run2, run1)) == {len(expected)}, run2.format() + run1.format()"
        elif kind == "retrying":
            body = [
                "# A fails once and is retried; B is handled (the kit runs one publish to its end, so B comes after A)",
                "kit.fail(HANDLER, times=1)",
                "run_a = kit.publish(_message('A'))",
                "run_b = kit.publish(_message('B'))",
                "# what the simulator predicted",
                "assert _handled(run_a, run_b) == ['A', 'B'], run_a.format() + run_b.format()",
            ]
        else:
            body = ["run = kit.publish(_message())", "# what the simulator predicted"]
            body += [f"assert len({_calls('HANDLER')}) == 1, run.format()"]
        return body + self._property(case.violation)

    def _property(self, violation: Violation | None) -> list[str]:
        if violation is None:
            return []
        why = f"violated: {violation.code}: {violation.message}"
        if violation.code == "effect-twice":
            return ["# the property it breaks", f"assert len({_calls('HANDLER')}) <= 1, {why!r}"]
        if violation.code == "ordering":
            return [
                "# the property it breaks",
                f"assert _handled(run2, run1) == ['#1', '#2'], {why!r}",
            ]
        return ["# the property it breaks", f"pytest.fail({why!r})"]
