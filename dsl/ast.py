"""The syntax AST: what the file says, with a span on every node.

Names are plain strings here (wrapped in `Name` so each use keeps its own span);
the resolver turns them into object references in `dsl.model`. No lark type
appears in this module: the parser is the only place that knows about lark.
"""

from __future__ import annotations

from typing import Literal

from flowgen_design.dsl.frozen import frozen
from flowgen_design.dsl.source import Span


@frozen
class Node:
    """Every syntax node: immutable, with the span of the text it came from.

    Plain frozen dataclasses: the parser builds one for almost every token, and
    the grammar already fixes each value's type. `tests/test_node_types.py` checks
    every field of every node of every example against these annotations.
    """

    span: Span


@frozen
class Name(Node):
    text: str


@frozen
class Duration(Node):
    millis: int
    text: str


@frozen
class Comment(Node):
    text: str


# ---- types -------------------------------------------------------------------


@frozen
class NamedType(Node):
    name: Name


@frozen
class ListType(Node):
    item: TypeExpr


@frozen
class MapType(Node):
    key: TypeExpr
    value: TypeExpr


@frozen
class OptionalType(Node):
    inner: TypeExpr


TypeExpr = NamedType | ListType | MapType | OptionalType


@frozen
class Constraint(Node):
    name: Name
    value: int | float | str


@frozen
class Field(Node):
    name: Name
    type: TypeExpr
    constraints: tuple[Constraint, ...] = ()
    doc: str | None = None


@frozen
class KeyClause(Node):
    field: Name


@frozen
class OrderedClause(Node):
    field: Name


@frozen
class TypeDecl(Node):
    name: Name
    fields: tuple[Field, ...]
    doc: str | None = None
    end: Span


@frozen
class EnumMember(Node):
    name: Name
    doc: str | None = None


@frozen
class EnumDecl(Node):
    name: Name
    members: tuple[EnumMember, ...]
    doc: str | None = None
    end: Span


MessageMember = Field | KeyClause | OrderedClause


@frozen
class HeaderClause(Node):
    """`header tenant: string`: a typed value carried in the envelope, beside the payload."""

    field: Field


@frozen
class ChannelClause(Node):
    """`channel "orders.placed"`: the event's channel address in the AsyncAPI export."""

    address: str
    address_span: Span


EventMember = MessageMember | HeaderClause | ChannelClause


@frozen
class EventDecl(Node):
    name: Name
    members: tuple[EventMember, ...]
    doc: str | None = None
    end: Span


@frozen
class CommandDecl(Node):
    name: Name
    members: tuple[MessageMember, ...]
    replies: tuple[Name, ...]
    retryable: tuple[Name, ...] = ()
    """The replies marked `retryable` (each also in `replies`)."""
    doc: str | None = None
    end: Span


# ---- delivery options ----------------------------------------------------------


@frozen
class Backoff(Node):
    kind: Name
    initial: Duration
    maximum: Duration | None
    jitter: bool


@frozen
class RetryOption(Node):
    attempts: int
    backoff: Backoff | None


@frozen
class TimeoutOption(Node):
    duration: Duration


@frozen
class DlqOption(Node):
    pass


@frozen
class IdempotentOption(Node):
    fields: tuple[Name, ...]
    """`idempotent by a, b`: one or more fields, together the key."""
    within: Duration | None


@frozen
class UseOption(Node):
    policy: Name


@frozen
class EmitsOption(Node):
    events: tuple[Name, ...]
    """The events listed; empty for `emits none` (the handler publishes nothing)."""


@frozen
class RaisesOption(Node):
    """`raises CardExpired, FraudSuspected`: errors the handler may raise that are final at once."""

    errors: tuple[Name, ...]


Option = RetryOption | TimeoutOption | DlqOption | IdempotentOption | UseOption | EmitsOption | RaisesOption


@frozen
class PolicyDecl(Node):
    name: Name
    options: tuple[Option, ...]
    doc: str | None = None
    end: Span


@frozen
class DefaultsDecl(Node):
    options: tuple[Option, ...]
    doc: str | None = None
    end: Span


# ---- services --------------------------------------------------------------------


@frozen
class Text(Node):
    """A string literal's value (unquoted), with the span of the quoted text."""

    value: str


@frozen
class AuthClause(Node):
    """`auth iam`, `auth none`, or `auth jwt issuer "..." audience "...", "..."`."""

    kind: Literal["iam", "jwt", "none"]
    issuer: Text | None = None
    audiences: tuple[Text, ...] = ()


@frozen
class ApiDecl(Node):
    method: str
    path: str
    path_span: Span
    event: Name
    auth: AuthClause | None = None
    """None when the endpoint says nothing: it is then IAM-authorized, never public."""
    doc: str | None = None


