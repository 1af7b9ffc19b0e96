"""`<package>/services/<service>.py`: the user's implementation, created once.

The file is the user's from the moment it exists. When the spec gains a handler,
`merge_service` inserts a stub for it at the end of the user's class and changes
no byte the user wrote; when it cannot be sure that is safe (the class is gone or
renamed, the file does not parse, a name the stub needs is not imported) it
leaves the file alone and says exactly what to add. Methods whose handler left
the spec are reported with their line and never removed.
"""

from __future__ import annotations

import ast
import re

from flowgen_design.codegen.files import LineNote, UserMerge
from flowgen_design.codegen.names import handlers_class, python_package, service_class, service_module
from flowgen_design.codegen.targets.python.handlers import signature, uses_sequence
from flowgen_design.codegen.targets.python.source import (
    INDENT,
    Imports,
    docstring,
    format_module,
    indented,
    paragraphs,
    prose,
)
from flowgen_design.dsl.frozen import frozen
from flowgen_design.dsl.model import Flow, Handler, Service


def _stub_imports(flow: Flow, handlers: list[Handler]) -> dict[str, str]:
    """The names the stubs of `handlers` refer to, each with the line that imports it.

    The user's file imports only what its stubs use (so it passes ruff); a merge adds
    the lines that new stubs need and the file does not bind yet."""
    if not handlers:
        return {}
    needed = {
        "override": "from typing_extensions import override",
        "models": f"from {python_package(flow)} import models",
    }
    if any(uses_sequence(h) for h in handlers):
        needed = {"Sequence": "from collections.abc import Sequence", **needed}
    return needed


def stub(service: Service, handler: Handler) -> list[str]:
    """One method of the user's class, at class-body indentation (unformatted)."""
    message = f"{service.name}.{handler.name}: implement this handler"
    return ["@override", signature(handler), f"{INDENT}raise NotImplementedError({message!r})"]


def service_module_text(flow: Flow, service: Service) -> str:
    """The file as first created: every handler a stub raising NotImplementedError."""
    package = python_package(flow)
    module = service_module(service.name)
    imports = Imports()
    imports.add("future", "__future__", "annotations")
    needed = _stub_imports(flow, list(service.handlers))
    if "Sequence" in needed:
        imports.add("stdlib", "collections.abc", "Sequence")
    if needed:
        imports.add("thirdparty", "typing_extensions", "override")
        imports.add("local", package, "models")
    imports.add("local", f"{package}.handlers.{module}", handlers_class(service.name))
    intro = paragraphs(
        f"The `{service.name}` service: your implementation of its handlers.",
        prose(
            "This file is yours. flowgen created it once and never overwrites it; when the spec "
            "gains a handler, `flowgen generate` adds a stub for it at the end of the class below, "
            "and when a handler leaves the spec it tells you which method to remove."
        ),
    )
    methods: list[str] = []
    for handler in service.handlers:
        methods += ["", *stub(service, handler)]
    body = [*docstring(f"Implements the handlers of `{service.name}`."), *methods]
    lines = [
        *docstring(intro),
        "",
        *imports.lines(),
        "",
        *factory(flow, service),
        "",
        "",
        f"class {service_class(service.name)}({handlers_class(service.name)}):",
    ]
    return format_module([*lines, *indented(body)])


def factory(flow: Flow, service: Service) -> list[str]:
    """`build()`: where the user constructs the service and its dependencies (once per cold start).

    It comes before the class, so the class stays the end of the file, where new stubs go."""
    cls = service_class(service.name)
    doc = paragraphs(
        f"Build the `{service.name}` service: the Lambda adapters call this once per cold start.",
        prose(
            f"Construct its dependencies here (clients, repositories, settings) and pass them to `{cls}`; "
            f"tests build `{cls}` themselves with fakes. Handlers read the message's ids, attempt, deadline "
            f"and logger with `{python_package(flow)}.context.current_context()`."
        ),
    )
    return [f"def build() -> {cls}:", *indented([*docstring(doc), f"return {cls}()"])]


# ---- merging into the user's file ----------------------------------------------------------


