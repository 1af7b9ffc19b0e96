"""Load one spec for a verb that needs its model (`diagram`, `trace`).

A spec with errors prints its diagnostics, like `flowgen check`, and the verb
exits 1: nothing is drawn or traced from a model that is not valid.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flowgen_design.codegen.commands.codeflags import selection
from flowgen_design.codegen.specfiles import use_color
from flowgen_design.dsl.compiler import CheckResult
from flowgen_design.dsl.model import Flow


def load_flow(spec: str, args: argparse.Namespace | None = None) -> tuple[Flow | None, CheckResult | None, str | None]:
    """(flow, result, None) on success; (None, result, None) after printing
    diagnostics; (None, None, message) when the path itself cannot be used. `args` carries a
    verb's `--disable`/`--enable`/`--error` options, when it has them."""
    from flowgen_design.codegen.checks import check_spec, configured_targets
    from flowgen_design.dsl.diagnostics import render_text

    path = Path(spec)
    if not path.exists():
        return None, None, f"no such file: {spec}"
    if path.is_dir():
        return None, None, f"{spec} is a folder: name one .flow file"
    codes = selection(args)
    if isinstance(codes, str):
        return None, None, codes
    targets = configured_targets()
    result = check_spec(path, () if isinstance(targets, str) else targets, codes)
    errors = [d for d in result.diagnostics if d.is_error]
    if errors or result.flow is None:
        print(render_text(errors, result.sources, color=use_color(sys.stderr)), end="", file=sys.stderr)
        return None, result, None
    return result.flow, result, None
