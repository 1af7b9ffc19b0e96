"""Issue 16's targets, measured in one run: `generate` after an edit, with nothing to do, and first.

    python benchmarks/incremental.py --domains 70 --rounds 5 --first-runs 3

Every round measures, one after another so background load hits all alike, as whole
processes: `flowgen check`; `generate` with nothing changed; after a comment line is
added (the stamp changes, no element does); after one field is added to a record type
(the models module, the AsyncAPI document and the review page change; no drawing does);
and after one field is added to an event (the part of the events view it is in is drawn
again). Each edit builds on the previous round's output folder, as in an editor. First runs (empty output
folder, empty cache folder) are sampled `--first-runs` times, interleaved with `check`.
Figures are medians; ratios compare CPU times (user + system, children included), and wall
times (a run that spreads black and `dot` over the cores can take less wall time than CPU).

`--target NAME` (repeatable) has every `generate` make only those targets, to see what each
costs an edit (`check` is the same either way): for instance, without `cloudformation` and
`review`, the two whole-flow documents of about 14 MB each (docs/benchmarks.md, round 12).
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.measure import Sample, measured  # noqa: E402
from benchmarks.run import compile_flowgen, flowgen, flowgen_env  # noqa: E402
from benchmarks.specgen import domain_name, write_spec  # noqa: E402

KINDS = (
    ("check", "`flowgen check`"),
    ("noop", "`generate`, nothing changed"),
    ("comment", "`generate` after a comment line is added"),
    ("field", "`generate` after one field is added to a record type"),
    ("event-field", "`generate` after one field is added to an event (its part of the events view is redrawn)"),
    ("first", "`generate`, first run: empty output folder, no caches"),
)


def add_field(text: str, block: str, name: str) -> str:
    """`text` with an optional string field `name` first in the block opened by `block {`."""
    edited, count = re.subn(rf"^{re.escape(block)} {{\n", f"{block} {{\n  {name}: string?\n", text, count=1, flags=re.M)
    if count != 1:
        raise SystemExit(f"no `{block} {{` block in the spec")
    return edited


def measure(
    domains: int, rounds: int, first_runs: int, workdir: Path, targets: tuple[str, ...] = ()
) -> dict[str, list[Sample]]:
    compile_flowgen()
    workdir.mkdir(parents=True, exist_ok=True)
    spec = write_spec(workdir / "spec", domains)
    env = flowgen_env(workdir / "cache")
    out = workdir / "out"
    chosen = [arg for name in targets for arg in ("--target", name)]
    shutil.rmtree(out, ignore_errors=True)
    # A cache left by an earlier invocation holds the drawings of the same edits: the event
    # edit's view would be found drawn, and `dot` never run.
    shutil.rmtree(workdir / "cache", ignore_errors=True)
    generate = flowgen("generate", str(spec), "--out", str(out), *chosen)
    measured(generate, env, ROOT)
    measured(generate, env, ROOT)
    first = domain_name(0)
    samples: dict[str, list[Sample]] = {kind: [] for kind, _ in KINDS}
    for round_ in range(rounds):
        print(f"round {round_ + 1}/{rounds}", file=sys.stderr)
        samples["check"].append(measured(flowgen("check", str(spec)), env, ROOT))
        samples["noop"].append(measured(generate, env, ROOT))
        spec.write_text(spec.read_text(encoding="utf-8") + f"// edit {round_}\n", encoding="utf-8")
        samples["comment"].append(measured(generate, env, ROOT))
        spec.write_text(add_field(spec.read_text(encoding="utf-8"), f"type {first}Address", f"extra_{round_}"))
        samples["field"].append(measured(generate, env, ROOT))
        spec.write_text(add_field(spec.read_text(encoding="utf-8"), f"event {first}Requested", f"extra_{round_}"))
        samples["event-field"].append(measured(generate, env, ROOT))
    for round_ in range(first_runs):
        print(f"first run {round_ + 1}/{first_runs}", file=sys.stderr)
        samples["check"].append(measured(flowgen("check", str(spec)), env, ROOT))
        fresh_out, fresh_cache = workdir / "first-out", workdir / "first-cache"
        shutil.rmtree(fresh_out, ignore_errors=True)
        shutil.rmtree(fresh_cache, ignore_errors=True)
        cmd = flowgen("generate", str(spec), "--out", str(fresh_out), *chosen)
        samples["first"].append(measured(cmd, flowgen_env(fresh_cache), ROOT))
    return samples


def table(samples: dict[str, list[Sample]], lines: int, targets: tuple[str, ...] = ()) -> str:
    check = statistics.median(s.cpu_s for s in samples["check"])
    check_wall = statistics.median(s.wall_s for s in samples["check"])
    rows = [
        f"Spec: {lines:,} lines (`benchmarks/specgen.py`). Medians; CPU is user + system with children."
        + (f" Targets: {', '.join(targets)}." if targets else ""),
        "",
        "| command | runs | wall | CPU | peak memory | CPU vs. check | wall vs. check |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for kind, what in KINDS:
        got = samples[kind]
        if not got:
            continue
        wall = statistics.median(s.wall_s for s in got)
        cpu = statistics.median(s.cpu_s for s in got)
        peak = statistics.median(s.peak_kb for s in got) / 1024
        rows.append(
            f"| {what} | {len(got)} | {wall:.2f} s | {cpu:.2f} s | {peak:.0f} MB | {cpu / check:.2f}x"
            f" | {wall / check_wall:.2f}x |"
        )
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--domains", type=int, default=70, help="domains of the spec (70: about 8,500 lines)")
    parser.add_argument("--rounds", type=int, default=5, help="samples of each edit (default 5)")
    parser.add_argument("--first-runs", type=int, default=3, help="samples of the first run (default 3)")
    parser.add_argument("--workdir", type=Path, default=ROOT / "benchmarks" / "out" / "incremental")
    parser.add_argument(
        "--target", action="append", default=[], metavar="NAME", help="generate only this target (repeatable)"
    )
    args = parser.parse_args(argv)
    targets = tuple(args.target)
    samples = measure(args.domains, args.rounds, args.first_runs, args.workdir.resolve(), targets)
    spec = args.workdir.resolve() / "spec" / "bench.flow"
    print(table(samples, spec.read_text(encoding="utf-8").count("\n"), targets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
