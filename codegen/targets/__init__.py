"""Target registry: each target turns a resolved `Flow` into files in memory.

Targets are plug-ins registered by name with `@register`. Their modules are
imported only when generation runs, so `flowgen check` never pays for black,
YAML or graphviz.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from flowgen_design.codegen.files import GeneratedFile
from flowgen_design.codegen.options import GenerateOptions
from flowgen_design.dsl.model import Flow

TargetFn = Callable[[Flow, GenerateOptions], list[GeneratedFile]]


class TargetError(Exception):
    """A target cannot produce its files on this machine (a required tool is
    missing). The message is one line that says how to fix it; generation stops."""


@dataclass(frozen=True)
class Target:
    name: str
    description: str
    build: TargetFn


# Modules that define targets, in the order their files are generated.
TARGET_MODULES = ("python", "lambda_adapters", "cloudformation", "asyncapi", "diagrams", "review")

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
    def wrap(fn: TargetFn) -> TargetFn:
        _REGISTRY[name] = Target(name=name, description=description, build=fn)
        return fn

    return wrap


def all_targets() -> dict[str, Target]:
    """Every registered target, importing the target modules on first use."""
    for module in TARGET_MODULES:
        importlib.import_module(f"{__name__}.{module}")  # a missing target module is a bug: let it raise
    return dict(_REGISTRY)
