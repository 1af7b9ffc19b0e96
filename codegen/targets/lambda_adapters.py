"""Target `lambda`: an AWS Lambda adapter per handler, in the flow's Python package.

Writes, next to the models and handler interfaces of the `python` target:

- `<pkg>/adapters/runtime.py`: the shared runtime (SQS batch processing,
  envelopes, idempotency, publishing, saga replies), copied from
  `codegen/templates/lambda_adapters_runtime.py.txt`;
- `<pkg>/adapters/saga_starter.py`: when the flow has sagas, the function that
  starts a saga once per trigger event, from `codegen/templates/saga_starter.py.txt`;
- `<pkg>/adapters/__init__.py`: what the flow's adapters share (event source,
  each saga's step order);
- `<pkg>/adapters/<service>.py`: one function per handler, named as the
  handler, which is the function's `Handler` setting
  (`HandlerPlan.entry_point` of the deployment plan). Each declares a `Route` (the spec's facts
  about the handler) and hands its batch to the runtime.

- the local test kit, `<pkg>/testing.py` and its engine `<pkg>/adapters/testkit*.py`
  (`codegen.targets.testkit`), which runs the flow in process through these adapters.

All are flowgen-owned and black-formatted; the user's code lives in
`<pkg>/services/<service>.py` (`<Service>Service`, or what its module's `build()` returns), built once per cold start.
"""

from __future__ import annotations

import re
from functools import partial
from importlib import resources
from pathlib import PurePosixPath

from flowgen_design.codegen.aws.plan import plan_of
from flowgen_design.codegen.fanout import fan_out
from flowgen_design.codegen.files import GeneratedFile
from flowgen_design.codegen.header import comment_header
from flowgen_design.codegen.incremental import LazyFile, TargetOutput, materialize_all
from flowgen_design.codegen.names import STARTER_MODULE, adapter_path, python_package, service_class, service_module
from flowgen_design.codegen.options import GenerateOptions
from flowgen_design.codegen.preformatted import format_template
from flowgen_design.codegen.shapes import stable_lines
from flowgen_design.codegen.straight import straight
from flowgen_design.codegen.targets import register_lazy
from flowgen_design.codegen.targets.python.source import BLACK_LINE_LENGTH, format_module
from flowgen_design.codegen.targets.testkit import DICT_LINE, engine_sources, testing_layout, testing_source
from flowgen_design.dsl.durations import seconds_ceil
from flowgen_design.dsl.memo import per_flow
from flowgen_design.dsl.model import Command, Flow, Handler, Service

DEFAULT_IDEMPOTENCY_WINDOW_MS = 24 * 3_600_000
"""How long a handler remembers a key when the spec says `idempotent by F` without `within`."""

RUNTIME_TEMPLATE = "lambda_adapters_runtime.py.txt"
STARTER_TEMPLATE = "saga_starter.py.txt"


def _docstring(text: str) -> str:
    """A triple-quoted docstring holding `text` exactly (backslashes and quotes escaped)."""
    body = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if "\n" in body:
        body += "\n"
    elif body.endswith('"'):
        body += " "
    return f'"""{body}"""\n'


def _format(flow: Flow, source: str) -> str:
    """Header, then black-formatted the way the `python` target formats its modules."""
    return format_module([*comment_header(flow, "#").splitlines(), *source.splitlines()])


def _format_template(flow: Flow, template: str) -> str:
    """A template copied as it is, formatted as `_format` formats it (`codegen.preformatted`)."""
    return format_template(comment_header(flow, "#"), template)


def _adapters_dir(flow: Flow) -> PurePosixPath:
    return PurePosixPath("python") / python_package(flow) / "adapters"


# ---- the shared runtime and the package ------------------------------------------------


def runtime_source() -> str:
    return resources.files("flowgen_design.codegen").joinpath("templates", RUNTIME_TEMPLATE).read_text(encoding="utf-8")


def starter_source() -> str:
    """The function that starts each saga once per trigger event (sagasm's half of SAGA-CONTRACT)."""
    return resources.files("flowgen_design.codegen").joinpath("templates", STARTER_TEMPLATE).read_text(encoding="utf-8")


