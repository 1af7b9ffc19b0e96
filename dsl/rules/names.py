"""Names that a generated target could not take: reserved words, clashes, length limits."""

from __future__ import annotations

from flowgen_design.dsl.model import Command, EnumType, Event, Flow, Record
from flowgen_design.dsl.naming import (
    API_RESOURCE_SUFFIXES,
    HANDLER_RESOURCE_SUFFIXES,
    PYTHON_HANDLER_CLASS_NAMES,
    PYTHON_KEYWORDS,
    PYTHON_RESERVED,
    PYTHON_SHADOWED,
    PYTHON_TOP_LEVEL_MODULES,
    SAGA_RESOURCE_SUFFIXES,
    STACK_RESOURCE_IDS,
    api_resource_base,
    handler_resource_base,
    python_field_name,
    python_member_name,
    saga_resource_base,
    snake_case,
)
from flowgen_design.dsl.rules import RuleContext
from flowgen_design.dsl.source import Span

MAX_LOGICAL_ID = 255
# Error names the generated adapters report to Step Functions besides reply names.
SAGA_ERROR_NAMES = frozenset({"AttemptsExhausted"})


def _reserved(ctx: RuleContext, name: str, span: Span, what: str) -> None:
    if name in PYTHON_RESERVED or name in PYTHON_SHADOWED:
        ctx.report.add(
            "reserved-name",
            f"{what} `{name}` cannot be used: it is a reserved name in generated Python",
            span,
            f"rename it, e.g. `{name}_value`" if what == "field" else "rename it",
        )


def _private(ctx: RuleContext, name: str, span: Span, what: str) -> None:
    if name.startswith("_"):
        ctx.report.add(
            "reserved-name",
            f"{what} `{name}` cannot start with an underscore: generated Python would treat it as private",
            span,
            "rename it without the leading underscore",
        )


def _python_module(ctx: RuleContext, name: str, span: Span, what: str) -> None:
    """`name` becomes a Python module (`snake_case(name)`): it must be importable."""
    module = snake_case(name)
    if module in PYTHON_KEYWORDS:
        ctx.report.add(
            "reserved-name", f"{what} `{name}` becomes the Python module `{module}`, a reserved word", span, "rename it"
        )


def _package(ctx: RuleContext) -> None:
    """The generated package `snake_case(flow)` must not hide a module the code imports."""
    flow = ctx.flow
    package = snake_case(flow.name)
    if package in PYTHON_TOP_LEVEL_MODULES:
        ctx.report.add(
            "reserved-name",
            f"flow `{flow.name}` would generate the Python package `{package}`, which hides the module of that name",
            flow.span,
            f"rename the flow, e.g. `{flow.name}_flow`",
        )


def _clash(ctx: RuleContext, seen: dict[str, tuple[str, Span]], ident: str, name: str, span: Span, target: str) -> None:
    first = seen.get(ident)
    if first and first[0] != name:
        ctx.report.add(
            "name-clash",
            f"`{name}` and `{first[0]}` both become `{ident}` in {target}",
            span,
            f"rename one; `{first[0]}` is at {first[1].file}:{first[1].line}:{first[1].column}",
        )
    seen.setdefault(ident, (name, span))


def check_target_names(ctx: RuleContext) -> None:
    flow = ctx.flow
    _reserved(ctx, flow.name, flow.span, "flow")
    _private(ctx, flow.name, flow.span, "flow")
    if flow.name not in PYTHON_RESERVED | PYTHON_SHADOWED:
        _python_module(ctx, flow.name, flow.span, "flow")
        _package(ctx)
    declared: list[Record | EnumType | Event | Command] = [*flow.records, *flow.enums, *flow.events, *flow.commands]
    for decl in declared:
        _reserved(ctx, decl.name, decl.name_span, "declaration")
        _private(ctx, decl.name, decl.name_span, "declaration")
    for event in flow.events:
        if event.name in SAGA_ERROR_NAMES:
            ctx.report.add(
                "reserved-name",
                f"event `{event.name}` cannot be used: it is the error a saga step fails with when its handler runs out of attempts",
                event.name_span,
                "rename the event",
            )
    modules: dict[str, tuple[str, Span]] = {}
    for service in flow.services:
        _private(ctx, service.name, service.span, "service")
        _python_module(ctx, service.name, service.span, "service")
        _clash(ctx, modules, snake_case(service.name), service.name, service.span, "Python module names")
        methods: dict[str, tuple[str, Span]] = {}
        for h in service.handlers:
            _reserved(ctx, h.name, h.span, "handler")
            if h.name in PYTHON_HANDLER_CLASS_NAMES:
                ctx.report.add(
                    "reserved-name",
                    f"handler `{h.name}` cannot be used: the generated handler class needs that name",
                    h.span,
                    "rename it",
                )
            _private(ctx, h.name, h.span, "handler")
            if not h.name.isidentifier():
                ctx.report.add("reserved-name", f"handler `{h.name}` is not a valid identifier", h.span)
            _clash(ctx, methods, snake_case(h.name), h.name, h.span, f"methods of `{service.name}`")
    for saga in flow.sagas:
        for step in saga.steps:
            _reserved(ctx, step.name, step.span, "step")
    _check_logical_ids(ctx)
    type_names = frozenset(d.name for d in declared)
    payloads: list[Record | Event | Command] = [*flow.records, *flow.events, *flow.commands]
    for decl in payloads:
        fields: dict[str, tuple[str, Span]] = {}
        for f in decl.fields:
            _clash(
                ctx,
                fields,
                python_field_name(f.name, type_names),
                f.name,
                f.span,
                f"Python attributes of `{decl.name}`",
            )
    for enum in flow.enums:
        _enum_members(ctx, enum)
    _file_names(ctx)


