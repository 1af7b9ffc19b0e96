"""The resolved model: what the spec means, with references as objects.

Targets see only this module's classes. Every element keeps the span of the
declaration it came from, so anything generated can point back to the spec line
that asked for it. Back references (a handler's service) are names, not objects,
to keep the model a tree; `Flow` has lookups for the reverse direction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from enum import Enum
from typing import Any, Literal, TypeVar

from flowgen_design.dsl.durations import backoff_delay_ms, backoff_total_ms
from flowgen_design.dsl.frozen import frozen
from flowgen_design.dsl.source import Span

T = TypeVar("T")


@frozen
class Frozen:
    """Every model element: an immutable, slotted dataclass.

    Only the resolver builds these, from values it has already checked, so
    nothing is validated at run time; mypy checks every constructor call
    against the fields, and `tests/test_model_types.py` checks each field of
    every element of every example spec against its annotation.
    """


class Scalar(str, Enum):
    STRING = "string"
    INT = "int"
    FLOAT = "float"
    DECIMAL = "decimal"
    BOOL = "bool"
    UUID = "uuid"
    TIMESTAMP = "timestamp"
    DATE = "date"
    DURATION = "duration"
    BYTES = "bytes"


# ---- payload types -------------------------------------------------------------


@frozen
class ScalarRef(Frozen):
    kind: Literal["scalar"] = "scalar"
    scalar: Scalar


@frozen
class ListRef(Frozen):
    kind: Literal["list"] = "list"
    item: TypeRef


@frozen
class MapRef(Frozen):
    """A map; keys are always strings (JSON object keys)."""

    kind: Literal["map"] = "map"
    value: TypeRef


@frozen
class OptionalRef(Frozen):
    kind: Literal["optional"] = "optional"
    inner: TypeRef


@frozen
class RecordRef(Frozen):
    kind: Literal["record"] = "record"
    record: Record


@frozen
class EnumRef(Frozen):
    kind: Literal["enum"] = "enum"
    enum: EnumType


TypeRef = ScalarRef | ListRef | MapRef | OptionalRef | RecordRef | EnumRef


def type_text(t: TypeRef) -> str:
    """A type as the spec spells it: `list<LineItem>`, `map<string, int>`, `Money?`."""
    if isinstance(t, ScalarRef):
        return t.scalar.value
    if isinstance(t, ListRef):
        return f"list<{type_text(t.item)}>"
    if isinstance(t, MapRef):
        return f"map<string, {type_text(t.value)}>"
    if isinstance(t, OptionalRef):
        return f"{type_text(t.inner)}?"
    if isinstance(t, RecordRef):
        return t.record.name
    return t.enum.name


@frozen
class Constraints(Frozen):
    minimum: int | float | None = None
    maximum: int | float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None

    @property
    def empty(self) -> bool:
        return self == Constraints()


@frozen
class Field(Frozen):
    name: str
    type: TypeRef
    constraints: Constraints = Constraints()
    doc: str | None = None
    span: Span

    @property
    def optional(self) -> bool:
        return isinstance(self.type, OptionalRef)


@frozen
class Record(Frozen):
    name: str
    fields: tuple[Field, ...]
    doc: str | None = None
    span: Span
    name_span: Span


@frozen
class EnumMember(Frozen):
    name: str
    doc: str | None = None
    span: Span


@frozen
class EnumType(Frozen):
    name: str
    members: tuple[EnumMember, ...]
    doc: str | None = None
    span: Span
    name_span: Span


@frozen
class Message(Frozen):
    """An event or a command: a named payload with optional key and ordering fields."""

    name: str
    fields: tuple[Field, ...]
    key: Field | None = None
    ordered_by: Field | None = None
    doc: str | None = None
    span: Span
    name_span: Span
    _lookups: dict[str, Any] = dataclasses.field(default_factory=dict, init=False, repr=False, compare=False)

    def field(self, name: str) -> Field | None:
        return self._fields_by_name.get(name)

    @property
    def _fields_by_name(self) -> dict[str, Field]:
        return _memo(self._lookups, "_fields_by_name", lambda: _first_by(self.fields, lambda f: f.name))


@frozen
class Event(Message):
    """A fact that happened. `headers` travel in the envelope beside the payload (tenant, trace
    context); `channel` is its AsyncAPI channel address, the event's name unless the spec sets one."""

    kind: Literal["event"] = "event"
    headers: tuple[Field, ...] = ()
    channel: str | None = None
    channel_span: Span | None = None

    @property
    def address(self) -> str:
        return self.channel if self.channel is not None else self.name