def package_source(flow: Flow) -> str:
    return (
        _docstring(
            f"Lambda adapters of flow `{flow.name}`: one module per service, one function per handler.\n\n"
            f"A function's `Handler` setting is `{python_package(flow)}.adapters.<service>.<handler>`."
        )
        + "\nfrom __future__ import annotations\n\n"
        + f"from {python_package(flow)}.adapters import runtime as _runtime\n\n"
        + f"FLOW = _runtime.Flow(source={flow.name!r}, version={flow.version!r})\n"
    )


# ---- one module per service ----------------------------------------------------------------


def _idempotency(handler: Handler) -> str:
    """Business fields when the spec names them (events only: a saga's command is deduplicated
    per saga instance and step), else the message's identity; the spec's window or a day."""
    idem = handler.policy.idempotency
    window = idem.within_ms if idem is not None and idem.within_ms is not None else DEFAULT_IDEMPOTENCY_WINDOW_MS
    fields = tuple(f.name for f in idem.fields) if idem is not None and handler.trigger == "event" else ()
    return f"_runtime.Idempotency(fields={fields!r}, expires_after_seconds={seconds_ceil(window)})"


def _backoff(handler: Handler) -> str:
    b = handler.policy.backoff
    if b is None:
        return "None"
    initial, maximum = b.initial_ms / 1000, b.max_ms / 1000
    return (
        f"_runtime.Backoff(strategy={b.strategy!r}, initial_seconds={initial!r}, "
        f"max_seconds={maximum!r}, jitter={b.jitter!r})"
    )


def _model(name: str) -> str:
    return f"_models.{name}"


def _ordering(flow: Flow, handler: Handler) -> list[str]:
    """A command `ordered by` comes from a FIFO queue; an event `ordered by` is handled in its key's
    sequence; ordered events it publishes are numbered (docs/semantics.md, "Per-key order")."""
    lines = []
    ordering, gap = handler.input.ordered_by, plan_of(flow).handler(handler).gap_timeout_seconds
    if ordering is not None and gap is None:
        lines.append("ordered=True")
    if ordering is not None and gap is not None:
        lines.append(f"ordering=_runtime.Ordering(field={ordering.name!r}, gap_timeout_seconds={gap})")
    sequenced = {e.name: e.ordered_by.name for e in handler.outputs if e.ordered_by is not None}
    if sequenced:
        lines.append(f"sequenced={sequenced!r}")
    return lines


def compensates(flow: Flow, handler: Handler) -> bool:
    """The handler undoes a step of some saga, or a saga's trigger (its completed commands count as
    compensations)."""
    return (handler.service, handler.name) in _compensating(flow)


@per_flow
def _compensating(flow: Flow) -> frozenset[tuple[str, str]]:
    """The handlers that undo a step or a trigger, found once per flow (every handler asks)."""
    steps = (s.compensation for saga in flow.sagas for s in saga.steps)
    undo = (*steps, *(saga.trigger_compensation for saga in flow.sagas))
    return frozenset((c.handler.service, c.handler.name) for c in undo if c is not None)


def _route(flow: Flow, handler: Handler) -> str:
    message = handler.input
    outputs = ", ".join(f"{e.name!r}: {_model(e.name)}" for e in handler.outputs)
    lines = [
        f"handler={f'{handler.service}.{handler.name}'!r}",
        "flow=_FLOW",
        f"kind={handler.trigger!r}",
        f"message_name={message.name!r}",
        f"message={_model(message.name)}",
        f"outputs={{{outputs}}}",
        f"call=_{handler.name}_call",
        f"attempts={handler.policy.attempts}",
        f"dlq={handler.policy.dlq}",
        f"timeout_seconds={handler.policy.timeout_ms / 1000!r}",
        f"backoff={_backoff(handler)}",
    ]
    if isinstance(message, Command):
        lines.append(f"replies={tuple(r.name for r in message.replies)!r}")
    lines += _error_kinds(handler)
    lines.append(f"idempotency={_idempotency(handler)}")
    lines.extend(_ordering(flow, handler))
    if compensates(flow, handler):
        lines.append("compensation=True")
    return f"_{handler.name}_route = _runtime.Route(\n" + ",\n".join(lines) + ",\n)\n"


