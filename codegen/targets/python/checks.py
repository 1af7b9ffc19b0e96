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
from flowgen_design.dsl.model import Command, EnumType, Event, Flow, Record
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
        for h in service.handlers:
            for error in h.raises:
                _reserved(ctx, error, h.span, "error")
                _private(ctx, error, h.span, "error")
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
    _header_names(ctx, type_names)
    for enum in flow.enums:
        members: dict[str, tuple[str, Span]] = {}
        for m in enum.members:
            clash(ctx, members, python_member_name(m.name), m.name, m.span, f"Python members of `{enum.name}`")


def _header_names(ctx: RuleContext, type_names: frozenset[str]) -> None:
    """An event's headers become the model `<Event>Headers`: its name is taken like a declaration's."""
    classes = {d.name: (d.name, d.name_span) for d in _declared(ctx)}
    for event in (e for e in ctx.flow.events if e.headers):
        clash(ctx, classes, f"{event.name}Headers", f"the headers of `{event.name}`", event.name_span, "Python classes")
        fields: dict[str, tuple[str, Span]] = {}
        for h in event.headers:
            name = python_field_name(h.name, type_names)
            clash(ctx, fields, name, h.name, h.span, f"Python attributes of `{event.name}Headers`")


# Module names the generated package itself uses in the folders that hold one module per service.
GENERATED_MODULES = frozenset({"runtime", "saga_starter", "testkit", "testkit_sagas", "testkit_aws"})
# Names Windows gives to devices, with or without an extension: such a file cannot be created there.
WINDOWS_DEVICES = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(10)} | {f"lpt{i}" for i in range(10)}
)
MAX_FILE_NAME_BYTES = 255
# What the writer adds around a file's name while it writes it: `.NAME.XXXXXXXX.flowgen-tmp`.
_TEMP_NAME_OVERHEAD = len(".") + len(".XXXXXXXX") + len(".flowgen-tmp")


def _output_file_names(flow: Flow) -> list[tuple[str, str, Span, str]]:
    """(what, name, span, file name) for every file or folder name a name of the spec becomes."""
    names = [
        ("flow", flow.name, flow.span, f"{flow.name}.asyncapi.yaml"),
        ("flow", flow.name, flow.span, f"{flow.name}.html"),
    ]
    names.append(("flow", flow.name, flow.span, snake_case(flow.name)))
    names += [("service", s.name, s.span, f"{snake_case(s.name)}.py") for s in flow.services]
    names += [("saga", s.name, s.span, f"saga-{snake_case(s.name).replace('_', '-')}.dot") for s in flow.sagas]
    return names


def check_file_names(ctx: RuleContext) -> None:
    """Names that become file names: no Windows device name, nothing the file system cannot hold,
    no module the generated package needs for itself (`generate` would refuse them)."""
    reported: set[tuple[str, str]] = set()
    for what, name, span, file_name in _output_file_names(ctx.flow):
        if (what, name) in reported:
            continue
        stem = file_name.split(".")[0].lower()
        if stem in WINDOWS_DEVICES:
            ctx.report.add(
                codes.RESERVED_NAME,
                f"{what} `{name}` becomes the file name `{file_name}`, which Windows reserves for a device",
                span,
                "rename it",
            )
        elif what == "service" and file_name.removesuffix(".py") in GENERATED_MODULES:
            ctx.report.add(
                codes.RESERVED_NAME,
                f"service `{name}` becomes the module `{file_name}`, which the generated package needs for its own code",
                span,
                f"rename it, e.g. `{name}Service`",
            )
        elif len(file_name.encode("utf-8")) + _TEMP_NAME_OVERHEAD > MAX_FILE_NAME_BYTES:
            ctx.report.add(
                codes.NAME_TOO_LONG,
                f"{what} `{name}` makes the file name `{file_name}`, too long for file systems (255 bytes)",
                span,
                "use a shorter name",
            )
        else:
            continue
        reported.add((what, name))


CHECKS: tuple[Rule, ...] = (
    Rule(check_flow_and_declaration_names, (codes.RESERVED_NAME,)),
    Rule(check_service_and_handler_names, (codes.RESERVED_NAME, codes.NAME_CLASH)),
    Rule(check_field_and_member_names, (codes.NAME_CLASH,)),
    Rule(check_file_names, (codes.RESERVED_NAME, codes.NAME_TOO_LONG)),
)
