"""The resolved model: what the spec means, with references as objects.

Targets see only this module's classes. Every element keeps the span of the
declaration it came from, so anything generated can point back to the spec line
that asked for it. Back references (a handler's service) are names, not objects,
to keep the model a tree; `Flow` has lookups for the reverse direction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import Enum
from functools import cached_property
from typing import Any, Literal, TypeVar, Union

from pydantic import BaseModel, ConfigDict

from flowgen_design.dsl.source import Span
from flowgen_design.dsl.trusted import fill

T = TypeVar("T")


class Frozen(BaseModel):
    """Every model element: immutable, and built without validation.

    Only the resolver builds these, from values it has already checked, so
    validating them again is pure cost (pydantic would also build every
    validator first). Construction fills in defaults and takes the values as
    given; mypy still checks every constructor call against the fields, and
    `tests/test_model_types.py` validates every element of every example
    spec in strict mode, so a value of the wrong type fails the suite.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    def __init__(self, /, **data: Any) -> None:
        cls = type(self)
        plan = _PLANS.get(cls) or _plan(cls)
        values = {}
        for name, default in plan:
            if name in data:
                values[name] = data[name]
            elif default is _REQUIRED:
                raise TypeError(f"{cls.__name__}() needs `{name}`")
            else:
                values[name] = default
        if not data.keys() <= values.keys():
            raise TypeError(f"{cls.__name__}() has no field `{sorted(data.keys() - values.keys())[0]}`")
        fill(self, values, set(data))


_REQUIRED = object()
_PLANS: dict[type, tuple[tuple[str, Any], ...]] = {}


def _plan(cls: type[BaseModel]) -> tuple[tuple[str, Any], ...]:
    """Each field of `cls` in order, with its default (immutable here) or `_REQUIRED`."""
    plan = tuple(
        (name, _REQUIRED if info.is_required() else info.get_default(call_default_factory=True))
        for name, info in cls.model_fields.items()
    )
    _PLANS[cls] = plan
    return plan


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


class ScalarRef(Frozen):
    kind: Literal["scalar"] = "scalar"
    scalar: Scalar


class ListRef(Frozen):
    kind: Literal["list"] = "list"
    item: TypeRef


class MapRef(Frozen):
    """A map; keys are always strings (JSON object keys)."""

    kind: Literal["map"] = "map"
    value: TypeRef


class OptionalRef(Frozen):
    kind: Literal["optional"] = "optional"
    inner: TypeRef


class RecordRef(Frozen):
    kind: Literal["record"] = "record"
    record: Record


class EnumRef(Frozen):
    kind: Literal["enum"] = "enum"
    enum: EnumType


TypeRef = Union[ScalarRef, ListRef, MapRef, OptionalRef, RecordRef, EnumRef]


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


class Constraints(Frozen):
    minimum: int | float | None = None
    maximum: int | float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None

    @property
    def empty(self) -> bool:
        return self == Constraints()


class Field(Frozen):
    name: str
    type: TypeRef
    constraints: Constraints = Constraints()
    doc: str | None = None
    span: Span

    @property
    def optional(self) -> bool:
        return isinstance(self.type, OptionalRef)


class Record(Frozen):
    name: str
    fields: tuple[Field, ...]
    doc: str | None = None
    span: Span
    name_span: Span


class EnumMember(Frozen):
    name: str
    doc: str | None = None
    span: Span


class EnumType(Frozen):
    name: str
    members: tuple[EnumMember, ...]
    doc: str | None = None
    span: Span
    name_span: Span


class Message(Frozen):
    """An event or a command: a named payload with optional key and ordering fields."""

    name: str
    fields: tuple[Field, ...]
    key: Field | None = None
    ordered_by: Field | None = None
    doc: str | None = None
    span: Span
    name_span: Span

    def field(self, name: str) -> Field | None:
        return self._fields_by_name.get(name)

    @cached_property
    def _fields_by_name(self) -> dict[str, Field]:
        return _first_by(self.fields, lambda f: f.name)


class Event(Message):
    kind: Literal["event"] = "event"


class Command(Message):
    """A request to one service. `replies[0]` is success; any other reply is failure."""

    kind: Literal["command"] = "command"
    replies: tuple[Event, ...]

    @property
    def success(self) -> Event | None:
        return self.replies[0] if self.replies else None

    @property
    def failures(self) -> tuple[Event, ...]:
        return self.replies[1:]


# ---- delivery ------------------------------------------------------------------------