def _error_kinds(handler: Handler) -> list[str]:
    """The route's `retryable` replies and `final_errors` (`raises`), when the spec has any."""
    lines = []
    retryable = handler.input.retryable if isinstance(handler.input, Command) else ()
    if retryable:
        lines.append(f"retryable={tuple(r.name for r in retryable)!r}")
    if handler.raises:
        lines.append("final_errors=(" + "".join(f"_errors.{e}, " for e in handler.raises) + ")")
    return lines


def _handler_doc(flow: Flow, handler: Handler) -> str:
    verb = "Handles command" if handler.trigger == "command" else "Reacts to event"
    text = f"{verb} `{handler.input.name}`: Lambda handler `{plan_of(flow).handler(handler).entry_point}`."
    if handler.doc:
        text = f"{handler.doc}\n\n{text}"
    return text


def handler_source(flow: Flow, handler: Handler) -> str:
    """The call into the user's method, the handler's route, and its entry point."""
    return (
        f"def _{handler.name}_call(message: {_model(handler.input.name)}) -> object:\n"
        f"    return _service().{handler.name}(message)\n\n\n"
        + _route(flow, handler)
        + "\n\n"
        + f"def {handler.name}(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:\n"
        + "    "
        + _docstring(_handler_doc(flow, handler))
        + f"    return _runtime.process_batch(event, context, _{handler.name}_route)\n"
    )


def service_source(flow: Flow, service: Service) -> str:
    pkg, module = python_package(flow), service_module(service.name)
    cls = service_class(service.name)
    doc = f"Lambda adapters of service `{service.name}`: one function per handler, named as the handler."
    head = (
        _docstring(doc)
        + "\nfrom __future__ import annotations\n\n"
        + "from functools import cache as _cache\nfrom typing import Any\n\n"
        + "from aws_lambda_powertools.utilities.typing import LambdaContext\n\n"
        + f"from {pkg} import models as _models\n"
        + (f"from {pkg} import errors as _errors\n" if any(h.raises for h in service.handlers) else "")
        + f"from {pkg}.adapters import FLOW as _FLOW\n"
        + f"from {pkg}.adapters import runtime as _runtime\n"
        + f"from {pkg}.services import {module} as _user\n"
        + f"from {pkg}.services.{module} import {cls}\n\n\n"
        + "@_cache\n"
        + f"def _service() -> {cls}:\n"
        + "    "
        + _docstring("The user's implementation, built once per cold start by its module's `build()`, if any.")
        + f'    return _runtime.build_service(getattr(_user, "build", None), {cls})\n'
    )
    return head + "".join("\n\n" + handler_source(flow, h) for h in service.handlers)


@register_lazy("lambda", "AWS Lambda adapters: SQS batches, idempotency, publishing and saga replies per handler")
def outputs(flow: Flow, options: GenerateOptions) -> list[TargetOutput]:
    """The adapters, each rendered only when what it is built from changed (`codegen.incremental`):
    a service's module from the service and its handlers' deployment plan; the test kit's
    data module from its unformatted text (formatting it is what costs)."""
    if not flow.handlers():
        return []
    folder = _adapters_dir(flow)
    files: list[TargetOutput] = [
        LazyFile(folder / "__init__.py", (), lambda: _format(flow, package_source(flow))),
        LazyFile(folder / "runtime.py", (), lambda: _format_template(flow, runtime_source())),
    ]
    if flow.sagas:
        files.append(LazyFile(folder / f"{STARTER_MODULE}.py", (), lambda: _format_template(flow, starter_source())))
    plan = plan_of(flow)
    for s in flow.services:
        if s.handlers:
            # what the sagas make of each handler (a compensation counts as one) is not in the service
            inputs = (s, tuple(plan.handler(h) for h in s.handlers), tuple(compensates(flow, h) for h in s.handlers))
            files.append(LazyFile(adapter_path(flow, s.name), inputs, partial(_service_module, flow, s)))
    for module, source in engine_sources().items():
        files.append(LazyFile(folder / module, (source,), partial(_format_template, flow, source)))
    testing = testing_source(flow)
    files.append(LazyFile(folder.parent / "testing.py", (testing,), partial(_format_testing, flow), long=True))
    return files


