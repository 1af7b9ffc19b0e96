"""Checks of the configured targets: the front end's rules, then what each target cannot take.

The front end (`dsl`) knows no target: its rules judge the spec alone. A target
declares the checks it brings (`targets.TARGET_CHECKS`: the Python target
rejects names generated Python cannot take, the AWS plan names and durations
AWS cannot), and `check_spec` runs those of the targets a project configures
(`[tool.flowgen] targets`, every target by default). Checks are rules: a
function `(RuleContext) -> None` that reports diagnostics, nothing else.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from flowgen_design.dsl.compiler import CheckResult, check_file, unique
from flowgen_design.dsl.diagnostics import Reporter
from flowgen_design.dsl.rules import Rule
from flowgen_design.dsl.selection import DEFAULT, Selection

if TYPE_CHECKING:
    from flowgen_design.codegen.specfiles import ProjectConfig


def target_checks(targets: Iterable[str] = ()) -> tuple[Rule, ...]:
    """The checks of `targets` (every target when empty), each once, in target order."""
    from flowgen_design.codegen.targets import TARGET_CHECKS

    wanted = tuple(targets) or tuple(TARGET_CHECKS)
    modules = dict.fromkeys(m for name in wanted for m in TARGET_CHECKS[name])
    checks: tuple[Rule, ...] = ()
    for module in modules:
        checks += importlib.import_module(f"flowgen_design.codegen.{module}").CHECKS
    return checks


def configured_targets(config: ProjectConfig | None = None) -> tuple[str, ...] | str:
    """`[tool.flowgen] targets` of `config` (read when not given; empty: every target), or the
    one-line reason it cannot be used."""
    from flowgen_design.codegen.specfiles import InputError, load_config
    from flowgen_design.codegen.targets import TARGET_CHECKS

    try:
        targets = (config or load_config()).targets
    except InputError as err:
        return str(err)
    for name in targets:
        if name not in TARGET_CHECKS:
            import difflib  # only for a mistyped target

            close = difflib.get_close_matches(name, list(TARGET_CHECKS), n=1)
            suggestion = f"; did you mean `{close[0]}`?" if close else ""
            return (
                f"[tool.flowgen] targets: unknown target `{name}`{suggestion} (available: {', '.join(TARGET_CHECKS)})"
            )
    return targets


def run_target_checks(result: CheckResult, targets: Iterable[str] = (), selection: Selection = DEFAULT) -> CheckResult:
    """`result` with the diagnostics of the targets' checks added (sorted and unique, like the front end's),
    as the project selected them (codes ignored, warnings made errors)."""
    if result.flow is None:
        return result
    reporter = Reporter()
    for check in target_checks(targets):
        check.run(result.flow, result.modules, reporter)
    return replace(result, diagnostics=unique(result.diagnostics + selection.apply(reporter.items)))


def check_spec(path: Path, targets: Iterable[str] = (), selection: Selection = DEFAULT) -> CheckResult:
    """`dsl.compiler.check_file`, then the checks of `targets` (every target when empty), both as selected."""
    return run_target_checks(check_file(path, selection), targets, selection)
