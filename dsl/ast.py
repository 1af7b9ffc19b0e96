"""The syntax AST: what the file says, with a span on every node.

Names are plain strings here (wrapped in `Name` so each use keeps its own span);
the resolver turns them into object references in `dsl.model`. No lark type
appears in this module: the parser is the only place that knows about lark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from flowgen_design.dsl.source import Span


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """Every syntax node: immutable, with the span of the text it came from.

    Plain frozen dataclasses: the parser builds one for almost every token, and
    the grammar already fixes each value's type. `tests/test_node_types.py` checks
    every field of every node of every example against these annotations.
    """

    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class Name(Node):
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Duration(Node):
    millis: int
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Comment(Node):
    text: str


# ---- types -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class NamedType(Node):
    name: Name


@dataclass(frozen=True, slots=True, kw_only=True)
class ListType(Node):
    item: TypeExpr


@dataclass(frozen=True, slots=True, kw_only=True)
class MapType(Node):
    key: TypeExpr
    value: TypeExpr


@dataclass(frozen=True, slots=True, kw_only=True)
class OptionalType(Node):
    inner: TypeExpr


TypeExpr = NamedType | ListType | MapType | OptionalType


@dataclass(frozen=True, slots=True, kw_only=True)
class Constraint(Node):
    name: Name
    value: int | float | str


@dataclass(frozen=True, slots=True, kw_only=True)
class Field(Node):
    name: Name
    type: TypeExpr
    constraints: tuple[Constraint, ...] = ()
    doc: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyClause(Node):
    field: Name


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderedClause(Node):
    field: Name


@dataclass(frozen=True, slots=True, kw_only=True)
class TypeDecl(Node):
    name: Name
    fields: tuple[Field, ...]
    doc: str | None = None
    end: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class EnumMember(Node):
    name: Name
    doc: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EnumDecl(Node):
    name: Name
    members: tuple[EnumMember, ...]
    doc: str | None = None
    end: Span


MessageMember = Field | KeyClause | OrderedClause


@dataclass(frozen=True, slots=True, kw_only=True)
class HeaderClause(Node):
    """`header tenant: string`: a typed value carried in the envelope, beside the payload."""

    field: Field


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelClause(Node):
    """`channel "orders.placed"`: the event's channel address in the AsyncAPI export."""

    address: str
    address_span: Span


EventMember = MessageMember | HeaderClause | ChannelClause


@dataclass(frozen=True, slots=True, kw_only=True)
class EventDecl(Node):
    name: Name
    members: tuple[EventMember, ...]
    doc: str | None = None
    end: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandDecl(Node):
    name: Name
    members: tuple[MessageMember, ...]
    replies: tuple[Name, ...]
    retryable: tuple[Name, ...] = ()
    """The replies marked `retryable` (each also in `replies`)."""
    doc: str | None = None
    end: Span


# ---- delivery options ----------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff(Node):
    kind: Name
    initial: Duration
    maximum: Duration | None
    jitter: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryOption(Node):
    attempts: int
    backoff: Backoff | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeoutOption(Node):
    duration: Duration


@dataclass(frozen=True, slots=True, kw_only=True)
class DlqOption(Node):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class IdempotentOption(Node):
    fields: tuple[Name, ...]
    """`idempotent by a, b`: one or more fields, together the key."""
    within: Duration | None


@dataclass(frozen=True, slots=True, kw_only=True)
class UseOption(Node):
    policy: Name


