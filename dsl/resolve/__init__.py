"""Syntax AST -> resolved model. Unresolvable references are reported and the
element that needs them is left out, so later rules still see everything else."""

from __future__ import annotations

from flowgen_design.dsl import ast
from flowgen_design.dsl.diagnostics import Reporter
from flowgen_design.dsl.durations import DAY_MS
from flowgen_design.dsl.model import Archive, Command, Event, Flow, Service
from flowgen_design.dsl.resolve.delivery import DeliveryResolver
from flowgen_design.dsl.resolve.sagas import SagaResolver
from flowgen_design.dsl.resolve.services import ServiceResolver
from flowgen_design.dsl.resolve.symbols import Symbols
from flowgen_design.dsl.resolve.types import TypeResolver


def _of(modules: list[ast.Module], kind: type) -> list:  # type: ignore[type-arg]
    return [d for m in modules for d in m.declarations if isinstance(d, kind)]


def resolve(root: ast.Module, modules: list[ast.Module], reporter: Reporter) -> Flow:
    """Build the model of `root` and everything it imports (`modules`, imports first)."""
    symbols = Symbols(reporter)
    symbols.declare_all(modules)
    decls = set(map(id, symbols.decls.values()))
    by_kind: dict[type, list[ast.Declaration]] = {}
    for module in modules:  # one pass, not one per kind (no declaration class derives from another)
        for d in module.declarations:
            if id(d) in decls:
                by_kind.setdefault(type(d), []).append(d)

    def mine(kind: type) -> list:  # type: ignore[type-arg]
        return by_kind.get(kind, [])

    types = TypeResolver(symbols)
    records = [r for d in mine(ast.TypeDecl) if (r := types.record(d))]
    enums = [types.enum(d) for d in mine(ast.EnumDecl)]
    events: dict[str, Event] = {d.name.text: types.event(d) for d in mine(ast.EventDecl)}
    commands: dict[str, Command] = {d.name.text: types.command(d, events) for d in mine(ast.CommandDecl)}

    delivery = DeliveryResolver(symbols)
    delivery.load_defaults(modules)
    policies = [delivery.policy(d) for d in mine(ast.PolicyDecl)]

    service_resolver = ServiceResolver(symbols, delivery, events, commands)
    services: dict[str, Service] = {d.name.text: service_resolver.service(d) for d in mine(ast.ServiceDecl)}
    externals = [service_resolver.external(d) for d in mine(ast.ExternalDecl)]
    saga_resolver = SagaResolver(symbols, delivery, services, events)
    sagas = [s for d in mine(ast.SagaDecl) if (s := saga_resolver.saga(d))]

    return Flow(
        name=root.header.name.text,
        version=root.header.version,
        path=root.path,
        doc=root.header.doc,
        span=root.header.span,
        records=tuple(records),
        enums=tuple(enums),
        events=tuple(events.values()),
        commands=tuple(commands.values()),
        policies=tuple(policies),
        services=tuple(services.values()),
        sagas=tuple(sagas),
        externals=tuple(externals),
        archive=_archive(_of(modules, ast.ArchiveDecl)),
    )


def _archive(decls: list[ast.ArchiveDecl]) -> Archive | None:
    """The first `archive` (a second is FLOW108); its retention in whole days, rounded up (FLOW330 says so)."""
    if not decls:
        return None
    retention = decls[0].retention
    return Archive(retention_days=max(1, -(-retention.millis // DAY_MS)), span=decls[0].span)
