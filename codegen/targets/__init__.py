"""Target registry: each target turns a resolved `Flow` into files in memory.

Targets are plug-ins registered by name with `@register`. Their modules are
imported only when generation runs, so `flowgen check` never pays for black,
YAML or graphviz.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from flowgen_design.dsl.frozen import frozen
from flowgen_design.dsl.model import Flow

if (
    TYPE_CHECKING
):  # `flowgen check` imports this package for its checks only: no files, options or incremental machinery
    from flowgen_design.codegen.files import GeneratedFile
    from flowgen_design.codegen.incremental import TargetOutput
    from flowgen_design.codegen.options import GenerateOptions

TargetFn = Callable[[Flow, "GenerateOptions"], "list[GeneratedFile]"]
LazyTargetFn = Callable[[Flow, "GenerateOptions"], "list[TargetOutput]"]
BackgroundFn = Callable[[Flow, "GenerateOptions"], Callable[[], None]]


class TargetError(Exception):
    """A target cannot produce its files on this machine (a required tool is
    missing). The message is one line that says how to fix it; generation stops."""


@frozen(kw_only=False, slots=False)
class Target:
    """`build` returns every file built (what tests and `package` read); `outputs` may leave
    files lazy (`codegen.incremental.LazyFile`), so `generate` builds only what changed."""

    name: str
    description: str
    build: TargetFn
    outputs: LazyTargetFn | None = None
    background: BackgroundFn | None = None
    """Slow work in other processes (`dot`) that `generate` begins before any target is built
    (`register_background`); such a target is built last."""

    def files(self, flow: Flow, options: GenerateOptions) -> list[TargetOutput]:
        return self.outputs(flow, options) if self.outputs is not None else list(self.build(flow, options))


# Modules that define targets, in the order their files are generated.
TARGET_MODULES = ("python", "lambda_adapters", "cloudformation", "asyncapi", "diagrams", "review")
# The names they register, in the same order: what `generate` checks `--target` against
# without importing any target (a run with nothing to do builds none);
# `tests/test_incremental.py` keeps it equal to the registry.
TARGET_NAMES = ("python", "lambda", "cloudformation", "asyncapi", "diagrams", "review")

# Targets that `generate`, after an edit, builds in a forked process of their own beside the others
# (`codegen.fanout.aside`): each reads nothing another target leaves behind, and leaves nothing
# behind but its documents' fragments. One with lazy files or background work is built here anyway.
APART = ("cloudformation", "asyncapi")

# The checks each target brings, by target name: modules (under `flowgen_design.codegen`)
# with a `CHECKS` tuple of rules. They are light, so `flowgen check` runs them without
# importing the targets. A target that deploys to AWS brings the plan's checks.
TARGET_CHECKS: dict[str, tuple[str, ...]] = {
    "python": ("targets.python.checks",),
    "lambda": ("targets.python.checks", "aws.checks"),
    "cloudformation": ("aws.checks",),
    "asyncapi": ("aws.checks",),
    "diagrams": (),
    "review": (),
}

_REGISTRY: dict[str, Target] = {}


def register(name: str, description: str) -> Callable[[TargetFn], TargetFn]:
    """A target whose files are all built whenever it runs."""

    def wrap(fn: TargetFn) -> TargetFn:
        _REGISTRY[name] = Target(name=name, description=description, build=fn)
        return fn

    return wrap


def register_lazy(name: str, description: str) -> Callable[[LazyTargetFn], LazyTargetFn]:
    """A target that may return `LazyFile`s, rendered by `generate` only when their inputs changed."""

    def wrap(fn: LazyTargetFn) -> LazyTargetFn:
        def build(flow: Flow, options: GenerateOptions) -> list[GeneratedFile]:
            from flowgen_design.codegen.incremental import materialize_all

            return materialize_all(fn(flow, options))

        _REGISTRY[name] = Target(name=name, description=description, build=build, outputs=fn)
        return fn

    return wrap


def register_background(name: str) -> Callable[[BackgroundFn], BackgroundFn]:
    """Work the target `name` can begin before anything is built, in other processes: `generate`
    calls it first and builds that target last, so the work runs on another core while the other
    targets build. It returns what cancels the work (when the run stops early). The target's
    own build collects the results and must not depend on whether this ran."""

    def wrap(fn: BackgroundFn) -> BackgroundFn:
        _REGISTRY[name] = replace(_REGISTRY[name], background=fn)
        return fn

    return wrap


def all_targets() -> dict[str, Target]:
    """Every registered target, importing the target modules on first use."""
    for module in TARGET_MODULES:
        importlib.import_module(f"{__name__}.{module}")  # a missing target module is a bug: let it raise
    ordered = {name: _REGISTRY[name] for name in TARGET_NAMES if name in _REGISTRY}
    return {**ordered, **_REGISTRY}  # in TARGET_NAMES's order, whichever module was imported first