@frozen(kw_only=False)
class _ClassInfo:
    node: ast.ClassDef
    bound: frozenset[str]  # names the class body defines
    module_names: frozenset[str]  # names the module binds at top level


def _module_names(tree: ast.Module) -> frozenset[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return frozenset(names)


def _class_names(node: ast.ClassDef) -> frozenset[str]:
    names: set[str] = set()
    for item in node.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(item.name)
        elif isinstance(item, ast.Assign):
            names.update(t.id for t in item.targets if isinstance(t, ast.Name))
        elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            names.add(item.target.id)
    return frozenset(names)


@frozen(kw_only=False)
class _NotMergeable:
    reason: str
    class_missing: bool = False


def _find_class(source: str, name: str) -> _ClassInfo | _NotMergeable:
    """The user's class, or why it cannot be found."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as err:
        return _NotMergeable(f"it does not parse ({err.__class__.__name__}: {err})")
    found = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name]
    if len(found) != 1:
        if not found:
            return _NotMergeable(f"it has no top-level class `{name}`", class_missing=True)
        return _NotMergeable(f"it defines class `{name}` more than once")
    return _ClassInfo(found[0], _class_names(found[0]), _module_names(tree))


def _is_override(decorator: ast.expr) -> bool:
    return (isinstance(decorator, ast.Name) and decorator.id == "override") or (
        isinstance(decorator, ast.Attribute) and decorator.attr == "override"
    )


def orphans(node: ast.ClassDef, service: Service) -> tuple[LineNote, ...]:
    """`@override` methods that no handler of the spec overrides any more."""
    handlers = {h.name for h in service.handlers}
    notes = []
    for item in node.body:
        if (
            isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
            and item.name not in handlers
            and any(_is_override(d) for d in item.decorator_list)
        ):
            notes.append(
                LineNote(
                    item.lineno,
                    f"`{item.name}` is no longer a handler of `{service.name}` in the spec; flowgen left it "
                    "in place: delete it, or move what it does to a handler the spec still declares",
                )
            )
    return tuple(notes)


def _raises_not_implemented(item: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """The body is `raise NotImplementedError(...)`, after an optional docstring."""
    body = item.body[1:] if item.body and isinstance(item.body[0], ast.Expr) else item.body
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return False
    exc = body[0].exc.func if isinstance(body[0].exc, ast.Call) else body[0].exc
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"


def unimplemented(node: ast.ClassDef, service: Service) -> tuple[LineNote, ...]:
    """Handlers of the spec whose method still only raises NotImplementedError."""
    handlers = {h.name for h in service.handlers}
    return tuple(
        LineNote(
            item.lineno,
            f"`{service.name}.{item.name}` is not implemented yet: it raises NotImplementedError",
            repeats=False,
        )
        for item in node.body
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
        and item.name in handlers
        and _raises_not_implemented(item)
    )


def _line_ends(text: str) -> list[int]:
    """Offset just after each line, as `ast` counts lines (\\n, \\r\\n or \\r end one)."""
    return [m.end() for m in re.finditer(r"\r\n|\r|\n", text)] + (
        [len(text)] if text and text[-1] not in "\r\n" else []
    )


def _body_indent(source: str, node: ast.ClassDef) -> str | None:
    """The indentation of the class body, or None if the body shares the `class` line."""
    first = node.body[0]
    if first.lineno == node.lineno:
        return None
    line = re.split(r"\r\n|\r|\n", source)[first.lineno - 1]
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    return indent if indent and len(indent) == first.col_offset else None


def _render_stub(lines: list[str], unit: str, newline: str) -> str:
    """Black-formatted stub lines, re-indented from black's four spaces to the user's `unit`."""
    formatted = format_module(["class _Stub:", *indented(lines)]).splitlines()[1:]
    out = []
    for line in formatted:
        depth = len(line) - len(line.lstrip(" "))
        out.append(unit * (depth // 4) + " " * (depth % 4) + line.lstrip(" ") if line.strip() else "")
    return newline.join(out)


def _instructions(
    flow: Flow, service: Service, missing: list[Handler], why: str, needs: list[str], has_class: bool
) -> str:
    path = f"{python_package(flow)}/services/{service_module(service.name)}.py"
    methods = "\n\n".join(_render_stub(stub(service, h), INDENT, "\n") for h in missing)
    name = service_class(service.name)
    where = (
        f"Add to class `{name}`"
        if has_class
        else f"Define `class {name}({handlers_class(service.name)})` (it is imported by that name) with"
    )
    imports = "".join(f"\n  {line}" for line in needs)
    return f"cannot add handler stubs to {path} automatically: {why}.\n{where}:\n\n{methods}\n\nand make sure the module imports:{imports}"


def _required_imports(flow: Flow, missing: list[Handler]) -> list[str]:
    return list(_stub_imports(flow, missing).values())


def merge_service(existing: str, flow: Flow, service: Service) -> UserMerge:
    """Add stubs for handlers the user's class lacks, inserting text and changing nothing else."""
    info = _find_class(existing, service_class(service.name))
    missing_all = list(service.handlers)
    if isinstance(info, _NotMergeable):
        needs = _required_imports(flow, missing_all)
        message = _instructions(flow, service, missing_all, info.reason, needs, has_class=not info.class_missing)
        return UserMerge(None, (message,))
    notes = orphans(info.node, service) + unimplemented(info.node, service)
    missing = [h for h in service.handlers if h.name not in info.bound]
    if not missing:
        return UserMerge(existing, (), notes)
    why = _blocker(existing, info)
    merged = (
        None if why else _insert(existing, info.node, missing, service, _body_indent(existing, info.node) or INDENT)
    )
    absent = [line for name, line in _stub_imports(flow, missing).items() if name not in info.module_names]
    if merged is not None and absent:
        merged = _add_imports(merged, absent)
        why = None if merged else "it has no import to add `" + "`, `".join(absent) + "` after"
    if merged is None:
        why = why or "the result would not parse"
        message = _instructions(flow, service, missing, why, _required_imports(flow, missing), has_class=True)
        return UserMerge(None, (message,), notes)
    added = ", ".join(f"`{h.name}`" for h in missing)
    result = _find_class(merged, info.node.name)
    if isinstance(result, _ClassInfo):  # the new stubs are unimplemented too; earlier lines did not move
        notes = orphans(info.node, service) + unimplemented(result.node, service)
    return UserMerge(merged, (f"added stubs for {added} to class `{info.node.name}`",), notes)


def _blocker(existing: str, info: _ClassInfo) -> str | None:
    """Why appending stubs to the class would not be safe, or None."""
    if _body_indent(existing, info.node) is None:
        return f"the body of class `{info.node.name}` does not start on its own indented line"
    return None


def _add_imports(source: str, lines: list[str]) -> str | None:
    """`source` with `lines` inserted after its last top-level import; None if it has none."""
    tree = ast.parse(source)
    last = max((n.end_lineno or n.lineno for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))), default=0)
    if not last:
        return None
    newline = "\r\n" if "\r\n" in source else "\r" if "\r" in source and "\n" not in source else "\n"
    at = _line_ends(source)[last - 1]
    lead = "" if source[:at].endswith(("\n", "\r")) else newline
    return source[:at] + lead + "".join(line + newline for line in lines) + source[at:]


def _insert(existing: str, node: ast.ClassDef, missing: list[Handler], service: Service, unit: str) -> str | None:
    newline = "\r\n" if "\r\n" in existing else "\r" if "\r" in existing and "\n" not in existing else "\n"
    ends = _line_ends(existing)
    assert node.end_lineno is not None
    at = ends[node.end_lineno - 1]
    lead = "" if existing[:at].endswith(("\n", "\r")) else newline
    text = lead + "".join(newline + _render_stub(stub(service, h), unit, newline) + newline for h in missing)
    merged = existing[:at] + text + existing[at:]
    check = _find_class(merged, node.name)
    if isinstance(check, _NotMergeable) or not all(h.name in check.bound for h in missing):
        return None
    return merged
