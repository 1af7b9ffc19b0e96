"""A saga as an Amazon States Language definition: the orchestrator's half of the protocol.

The protocol is SAGA-CONTRACT's, described for users in docs/semantics.md:

- The execution input is `{"trigger": {"envelope": ENVELOPE, "payload": {...}}}`.
- Each step is a Task `sqs:sendMessage.waitForTaskToken` that sends the step
  handler's queue `{"kind": "saga-command", "saga", "step", "command", "payload",
  "taskToken", "envelope"}`. The machine builds `payload` itself, by field name
  from the trigger and the success replies of the steps before. The envelope
  carries `time` (when the state was entered) and `timeout_seconds`: the adapter
  starts an attempt only if it can finish by `time + timeout_seconds`, so no
  attempt starts after the machine gave up on the task.
- The adapter answers SendTaskSuccess `{"reply", "payload"}` (stored at
  `$.steps.<step>`), or SendTaskFailure with error = a failure reply's name
  (cause = its payload as JSON), `AttemptsExhausted` or `InvalidMessage`.

Resends: a failure reply, an invalid message and an error the handler `raises`
are final, never resent. Any other failure (a timeout, exhausted attempts, an
SQS error) and a failure reply marked `retryable` are resent as the step's own
`retry` says, then it is a failure; a compensation is sent once.
A resend is a loop (`resend <step>` counts it, `wait to resend <step>` waits the
backoff, then the step's state is entered again) rather than a `Retry`, because
Step Functions keeps `$$.State.EnteredTime` across retries: the envelope's
deadline must start when the resend is sent, or the adapter would refuse it.

Shape: `init` -> `step a` -> ... -> `emit <completed event>` -> `completed`. Each
failure is caught into `failed <step>`, a Choice on the error that records the
failure at `$.failure` (`step`, `error`, `payload` for a reply, `route`) and goes:

- up to the pivot, a failure reply, or no answer before the pivot: to the
  compensations in reverse order (a step without an answer may have run, so its
  own compensation comes first), then to the compensated event chosen by
  `$.failure.route`, then `compensated` (Succeed: a business outcome);
- no answer from the pivot, any failure after it, a compensation that fails: to
  the failed event, then `failed` (Fail `<Saga>.NeedsAttention`: the alarm's).

Outcome events are filled per path as `dsl.sagapaths` says; `check` has proven
every required field has a source on every path.

A parallel block is a Parallel state and a join (`parallel.py`); the builder
enters it where it would enter the block's first step, and before undoing a
step of a block asks whether it ran (`did <step> run`), as in a branched saga.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from flowgen_design.codegen.targets.cloudformation.template import Json
from flowgen_design.dsl.durations import seconds_ceil
from flowgen_design.dsl.model import (
    DeliveryPolicy,
    Event,
    Field,
    FillSource,
    Flow,
    Handler,
    Saga,
    SagaStep,
    StepCall,
)
from flowgen_design.dsl.sagapaths import (
    TRIGGER_STEP,
    Ending,
    arrivals,
    carries,
    command_sources,
    compensates,
    compensates_itself,
    endings,
    fill_source,
    trigger_undo_sources,
    undo_policy,
)

SEND_AND_WAIT = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
PUT_EVENTS = "arn:aws:states:::events:putEvents"
UPDATE_ITEM = "arn:aws:states:::dynamodb:updateItem"
SEQUENCE = "sequence"
"""The envelope field of an ordered event's per-key number, and its counter's attribute in the table."""
EMIT_ATTEMPTS = 5
FINAL_ERRORS = ("InvalidMessage",)  # with the failure replies: answers, never retried
INIT, COMPLETED, COMPENSATED, FAILED = "init", "completed", "compensated", "failed"
COMPENSATED_ROUTE = "compensated: which event"

QueuePlaceholder = Callable[[Handler], str]

MAX_STATE_NAME = 80


def state_name(text: str) -> str:
    """A state name within Step Functions' 80 characters: long names keep a hash to stay unique."""
    if len(text) <= MAX_STATE_NAME:
        return text
    return text[: MAX_STATE_NAME - 9] + "~" + hashlib.sha256(text.encode()).hexdigest()[:8]