@dataclass(frozen=True, slots=True, kw_only=True)
class EmitsOption(Node):
    events: tuple[Name, ...]
    """The events listed; empty for `emits none` (the handler publishes nothing)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RaisesOption(Node):
    """`raises CardExpired, FraudSuspected`: errors the handler may raise that are final at once."""

    errors: tuple[Name, ...]


Option = RetryOption | TimeoutOption | DlqOption | IdempotentOption | UseOption | EmitsOption | RaisesOption


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyDecl(Node):
    name: Name
    options: tuple[Option, ...]
    doc: str | None = None
    end: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class DefaultsDecl(Node):
    options: tuple[Option, ...]
    doc: str | None = None
    end: Span


# ---- services --------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Text(Node):
    """A string literal's value (unquoted), with the span of the quoted text."""

    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthClause(Node):
    """`auth iam`, `auth none`, or `auth jwt issuer "..." audience "...", "..."`."""

    kind: Literal["iam", "jwt", "none"]
    issuer: Text | None = None
    audiences: tuple[Text, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiDecl(Node):
    method: str
    path: str
    path_span: Span
    event: Name
    auth: AuthClause | None = None
    """None when the endpoint says nothing: it is then IAM-authorized, never public."""
    doc: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishesDecl(Node):
    events: tuple[Name, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsumesDecl(Node):
    events: tuple[Name, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class HandlerBody(Node):
    options: tuple[Option, ...]
    end: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class HandlesDecl(Node):
    command: Name
    body: HandlerBody | None
    doc: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OnDecl(Node):
    event: Name
    handler: Name
    body: HandlerBody | None
    doc: str | None = None


ServiceMember = ApiDecl | PublishesDecl | HandlesDecl | OnDecl


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceDecl(Node):
    name: Name
    members: tuple[ServiceMember, ...]
    doc: str | None = None
    end: Span


# ---- sagas -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class QualifiedName(Node):
    service: Name
    command: Name


@dataclass(frozen=True, slots=True, kw_only=True)
class TriggerDecl(Node):
    """`trigger E`, or `trigger E compensate S.C`: the requesting service's own local transaction,
    which published `E`, is the saga's first step and `S.C` undoes it."""

    event: Name
    compensate: QualifiedName | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StepDelay(Node):
    """`after 1m` in a step body: a grace period before the step's command is sent."""

    duration: Duration


@dataclass(frozen=True, slots=True, kw_only=True)
class StepHeartbeat(Node):
    """`heartbeat 1d` in a step body: the longest silence the orchestrator accepts while the step runs."""

    duration: Duration


@dataclass(frozen=True, slots=True, kw_only=True)
class AwaitClause(Node):
    """`await PaymentConfirmed | PaymentFailed by order_id`: the step waits for one of the events
    for this saga instance (correlated by `by`, else by the trigger's key)."""

    events: tuple[Name, ...]
    by: Name | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Branch(Node):
    """`on REPLY -> TARGET` in a step body: that reply leads to a later step or a named outcome."""

    reply: Name
    target: Name


@dataclass(frozen=True, slots=True, kw_only=True)
class StepDecl(Node):
    name: Name
    target: QualifiedName | AwaitClause
    """The command the step sends (`Service.Command`), or the events it waits for (`await E | F`)."""
    pivot: bool
    compensate: tuple[QualifiedName, ...]
    readonly: tuple[Span, ...]
    body: HandlerBody | None
    branches: tuple[Branch, ...] = ()
    fills: tuple[Fill, ...] = ()
    delays: tuple[StepDelay, ...] = ()
    heartbeats: tuple[StepHeartbeat, ...] = ()
    """`field = source or source`: where the command's fields come from (else by name)."""
    doc: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SagaTimeout(Node):
    duration: Duration


@dataclass(frozen=True, slots=True, kw_only=True)
class FillSource(Node):
    """One way to fill an outcome event's field: `trigger.order_id`, `charge.payment_id`,
    `failure.reason` (`root` and `field`), or a constant (`value`)."""

    root: Name | None = None
    field: Name | None = None
    value: int | float | str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Fill(Node):
    """`reason = failure.reason or "out of stock"`: the first source the path has wins."""

    field: Name
    sources: tuple[FillSource, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class OutcomeDecl(Node):
    outcome: Name
    event: Name
    fills: tuple[Fill, ...] = ()
    end: Span | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SagaInvariant(Node):
    """`invariant every A is followed by B or C`: checked by `flowgen simulate` on every schedule."""

    event: Name
    followers: tuple[Name, ...]


SagaMember = TriggerDecl | StepDecl | SagaTimeout | OutcomeDecl | SagaInvariant


@dataclass(frozen=True, slots=True, kw_only=True)
class SagaDecl(Node):
    name: Name
    members: tuple[SagaMember, ...]
    doc: str | None = None
    end: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class ExternalDecl(Node):
    name: Name
    members: tuple[PublishesDecl | ConsumesDecl, ...]
    doc: str | None = None
    end: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchiveDecl(Node):
    """`archive 90d`: the flow's bus keeps every event for this long, to replay."""

    retention: Duration
    doc: str | None = None


Declaration = (
    TypeDecl
    | EnumDecl
    | EventDecl
    | CommandDecl
    | PolicyDecl
    | DefaultsDecl
    | ServiceDecl
    | SagaDecl
    | ExternalDecl
    | ArchiveDecl
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Header(Node):
    name: Name
    version: str
    version_span: Span
    doc: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportDecl(Node):
    path: str
    path_span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class Module(Node):
    """One parsed file. `comments` keeps every `//` and `///` comment for `fmt`."""

    path: str
    header: Header
    imports: tuple[ImportDecl, ...]
    declarations: tuple[Declaration, ...]
    comments: tuple[Comment, ...]


DeclKind = Literal["type", "enum", "event", "command", "policy", "service", "saga", "external"]
