"""`flowgen trace` of a handler: the values of the user's deployment settings that apply to it.

Read-only: `infra/<flow>/deploy.toml` in the generated folder is read and validated as the
`cloudformation` target reads it (`deploy.load_settings`), and each value of the tables that
apply to the handler's function (`[functions]` < `[services.NAME]` < `[handlers."Service.handler"]`)
becomes a line with the file line it is written on and the table it comes from; a scalar a later
table sets again says so. A file with mistakes shows its first one (`generate` reports them all);
no file shows nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from flowgen_design.codegen.targets.cloudformation.deploy import (
    FunctionSettings,
    Settings,
    applying_tables,
    load_settings,
)
from flowgen_design.codegen.targets.cloudformation.userfiles import UserFile, settings_path
from flowgen_design.codegen.trace import Link
from flowgen_design.dsl.model import Flow, Handler

SCALARS = ("memory", "architecture", "reserved_concurrency", "event_source_concurrency")


def settings_links(flow: Flow, handler: Handler, out_dir: Path) -> tuple[Link, ...]:
    file = UserFile.read(out_dir, settings_path(flow))
    if file.text is None:
        return ()
    settings = load_settings(file, flow)
    if file.problems:
        first = file.problems[0]
        more = f" (and {len(file.problems) - 1} more)" if len(file.problems) > 1 else ""
        detail = f"not applied: {first.message}{more}; `flowgen generate` reports every mistake"
        return (Link("settings", file.display, "settings", first.span, detail),)
    return tuple(_value_links(file, settings, handler))


def _value_links(file: UserFile, settings: Settings, handler: Handler) -> list[Link]:
    tables = applying_tables(settings, handler.service, handler.name)
    links = []
    for index, (path, chosen) in enumerate(tables):
        if chosen is None:
            continue
        for key, value in _set_values(chosen):
            replaced = [p for p, s in tables[index + 1 :] if s is not None and key in SCALARS and key in _set_keys(s)]
            detail = f"from {_table(path)}" + (f", replaced by {_table(replaced[-1])}" if replaced else "")
            span = file.span(file.locate([*path, key.split(".")[0]]))
            links.append(Link("setting", f"{key} = {value}", "setting", span, detail))
    return links


def _table(path: tuple[str, ...]) -> str:
    """`("handlers", "Orders.cancel")` -> `[handlers."Orders.cancel"]`, as the file writes it."""
    return "[" + ".".join(f'"{p}"' if "." in p else p for p in path) + "]"


def _set_keys(chosen: FunctionSettings) -> set[str]:
    return {k for k in chosen.model_fields_set if getattr(chosen, k) not in (None, {}, [])}


def _set_values(chosen: FunctionSettings) -> list[tuple[str, str]]:
    """(`environment.LOG_LEVEL`, `"INFO"`): each value the table writes, as TOML-ish text."""
    found: list[tuple[str, str]] = []
    for key in FunctionSettings.model_fields:
        if key not in _set_keys(chosen):
            continue
        value = getattr(chosen, key)
        if key == "environment":
            found += [(f"environment.{k}", _text(v)) for k, v in value.items()]
        elif key == "iam_statements":
            found += [(key, json.dumps([s.as_json() for s in value], sort_keys=True))]
        else:
            found.append((key, _text(value)))
    return found


def _text(value: object) -> str:
    return json.dumps(value, sort_keys=True)
