"""flowgen's benchmark: `python benchmarks/run.py` measures and writes docs/benchmarks.md.

Everything runs on this machine in this run, each command as its own process:
`flowgen check` against the floor (a bare lark parse of the same file with the
same grammar) and against the official AsyncAPI parser reading the document
flowgen exports; `flowgen generate` cold and with nothing changed; and how each
cost grows from N domains to 10N. The specs are synthetic (benchmarks/specgen.py)
and must pass `flowgen check` with zero errors, or the benchmark stops.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(ROOT))

from benchmarks import report  # noqa: E402
from benchmarks.measure import Sample, Series, measured, spawn  # noqa: E402
from benchmarks.specgen import domain_name, domains_for_lines, write_spec  # noqa: E402

DEFAULT_WORKDIR = ROOT / "benchmarks" / "out"
GRAMMAR = ROOT / "grammar" / "flow.lark"
ASYNCAPI_PARSE = ROOT / "benchmarks" / "asyncapi_parse.cjs"


@dataclass(frozen=True)
class Spec:
    label: str
    domains: int
    path: Path

    @property
    def lines(self) -> int:
        return self.path.read_text(encoding="utf-8").count("\n")


@dataclass
class Run:
    """One benchmark run: its specs, settings and every series measured, by key."""

    runs: int
    first_runs: int
    check_repeats: int
    workdir: Path
    small: Spec
    large: Spec
    targets: list[str]
    series: dict[str, Series] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    edits: int = 0

    def add(self, key: str, measure: Callable[[], Sample]) -> None:
        self.series.setdefault(key, Series()).samples.append(measure())


# ---- commands ---------------------------------------------------------------------------


def flowgen_env(cache: Path) -> dict[str, str]:
    """Run this checkout's flowgen, with its caches in `cache`, and with bytecode as an
    installed flowgen has it (pip compiles on install; see `compile_flowgen`)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "FLOWGEN_CACHE_DIR": str(cache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def compile_flowgen() -> None:
    """Byte-compile this checkout, as `pip install` does for an installed flowgen (and for lark,
    which the floor imports): otherwise every measured process would compile flowgen from source."""
    folders = [str(ROOT / name) for name in ("grammar", "dsl", "codegen", "benchmarks")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *folders], check=True)


def flowgen(*args: str) -> list[str]:
    return [sys.executable, "-m", "flowgen_design", *args]


def bare_parse(spec: Path) -> list[str]:
    return [sys.executable, str(ROOT / "benchmarks" / "bare_parse.py"), str(GRAMMAR), str(spec)]


def flowgen_parse(spec: Path) -> list[str]:
    return [sys.executable, str(ROOT / "benchmarks" / "flowgen_parse.py"), str(spec)]


def plain_lark_check(spec: Path) -> list[str]:
    return [sys.executable, str(ROOT / "benchmarks" / "plain_lark_check.py"), str(spec)]


def simulate_speed(*specs: Path) -> list[str]:
    return [sys.executable, str(ROOT / "benchmarks" / "simulate.py"), *map(str, specs)]


def largest_example() -> Path:
    """The bundled spec with the most lines (`specs/*.flow`)."""
    return max(sorted((ROOT / "specs").glob("*.flow")), key=lambda p: p.read_text(encoding="utf-8").count("\n"))


def yaml_dump(spec: Path) -> list[str]:
    return [sys.executable, str(ROOT / "benchmarks" / "yaml_dump.py"), str(spec)]


def node_tools() -> Path:
    return Path(os.environ.get("FLOWGEN_NODE_TOOLS", ROOT / "tools" / "node"))


# ---- preparation ------------------------------------------------------------------------


def assert_clean(spec: Path, env: dict[str, str]) -> None:
    """The benchmark measures the happy path: a spec with errors would measure something else."""
    outcome = spawn(flowgen("check", "--format", "json", str(spec)), env, ROOT)
    diagnostics = json.loads(outcome.stdout or "[]")
    errors = [d for d in diagnostics if d["severity"] == "error"]
    if outcome.returncode != 0 or errors:
        raise SystemExit(f"{spec} does not pass `flowgen check`: {errors[:3] or outcome.stderr}")


def available_targets(env: dict[str, str]) -> list[str]:
    outcome = spawn(flowgen("generate", "--list-targets"), env, ROOT)
    return [line.split()[0] for line in outcome.stdout.splitlines() if line.strip()]


def make_specs(workdir: Path, domains: int) -> tuple[Spec, Spec]:
    folder = workdir / "specs"
    small = Spec("N", domains, write_spec(folder / "n", domains))
    large = Spec("10N", domains * 10, write_spec(folder / "10n", domains * 10))
    return small, large


# ---- measurements ------------------------------------------------------------------------


