"""The front-end pipeline: read -> parse -> resolve -> rules, for one spec file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flowgen_design.dsl import ast
from flowgen_design.dsl.diagnostics import Diagnostic, Reporter, sort_key
from flowgen_design.dsl.loader import load
from flowgen_design.dsl.model import Flow
from flowgen_design.dsl.resolve import resolve
from flowgen_design.dsl.rules import run_rules
from flowgen_design.dsl.selection import DEFAULT, Selection


@dataclass
class CheckResult:
    """Everything the front end learned about one spec."""

    path: Path
    flow: Flow | None
    modules: list[ast.Module] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.flow is not None and not any(d.is_error for d in self.diagnostics)


def unique(items: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[str, str, tuple[int, int, int, int], str]] = set()
    out = []
    for d in sorted(items, key=sort_key):
        key = (d.code, d.span.file, (d.span.line, d.span.column, d.span.end_line, d.span.end_column), d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def check_file(path: Path, selection: Selection = DEFAULT) -> CheckResult:
    """Check one spec and return its model (None when it cannot be parsed) and diagnostics,
    as the project selected them (codes ignored, warnings made errors)."""
    reporter = Reporter()
    loaded = load(path, reporter)
    flow = None
    if loaded.root is not None:
        flow = resolve(loaded.root, loaded.modules, reporter)
        run_rules(flow, loaded.modules, reporter)
    return CheckResult(
        path=path,
        flow=flow,
        modules=loaded.modules,
        diagnostics=selection.apply(unique(reporter.items)),
        sources=loaded.sources,
    )