def step_state(step: SagaStep) -> str:
    return state_name(f"step {step.name}")


def undo_state(step: SagaStep) -> str:
    return state_name(f"undo {step.name}")


def entry_state(step: SagaStep) -> str:
    """Where the machine enters a step: its parallel block (a Parallel state), its grace period
    (`after D`, a Wait state), else its task."""
    if step.parallel is not None:
        return parallel_state(step.parallel)
    return own_entry_state(step)


def own_entry_state(step: SagaStep) -> str:
    """Where a step's own states start (inside its block's branch, for a step of a block)."""
    return state_name(f"wait before {step.name}") if step.delay_ms else step_state(step)


def parallel_state(block: str) -> str:
    return state_name(f"parallel {block}")


def ran_state(step: SagaStep) -> str:
    """A branched saga asks before each compensation whether its step ran (succeeded) on this way."""
    return state_name(f"did {step.name} run")


def outcome_state(kind: str) -> str:
    """The terminal state of an outcome: `completed`, `compensated`, `failed`, or a named one (Succeed)."""
    return state_name(kind if kind != INIT else f"outcome {kind}")


TRIGGER_UNDO = state_name(f"undo {TRIGGER_STEP}")
TRIGGER_UNDO_FAILED = state_name(f"failed undo {TRIGGER_STEP}")


def caught_state(step: SagaStep, undoing: bool = False) -> str:
    return state_name(f"failed {'undo ' if undoing else ''}{step.name}")


def needs_attention_error(saga: Saga) -> str:
    return f"{saga.name}.NeedsAttention"


def definition(
    flow: Flow, saga: Saga, queue: QueuePlaceholder, bus: str, table: str | None = None, awaiter: str | None = None
) -> Json:
    """The state machine of `saga`; `queue(handler)`, `bus` and `table` are `${...}` placeholders.
    With the idempotency `table`, an outcome event `ordered by` a field is numbered there first.
    `awaiter`: the queue an `await` step registers its wait on (the saga starter's, section 11)."""
    builder = _Builder(flow, saga, queue, bus, table)
    builder.awaiter = awaiter or "${" + AWAITER_PLACEHOLDER + "}"
    return builder.build()


AWAITER_PLACEHOLDER = "AwaiterQueue"
"""The placeholder of the awaiter's queue when the caller names none (tests that run the machine)."""
SAGA_WAIT = "saga-wait"
"""The `kind` of the message an `await` step sends to register its task token (docs/semantics.md, section 11)."""