def measure_round(run: Run, env: dict[str, str], round_: int) -> None:
    """Samples of every measurement, interleaved so background noise hits all alike; the
    quick ones (the floor, the parser, check) `run.check_repeats` times per round."""
    for _ in range(run.check_repeats):
        for spec in (run.small, run.large):
            path = spec.path
            run.add(f"bare/{spec.label}", functools.partial(measured, bare_parse(path), env, ROOT))
            run.add(f"parse/{spec.label}", functools.partial(measured, flowgen_parse(path), env, ROOT))
            run.add(f"check/{spec.label}", functools.partial(measured, flowgen("check", str(path)), env, ROOT))
    run.add("check-plain/10N", lambda: measured(plain_lark_check(run.large.path), env, ROOT))
    run.add("version", lambda: measured(flowgen("--version"), env, ROOT))
    if run.targets:
        for spec in (run.small, run.large):
            measure_generate(run, env, spec, first=round_ < run.first_runs)


def measure_generate(run: Run, env: dict[str, str], spec: Spec, first: bool) -> None:
    """generate: the first ever (no output, no caches), into an empty folder, with nothing
    changed, and after a one-line edit of the spec (a copy, edited anew each round)."""
    out = run.workdir / "generated"
    generate = flowgen("generate", str(spec.path), "--out")
    if first:
        cmd, first_env = [*generate, str(fresh(out / f"first-{spec.label}"))], flowgen_env(
            fresh(run.workdir / "empty-cache")
        )
        run.add(f"generate-first/{spec.label}", lambda: measured(cmd, first_env, ROOT))
    cold = [*generate, str(fresh(out / f"cold-{spec.label}"))]
    run.add(f"generate-cold/{spec.label}", lambda: measured(cold, env, ROOT))
    noop = [*generate, str(out / f"warm-{spec.label}")]
    run.add(f"generate-noop/{spec.label}", lambda: measured(noop, env, ROOT))
    edited = edited_spec(run, spec)
    edit = flowgen("generate", str(edited), "--out", str(out / f"edit-{spec.label}"))
    run.add(f"generate-edit/{spec.label}", lambda: measured(edit, env, ROOT))
    field_edited = field_edited_spec(run, spec)
    field_edit = flowgen("generate", str(field_edited), "--out", str(out / f"field-{spec.label}"))
    run.add(f"generate-field/{spec.label}", lambda: measured(field_edit, env, ROOT))


def edited_spec(run: Run, spec: Spec) -> Path:
    """A copy of `spec` with one comment line that differs from the previous call's."""
    copy = run.workdir / "edited" / spec.label / spec.path.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    run.edits += 1
    copy.write_text(spec.path.read_text(encoding="utf-8") + f"// edit {run.edits}\n", encoding="utf-8")
    return copy


def field_edited_spec(run: Run, spec: Spec) -> Path:
    """A copy of `spec` that gains one more optional field in the first domain's address type
    each call: what an architect's one-field edit regenerates (issue 16), on the output of the
    previous call (`prepare_warm_outputs` generates it first)."""
    copy = run.workdir / "field-edited" / spec.label / spec.path.name
    if not copy.exists():
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(spec.path, copy)
    run.edits += 1
    block = f"type {domain_name(0)}Address {{\n"
    text = copy.read_text(encoding="utf-8")
    if block not in text:
        raise SystemExit(f"{copy} has no `{block.strip()}` block to add a field to")
    copy.write_text(text.replace(block, f"{block}  extra_{run.edits}: string?\n", 1), encoding="utf-8")
    return copy


def fresh(folder: Path) -> Path:
    """`folder`, emptied."""
    shutil.rmtree(folder, ignore_errors=True)
    return folder


def prepare_warm_outputs(run: Run, env: dict[str, str]) -> dict[Path, int]:
    """Generate once into the no-op and edit folders; return every no-op file's mtime to
    prove no-op runs keep them."""
    stamps: dict[Path, int] = {}
    for spec in (run.small, run.large):
        warm = run.workdir / "generated" / f"warm-{spec.label}"
        shutil.rmtree(warm, ignore_errors=True)
        measured(flowgen("generate", str(spec.path), "--out", str(warm)), env, ROOT)
        stamps.update({p: p.stat().st_mtime_ns for p in warm.rglob("*") if p.is_file()})
        edit = run.workdir / "generated" / f"edit-{spec.label}"
        shutil.rmtree(edit, ignore_errors=True)
        measured(flowgen("generate", str(edited_spec(run, spec)), "--out", str(edit)), env, ROOT)
        field = run.workdir / "generated" / f"field-{spec.label}"
        shutil.rmtree(field, ignore_errors=True)
        shutil.rmtree(run.workdir / "field-edited" / spec.label, ignore_errors=True)
        measured(flowgen("generate", str(field_edited_spec(run, spec)), "--out", str(field)), env, ROOT)
    return stamps


