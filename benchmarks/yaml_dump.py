"""blockyaml against PyYAML's libyaml dumper on the AsyncAPI document of a spec.

`codegen/blockyaml.py` is a hand-made YAML writer; it stays only while it is
faster than the kept library for the same bytes. This prints, as JSON, the best
of 5 CPU times of each writer dumping the AsyncAPI document of the given spec
(in one process, after both are imported), the document's size, and whether
the two outputs are byte-identical. libyaml's dumper is
`yaml.dump(..., Dumper=yaml.CSafeDumper)` with blockyaml's layout: keys in
insertion order, block style, unicode as is, no line folding.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from flowgen_design.codegen.blockyaml import dump
from flowgen_design.codegen.targets.asyncapi.document import document
from flowgen_design.dsl.compiler import check_file

LIBYAML_OPTIONS = {"sort_keys": False, "default_flow_style": False, "allow_unicode": True, "width": 2**31 - 1}


def best_cpu(fn: Callable[[], str], repeats: int = 5) -> tuple[float, str]:
    best, out = float("inf"), ""
    for _ in range(repeats):
        start = time.process_time()
        out = fn()
        best = min(best, time.process_time() - start)
    return best, out


def main(spec: str) -> int:
    flow = check_file(Path(spec)).flow
    if flow is None:
        return 1
    data = document(flow)
    block_s, block = best_cpu(lambda: dump(data))
    libyaml_s, libyaml = best_cpu(lambda: yaml.dump(data, Dumper=yaml.CSafeDumper, **LIBYAML_OPTIONS))  # type: ignore[call-overload]
    print(
        json.dumps(
            {"blockyaml_s": block_s, "libyaml_s": libyaml_s, "lines": block.count("\n"), "equal": block == libyaml}
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
