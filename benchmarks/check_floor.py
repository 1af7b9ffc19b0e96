"""`flowgen check` against the floor, alternating, as issues 10 and 16 measure it.

    python benchmarks/check_floor.py [--domains 88] [--runs 15] [--instructions]

Writes the spec of `specgen.py DOMAINS` (10,734 lines for 88), byte-compiles this
checkout as `pip install` would, then runs the floor (`bare_parse.py`: import lark,
compile the grammar, parse into lark's tree) and `flowgen check` one after the other,
RUNS times each, each a whole process. Prints CPU time (user + system, from `wait4`)
min and median for both, and the ratios of the mins and of the medians. Alternating
the two keeps a change of load on a shared machine from favouring either.

`--instructions` also counts the instructions each process executes once under
valgrind (callgrind): a figure that, unlike time, does not move with the load of a
busy machine (about a minute per command).
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(ROOT))

from benchmarks import specgen  # noqa: E402
from benchmarks.measure import measured  # noqa: E402
from benchmarks.run import assert_clean, bare_parse, compile_flowgen, flowgen, flowgen_env  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--domains", type=int, default=88, help="domains in the spec (default 88: 10,734 lines)")
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (default 15)")
    parser.add_argument("--instructions", action="store_true", help="also count instructions under valgrind")
    args = parser.parse_args(argv)
    compile_flowgen()
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "bench.flow"
        spec.write_text(specgen.spec(args.domains), encoding="utf-8")
        lines = spec.read_text(encoding="utf-8").count("\n")
        env = flowgen_env(Path(tmp) / "cache")
        assert_clean(spec, env)
        floor: list[float] = []
        check: list[float] = []
        for _ in range(max(1, args.runs)):
            floor.append(measured(bare_parse(spec), env, ROOT).cpu_s)
            check.append(measured(flowgen("check", str(spec)), env, ROOT).cpu_s)
        print(f"spec: {args.domains} domains, {lines} lines; {len(floor)} runs each, CPU user+system")
        print(f"floor  min {min(floor):.3f} s  median {statistics.median(floor):.3f} s")
        print(f"check  min {min(check):.3f} s  median {statistics.median(check):.3f} s")
        print(
            f"ratio  min {min(check) / min(floor):.2f}x  "
            f"median {statistics.median(check) / statistics.median(floor):.2f}x"
        )
        if args.instructions:
            floor_ir = instructions(bare_parse(spec), env)
            check_ir = instructions(flowgen("check", str(spec)), env)
            print(f"instructions  floor {floor_ir:,}  check {check_ir:,}  ratio {check_ir / floor_ir:.3f}x")
    return 0


def instructions(cmd: list[str], env: dict[str, str]) -> int:
    """The instructions `cmd` executes, as callgrind counts them."""
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind")
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if found is None:
        raise SystemExit(f"no instruction count from valgrind:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


if __name__ == "__main__":
    sys.exit(main())
