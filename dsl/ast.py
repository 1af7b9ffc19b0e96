"""The syntax AST: what the file says, with a span on every node.

Names are plain strings here (wrapped in `Name` so each use keeps its own span);
the resolver turns them into object references in `dsl.model`. No lark type
appears in this module: the parser is the only place that knows about lark.
"""

from __future__ import annotations

from typing import Literal, Union

from pydantic import BaseModel, ConfigDict

from flowgen_design.dsl.source import Span


class Node(BaseModel):
    # The parser builds nodes with `dsl.trusted` (no validation), so the
    # validators are only built if something validates a node: `check` never does.
    model_config = ConfigDict(frozen=True, defer_build=True)

    span: Span


class Name(Node):
    text: str


class Duration(Node):
    millis: int
    text: str


class Comment(Node):
    text: str


# ---- types -------------------------------------------------------------------


class NamedType(Node):
    name: Name


class ListType(Node):
    item: TypeExpr


class MapType(Node):
    key: TypeExpr
    value: TypeExpr


class OptionalType(Node):
    inner: TypeExpr


TypeExpr = Union[NamedType, ListType, MapType, OptionalType]


class Constraint(Node):
    name: Name
    value: int | float | str


class Field(Node):
    name: Name
    type: TypeExpr
    constraints: tuple[Constraint, ...] = ()
    doc: str | None = None


class KeyClause(Node):
    field: Name


class OrderedClause(Node):
    field: Name


class TypeDecl(Node):
    name: Name
    fields: tuple[Field, ...]
    doc: str | None = None
    end: Span


class EnumMember(Node):
    name: Name
    doc: str | None = None


class EnumDecl(Node):
    name: Name
    members: tuple[EnumMember, ...]
    doc: str | None = None
    end: Span


MessageMember = Union[Field, KeyClause, OrderedClause]


class EventDecl(Node):
    name: Name
    members: tuple[MessageMember, ...]
    doc: str | None = None
    end: Span


class CommandDecl(Node):
    name: Name
    members: tuple[MessageMember, ...]
    replies: tuple[Name, ...]
    doc: str | None = None
    end: Span


# ---- delivery options ----------------------------------------------------------


class Backoff(Node):
    kind: Name
    initial: Duration
    maximum: Duration | None
    jitter: bool


class RetryOption(Node):
    attempts: int
    backoff: Backoff | None


class TimeoutOption(Node):
    duration: Duration


class DlqOption(Node):
    pass


class IdempotentOption(Node):
    fields: tuple[Name, ...]
    """`idempotent by a, b`: one or more fields, together the key."""
    within: Duration | None


class UseOption(Node):
    policy: Name


class EmitsOption(Node):
    events: tuple[Name, ...]


Option = Union[RetryOption, TimeoutOption, DlqOption, IdempotentOption, UseOption, EmitsOption]


class PolicyDecl(Node):
    name: Name
    options: tuple[Option, ...]
    doc: str | None = None
    end: Span


class DefaultsDecl(Node):
    options: tuple[Option, ...]
    doc: str | None = None
    end: Span


# ---- services --------------------------------------------------------------------


class ApiDecl(Node):
    method: str
    path: str
    path_span: Span
    event: Name
    doc: str | None = None


class PublishesDecl(Node):
    events: tuple[Name, ...]


class ConsumesDecl(Node):
    events: tuple[Name, ...]


class HandlerBody(Node):
    options: tuple[Option, ...]
    end: Span


class HandlesDecl(Node):
    command: Name
    body: HandlerBody | None
    doc: str | None = None


class OnDecl(Node):
    event: Name
    handler: Name
    body: HandlerBody | None
    doc: str | None = None


ServiceMember = Union[ApiDecl, PublishesDecl, HandlesDecl, OnDecl]


class ServiceDecl(Node):
    name: Name
    members: tuple[ServiceMember, ...]
    doc: str | None = None
    end: Span


# ---- sagas -------------------------------------------------------------------------


class QualifiedName(Node):
    service: Name
    command: Name


class TriggerDecl(Node):
    event: Name


class StepDecl(Node):
    name: Name
    target: QualifiedName
    pivot: bool
    compensate: tuple[QualifiedName, ...]
    readonly: tuple[Span, ...]
    body: HandlerBody | None
    doc: str | None = None


class SagaTimeout(Node):
    duration: Duration


class OutcomeDecl(Node):
    outcome: Name
    event: Name


SagaMember = Union[TriggerDecl, StepDecl, SagaTimeout, OutcomeDecl]


class SagaDecl(Node):
    name: Name
    members: tuple[SagaMember, ...]
    doc: str | None = None
    end: Span


class ExternalDecl(Node):
    name: Name
    members: tuple[PublishesDecl | ConsumesDecl, ...]
    doc: str | None = None
    end: Span


Declaration = Union[
    TypeDecl, EnumDecl, EventDecl, CommandDecl, PolicyDecl, DefaultsDecl, ServiceDecl, SagaDecl, ExternalDecl
]


class Header(Node):
    name: Name
    version: str
    version_span: Span
    doc: str | None = None


class ImportDecl(Node):
    path: str
    path_span: Span


class Module(Node):
    """One parsed file. `comments` keeps every `//` and `///` comment for `fmt`."""

    path: str
    header: Header
    imports: tuple[ImportDecl, ...]
    declarations: tuple[Declaration, ...]
    comments: tuple[Comment, ...]


DeclKind = Literal["type", "enum", "event", "command", "policy", "service", "saga", "external"]
