"""docs/benchmarks.md from one benchmark run: the machine, the specs, and tables of medians."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmarks.measure import Series
    from benchmarks.run import Run

HEADER = """# Benchmarks

flowgen runs in editors, pre-commit hooks and CI on every change, so its cost must
stay close to the cost of parsing alone. This file is written by

    python benchmarks/run.py            # --runs 5 by default; --help for options

which measures everything below on one machine in one run. Each figure is the
median of {runs} runs of a whole process (interpreter start-up, imports, work,
exit; {quick} runs for the quick ones: the floor, flowgen's parser and `check`): wall-clock time, CPU time (user + system; steadier than wall time when the
machine is busy) and peak resident memory, both from `wait4`. Ratios compare CPU
times; the wall-time ratios are close to them on an idle machine.
"""


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _versions() -> str:
    parts = [f"Python {platform.python_version()}"]
    for dist in ("lark", "lark-cython", "pydantic", "black", "PyYAML"):
        with contextlib.suppress(PackageNotFoundError):
            parts.append(f"{dist} {version(dist)}")
    node = shutil.which("node")
    if node:
        parts.append("node " + subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip())
    return ", ".join(parts)


def machine() -> str:
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({_cpu_model()}{load}); {_versions()}"


def _s(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds >= 0.1 else f"{seconds * 1000:.0f} ms"


def _cells(s: Series, base: Series | None) -> tuple[str, ...]:
    """wall, CPU, peak memory, and the CPU ratio to `base`."""
    ratio = (f"{s.cpu_s / base.cpu_s:.2f}x",) if base is not None else ()
    return (_s(s.wall_s), _s(s.cpu_s), f"{s.peak_mb:.0f} MB", *ratio)


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(head: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    return [_row(*head), _row(*("---" for _ in head)), *(_row(*r) for r in rows)]


def _specs(run: Run) -> list[str]:
    s, big = run.small, run.large
    return [
        "## Specs",
        "",
        f"Synthetic but realistic, from `benchmarks/specgen.py`: N = {s.domains} domains ({s.lines:,} lines) "
        f"and 10N = {big.domains} domains ({big.lines:,} lines). Each domain has record types, an enum, "
        "an intake event with a typed payload, reply events, commands with success and failure replies, "
        "a retry policy, five services whose handlers retry and are idempotent, and a saga with "
        "compensations, a pivot and outcomes; each listens to the previous domain's completion event. "
        "Both specs pass `flowgen check` with zero errors (asserted before anything is measured).",
        "",
    ]


def _vs_floor(run: Run) -> list[str]:
    floor = run.series["bare/10N"]
    rows = []
    for key, what in (
        ("bare/10N", "bare lark LALR parse (the floor)"),
        ("parse/10N", "flowgen's parser alone: text to typed AST"),
        ("check/10N", "`flowgen check`"),
        ("check-plain/10N", "`flowgen check` on plain lark (no lark-cython wheel)"),
    ):
        rows.append((what, *_cells(run.series[key], floor)))
    lines = [
        f"## `flowgen check` against the floor ({run.large.lines:,}-line spec)",
        "",
        "The floor is a separate process that imports lark, compiles `grammar/flow.lark` with the "
        "project's parser options (LALR, contextual lexer) and parses the file into lark's tree. "
        "`flowgen check` parses the same file into the typed AST, resolves it, runs every rule and "
        "reports. Its parser is lark on lark-cython (lark's grammar and tables, with its lexer "
        "and LALR loop compiled; tested token for token against plain lark, and an input that fails "
        "there is parsed again by plain lark, whose error is reported). "
        "The second row shows what parsing alone costs flowgen; the rest of `check` is imports, "
        "resolution, rules and the report. Both flowgen and lark run from bytecode, as pip "
        "installs them.",
        "",
        *_table(("command", "wall", "CPU", "peak memory", "CPU vs. floor"), rows),
        "",
    ]
    version = run.series["version"]
    lines += [
        f"Start-up alone (`flowgen --version`): {_s(version.wall_s)} wall, {_s(version.cpu_s)} CPU, {version.peak_mb:.0f} MB.",
        "",
    ]
    return lines


def _vs_asyncapi(run: Run) -> list[str]:
    lines = [f"## `flowgen check` against the official AsyncAPI parser ({run.large.lines:,}-line spec)", ""]
    check = run.series["check/10N"]
    if "asyncapi/10N" not in run.series:
        return lines + [f"`@asyncapi/parser`: {run.notes.get('asyncapi', 'not measured')}.", ""]
    parser = run.series["asyncapi/10N"]
    lines_out = run.notes["asyncapi-lines"]
    rows = [
        ("`flowgen check` on the spec", *_cells(check, check)),
        (
            f"`@asyncapi/parser` (node) validating flowgen's AsyncAPI export of it ({lines_out} lines)",
            *_cells(parser, check),
        ),
    ]
    return lines + _table(("command", "wall", "CPU", "peak memory", "CPU vs. check"), rows) + [""]


_GENERATE = (
    ("generate-first", "first run: empty output folder, no caches"),
    ("generate-cold", "empty output folder, caches warm"),
    ("generate-edit", "after a one-line edit of the spec"),
    ("generate-field", "after a one-field edit of the spec"),
    ("generate-noop", "again, nothing changed"),
)


def _generate(run: Run) -> list[str]:
    lines = ["## `flowgen generate`", ""]
    if not run.targets:
        return lines + ["No targets are registered yet, so there is nothing to generate.", ""]
    check = run.series["check/10N"]
    rows = [(what, *_cells(run.series[f"{key}/10N"], check)) for key, what in _GENERATE]
    return lines + [
        f"All targets ({', '.join(run.targets)}) for the {run.large.lines:,}-line spec. "
        "The caches are flowgen's per-user cache folder: the pictures `dot` drew "
        "and the modules black formatted "
        f"(the slow first run is sampled {run.first_runs} time{'s' * (run.first_runs != 1)}). "
        "An edit (a comment line added to a copy of the spec, different in every round) builds only the files "
        "whose inputs changed (`codegen/incremental.py`): none of the per-element files, only the whole-flow "
        "documents; a one-field edit (one more optional field in one record type each round, on the previous "
        "round's output) rebuilds what reaches that type. Only files whose content changed are written. "
        "With nothing changed, `generate` checks the spec, finds the same inputs stamp as the last run "
        "(spec texts, flowgen's code, black, `dot`, targets) and every output file as that run left it, "
        "and builds nothing; the benchmark checks that all "
        f"{run.notes.get('noop-files', '?')} generated files keep their modification times. "
        "A run with much to format or draw spreads black and `dot` over the cores, so its wall time "
        "can be below its CPU time, which counts every process.",
        "",
        *_table(("generate", "wall", "CPU", "peak memory", "CPU vs. check"), rows),
        "",
    ]


def _growth(run: Run) -> list[str]:
    s, big = run.small, run.large
    keys = [("bare", "bare lark parse"), ("check", "`flowgen check`")]
    if run.targets:
        keys += [(key, f"`flowgen generate`, {what}") for key, what in _GENERATE]
    rows = []
    for key, what in keys:
        a, b = run.series[f"{key}/N"].cpu_s, run.series[f"{key}/10N"].cpu_s
        per_kloc = (b - a) / (big.lines - s.lines) * 1000
        rows.append((what, _s(a), _s(b), f"{b / a:.2f}", _s(per_kloc)))
    return [
        f"## Growth from N to 10N ({s.lines:,} to {big.lines:,} lines)",
        "",
        "CPU time. Linear growth gives a ratio of at most 10 (fixed start-up costs make it smaller); "
        "the last column is the marginal cost of 1,000 more lines. CPU time and peak memory include the "
        "`dot` programs that `generate` starts.",
        "",
        *_table(("command", "N", "10N", "10N / N", "per 1,000 lines"), rows),
        "",
    ]


def _yaml(run: Run) -> list[str]:
    if "yaml" not in run.notes:
        return []
    found = json.loads(run.notes["yaml"])
    same = "byte-identical" if found["equal"] else "NOT identical"
    kept = found["equal"] and found["blockyaml_s"] < found["libyaml_s"]
    return [
        "## YAML: `codegen/blockyaml.py` against libyaml",
        "",
        f"Dumping the AsyncAPI document of the 10N spec ({found['lines']:,} lines), best of 5, CPU, in one "
        f"process (`benchmarks/yaml_dump.py`): blockyaml {_s(found['blockyaml_s'])}, PyYAML with libyaml's "
        f"emitter (`yaml.dump(..., Dumper=yaml.CSafeDumper)`) {_s(found['libyaml_s'])}; outputs {same}. "
        + (
            f"blockyaml stays: {found['libyaml_s'] / found['blockyaml_s']:.1f}x faster for the same bytes "
            "(libyaml's C emitter still sits behind PyYAML's Python representer and serializer)."
            if kept
            else "blockyaml no longer earns its place: switch to libyaml."
        ),
        "",
    ]


def simulate_section(found: list[dict[str, Any]]) -> list[str]:
    """The `flowgen simulate` section from `benchmarks/simulate.py`'s JSON."""
    rows = [
        (
            f"`{Path(f['spec']).name}` ({f['lines']:,} lines)",
            f"{f['sagas']} + {f['subscriptions']}",
            f"{f['states']:,}",
            f"{f['schedules']:,}",
            _s(f["cpu_s"]),
            f"{f['states_per_s']:,.0f}",
            f"{f['schedules_per_s']:,.0f}",
            str(f["violations"]),
        )
        for f in found
    ]
    head = ("spec", "sagas + subscriptions", "states", "schedules", "CPU", "states/s", "schedules/s", "violations")
    return [
        "## `flowgen simulate`",
        "",
        f"Every saga and subscription explored at the default bound ({found[0]['bound']} faults per saga schedule, "
        "1 per subscription schedule), in one process after the spec is checked (parsing is `check`'s cost, above), "
        "best of 3 CPU times (`benchmarks/simulate.py`). The largest bundled example and the 10N spec:",
        "",
        *_table(head, rows),
        "",
        "The review page runs the same exploration to draw its failure scenarios, so this is also what the "
        "`review` target adds to `generate`.",
        "",
    ]


def _simulate(run: Run) -> list[str]:
    return simulate_section(json.loads(run.notes["simulate"])) if "simulate" in run.notes else []


def render(run: Run) -> str:
    parts = [HEADER.format(runs=run.runs, quick=run.runs * run.check_repeats), f"Machine: {machine()}.", ""]
    for section in (_specs, _vs_floor, _vs_asyncapi, _generate, _growth, _yaml, _simulate):
        parts += section(run)
    return "\n".join(parts).rstrip() + "\n"


if __name__ == "__main__":
    sys.exit("run benchmarks/run.py, which writes the report")