class Backoff(Frozen):
    strategy: Literal["fixed", "exponential"]
    initial_ms: int
    max_ms: int
    jitter: bool = False

    def delay_ms(self, retry: int) -> int:
        """The wait before retry number `retry` (1-based), without jitter."""
        if self.strategy == "fixed":
            return self.initial_ms
        delay: int = self.initial_ms * 2 ** (retry - 1)
        return min(delay, self.max_ms)


class Idempotency(Frozen):
    """`idempotent by a, b`: the fields whose values, together, identify a duplicate."""

    fields: tuple[Field, ...]
    within_ms: int | None = None
    span: Span


DEFAULT_TIMEOUT_MS = 30_000


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
        return sum(self.backoff.delay_ms(i) for i in range(1, self.attempts))

    def worst_case_ms(self) -> int:
        """Every attempt running to its timeout, plus every wait between attempts."""
        return self.attempts * self.timeout_ms + self.backoff_total_ms()


class Policy(Frozen):
    name: str
    delivery: DeliveryPolicy
    doc: str | None = None
    span: Span
    name_span: Span


# ---- services ----------------------------------------------------------------------------


class Handler(Frozen):
    """One function of a service: it handles a command or reacts to an event.

    `outputs` is the exact set of events it may return or publish: a command's
    replies, or for an event handler its `emits` list (default: everything its
    service publishes).
    """

    name: str
    service: str
    trigger: Literal["command", "event"]
    input: Event | Command
    outputs: tuple[Event, ...]
    policy: DeliveryPolicy
    doc: str | None = None
    span: Span


class ApiEndpoint(Frozen):
    method: str
    path: str
    event: Event
    service: str
    doc: str | None = None
    span: Span

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"


class Service(Frozen):
    name: str
    apis: tuple[ApiEndpoint, ...]
    publishes: tuple[Event, ...]
    handlers: tuple[Handler, ...]
    doc: str | None = None
    span: Span
    name_span: Span

    def handler(self, name: str) -> Handler | None:
        return self._handlers_by_name.get(name)

    def handler_for(self, message: str) -> Handler | None:
        return self._handlers_by_input.get(message)

    @cached_property
    def _handlers_by_name(self) -> dict[str, Handler]:
        return _first_by(self.handlers, lambda h: h.name)

    @cached_property
    def _handlers_by_input(self) -> dict[str, Handler]:
        return _first_by(self.handlers, lambda h: h.input.name)


# ---- sagas -------------------------------------------------------------------------------


class StepCall(Frozen):
    """A command sent to a service, and the handler that receives it."""

    service: str
    command: Command
    handler: Handler
    span: Span


class SagaStep(Frozen):
    name: str
    action: StepCall
    compensation: StepCall | None = None
    readonly: bool = False
    pivot: bool = False
    policy: DeliveryPolicy
    timeout_ms: int
    timeout_span: Span | None = None
    doc: str | None = None
    span: Span


class Saga(Frozen):
    """An orchestrated workflow. `pivot_index` is the declared pivot, else the last step."""

    name: str
    trigger: Event
    steps: tuple[SagaStep, ...]
    pivot_index: int
    explicit_pivot: bool
    timeout_ms: int | None = None
    timeout_span: Span | None = None
    on_completed: Event | None = None
    on_compensated: Event | None = None
    doc: str | None = None
    span: Span
    name_span: Span

    @property
    def compensable_steps(self) -> tuple[SagaStep, ...]:
        return self.steps[: self.pivot_index]

    @property
    def after_pivot(self) -> tuple[SagaStep, ...]:
        return self.steps[self.pivot_index + 1 :]


class External(Frozen):
    name: str
    publishes: tuple[Event, ...]
    consumes: tuple[Event, ...]
    doc: str | None = None
    span: Span
    name_span: Span


# ---- the whole flow ----------------------------------------------------------------------


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

    @cached_property
    def _services_by_name(self) -> dict[str, Service]:
        return _first_by(self.services, lambda s: s.name)

    @cached_property
    def _events_by_name(self) -> dict[str, Event]:
        return _first_by(self.events, lambda e: e.name)

    @cached_property
    def _all_handlers(self) -> tuple[Handler, ...]:
        return tuple(h for s in self.services for h in s.handlers)

    @cached_property
    def _subscribers(self) -> dict[str, tuple[Handler, ...]]:
        return _group_by((h for h in self._all_handlers if h.trigger == "event"), lambda h: h.input.name)

    @cached_property
    def _sagas_by_trigger(self) -> dict[str, tuple[Saga, ...]]:
        return _group_by(self.sagas, lambda s: s.trigger.name)


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
