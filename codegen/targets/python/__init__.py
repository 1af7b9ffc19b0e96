"""The `python` target: a typed package per flow under `DIR/python/`.

    DIR/python/pyproject.toml              one distribution for every flow package
    DIR/python/<pkg>/__init__.py, py.typed
    DIR/python/<pkg>/models.py             pydantic models (generated)
    DIR/python/<pkg>/handlers/<svc>.py     abstract handler interfaces (generated)
    DIR/python/<pkg>/services/<svc>.py     the user's implementation (created once, then merged)

black is imported only when a module is formatted, never by `flowgen check`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowgen_design.codegen.targets import register_lazy
from flowgen_design.dsl.model import Flow

if TYPE_CHECKING:  # `flowgen check` imports this package for its checks (`checks.py`) only
    from flowgen_design.codegen.files import GeneratedFile
    from flowgen_design.codegen.incremental import TargetOutput
    from flowgen_design.codegen.options import GenerateOptions


@register_lazy("python", "typed Python package: pydantic models, handler interfaces, service stubs (DIR/python/)")
def outputs(flow: Flow, options: GenerateOptions) -> list[TargetOutput]:
    from flowgen_design.codegen.targets.python.package import package_outputs

    return package_outputs(flow)


def build(flow: Flow, options: GenerateOptions) -> list[GeneratedFile]:
    from flowgen_design.codegen.incremental import materialize_all

    return materialize_all(outputs(flow, options))
