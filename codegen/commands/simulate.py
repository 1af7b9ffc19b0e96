"""`flowgen simulate`: explore every failure schedule of each saga and subscription within a bound and check the contract."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from flowgen_design.codegen.commands import EXIT_FAILED, EXIT_OK, fail
from flowgen_design.codegen.commands.codeflags import add_code_options

if TYPE_CHECKING:
    from flowgen_design.codegen.simulate import SagaReport
    from flowgen_design.dsl.model import Flow


def configure(parser: argparse.ArgumentParser) -> None:
    from flowgen_design.codegen.simulate import DEFAULT_BOUND

    parser.add_argument("spec", metavar="SPEC", help="the .flow file, or a folder: every .flow file below it")
    parser.add_argument("--saga", metavar="NAME", help="explore this saga only")
    parser.add_argument(
        "--subscription", metavar="SERVICE.HANDLER", help="explore this subscription (`on Event -> handler`) only"
    )
    parser.add_argument(
        "--format", choices=("text", "json", "mermaid"), default="text", help="text, json, or Mermaid diagrams"
    )
    parser.add_argument(
        "--bound", type=int, default=DEFAULT_BOUND, metavar="N", help=f"faults per schedule (default {DEFAULT_BOUND})"
    )
    parser.add_argument(
        "--invariant",
        action="append",
        default=[],
        metavar="TEXT",
        help="also check `every EVENT is followed by EVENT or EVENT` (repeatable)",
    )
    parser.add_argument(
        "--replay",
        metavar="DIR",
        help="write each counterexample as a pytest case for the generated local test kit into DIR",
    )
    parser.add_argument(
        "--replay-all",
        action="store_true",
        help="with --replay: also every scenario with one fault or none, not only counterexamples",
    )
    add_code_options(parser)


def run(args: argparse.Namespace) -> int:
    from flowgen_design.codegen.commands.specload import load_flow
    from flowgen_design.codegen.simulate import simulate
    from flowgen_design.codegen.simulate.invariants import Invariant, parse_invariant
    from flowgen_design.codegen.simulate.report import render_mermaid, render_text, to_json
    from flowgen_design.codegen.simulate.subscriptions import handler_name, subscriptions

    if Path(args.spec).is_dir():
        return _run_folder(args)
    flow, _, problem = load_flow(args.spec, args)
    if problem:
        return fail(problem)
    if flow is None:
        return EXIT_FAILED
    if args.replay_all and args.replay is None:
        return fail("--replay-all needs --replay DIR")
    if args.bound < 0:
        return fail("--bound must be 0 or more")
    if args.saga is not None and all(s.name != args.saga for s in flow.sagas):
        return fail(f"no saga `{args.saga}` in {args.spec}")
    if args.subscription is not None and args.subscription not in {handler_name(h) for h in subscriptions(flow)}:
        return fail(f"no subscription `{args.subscription}` in {args.spec} (name it `Service.handler`)")
    invariants: list[Invariant] = []
    for text in args.invariant:
        parsed = parse_invariant(text, flow)
        if isinstance(parsed, str):
            return fail(parsed)
        invariants.append(parsed)
    reports = simulate(flow, args.saga, args.bound, tuple(invariants), args.subscription)
    if args.replay is not None:
        _write_replays(flow, reports, args.replay, args.replay_all)
    if not reports:
        print(f"nothing to simulate: {args.spec} has no saga and no subscription")
        return EXIT_OK
    if args.format == "json":
        print(json.dumps(to_json(reports), indent=2))
    elif args.format == "mermaid":
        print(render_mermaid(reports), end="")
    else:
        print(render_text(reports), end="")
    return EXIT_OK if all(r.clean for r in reports) else EXIT_FAILED


def _run_folder(args: argparse.Namespace) -> int:
    """Every spec below a folder, each explored as if named alone; exit 1 if any has a violation or errors."""
    from flowgen_design.codegen.commands.specload import load_flow
    from flowgen_design.codegen.simulate import simulate
    from flowgen_design.codegen.simulate.report import render_mermaid, render_text, to_json
    from flowgen_design.codegen.specfiles import InputError, find_specs

    narrowed = [f"--{n}" for n in ("saga", "subscription", "replay") if getattr(args, n) is not None]
    if narrowed or args.invariant:
        return fail(f"{(narrowed or ['--invariant'])[0]} needs one .flow file, not the folder {args.spec}")
    if args.bound < 0:
        return fail("--bound must be 0 or more")
    try:
        specs = find_specs([args.spec])
    except InputError as err:
        return fail(str(err))
    if not specs:
        return fail(f"no .flow files below {args.spec}")
    everything: list[SagaReport] = []
    status = EXIT_OK
    for spec in specs:
        flow, _, problem = load_flow(str(spec), args)
        if problem:
            return fail(problem)
        if flow is None:
            status = EXIT_FAILED
            continue
        reports = simulate(flow, bound=args.bound)
        everything += reports
        if args.format == "text":
            print(f"{spec}:")
            print(render_text(reports) if reports else "  nothing to simulate\n", end="")
        if not all(r.clean for r in reports):
            status = EXIT_FAILED
    if args.format == "json":
        print(json.dumps(to_json(everything), indent=2))
    elif args.format == "mermaid":
        print(render_mermaid(everything), end="")
    return status


def _write_replays(flow: Flow, reports: list[SagaReport], folder: str, everything: bool) -> None:
    """The replay tests, each file written whole (they are the user's to edit, so they are not stamped)."""
    from flowgen_design.codegen.simulate.replay import replay_files

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    files = replay_files(flow, reports, everything)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} replay file(s) to {out}", file=sys.stderr)
