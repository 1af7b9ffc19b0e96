"""The services a saga talks to, simulated on the virtual clock of `tests.asl`.

Each command handler behaves as the Lambda adapter of SAGA-CONTRACT does: it
receives the command when it is sent, makes up to the policy's attempts (an
exception waits the backoff's full delay in whole seconds, the worst case of full
jitter; an attempt killed at its timeout is redelivered `REDELIVERY_MARGIN_MS` later),
starts an attempt only if it can finish by the envelope's deadline (unless a
test breaks that on purpose), and answers the task: success, a failure reply,
or `AttemptsExhausted`. What a handler does on each attempt is scripted by the
test. A successful action is an effect on the world, at the time it finishes,
even when nobody waits for the answer any more: that is how a late success
shows up. A compensation undoes its step's effect if there is one, and is a
no-op otherwise ("nothing to undo").
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from typing import Any

from flowgen_design.dsl.model import (
    REDELIVERY_MARGIN_MS,
    EnumRef,
    Event,
    Flow,
    Handler,
    ListRef,
    MapRef,
    OptionalRef,
    RecordRef,
    Saga,
    Scalar,
    ScalarRef,
    TypeRef,
)
from tests.asl import EPOCH, Answer

Json = Any


def fake(t: TypeRef, name: str = "x") -> Json:
    """A valid value of type `t`."""
    if isinstance(t, OptionalRef):
        return fake(t.inner, name)
    if isinstance(t, ListRef):
        return [fake(t.item, name)]
    if isinstance(t, MapRef):
        return {"k": fake(t.value, name)}
    if isinstance(t, RecordRef):
        return {f.name: fake(f.type, f.name) for f in t.record.fields}
    if isinstance(t, EnumRef):
        return t.enum.members[0].name
    assert isinstance(t, ScalarRef)
    return {
        Scalar.STRING: f"{name}-value",
        Scalar.INT: 1,
        Scalar.FLOAT: 1.5,
        Scalar.DECIMAL: "1.50",
        Scalar.BOOL: True,
        Scalar.UUID: "00000000-0000-4000-8000-000000000001",
        Scalar.TIMESTAMP: "2026-01-01T00:00:00Z",
        Scalar.DATE: "2026-01-01",
        Scalar.DURATION: "PT1S",
        Scalar.BYTES: "AA==",
    }[t.scalar]


def payload_of(event: Event) -> Json:
    return {f.name: fake(f.type, f.name) for f in event.fields}


def queue_key(handler: Handler) -> str:
    """What the test puts in place of a queue URL: the handler, by name."""
    return f"{handler.service}.{handler.name}"


@dataclass(frozen=True)
class Attempt:
    """What one attempt does: `raise` or `reply` (a reply name; "" = the success reply), after `seconds`;
    `late` delays this attempt's delivery (throttling, a busy batch) before it may start;
    `lost`: the handler succeeds but its answer never reaches the state machine."""

    does: str = "reply"
    reply: str = ""
    seconds: float = 1.0
    late: float = 0.0
    lost: bool = False


@dataclass
class SagaWorld:
    flow: Flow
    saga: Saga
    scripts: dict[str, list[Attempt]] = field(default_factory=dict)  # by command name
    per_send: dict[str, list[list[Attempt]]] = field(default_factory=dict)  # the n-th send's script, if given
    deadline_check: bool = True
    effects: list[tuple[float, str, str]] = field(default_factory=list)  # (time, "do"/"undo", step)
    sent: list[tuple[float, str, Json]] = field(default_factory=list)  # (time, message_id, body)
    expired: list[tuple[float, str]] = field(default_factory=list)
    events: list[tuple[float, str, Json]] = field(default_factory=list)

    def handler(self, queue: str) -> Handler:
        return next(h for h in self.flow.handlers() if queue_key(h) == queue)

    def send(self, queue: str, body: Json, now: float) -> Answer | None:
        handler = self.handler(queue)
        self.sent.append((now, body["envelope"]["message_id"], body))
        command = body["command"]
        undo = body["envelope"]["message_id"].split("/", 1)[1].startswith("undo ")
        sends = sum(1 for _, _, b in self.sent if b["command"] == command) - 1
        scripted = self.per_send.get(command, [])
        script = scripted[sends] if sends < len(scripted) else self.scripts.get(command, [])
        policy = handler.policy
        sent_at = _seconds(body["envelope"]["time"])
        deadline = sent_at + body["envelope"]["timeout_seconds"]
        start, timeout_s = now, policy.timeout_ms / 1000
        for attempt in range(1, policy.attempts + 1):
            plan = script[attempt - 1] if attempt - 1 < len(script) else Attempt()
            start += plan.late
            if self.deadline_check and start + timeout_s > deadline:
                self.expired.append((start, body["envelope"]["message_id"]))
                return None
            if plan.seconds > timeout_s:  # killed at its timeout: the message returns after the margin
                start += timeout_s + REDELIVERY_MARGIN_MS / 1000
                continue
            if plan.does == "raise":  # the adapter delays the retry by the backoff, in whole seconds
                start += plan.seconds
                if attempt < policy.attempts and policy.backoff is not None:
                    start += math.ceil(policy.backoff.delay_ms(attempt) / 1000)
                continue
            done = start + plan.seconds
            return self._answer(handler, body, plan, done, undo)
        return Answer(start, error="AttemptsExhausted", cause=json.dumps({"handler": queue}))

    def _answer(self, handler: Handler, body: Json, plan: Attempt, done: float, undo: bool) -> Answer | None:
        command = handler.input
        replies: tuple[Event, ...] = getattr(command, "replies", ())
        reply = next((r for r in replies if r.name == plan.reply), replies[0])
        if reply is not replies[0]:
            return Answer(done, error=reply.name, cause=json.dumps(payload_of(reply)))
        self.effects.append((done, "undo" if undo else "do", body["step"]))
        if plan.lost:
            return None
        return Answer(done, output={"reply": reply.name, "payload": payload_of(reply)})

    def put_events(self, entries: list[Json], now: float) -> None:
        for entry in entries:
            self.events.append((now, entry["DetailType"], entry["Detail"]))

    def left_applied(self) -> set[str]:
        """Steps whose effect remains once every late answer has landed (undo of nothing: no-op)."""
        applied: set[str] = set()
        for _, what, step in sorted(self.effects):
            (applied.add if what == "do" else applied.discard)(step)
        return applied


def _seconds(iso_time: str) -> float:
    return (dt.datetime.fromisoformat(iso_time.replace("Z", "+00:00")) - EPOCH).total_seconds()


def trigger_input(saga: Saga, message_id: str = "trigger-1") -> Json:
    envelope = {
        "message_id": message_id,
        "correlation_id": "corr-1",
        "causation_id": None,
        "saga_instance": None,
        "schema_version": "1.0.0",
        "time": "2026-01-01T00:00:00Z",
    }
    return {"trigger": {"envelope": envelope, "payload": payload_of(saga.trigger)}}