def rewritten(stamps: dict[Path, int]) -> list[Path]:
    return [p for p, stamp in stamps.items() if not p.exists() or p.stat().st_mtime_ns != stamp]


def measure_asyncapi(run: Run, env: dict[str, str]) -> None:
    """The official AsyncAPI parser validating the document flowgen exports for the large spec."""
    if "asyncapi" not in run.targets:
        run.notes["asyncapi"] = "asyncapi target not available"
        return
    modules = node_tools() / "node_modules"
    node = shutil.which("node")
    if node is None or not (modules / "@asyncapi" / "parser").is_dir():
        run.notes["asyncapi"] = f"node or @asyncapi/parser not installed (looked in {modules}; set FLOWGEN_NODE_TOOLS)"
        return
    out = run.workdir / "generated" / "asyncapi-10N"
    shutil.rmtree(out, ignore_errors=True)
    measured(flowgen("generate", str(run.large.path), "--target", "asyncapi", "--out", str(out)), env, ROOT)
    documents = sorted(out.rglob("*.asyncapi.yaml")) or sorted(out.rglob("*.yaml")) + sorted(out.rglob("*.json"))
    if len(documents) != 1:
        raise SystemExit(f"expected one AsyncAPI document in {out}, found {len(documents)}")
    run.notes["asyncapi-lines"] = str(documents[0].read_text(encoding="utf-8").count("\n"))
    node_env = {**os.environ, "NODE_PATH": str(modules)}
    for _ in range(run.runs):
        run.add("asyncapi/10N", lambda: measured([node, str(ASYNCAPI_PARSE), str(documents[0])], node_env, ROOT))


def measure_yaml(run: Run, env: dict[str, str]) -> None:
    """blockyaml against libyaml's dumper on the large spec's AsyncAPI document (`benchmarks/yaml_dump.py`)."""
    outcome = spawn(yaml_dump(run.large.path), env, ROOT)
    if outcome.returncode != 0:
        raise SystemExit(f"benchmarks/yaml_dump.py failed: {outcome.stderr[-500:]}")
    run.notes["yaml"] = outcome.stdout.strip()


def measure_simulate(run: Run, env: dict[str, str]) -> None:
    """`flowgen simulate` over every saga and subscription of the largest example and the 10N spec
    (`benchmarks/simulate.py`: one process, best of 3 CPU times, parsing not counted)."""
    outcome = spawn(simulate_speed(largest_example(), run.large.path), env, ROOT)
    if outcome.returncode != 0:
        raise SystemExit(f"benchmarks/simulate.py failed: {outcome.stderr[-500:]}")
    run.notes["simulate"] = outcome.stdout.strip()


def benchmark(runs: int, first_runs: int, domains: int, workdir: Path, check_repeats: int = 3) -> Run:
    compile_flowgen()
    env = flowgen_env(workdir / "cache")
    small, large = make_specs(workdir, domains)
    for spec in (small, large):
        assert_clean(spec.path, env)  # also warms the parser cache
    run = Run(
        runs=runs,
        first_runs=min(first_runs, runs),
        check_repeats=check_repeats,
        workdir=workdir,
        small=small,
        large=large,
        targets=available_targets(env),
    )
    stamps = prepare_warm_outputs(run, env) if run.targets else {}
    for round_ in range(runs):
        print(f"round {round_ + 1}/{runs}", file=sys.stderr)
        measure_round(run, env, round_)
    changed = rewritten(stamps)
    if changed:
        raise SystemExit(f"a no-op `flowgen generate` rewrote {len(changed)} file(s), e.g. {changed[0]}")
    run.notes["noop-files"] = str(len(stamps))
    measure_asyncapi(run, env)
    measure_yaml(run, env)
    measure_simulate(run, env)
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="samples per measurement; figures are medians (default 5)")
    parser.add_argument(
        "--domains", type=int, default=0, help="N (default: the smallest N whose 10N spec has 10,000 lines)"
    )
    parser.add_argument(
        "--output", type=Path, default=ROOT / "docs" / "benchmarks.md", help="where to write the report"
    )
    parser.add_argument("--first-runs", type=int, default=3, help="samples of the slow first-ever generate (default 3)")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="scratch folder for specs and outputs")
    parser.add_argument(
        "--check-repeats",
        type=int,
        default=3,
        help="samples per round of the quick measurements (floor, parser, check; default 3)",
    )
    args = parser.parse_args(argv)
    domains = args.domains or -(-domains_for_lines(10_000) // 10)
    run = benchmark(
        max(1, args.runs), max(1, args.first_runs), domains, args.workdir.resolve(), max(1, args.check_repeats)
    )
    text = report.render(run)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
