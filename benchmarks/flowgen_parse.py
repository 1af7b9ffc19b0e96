"""flowgen's parser alone: text to the typed AST, as `flowgen check` starts.

Run as its own process by `benchmarks/run.py`, next to the floor (`bare_parse.py`),
so the report can show how much of `check` is parsing and how much is the rest
(resolution, rules, reporting).
"""

from __future__ import annotations

import gc
import os
import sys


def main(spec_path: str) -> int:
    gc.set_threshold(50_000, 20, 100)  # as `flowgen` runs (codegen.cli)
    from flowgen_design.dsl.diagnostics import Reporter
    from flowgen_design.dsl.parser import parse

    with open(spec_path, encoding="utf-8") as spec:
        module = parse(spec.read(), spec_path, Reporter())
    if module is None:
        return 1
    sys.stdout.flush()
    os._exit(0)  # as `flowgen` exits: without tearing the heap down


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
