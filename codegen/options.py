"""All generation options in one frozen object, passed down to every target."""

from __future__ import annotations

from pathlib import Path

from flowgen_design.dsl.diagnostics import Diagnostic
from flowgen_design.dsl.frozen import frozen


@frozen(kw_only=False)
class GenerateOptions:
    out_dir: Path
    targets: tuple[str, ...] = ()
    check: bool = False
    warnings: tuple[Diagnostic, ...] = ()
    """The warnings `check` reported for the flow being generated (the review page lists them)."""
