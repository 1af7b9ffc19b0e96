"""The Python target's checks: names generated Python could not take.

A spec name becomes a module, a class, a method, a field or an enum member of
the generated package; a keyword, a name the generated code needs, or two names
that become the same identifier would make a package that does not import or
silently loses a field. `flowgen check` runs these when the `python` target (or
one that builds on it) is configured.
"""

from __future__ import annotations

from flowgen_design.codegen.targets.python.naming import (
    PYTHON_HANDLER_CLASS_NAMES,
    PYTHON_KEYWORDS,
    PYTHON_RESERVED,
    PYTHON_SHADOWED,
    PYTHON_TOP_LEVEL_MODULES,
    python_field_name,
    python_member_name,
)
from flowgen_design.dsl import codes
from flowgen_design.dsl.model import Command, EnumType, Event, Record
from flowgen_design.dsl.naming import snake_case
from flowgen_design.dsl.rules import Rule, RuleContext
from flowgen_design.dsl.source import Span


def _reserved(ctx: RuleContext, name: str, span: Span, what: str) -> None:
    if name in PYTHON_RESERVED or name in PYTHON_SHADOWED:
        ctx.report.add(
            codes.RESERVED_NAME,
            f"{what} `{name}` cannot be used: it is a reserved name in generated Python",
            span,
            f"rename it, e.g. `{name}_value`" if what == "field" else "rename it",
        )


def _private(ctx: RuleContext, name: str, span: Span, what: str) -> None:
    if name.startswith("_"):
        ctx.report.add(
            codes.RESERVED_NAME,
            f"{what} `{name}` cannot start with an underscore: generated Python would treat it as private",
            span,
            "rename it without the leading underscore",
        )


def _python_module(ctx: RuleContext, name: str, span: Span, what: str) -> None:
    """`name` becomes a Python module (`snake_case(name)`): it must be importable."""
    module = snake_case(name)
    if module in PYTHON_KEYWORDS:
        ctx.report.add(
            codes.RESERVED_NAME,
            f"{what} `{name}` becomes the Python module `{module}`, a reserved word",
            span,
            "rename it",
        )


def _package(ctx: RuleContext) -> None:
    """The generated package `snake_case(flow)` must not hide a module the code imports."""
    flow = ctx.flow
    package = snake_case(flow.name)
    if package in PYTHON_TOP_LEVEL_MODULES:
        ctx.report.add(
            codes.RESERVED_NAME,
            f"flow `{flow.name}` would generate the Python package `{package}`, which hides the module of that name",
            flow.span,
            f"rename the flow, e.g. `{flow.name}_flow`",
        )


def clash(ctx: RuleContext, seen: dict[str, tuple[str, Span]], ident: str, name: str, span: Span, target: str) -> None:
    """Report `name` if another name already became `ident`; remember the first one."""
    first = seen.get(ident)
    if first and first[0] != name:
        ctx.report.add(
            codes.NAME_CLASH,
            f"`{name}` and `{first[0]}` both become `{ident}` in {target}",
            span,
            f"rename one; `{first[0]}` is at {first[1].file}:{first[1].line}:{first[1].column}",
        )
    seen.setdefault(ident, (name, span))


def check_flow_and_declaration_names(ctx: RuleContext) -> None:
    flow = ctx.flow
    _reserved(ctx, flow.name, flow.span, "flow")
    _private(ctx, flow.name, flow.span, "flow")
    if flow.name not in PYTHON_RESERVED | PYTHON_SHADOWED:
        _python_module(ctx, flow.name, flow.span, "flow")
        _package(ctx)
    for decl in _declared(ctx):
        _reserved(ctx, decl.name, decl.name_span, "declaration")
        _private(ctx, decl.name, decl.name_span, "declaration")


def _declared(ctx: RuleContext) -> list[Record | EnumType | Event | Command]:
    flow = ctx.flow
    return [*flow.records, *flow.enums, *flow.events, *flow.commands]


def check_service_and_handler_names(ctx: RuleContext) -> None:
    modules: dict[str, tuple[str, Span]] = {}
    for service in ctx.flow.services:
        _private(ctx, service.name, service.span, "service")
        _python_module(ctx, service.name, service.span, "service")
        clash(ctx, modules, snake_case(service.name), service.name, service.span, "Python module names")
        methods: dict[str, tuple[str, Span]] = {}
        for h in service.handlers:
            _reserved(ctx, h.name, h.span, "handler")
            if h.name in PYTHON_HANDLER_CLASS_NAMES:
                ctx.report.add(
                    codes.RESERVED_NAME,
                    f"handler `{h.name}` cannot be used: the generated handler class needs that name",
                    h.span,
                    "rename it",
                )
            _private(ctx, h.name, h.span, "handler")
            if not h.name.isidentifier():
                ctx.report.add(codes.RESERVED_NAME, f"handler `{h.name}` is not a valid identifier", h.span)
            clash(ctx, methods, snake_case(h.name), h.name, h.span, f"methods of `{service.name}`")
    for saga in ctx.flow.sagas:
        for step in saga.steps:
            _reserved(ctx, step.name, step.span, "step")


def check_field_and_member_names(ctx: RuleContext) -> None:
    flow = ctx.flow
    type_names = frozenset(d.name for d in _declared(ctx))
    payloads: list[Record | Event | Command] = [*flow.records, *flow.events, *flow.commands]
    for decl in payloads:
        fields: dict[str, tuple[str, Span]] = {}
        for f in decl.fields:
            clash(
                ctx,
                fields,
                python_field_name(f.name, type_names),
                f.name,
                f.span,
                f"Python attributes of `{decl.name}`",
            )
    for enum in flow.enums:
        members: dict[str, tuple[str, Span]] = {}
        for m in enum.members:
            clash(ctx, members, python_member_name(m.name), m.name, m.span, f"Python members of `{enum.name}`")


CHECKS: tuple[Rule, ...] = (
    Rule(check_flow_and_declaration_names, (codes.RESERVED_NAME,)),
    Rule(check_service_and_handler_names, (codes.RESERVED_NAME, codes.NAME_CLASH)),
    Rule(check_field_and_member_names, (codes.NAME_CLASH,)),
)
