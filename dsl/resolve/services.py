"""Resolving services (entry points, subscriptions, command handlers) and externals."""

from __future__ import annotations

from typing import Literal

from flowgen_design.dsl import ast, codes
from flowgen_design.dsl.model import ApiEndpoint, Command, EndpointAuth, Event, External, Handler, Service
from flowgen_design.dsl.naming import snake_case
from flowgen_design.dsl.resolve.delivery import DeliveryResolver, Layer
from flowgen_design.dsl.resolve.symbols import Symbols, where


class ServiceResolver:
    def __init__(
        self, symbols: Symbols, delivery: DeliveryResolver, events: dict[str, Event], commands: dict[str, Command]
    ) -> None:
        self.symbols = symbols
        self.report = symbols.reporter
        self.delivery = delivery
        self.events = events
        self.commands = commands

    def events_of(self, names: tuple[ast.Name, ...]) -> tuple[Event, ...]:
        found: dict[str, Event] = {}
        for n in names:
            if self.symbols.lookup(n, "event") is not None and n.text in self.events:
                found.setdefault(n.text, self.events[n.text])
        return tuple(found.values())

    def service(self, decl: ast.ServiceDecl) -> Service:
        publishes = self.events_of(tuple(n for m in decl.members if isinstance(m, ast.PublishesDecl) for n in m.events))
        apis = tuple(a for m in decl.members if isinstance(m, ast.ApiDecl) if (a := self._api(m, decl.name.text)))
        handlers: dict[str, Handler] = {}
        for member in decl.members:
            handler = self._handler(member, decl.name.text, publishes, _handler_default(publishes, apis))
            if handler is None:
                continue
            if handler.name in handlers:
                first = handlers[handler.name].span
                self.report.add(
                    codes.DUPLICATE_NAME,
                    f"service `{decl.name.text}` already has a handler `{handler.name}`",
                    handler.span,
                    f"first declared at {where(first)}",
                )
                continue
            handlers[handler.name] = handler
        return Service(
            name=decl.name.text,
            apis=apis,
            publishes=publishes,
            handlers=tuple(handlers.values()),
            doc=decl.doc,
            span=decl.span,
            name_span=decl.name.span,
        )

    def _api(self, decl: ast.ApiDecl, service: str) -> ApiEndpoint | None:
        if self.symbols.lookup(decl.event, "event") is None or decl.event.text not in self.events:
            return None
        return ApiEndpoint(
            method=decl.method,
            path=decl.path,
            event=self.events[decl.event.text],
            service=service,
            auth=_auth(decl),
            doc=decl.doc,
            span=decl.span,
        )

    def _handler(
        self, member: ast.ServiceMember, service: str, publishes: tuple[Event, ...], default: tuple[Event, ...]
    ) -> Handler | None:
        if isinstance(member, ast.HandlesDecl):
            if self.symbols.lookup(member.command, "command") is None or member.command.text not in self.commands:
                return None
            command = self.commands[member.command.text]
            return self._build(
                member, service, snake_case(command.name), "command", command, command.replies, publishes
            )
        if isinstance(member, ast.OnDecl):
            if self.symbols.lookup(member.event, "event") is None or member.event.text not in self.events:
                return None
            return self._build(
                member, service, member.handler.text, "event", self.events[member.event.text], default, publishes
            )
        return None

    def _build(
        self,
        member: ast.HandlesDecl | ast.OnDecl,
        service: str,
        name: str,
        trigger: Literal["command", "event"],
        message: Event | Command,
        outputs: tuple[Event, ...],
        publishes: tuple[Event, ...],
    ) -> Handler:
        options = member.body.options if member.body else ()
        layer = self.delivery.layer(options)
        policy = self.delivery.delivery(layer, message.fields, message.name)
        if layer.emits is not None:
            outputs = self._emits(layer, service, publishes, trigger == "command", outputs)
        return Handler(
            name=name,
            service=service,
            trigger=trigger,
            input=message,
            outputs=outputs,
            policy=policy,
            raises=tuple(dict.fromkeys(n.text for n in (*self.delivery.defaults.raises, *layer.raises))),
            doc=member.doc,
            span=member.span,
        )

    def _emits(
        self, layer: Layer, service: str, publishes: tuple[Event, ...], is_command: bool, replies: tuple[Event, ...]
    ) -> tuple[Event, ...]:
        assert layer.emits is not None
        allowed = {e.name for e in publishes}
        emitted = self.events_of(layer.emits.events)
        for name in layer.emits.events:
            if name.text in self.events and name.text not in allowed:
                self.report.add(
                    codes.EMITS_NOT_PUBLISHED,
                    f"`{name.text}` is emitted here but `{service}` does not publish it",
                    name.span,
                    f"add `{name.text}` to `publishes` of `{service}`",
                )
        extra = tuple(e for e in emitted if e.name in allowed)
        return replies + tuple(e for e in extra if e not in replies) if is_command else extra

    def external(self, decl: ast.ExternalDecl) -> External:
        pub = tuple(n for m in decl.members if isinstance(m, ast.PublishesDecl) for n in m.events)
        con = tuple(n for m in decl.members if isinstance(m, ast.ConsumesDecl) for n in m.events)
        return External(
            name=decl.name.text,
            publishes=self.events_of(pub),
            consumes=self.events_of(con),
            doc=decl.doc,
            span=decl.span,
            name_span=decl.name.span,
        )


def _handler_default(publishes: tuple[Event, ...], apis: tuple[ApiEndpoint, ...]) -> tuple[Event, ...]:
    """What an `on` handler without `emits` may publish: what its service publishes, except the
    events of the service's own `api` entry points (the endpoint puts those on the bus, not a handler)."""
    from_apis = {api.event.name for api in apis}
    return tuple(e for e in publishes if e.name not in from_apis)


def _auth(decl: ast.ApiDecl) -> EndpointAuth:
    """The endpoint's authorization as written, or IAM when it says nothing: never public by default."""
    clause = decl.auth
    if clause is None:
        return EndpointAuth(kind="iam", declared=False, span=decl.span)
    return EndpointAuth(
        kind=clause.kind,
        issuer=clause.issuer.value if clause.issuer else None,
        audiences=tuple(a.value for a in clause.audiences),
        declared=True,
        span=clause.span,
    )