class _Builder:
    def __init__(self, flow: Flow, saga: Saga, queue: QueuePlaceholder, bus: str, table: str | None = None) -> None:
        self.flow, self.saga, self.queue, self.bus, self.table = flow, saga, queue, bus, table
        self.awaiter = "${" + AWAITER_PLACEHOLDER + "}"
        self.states: Json = {}
        self.emits: dict[str, str] = {}  # detail as JSON text -> its emit state

    def build(self) -> Json:
        saga, states = self.saga, self.states
        states[INIT] = self._init()
        ways = endings(saga)
        done = next((w for w in ways if w.outcome == "completed"), None)
        for index, step in enumerate(saga.steps):
            if step.parallel is not None:
                block = saga.block(step.parallel)
                if block is not None and index == block.first:
                    from flowgen_design.codegen.targets.cloudformation.parallel import build_block

                    build_block(self, block, ways, done)
                continue
            following = self._after_success(index, done)
            if step.delay_ms:
                wait = {"Type": "Wait", "Seconds": max(1, seconds_ceil(step.delay_ms)), "Next": step_state(step)}
                states[entry_state(step)] = wait
            task = self._wait_task if step.wait is not None else self._step_task
            states[step_state(step)] = task(index, following)
            states[caught_state(step)] = self._caught(step, [w for w in ways if w.step is step and not w.undoing])
        for step in self._undoable():
            states[undo_state(step)] = self._undo_task(step)
            if saga.branched or step.parallel is not None:
                states[ran_state(step)] = self._ran(step)
            undo_failed = next((w for w in ways if w.step is step and w.undoing), None)
            if undo_failed is not None:
                states[caught_state(step, undoing=True)] = self._record(undo_failed, self._emit_for(undo_failed))
        if saga.trigger_compensation is not None:
            states[TRIGGER_UNDO] = self._trigger_undo(saga.trigger_compensation)
            undo_failed = next((w for w in ways if w.step is None and w.undoing), None)
            if undo_failed is not None:
                states[TRIGGER_UNDO_FAILED] = self._record(undo_failed, self._emit_for(undo_failed))
        states[COMPENSATED_ROUTE] = self._route([w for w in ways if compensates(saga, w)])
        states[COMPLETED] = {"Type": "Succeed"}
        states[COMPENSATED] = {"Type": "Succeed", "Comment": "every step that ran or may have run was undone"}
        for outcome in saga.named_outcomes:
            states[outcome_state(outcome.kind)] = {"Type": "Succeed", "Comment": f"outcome {outcome.kind}"}
        states[FAILED] = {
            "Type": "Fail",
            "Error": needs_attention_error(saga),
            "Cause": f"saga {saga.name} needs a human: a failure after the pivot, an unknown pivot outcome, or a compensation that could not finish",
        }
        result: Json = {
            "Comment": f"saga {saga.name} of flow {self.flow.name} (generated by flowgen)",
            "StartAt": INIT,
            "States": states,
        }
        if saga.timeout_ms is not None:
            result["TimeoutSeconds"] = seconds_ceil(saga.timeout_ms)
        for name in set(states) - _reachable(states, INIT):
            del states[name]  # e.g. `compensated` in a saga whose every failure needs a human
        return result

    def _init(self) -> Json:
        first = entry_state(self.saga.steps[0])
        resent = [s for s in self.saga.steps if s.policy.attempts > 1]
        if not resent:
            return {"Type": "Pass", "Result": {}, "ResultPath": "$.steps", "Next": first}
        counters = {s.name: {"count": 0} for s in resent}
        return {
            "Type": "Pass",
            "Parameters": {"trigger.$": "$.trigger", "steps": {}, "resends": counters},
            "Next": first,
        }

    def _resend(self, step: SagaStep) -> str:
        """Count the resend, wait its backoff, enter the step again (a fresh `time` for the deadline)."""
        counter = f"$.resends.{step.name}"
        delays = ", ".join(str(d) for d in resend_delays(step.policy))
        wait = state_name(f"wait to resend {step.name}")
        self.states[wait] = {"Type": "Wait", "SecondsPath": f"{counter}.wait", "Next": step_state(step)}
        return self._add(
            state_name(f"resend {step.name}"),
            {
                "Type": "Pass",
                "Parameters": {
                    "count.$": f"States.MathAdd({counter}.count, 1)",
                    "wait.$": f"States.ArrayGetItem(States.Array({delays}), {counter}.count)",
                },
                "ResultPath": counter,
                "Next": wait,
            },
        )

    def _undoable(self) -> list[SagaStep]:
        """The steps with an undo that some way reaches (a step every branch skips never runs:
        FLOW423 warns; it has nothing to undo and no failure states)."""
        reached = arrivals(self.saga)
        steps = self.saga.steps
        return [s for s in self.saga.compensable_steps if s.compensation is not None and steps.index(s) in reached]

    def _after_success(self, index: int, done: Ending | None) -> str:
        """The next step, the later step the success reply skips to, or the completed event."""
        saga, step = self.saga, self.saga.steps[index]
        success = step.action.command.success
        branch = step.branch(success.name) if success is not None else None
        if branch is not None and branch.step is not None:
            return entry_state(next(s for s in saga.steps if s.name == branch.step))
        if index + 1 < len(saga.steps):
            return entry_state(saga.steps[index + 1])
        return self._emit_for(done) if done is not None else COMPLETED

    def _undo_from(self, steps: list[SagaStep]) -> str:
        """Undo the latest of `steps`, then the others: in a branched saga, each only if it ran."""
        if not steps:
            return TRIGGER_UNDO if self.saga.trigger_compensation is not None else COMPENSATED_ROUTE
        return ran_state(steps[-1]) if self.saga.branched or steps[-1].parallel else undo_state(steps[-1])

    def _ran(self, step: SagaStep) -> Json:
        earlier = [s for s in self._undoable() if self.saga.steps.index(s) < self.saga.steps.index(step)]
        if step.parallel is not None:
            from flowgen_design.codegen.targets.cloudformation.parallel import ran_in_block

            return ran_in_block(step, undo_state(step), self._undo_from(earlier))
        check = {"Variable": f"$.steps.{step.name}", "IsPresent": True, "Next": undo_state(step)}
        return {"Type": "Choice", "Choices": [check], "Default": self._undo_from(earlier)}

    # ---- steps and compensations -------------------------------------------------------

    def _step_task(self, index: int, following: str) -> Json:
        saga, step = self.saga, self.saga.steps[index]
        timeout = max(1, seconds_ceil(step.timeout_ms))
        task: Json = {
            "Type": "Task",
            "Comment": f"{step.action.service}.{step.action.command.name}"
            + (" (pivot)" if index == saga.pivot_index else ""),
            "Resource": SEND_AND_WAIT,
            "Parameters": self._message(step, step.action, f"{step.name}", timeout),
            "ResultPath": f"$.steps.{step.name}",
            "TimeoutSeconds": timeout,
            "Next": following,
        }
        if step.heartbeat_ms:  # the adapter sends SendTaskHeartbeat as each attempt starts (section 11)
            task["HeartbeatSeconds"] = max(1, seconds_ceil(step.heartbeat_ms))
        task["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": caught_state(step)}]
        return task

    def _wait_task(self, index: int, following: str) -> Json:
        """An `await` step: send the awaiter its registration with the task token, then wait for the
        awaiter's SendTaskSuccess (the first event) or SendTaskFailure (another) up to the timeout."""
        saga, step = self.saga, self.saga.steps[index]
        wait = step.wait
        assert wait is not None
        timeout = max(1, seconds_ceil(step.timeout_ms))
        body = {
            "kind": SAGA_WAIT,
            "saga": saga.name,
            "step": step.name,
            "events": [e.name for e in wait.events],
            "by": wait.by.name,
            "key.$": f"States.Format('{{}}', $.trigger.payload.{wait.by.name})",
            "taskToken.$": "$$.Task.Token",
            "envelope": {**self._envelope(f"/{step.name}"), "timeout_seconds": timeout},
        }
        task: Json = {
            "Type": "Task",
            "Comment": "await "
            + " | ".join(e.name for e in wait.events)
            + f" by {wait.by.name}"
            + (" (pivot)" if index == saga.pivot_index else ""),
            "Resource": SEND_AND_WAIT,
            "Parameters": {"QueueUrl": self.awaiter, "MessageBody": body},
            "ResultPath": f"$.steps.{step.name}",
            "TimeoutSeconds": timeout,
            "Next": following,
        }
        if step.heartbeat_ms:  # the awaiter's sweep confirms the registered wait (section 11)
            task["HeartbeatSeconds"] = max(1, seconds_ceil(step.heartbeat_ms))
        task["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": caught_state(step)}]
        return task

    def _wait_default(self, step: SagaStep) -> str:
        """Where a wait without an answer (timed out, heartbeat lapsed, not registered) goes when its
        timeout leads to a later step: there; otherwise the ending's state decides."""
        if step.wait is None or step.wait.timeout_step is None:
            return FAILED
        return entry_state(next(s for s in self.saga.steps if s.name == step.wait.timeout_step))

    def _undo_task(self, step: SagaStep) -> Json:
        call = step.compensation
        assert call is not None
        index = self.saga.steps.index(step)
        timeout = max(1, seconds_ceil(undo_policy(call).timeout_ms))
        earlier = [s for s in self._undoable() if self.saga.steps.index(s) < index]
        task: Json = {
            "Type": "Task",
            "Comment": f"{call.service}.{call.command.name}: undo step {step.name}",
            "Resource": SEND_AND_WAIT,
            "Parameters": self._message(step, call, f"undo {step.name}", timeout),
            "ResultPath": None,
            "TimeoutSeconds": timeout,
            "Next": self._undo_from(earlier),
        }
        task["Catch"] = [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": caught_state(step, undoing=True)}
        ]
        return task

    def _trigger_undo(self, call: StepCall) -> Json:
        """Undo the local transaction that published the trigger: last, after every step's undo."""
        timeout = max(1, seconds_ceil(undo_policy(call).timeout_ms))
        return {
            "Type": "Task",
            "Comment": f"{call.service}.{call.command.name}: undo the trigger {self.saga.trigger.name}",
            "Resource": SEND_AND_WAIT,
            "Parameters": self._message(None, call, f"undo {TRIGGER_STEP}", timeout),
            "ResultPath": None,
            "TimeoutSeconds": timeout,
            "Next": COMPENSATED_ROUTE,
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": TRIGGER_UNDO_FAILED}],
        }

    def _message(
        self,
        step: SagaStep | None,
        call: StepCall,
        label: str,
        timeout: int,
    ) -> Json:
        """The command message; `step` None: the trigger's compensation."""
        payload = command_payload(self.saga, step, call) if step is not None else None
        body = {
            "kind": "saga-command",
            "saga": self.saga.name,
            "step": step.name if step is not None else TRIGGER_STEP,
            "command": call.command.name,
            "payload": payload if payload is not None else _payload(trigger_undo_sources(self.saga, call), call),
            "taskToken.$": "$$.Task.Token",
            "envelope": {**self._envelope(f"/{label}"), "timeout_seconds": timeout},
        }
        if step is not None and call is step.action and step.heartbeat_ms:  # the adapter's cue to send heartbeats
            beat = max(1, seconds_ceil(step.heartbeat_ms))
            body["envelope"] = {**self._envelope(f"/{label}"), "timeout_seconds": timeout, "heartbeat_seconds": beat}
        params: Json = {"QueueUrl": self.queue(call.handler), "MessageBody": body}
        ordering = call.command.ordered_by
        if ordering is not None:
            params["MessageGroupId.$"] = _message_group(self.saga.trigger, ordering)
        return params

    def _envelope(self, suffix: str) -> Json:
        return {
            "message_id.$": f"States.Format('{{}}{_escape(suffix)}', $$.Execution.Name)",
            "correlation_id.$": "$.trigger.envelope.correlation_id",
            "causation_id.$": "$.trigger.envelope.message_id",
            "saga_instance.$": "$$.Execution.Name",
            "schema_version": self.flow.version,
            "time.$": "$$.State.EnteredTime",
        }

    # ---- failures -------------------------------------------------------------------------

    def _caught(self, step: SagaStep, ways: list[Ending]) -> Json:
        """A Choice on the error: each failure reply, else no answer; each records `$.failure`."""
        choices: list[Json] = []
        retried: list[Json] = []  # `retryable` replies: resent like no answer, then a failure reply
        resent = step.policy.attempts > 1
        default = self._wait_default(step)
        for way in ways:
            target = self._after_failure(way)
            if way.reply is None:
                default = self._add(state_name(f"no answer from {step.name}"), self._record(way, target))
                continue
            name = self._add(state_name(f"{step.name} replied {way.reply.name}"), self._record(way, target))
            retryable = resent and way.reply in step.action.command.retryable
            (retried if retryable else choices).append(
                {"Variable": "$.error.Error", "StringEquals": way.reply.name, "Next": name}
            )
        for branch in step.branches:  # a branched reply is an answer: never resent
            if branch.step is not None and branch.reply is not step.action.command.success:
                later = entry_state(next(s for s in self.saga.steps if s.name == branch.step))
                choices.append({"Variable": "$.error.Error", "StringEquals": branch.reply.name, "Next": later})
        if resent:
            resends = step.policy.attempts - 1
            for final in (FINAL_ERRORS[0], *step.action.handler.raises):  # declared errors are final too
                choices.append({"Variable": "$.error.Error", "StringEquals": final, "Next": default})
            counter = f"$.resends.{step.name}.count"
            choices.append({"Variable": counter, "NumericLessThan": resends, "Next": self._resend(step)})
            choices += retried
        if not choices:
            return {"Type": "Pass", "Next": default}
        return {"Type": "Choice", "Choices": choices, "Default": default}

    def _add(self, name: str, state: Json) -> str:
        self.states[name] = state
        return name

    def _record(self, way: Ending, following: str) -> Json:
        name = way.step.name if way.step is not None else TRIGGER_STEP
        failure: Json = {
            "step": f"undo {name}" if way.undoing else name,
            "error.$": "$.error.Error",
            "route": self._emit_for(way),
        }
        if way.reply is not None:  # the adapter always sends a reply's payload as the cause
            failure["payload.$"] = "States.StringToJson($.error.Cause)"
        return {"Type": "Pass", "Parameters": failure, "ResultPath": "$.failure", "Next": following}

    def _after_failure(self, way: Ending) -> str:
        """Where a failure goes: the first compensation to run, the route to the event, or the event."""
        if not compensates(self.saga, way):
            return self._emit_for(way)
        assert way.step is not None
        index = self.saga.steps.index(way.step)
        if compensates_itself(way) and way.step.compensation is not None and index < self.saga.pivot_index:
            return undo_state(way.step)  # it may have run, on this way for sure: no need to ask
        return self._undo_from([s for s in self._undoable() if self.saga.steps.index(s) < index])

    def _route(self, ways: list[Ending]) -> Json:
        targets = sorted({self._emit_for(w) for w in ways})
        if len(targets) <= 1:
            return {"Type": "Pass", "Next": targets[0] if targets else COMPENSATED}
        if len(targets) == 1:
            return {"Type": "Pass", "Next": targets[0]}
        choices = [{"Variable": "$.failure.route", "StringEquals": t, "Next": t} for t in targets[1:]]
        return {"Type": "Choice", "Choices": choices, "Default": targets[0]}

    # ---- outcome events ---------------------------------------------------------------------

    def _emit_for(self, way: Ending) -> str:
        """The state that emits `way`'s outcome event as `way` fills it (one state per distinct filling)."""
        terminal = outcome_state(way.outcome)
        outcome = self.saga.outcome(way.outcome)
        if outcome is None:
            return terminal
        payload: Json = {}
        for f in outcome.event.fields:
            source = fill_source(self.saga, outcome, way, f)
            if source is not None:
                key, value = _json_value(f, source)
                payload[key] = value
        detail = {"envelope": self._envelope(f"/{way.outcome}"), "payload": payload}
        text = json.dumps(detail, sort_keys=True)
        if text not in self.emits:
            taken = sum(1 for name in self.emits.values() if name.startswith(f"emit {outcome.event.name}"))
            name = state_name(f"emit {outcome.event.name}" + (f" ({taken + 1})" if taken else ""))
            self.emits[text] = name
            self.states[name] = self._emit(outcome.event, detail, terminal)
            self._number_first(outcome.event, detail, name)
        return self.emits[text]

    def _number_first(self, event: Event, detail: Json, emit: str) -> None:
        """An ordered outcome event gets the next number of its key, as a handler's adapter gives it
        (docs/semantics.md, "Per-key order"): `ADD 1` to the key's counter in the idempotency table,
        then the emit state (renamed `number ...` -> it) puts it in the envelope. A retried PutEvents
        keeps the number; a number taken by an attempt whose answer was lost is a gap."""
        ordering, payload = event.ordered_by, detail["payload"]
        if ordering is None or self.table is None:
            return
        prefix = _escape(f"{SEQUENCE}#{self.flow.name}#{event.name}#")
        if f"{ordering.name}.$" in payload:
            key: Json = {"S.$": f"States.Format('{prefix}{{}}', {payload[ordering.name + '.$']})"}
        elif ordering.name in payload:
            key = {"S": f"{SEQUENCE}#{self.flow.name}#{event.name}#{_key_text(payload[ordering.name])}"}
        else:
            return  # nothing fills the key on this way: no order to keep
        detail["envelope"][f"{SEQUENCE}.$"] = f"$.{SEQUENCE}.value"
        numbered = self.states.pop(emit)
        self.states[emit] = {
            "Type": "Task",
            "Resource": UPDATE_ITEM,
            "Parameters": {
                "TableName": self.table,
                "Key": {"id": key},
                "UpdateExpression": "ADD #n :one",
                "ExpressionAttributeNames": {"#n": SEQUENCE},
                "ExpressionAttributeValues": {":one": {"N": "1"}},
                "ReturnValues": "UPDATED_NEW",
            },
            "ResultSelector": {"value.$": f"States.StringToJson($.Attributes.{SEQUENCE}.N)"},
            "ResultPath": f"$.{SEQUENCE}",
            "Retry": numbered["Retry"],
            "Next": self._add(state_name(f"publish {emit.removeprefix('emit ')}"), numbered),
        }

    def _emit(self, event: Event, detail: Json, following: str) -> Json:
        entry = {"EventBusName": self.bus, "Source": self.flow.name, "DetailType": event.name, "Detail": detail}
        return {
            "Type": "Task",
            "Resource": PUT_EVENTS,
            "Parameters": {"Entries": [entry]},
            "ResultPath": None,
            "Retry": [
                {"ErrorEquals": ["States.ALL"], "MaxAttempts": EMIT_ATTEMPTS, "IntervalSeconds": 1, "BackoffRate": 2.0}
            ],
            "Next": following,
        }