def _format_testing(flow: Flow) -> str:
    """`testing.py`, formatted as black formats it whole, but each entry of its big dictionaries
    on its own (and so by shape, `codegen.shapes`): black puts each entry of a dictionary too
    long for one line on lines of its own and lays it out from the entry alone, so the skeleton
    is formatted with the dictionaries empty and each entry inside a dictionary at the same depth.
    Whenever a dictionary might stay on one line, the whole module is formatted as it is.
    On the benchmark spec this is 15,000 of its 16,000 lines: 5 s of black, now well under one."""
    skeleton, entries = testing_layout(flow)
    whole = partial(_format, flow, testing_source(flow))
    if straight() or not all(_exploded(name, items) for name, items in entries.items() if items):
        return whole()
    skeleton, first, imports = _without_imports(skeleton)
    text = _format(flow, skeleton)
    if imports:
        lines = text.split("\n")
        if lines.count(first) != 1:
            return whole()
        at = lines.index(first)
        text = "\n".join([*lines[:at], *imports, *lines[at + 1 :]])
    for name, items in entries.items():
        line = DICT_LINE.format(name=name) + "\n"
        if text.count(line) != 1:
            return whole()
        if items:
            blocks = fan_out(_format_entry, items, minimum=64)
            if any(block is None for block in blocks):
                return whole()
            text = text.replace(line, f"    {name}={{\n" + "".join(b for b in blocks if b) + "    },\n")
    return text


_IMPORT = re.compile(r"from [A-Za-z_][\w.]* import \w+(?: as \w+)?(?:, \w+(?: as \w+)?)*")


def _without_imports(skeleton: str) -> tuple[str, str, list[str]]:
    """The skeleton with its longest run of plain `from ... import ...` lines cut to the first
    of them, that line, and the run, when black leaves every line of the run as it is
    (checked on the run's shapes, `shapes.stable_lines`): such lines are laid out alone, and
    the first stands for the rest (an import after an import). Otherwise nothing is cut."""
    lines = skeleton.split("\n")
    best, start = (0, 0), None
    for i, line in enumerate([*lines, ""]):
        if _IMPORT.fullmatch(line):
            start = i if start is None else start
        elif start is not None:
            best, start = max(best, (i - start, start)), None
    count, first = best
    run = lines[first : first + count]
    if count < 2 or not stable_lines(run, lambda module: format_module([module])):
        return skeleton, "", []
    return "\n".join([*lines[: first + 1], *lines[first + count :]]), run[0], run


def _exploded(name: str, items: list[str]) -> bool:
    """Black surely puts this dictionary argument's entries on lines of their own."""
    one_line = f"    {name}={{{', '.join(items)}}},"
    return len(items) >= 2 and one_line.isascii() and len(one_line) > BLACK_LINE_LENGTH


_ENTRY_OPEN, _ENTRY_CLOSE = "_ = _f(\n    _x={\n", "    },\n)\n"


def _format_entry(entry: str) -> str | None:
    """One dictionary entry as black lays it out two levels deep, with its trailing comma;
    None if black did not keep the frame around it as it is."""
    text = format_module([_ENTRY_OPEN + f"        {entry},\n" + _ENTRY_CLOSE])
    if not (text.startswith(_ENTRY_OPEN) and text.endswith(_ENTRY_CLOSE)):
        return None
    return text[len(_ENTRY_OPEN) : -len(_ENTRY_CLOSE)]


def _service_module(flow: Flow, service: Service) -> str:
    return _format(flow, service_source(flow, service))


def build(flow: Flow, options: GenerateOptions) -> list[GeneratedFile]:
    return materialize_all(outputs(flow, options))