# Module names the generated package itself uses in the folders that hold one module per service.
GENERATED_MODULES = frozenset({"runtime"})
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


def _file_names(ctx: RuleContext) -> None:
    """Names that become file names: no Windows device name, nothing the file system cannot hold,
    no module the generated package needs for itself (`generate` would refuse them)."""
    reported: set[tuple[str, str]] = set()
    for what, name, span, file_name in _output_file_names(ctx.flow):
        if (what, name) in reported:
            continue
        stem = file_name.split(".")[0].lower()
        if stem in WINDOWS_DEVICES:
            ctx.report.add(
                "reserved-name",
                f"{what} `{name}` becomes the file name `{file_name}`, which Windows reserves for a device",
                span,
                "rename it",
            )
        elif what == "service" and file_name.removesuffix(".py") in GENERATED_MODULES:
            ctx.report.add(
                "reserved-name",
                f"service `{name}` becomes the module `{file_name}`, which the generated package needs for its own code",
                span,
                f"rename it, e.g. `{name}Service`",
            )
        elif len(file_name.encode("utf-8")) + _TEMP_NAME_OVERHEAD > MAX_FILE_NAME_BYTES:
            ctx.report.add(
                "name-too-long",
                f"{what} `{name}` makes the file name `{file_name}`, too long for file systems (255 bytes)",
                span,
                "use a shorter name",
            )
        else:
            continue
        reported.add((what, name))


def _enum_members(ctx: RuleContext, enum: EnumType) -> None:
    members: dict[str, tuple[str, Span]] = {}
    for m in enum.members:
        _clash(ctx, members, python_member_name(m.name), m.name, m.span, f"Python members of `{enum.name}`")


def cloudformation_ids(flow: Flow) -> list[tuple[str, str, Span]]:
    """Every logical ID the CloudFormation target may make: (ID, element, span)."""
    ids = [(rid, "the stack's shared resources", flow.span) for rid in STACK_RESOURCE_IDS]
    for service in flow.services:
        for h in service.handlers:
            base = handler_resource_base(service.name, h.name)
            ids += [(base + suffix, f"{service.name}.{h.name}", h.span) for suffix in HANDLER_RESOURCE_SUFFIXES]
        for api in service.apis:
            base = api_resource_base(api.method, api.path)
            ids += [(base + suffix, f"`{api.route}`", api.span) for suffix in API_RESOURCE_SUFFIXES]
    for saga in flow.sagas:
        ids += [
            (saga_resource_base(saga.name) + suffix, f"saga {saga.name}", saga.span)
            for suffix in SAGA_RESOURCE_SUFFIXES
        ]
    return ids


def _check_logical_ids(ctx: RuleContext) -> None:
    seen: dict[str, tuple[str, Span]] = {}
    reported: set[tuple[str, str]] = set()
    for ident, element, span in cloudformation_ids(ctx.flow):
        first = seen.setdefault(ident, (element, span))
        if first[0] != element and (first[0], element) not in reported:
            reported.add((first[0], element))
            _clash(ctx, {ident: first}, ident, element, span, "CloudFormation logical IDs")
        if len(ident) > MAX_LOGICAL_ID and (element, "") not in reported:
            reported.add((element, ""))
            ctx.report.add(
                "name-too-long",
                f"`{element}` makes a CloudFormation logical ID longer than {MAX_LOGICAL_ID} characters",
                span,
                "shorten its names",
            )


def check_duplicate_routes(ctx: RuleContext) -> None:
    seen: dict[str, Span] = {}
    for service in ctx.flow.services:
        for api in service.apis:
            first = seen.get(api.route)
            if first:
                ctx.report.add(
                    "duplicate-name",
                    f"`{api.route}` is declared twice",
                    api.span,
                    f"first declared at {first.file}:{first.line}:{first.column}",
                )
            seen.setdefault(api.route, api.span)
