"""`flowgen check`: the front end and the configured targets' checks on every spec, diagnostics as text,
JSON, GitHub annotations or SARIF."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from flowgen_design.codegen.commands import EXIT_FAILED, EXIT_OK, EXIT_USAGE, fail
from flowgen_design.codegen.commands.codeflags import add_code_options, selection
from flowgen_design.codegen.specfiles import InputError, load_config, specs_or_error, use_color

if TYPE_CHECKING:
    from flowgen_design.dsl.diagnostics import Diagnostic

FORMATS = ("text", "json", "github", "sarif")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="spec files or folders (default: [tool.flowgen] specs, else .)"
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text for people, json for tools, github for GitHub Actions annotations, sarif for code scanning",
    )
    parser.add_argument("--strict", action="store_true", help="fail on warnings too")
    parser.add_argument("--list-codes", action="store_true", help="list every diagnostic code and exit")
    add_code_options(parser)


def run(args: argparse.Namespace) -> int:
    from flowgen_design.codegen.checks import check_spec, configured_targets
    from flowgen_design.dsl import codes
    from flowgen_design.dsl.diagnostics import render_text, to_json

    if args.list_codes:
        return _list_codes()
    try:
        config = load_config()  # read once: the selection and the targets both come from it
    except InputError as err:
        return fail(str(err))
    chosen = selection(args, config)
    if isinstance(chosen, str):
        return fail(chosen)
    specs = specs_or_error(args.paths, config)
    if isinstance(specs, str):
        return fail(specs)
    targets = configured_targets(config)
    if isinstance(targets, str):
        return fail(targets)
    diagnostics = []
    sources: dict[str, str] = {}
    unreadable = False
    for spec in specs:
        result = check_spec(spec, targets, chosen)
        diagnostics.extend(result.diagnostics)
        sources.update(result.sources)
        unreadable |= not result.sources and any(d.code == codes.UNREADABLE_FILE.code for d in result.diagnostics)
    diagnostics = list({(d.code, d.span, d.message): d for d in diagnostics}.values())
    errors = sum(d.is_error for d in diagnostics)
    warnings = len(diagnostics) - errors
    if args.format == "json":
        print(json.dumps(json.loads(to_json(diagnostics)), indent=2))
    elif args.format in ("github", "sarif"):
        print(_for_ci(args.format, diagnostics), end="")
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


def _for_ci(form: str, diagnostics: list[Diagnostic]) -> str:
    from flowgen_design.dsl.ci_formats import to_github, to_sarif

    if form == "github":
        return to_github(diagnostics)
    return to_sarif(diagnostics, _version())


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("flowgen-design")
    except PackageNotFoundError:
        return "0+unknown"


def _list_codes() -> int:
    from flowgen_design.dsl.codes import CODES

    for entry in CODES.values():
        may = "may be ignored" if entry.can_ignore else "cannot be ignored"
        print(f"{entry.code}  {entry.severity.value:7}  {entry.slug:30}  {may:17}  {entry.purpose}")
    return EXIT_OK
