"""`flowgen simulate`'s speed: states and schedules per second, and the time to explore a whole spec.

Prints, as JSON, for each spec given: every saga and subscription explored at the
default bound (`codegen.simulate.DEFAULT_BOUND`), in one process after the spec is
checked (so parsing is not counted; `check`'s cost is measured elsewhere), best of
`--repeats` CPU times of the whole exploration, with the states and schedules it
reached, and the largest saga's figures. `benchmarks/run.py` calls it on the largest
bundled spec and on the 10N benchmark spec and reports the result.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from flowgen_design.codegen.simulate import DEFAULT_BOUND, simulate
from flowgen_design.dsl.compiler import check_file


def measure(spec: Path, repeats: int) -> dict[str, object]:
    flow = check_file(spec).flow
    if flow is None:
        raise SystemExit(f"{spec} does not check")
    best = float("inf")
    reports = []
    for _ in range(repeats):
        start = time.process_time()
        reports = simulate(flow, bound=DEFAULT_BOUND)
        best = min(best, time.process_time() - start)
    sagas = [r for r in reports if r.kind == "saga"]
    largest = max(sagas, key=lambda r: r.states) if sagas else None
    states, schedules = sum(r.states for r in reports), sum(r.schedules for r in reports)
    return {
        "spec": str(spec),
        "lines": spec.read_text(encoding="utf-8").count("\n"),
        "bound": DEFAULT_BOUND,
        "sagas": len(sagas),
        "subscriptions": len(reports) - len(sagas),
        "states": states,
        "schedules": schedules,
        "cpu_s": best,
        "states_per_s": states / best if best else 0.0,
        "schedules_per_s": schedules / best if best else 0.0,
        "violations": sum(len(r.violations) for r in reports),
        "largest_saga": None if largest is None else {"saga": largest.saga, "states": largest.states},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("specs", nargs="+", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(json.dumps([measure(spec, max(1, args.repeats)) for spec in args.specs]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