@frozen
class Command(Message):
    """A request to one service. `replies[0]` is success; any other reply is failure."""

    kind: Literal["command"] = "command"
    replies: tuple[Event, ...]
    retryable: tuple[Event, ...] = ()
    """Failure replies marked `retryable`: the handler's attempt is retried before the reply counts."""

    @property
    def success(self) -> Event | None:
        return self.replies[0] if self.replies else None

    @property
    def failures(self) -> tuple[Event, ...]:
        return self.replies[1:]


# ---- delivery ------------------------------------------------------------------------


@frozen
class Backoff(Frozen):
    strategy: Literal["fixed", "exponential"]
    initial_ms: int
    max_ms: int
    jitter: bool = False

    def delay_ms(self, retry: int) -> int:
        """The wait before retry number `retry` (1-based), without jitter."""
        return backoff_delay_ms(self.strategy, self.initial_ms, self.max_ms, retry)


@frozen
class Idempotency(Frozen):
    """`idempotent by a, b`: the fields whose values, together, identify a duplicate."""

    fields: tuple[Field, ...]
    within_ms: int | None = None
    span: Span


DEFAULT_TIMEOUT_MS = 30_000
REDELIVERY_MARGIN_MS = 10_000
"""How long after its timeout a killed attempt's message is delivered again: the generated handler
queue's visibility timeout is one attempt plus this margin (`codegen.aws.plan`)."""


@frozen
class DeliveryPolicy(Frozen):
    """How a handler is invoked: attempts, backoff, timeout, DLQ and idempotency.

    `attempts` counts every try, the first included: `retry 5` allows 5 tries.
    The `*_span` fields point at the clause that set each value (after defaults
    and `use` are merged), or are None where flowgen's default applies.
    """

    attempts: int = 1
    backoff: Backoff | None = None
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    dlq: bool = False
    idempotency: Idempotency | None = None
    policies: tuple[str, ...] = ()
    retry_span: Span | None = None
    timeout_span: Span | None = None
    dlq_span: Span | None = None

    @property
    def retried(self) -> bool:
        return self.attempts > 1

    @property
    def idempotent(self) -> bool:
        return self.idempotency is not None

    def backoff_total_ms(self) -> int:
        if self.backoff is None:
            return 0
        b = self.backoff
        return backoff_total_ms(b.strategy, b.initial_ms, b.max_ms, self.attempts - 1)

    def worst_case_ms(self) -> int:
        """Every attempt running to its timeout, plus every wait between attempts."""
        return self.attempts * self.timeout_ms + self.backoff_total_ms()

    def handler_worst_case_ms(self) -> int:
        """A handler's worst case as the generated adapters run it: every attempt runs to its
        timeout, and the next starts after the longer of the spec's backoff delay for it (rounded
        up to whole seconds, as SQS counts visibility) and the redelivery of a killed attempt
        (`REDELIVERY_MARGIN_MS` after its timeout). Jitter only shortens a delay."""
        return self.attempts * self.timeout_ms + sum(_wait_ms(d) * n for d, n in self._retry_delays())

    def _retry_delays(self) -> list[tuple[int, int]]:
        """(delay, how many retries wait it), in closed form: a delay grows until its cap, then stays."""
        retries = self.attempts - 1
        if self.backoff is None or retries <= 0:
            return [(0, max(0, retries))]
        out: list[tuple[int, int]] = []
        retry = 1
        while retry <= retries and (self.backoff.strategy == "exponential" and retry < 64):
            delay = self.backoff.delay_ms(retry)
            if delay >= self.backoff.max_ms:
                break
            out.append((delay, 1))
            retry += 1
        if retry <= retries:
            out.append((self.backoff.delay_ms(retry), retries - retry + 1))
        return out


