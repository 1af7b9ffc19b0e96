"""`flowgen check`: the front end and the configured targets' checks on every spec, diagnostics as text or JSON."""

from __future__ import annotations

import argparse
import json

from flowgen_design.codegen.commands import EXIT_FAILED, EXIT_OK, EXIT_USAGE, fail
from flowgen_design.codegen.specfiles import specs_or_error, use_color


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="spec files or folders (default: [tool.flowgen] specs, else .)"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", help="text for people, json for tools")
    parser.add_argument("--strict", action="store_true", help="fail on warnings too")


def run(args: argparse.Namespace) -> int:
    from flowgen_design.codegen.checks import check_spec, configured_targets
    from flowgen_design.dsl.diagnostics import render_text, to_json

    specs = specs_or_error(args.paths)
    if isinstance(specs, str):
        return fail(specs)
    targets = configured_targets()
    if isinstance(targets, str):
        return fail(targets)
    diagnostics = []
    sources: dict[str, str] = {}
    unreadable = False
    for spec in specs:
        result = check_spec(spec, targets)
        diagnostics.extend(result.diagnostics)
        sources.update(result.sources)
        unreadable |= not result.sources and any(d.code == "FLOW001" for d in result.diagnostics)
    diagnostics = list({(d.code, d.span, d.message): d for d in diagnostics}.values())
    errors = sum(d.is_error for d in diagnostics)
    warnings = len(diagnostics) - errors
    if args.format == "json":
        print(json.dumps(json.loads(to_json(diagnostics)), indent=2))
    else:
        print(render_text(diagnostics, sources, color=use_color()), end="")
        noun = "file" if len(specs) == 1 else "files"
        print(
            f"checked {len(specs)} {noun}: {errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
        )
    if unreadable:
        return EXIT_USAGE
    failed = errors or (args.strict and warnings)
    return EXIT_FAILED if failed else EXIT_OK
