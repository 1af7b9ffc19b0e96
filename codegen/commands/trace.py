"""`flowgen trace`: from an endpoint, event, service, handler or saga to its code and resources."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from flowgen_design.codegen.commands import EXIT_FAILED, EXIT_OK, fail


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="the .flow file")
    parser.add_argument(
        "name",
        metavar="NAME",
        help="`POST /orders`, an event, a service, `Service.handler` or a saga (KIND:NAME when a name is ambiguous)",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", help="text for people, json for tools")
    parser.add_argument(
        "--out",
        "-o",
        metavar="DIR",
        help="the generated folder whose infra/<flow>/deploy.toml a handler's trace shows (default: [tool.flowgen] out)",
    )


def run(args: argparse.Namespace) -> int:
    from flowgen_design.codegen.commands.specload import load_flow
    from flowgen_design.codegen.trace import UnknownElement, render_text, trace

    flow, _, problem = load_flow(args.spec)
    if problem:
        return fail(problem)
    if flow is None:
        return EXIT_FAILED
    try:
        link = trace(flow, args.name, _generated_folder(args.out))
    except UnknownElement as err:
        return fail(str(err))
    if args.format == "json":
        print(json.dumps(link.to_json(), indent=2))
    else:
        print(render_text(link), end="")
    return EXIT_OK


def _generated_folder(out: str | None) -> Path | None:
    """`--out`, else `[tool.flowgen] out`, else none (a trace without deployment settings)."""
    from flowgen_design.codegen.specfiles import InputError, load_config

    if out:
        return Path(out)
    try:
        configured = load_config().out
    except InputError:
        return None
    return Path(configured) if configured else None