def _wait_ms(delay_ms: int) -> int:
    return max(-(-delay_ms // 1000) * 1000, REDELIVERY_MARGIN_MS)


@frozen
class Policy(Frozen):
    name: str
    delivery: DeliveryPolicy
    doc: str | None = None
    span: Span
    name_span: Span


# ---- services ----------------------------------------------------------------------------


@frozen
class Handler(Frozen):
    """One function of a service: it handles a command or reacts to an event.

    `outputs` is the exact set of events it may return or publish: a command's
    replies (plus any `emits`), or for an event handler its `emits` list (`emits none`:
    nothing; default: what its service publishes, except the events of its `api` entries).
    """

    name: str
    service: str
    trigger: Literal["command", "event"]
    input: Event | Command
    outputs: tuple[Event, ...]
    policy: DeliveryPolicy
    raises: tuple[str, ...] = ()
    """Errors the spec declares with `raises`: final at once, never retried."""
    doc: str | None = None
    span: Span


@frozen
class EndpointAuth(Frozen):
    """Who may call an endpoint: `iam` (signed AWS requests; the default), `jwt` (a bearer
    token from `issuer` for one of `audiences`), or `none` (anyone: public).

    `declared` is False for the default, which the spec does not write; `span` is then
    the endpoint's.
    """

    kind: Literal["iam", "jwt", "none"]
    issuer: str | None = None
    audiences: tuple[str, ...] = ()
    declared: bool
    span: Span

    def describe(self) -> str:
        """How the spec writes it: `auth iam`, `auth jwt issuer "..." audience "..."`, `auth none`."""
        if self.kind != "jwt":
            return f"auth {self.kind}"
        audiences = ", ".join(f'"{a}"' for a in self.audiences)
        return f'auth jwt issuer "{self.issuer}" audience {audiences}'


@frozen
class ApiEndpoint(Frozen):
    method: str
    path: str
    event: Event
    service: str
    auth: EndpointAuth
    doc: str | None = None
    span: Span

    @property
    def public(self) -> bool:
        return self.auth.kind == "none"

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"


@frozen
class Service(Frozen):
    name: str
    apis: tuple[ApiEndpoint, ...]
    publishes: tuple[Event, ...]
    handlers: tuple[Handler, ...]
    doc: str | None = None
    span: Span
    name_span: Span
    _lookups: dict[str, Any] = dataclasses.field(default_factory=dict, init=False, repr=False, compare=False)

    def handler(self, name: str) -> Handler | None:
        return self._handlers_by_name.get(name)

    def handler_for(self, message: str) -> Handler | None:
        return self._handlers_by_input.get(message)

    @property
    def _handlers_by_name(self) -> dict[str, Handler]:
        return _memo(self._lookups, "_handlers_by_name", lambda: _first_by(self.handlers, lambda h: h.name))

    @property
    def _handlers_by_input(self) -> dict[str, Handler]:
        return _memo(self._lookups, "_handlers_by_input", lambda: _first_by(self.handlers, lambda h: h.input.name))


# ---- sagas -------------------------------------------------------------------------------


@frozen
class StepCall(Frozen):
    """A command sent to a service, and the handler that receives it."""

    service: str
    command: Command
    handler: Handler
    span: Span


@frozen
class Branch(Frozen):
    """`on REPLY -> TARGET` in a step's body: that reply leads to a later `step`, or ends the saga
    with a named `outcome`. Forward only, so every saga ends."""

    reply: Event
    step: str | None = None
    outcome: str | None = None
    span: Span


@frozen
class Wait(Frozen):
    """`step NAME: await E | F by field`: the step sends nothing; it waits, up to its timeout, for
    one of `events` carrying this saga instance's value of `by` (the trigger's field of that name).

    `events[0]` is success (its payload is the step's result, as a success reply's); the others are
    failures. A timeout is an answer (nothing happened at the wait): `on timeout -> X` leads to a later
    `timeout_step` or a named `timeout_outcome`; without one it fails the saga as a failure reply
    would (compensated up to the pivot, failed after it). The step's `action` is a stand-in call
    whose command replies with `events`, so branches, fills and endings read it as any step."""

    events: tuple[Event, ...]
    by: Field
    timeout_step: str | None = None
    timeout_outcome: str | None = None
    timeout_branch_span: Span | None = None
    span: Span

    @property
    def leads_on(self) -> bool:
        """`on timeout -> X`: the timeout goes elsewhere than the default failure."""
        return self.timeout_step is not None or self.timeout_outcome is not None


WAIT_SERVICE = ""
"""The `service` of an await step's stand-in call: no service receives anything."""


@frozen
class SagaStep(Frozen):
    name: str
    action: StepCall
    compensation: StepCall | None = None
    readonly: bool = False
    pivot: bool = False
    policy: DeliveryPolicy
    timeout_ms: int
    timeout_span: Span | None = None
    branches: tuple[Branch, ...] = ()
    delay_ms: int = 0
    """`after D`: the grace period the orchestrator waits each time it enters the step, before sending."""
    fills: tuple[Fill, ...] = ()
    """Where the command's fields come from (`booking_id = trigger.trip_id`); other fields by name."""
    parallel: str | None = None
    """The parallel block the step runs in (`parallel book { ... }`), if any."""
    wait: Wait | None = None
    """`await E | F`: the step waits for an event instead of sending a command (`action` is a stand-in)."""
    heartbeat_ms: int | None = None
    """`heartbeat D`: the longest the orchestrator waits between two signs of life (HeartbeatSeconds)."""
    heartbeat_span: Span | None = None
    doc: str | None = None
    span: Span

    def branch(self, reply: str) -> Branch | None:
        return next((b for b in self.branches if b.reply.name == reply), None)


@frozen
class ParallelBlock(Frozen):
    """`parallel NAME { step ...  step ... }`: steps sent together that join when every one succeeded.

    Its steps are consecutive in `Saga.steps` (`first`..`last`, indexes), all before the pivot or all
    after it. If one fails or times out, the others still finish; then the ones that succeeded or may
    have (no answer) are undone in reverse order, then the steps before the block (docs/semantics.md).
    """

    name: str
    first: int
    last: int
    doc: str | None = None
    span: Span
    name_span: Span

    @property
    def indexes(self) -> range:
        return range(self.first, self.last + 1)


OutcomeKind = Literal["completed", "compensated", "failed"]
"""The three outcomes every saga has; a saga may name more (`on rejected emit E`), each reached by a branch."""


@frozen
class FillSource(Frozen):
    """Where an outcome event's field comes from on a path: `trigger.f`, `<step>.f` (that
    step's success reply), `failure.f` (the reply that failed the saga, or the built-ins
    `failure.step` and `failure.error`), or a constant `value`."""

    origin: Literal["trigger", "step", "failure", "constant"]
    step: str | None = None
    field: str | None = None
    value: int | float | str | None = None
    span: Span


@frozen
class Fill(Frozen):
    """`reason = failure.reason or "out of stock"`: the first source the path has wins."""

    field: str
    sources: tuple[FillSource, ...]
    span: Span


@frozen
class Outcome(Frozen):
    """`on <kind> emit <event> { fills }`: the event an ending emits, and how it is filled."""

    kind: str
    """`completed`, `compensated`, `failed`, or a named outcome that a branch leads to."""
    event: Event
    fills: tuple[Fill, ...] = ()
    span: Span

    def fill(self, field: str) -> Fill | None:
        return next((f for f in self.fills if f.field == field), None)


@frozen
class SagaInvariant(Frozen):
    """`invariant every A is followed by B or C`: within one instance, every time `event` is produced,
    one of `followers` is produced later. `flowgen simulate` checks it on every schedule."""

    event: Event
    followers: tuple[Event, ...]
    span: Span

    @property
    def text(self) -> str:
        return f"every {self.event.name} is followed by " + " or ".join(f.name for f in self.followers)


@frozen
class Saga(Frozen):
    """An orchestrated workflow. `pivot_index` is the declared pivot, else the last step.

    Three outcomes: `completed`, `compensated` (every step before the pivot that ran or may
    have ran is undone) and `failed` (needs a human: a failure after the pivot, a pivot whose
    outcome is unknown, a compensation that cannot finish). See docs/semantics.md.
    """

    name: str
    trigger: Event
    steps: tuple[SagaStep, ...]
    pivot_index: int
    explicit_pivot: bool
    timeout_ms: int | None = None
    timeout_span: Span | None = None
    on_completed: Event | None = None
    on_compensated: Event | None = None
    on_failed: Event | None = None
    outcomes: tuple[Outcome, ...] = ()
    invariants: tuple[SagaInvariant, ...] = ()
    trigger_compensation: StepCall | None = None
    """`trigger E compensate S.C`: the local transaction that published the trigger, undone last."""
    parallels: tuple[ParallelBlock, ...] = ()
    """The saga's parallel blocks, in step order."""
    doc: str | None = None
    span: Span
    name_span: Span

    def outcome(self, kind: str) -> Outcome | None:
        return next((o for o in self.outcomes if o.kind == kind), None)

    def block(self, name: str | None) -> ParallelBlock | None:
        """The parallel block called `name` (a step's `parallel`), if any."""
        return next((b for b in self.parallels if b.name == name), None) if name is not None else None

    def block_entered_at(self, step: str | None) -> ParallelBlock | None:
        """The parallel block a branch to `step` enters (a branch to a block leads to its first step)."""
        return next((b for b in self.parallels if self.steps[b.first].name == step), None)

    def block_at(self, index: int) -> ParallelBlock | None:
        """The parallel block that holds the step at `index`, if any."""
        return next((b for b in self.parallels if b.first <= index <= b.last), None)

    @property
    def named_outcomes(self) -> tuple[Outcome, ...]:
        """The outcomes beyond the three every saga has, each reached by a branch."""
        return tuple(o for o in self.outcomes if o.kind not in ("completed", "compensated", "failed"))

    @property
    def branched(self) -> bool:
        """Some reply leads elsewhere than the next step: which steps ran depends on the path."""
        return any(s.branches or (s.wait is not None and s.wait.leads_on) for s in self.steps)

    @property
    def compensable_steps(self) -> tuple[SagaStep, ...]:
        return self.steps[: self.pivot_index]

    @property
    def after_pivot(self) -> tuple[SagaStep, ...]:
        return self.steps[self.pivot_index + 1 :]


@frozen
class External(Frozen):
    name: str
    publishes: tuple[Event, ...]
    consumes: tuple[Event, ...]
    doc: str | None = None
    span: Span
    name_span: Span


@frozen
class Archive(Frozen):
    """`archive 90d`: the flow's bus keeps a copy of every event for `retention_days`, to replay."""

    retention_days: int
    span: Span


# ---- the whole flow ----------------------------------------------------------------------


@frozen
class Flow(Frozen):
    """One checked spec with everything it imports, in declaration order."""

    name: str
    version: str
    path: str
    doc: str | None = None
    span: Span
    records: tuple[Record, ...] = ()
    enums: tuple[EnumType, ...] = ()
    events: tuple[Event, ...] = ()
    commands: tuple[Command, ...] = ()
    policies: tuple[Policy, ...] = ()
    services: tuple[Service, ...] = ()
    sagas: tuple[Saga, ...] = ()
    externals: tuple[External, ...] = ()
    archive: Archive | None = None
    _lookups: dict[str, Any] = dataclasses.field(default_factory=dict, init=False, repr=False, compare=False)

    # Lookups are dict-backed and built on first use (the model is frozen, so
    # they never go stale): targets call them inside loops over the whole spec.

    def service(self, name: str) -> Service | None:
        return self._services_by_name.get(name)

    def event(self, name: str) -> Event | None:
        return self._events_by_name.get(name)

    def handlers(self) -> tuple[Handler, ...]:
        return self._all_handlers

    def subscribers(self, event: str) -> tuple[Handler, ...]:
        """Event handlers subscribed to `event` (sagas triggered by it: `triggered_sagas`)."""
        return self._subscribers.get(event, ())

    def triggered_sagas(self, event: str) -> tuple[Saga, ...]:
        return self._sagas_by_trigger.get(event, ())

    @property
    def _services_by_name(self) -> dict[str, Service]:
        return _memo(self._lookups, "_services_by_name", lambda: _first_by(self.services, lambda s: s.name))

    @property
    def _events_by_name(self) -> dict[str, Event]:
        return _memo(self._lookups, "_events_by_name", lambda: _first_by(self.events, lambda e: e.name))

    @property
    def _all_handlers(self) -> tuple[Handler, ...]:
        return _memo(self._lookups, "_all_handlers", lambda: tuple(h for s in self.services for h in s.handlers))

    @property
    def _subscribers(self) -> dict[str, tuple[Handler, ...]]:
        return _memo(
            self._lookups,
            "_subscribers",
            lambda: _group_by((h for h in self._all_handlers if h.trigger == "event"), lambda h: h.input.name),
        )

    @property
    def _sagas_by_trigger(self) -> dict[str, tuple[Saga, ...]]:
        return _memo(self._lookups, "_sagas_by_trigger", lambda: _group_by(self.sagas, lambda s: s.trigger.name))


def _memo(lookups: dict[str, Any], key: str, build: Callable[[], T]) -> T:
    """`lookups[key]`, built on first use: what `cached_property` does, for slotted classes."""
    try:
        found: T = lookups[key]
    except KeyError:
        found = lookups[key] = build()
    return found


def _first_by(items: Iterable[T], key: Callable[[T], str]) -> dict[str, T]:
    """Items by key, keeping the first of equal keys (what a linear search would find)."""
    out: dict[str, T] = {}
    for item in items:
        out.setdefault(key(item), item)
    return out


def _group_by(items: Iterable[T], key: Callable[[T], str]) -> dict[str, tuple[T, ...]]:
    """Items by key, each group in the original order."""
    out: dict[str, list[T]] = {}
    for item in items:
        out.setdefault(key(item), []).append(item)
    return {k: tuple(v) for k, v in out.items()}