@frozen
class PublishesDecl(Node):
    events: tuple[Name, ...]


@frozen
class ConsumesDecl(Node):
    events: tuple[Name, ...]


@frozen
class HandlerBody(Node):
    options: tuple[Option, ...]
    end: Span


@frozen
class HandlesDecl(Node):
    command: Name
    body: HandlerBody | None
    doc: str | None = None


@frozen
class OnDecl(Node):
    event: Name
    handler: Name
    body: HandlerBody | None
    doc: str | None = None


ServiceMember = ApiDecl | PublishesDecl | HandlesDecl | OnDecl


@frozen
class ServiceDecl(Node):
    name: Name
    members: tuple[ServiceMember, ...]
    doc: str | None = None
    end: Span


# ---- sagas -------------------------------------------------------------------------


@frozen
class QualifiedName(Node):
    service: Name
    command: Name


@frozen
class TriggerDecl(Node):
    """`trigger E`, or `trigger E compensate S.C`: the requesting service's own local transaction,
    which published `E`, is the saga's first step and `S.C` undoes it."""

    event: Name
    compensate: QualifiedName | None = None


@frozen
class StepDelay(Node):
    """`after 1m` in a step body: a grace period before the step's command is sent."""

    duration: Duration


@frozen
class StepHeartbeat(Node):
    """`heartbeat 1d` in a step body: the longest silence the orchestrator accepts while the step runs."""

    duration: Duration


@frozen
class AwaitClause(Node):
    """`await PaymentConfirmed | PaymentFailed by order_id`: the step waits for one of the events
    for this saga instance (correlated by `by`, else by the trigger's key)."""

    events: tuple[Name, ...]
    by: Name | None = None


@frozen
class Branch(Node):
    """`on REPLY -> TARGET` in a step body: that reply leads to a later step or a named outcome."""

    reply: Name
    target: Name


@frozen
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


@frozen
class SagaTimeout(Node):
    duration: Duration


@frozen
class FillSource(Node):
    """One way to fill an outcome event's field: `trigger.order_id`, `charge.payment_id`,
    `failure.reason` (`root` and `field`), or a constant (`value`)."""

    root: Name | None = None
    field: Name | None = None
    value: int | float | str | None = None


@frozen
class Fill(Node):
    """`reason = failure.reason or "out of stock"`: the first source the path has wins."""

    field: Name
    sources: tuple[FillSource, ...]


@frozen
class OutcomeDecl(Node):
    outcome: Name
    event: Name
    fills: tuple[Fill, ...] = ()
    end: Span | None = None


@frozen
class SagaInvariant(Node):
    """`invariant every A is followed by B or C`: checked by `flowgen simulate` on every schedule."""

    event: Name
    followers: tuple[Name, ...]


@frozen
class ParallelDecl(Node):
    """`parallel NAME { step ...  step ... }`: steps that start together and join when every one
    succeeded. `members` may hold a nested block, which the resolver refuses (FLOW443)."""

    name: Name
    members: tuple[StepDecl | ParallelDecl, ...]
    doc: str | None = None
    end: Span

    @property
    def steps(self) -> tuple[StepDecl, ...]:
        """Every step of the block, nested blocks flattened, in written order."""
        return tuple(s for m in self.members for s in ((m,) if isinstance(m, StepDecl) else m.steps))


SagaMember = TriggerDecl | StepDecl | ParallelDecl | SagaTimeout | OutcomeDecl | SagaInvariant


@frozen
class SagaDecl(Node):
    name: Name
    members: tuple[SagaMember, ...]
    doc: str | None = None
    end: Span

    @property
    def steps(self) -> tuple[StepDecl, ...]:
        """Every step, those of parallel blocks in place, in written order."""
        found: list[StepDecl] = []
        for m in self.members:
            if isinstance(m, StepDecl):
                found.append(m)
            elif isinstance(m, ParallelDecl):
                found += m.steps
        return tuple(found)


@frozen
class ExternalDecl(Node):
    name: Name
    members: tuple[PublishesDecl | ConsumesDecl, ...]
    doc: str | None = None
    end: Span


@frozen
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


@frozen
class Header(Node):
    name: Name
    version: str
    version_span: Span
    doc: str | None = None


@frozen
class ImportDecl(Node):
    path: str
    path_span: Span


@frozen
class Module(Node):
    """One parsed file. `comments` keeps every `//` and `///` comment for `fmt`."""

    path: str
    header: Header
    imports: tuple[ImportDecl, ...]
    declarations: tuple[Declaration, ...]
    comments: tuple[Comment, ...]


DeclKind = Literal["type", "enum", "event", "command", "policy", "service", "saga", "external"]