def _reachable(states: Json, start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        state = states[name]
        todo += [state[k] for k in ("Next", "Default") if k in state]
        todo += [c["Next"] for c in (*state.get("Choices", []), *state.get("Catch", []))]
    return seen


def _json_value(target: Field, source: FillSource) -> tuple[str, Any]:
    if source.origin == "constant":
        return target.name, source.value
    if source.origin == "trigger":
        return f"{target.name}.$", f"$.trigger.payload.{source.field}"
    if source.origin == "step":
        return f"{target.name}.$", f"$.steps.{source.step}.payload.{source.field}"
    if source.field in ("step", "error"):
        return f"{target.name}.$", f"$.failure.{source.field}"
    return f"{target.name}.$", f"$.failure.payload.{source.field}"


def _key_text(value: object) -> str:
    """A constant ordering value as the adapters' `order_key` writes it."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _escape(text: str) -> str:
    """Text inside a `States.Format` string literal."""
    out = text
    for special in ("\\", "'", "{", "}"):
        out = out.replace(special, "\\" + special)
    return out


def command_payload(saga: Saga, step: SagaStep, call: StepCall) -> Json:
    """The command's fields as `dsl.sagapaths.command_sources` says: the step's fills, else by name from
    the latest reply there on every way, else the trigger.

    A field no source always has is left out (JSONPath cannot read a key that may be
    missing); `check` warns about required ones (FLOW414).
    """
    return _payload(command_sources(saga, step, call), call)


def _payload(sources: dict[str, FillSource], call: StepCall) -> Json:
    payload: Json = {}
    for f in call.command.fields:
        source = sources.get(f.name)
        if source is not None:
            key, value = _json_value(f, source)
            payload[key] = value
    return payload


def _message_group(trigger: Event, ordering: Field) -> str:
    """A FIFO command queue groups by the ordering value when the trigger carries it, else per saga run."""
    if carries(trigger, ordering.name, ordering):
        return f"States.Format('{{}}', $.trigger.payload.{ordering.name})"
    return "$$.Execution.Name"


# ---- retries -----------------------------------------------------------------------------


def resend_delays(policy: DeliveryPolicy) -> list[int]:
    """Seconds to wait before each resend: the backoff's delay, rounded up to a whole second (a
    Wait state's unit). Without jitter: the orchestrator waits the full delay (docs/semantics.md)."""
    if policy.backoff is None:
        return [0] * (policy.attempts - 1)
    return [seconds_ceil(policy.backoff.delay_ms(k)) for k in range(1, policy.attempts)]
