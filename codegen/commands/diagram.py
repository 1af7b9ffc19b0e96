"""`flowgen diagram`: draw one view of a spec as DOT, Mermaid, SVG or PNG."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flowgen_design.codegen.commands import EXIT_FAILED, EXIT_OK, fail

FORMATS = ("dot", "mermaid", "svg", "png")
_BY_SUFFIX = {".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".mermaid": "mermaid", ".svg": "svg", ".png": "png"}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="the .flow file to draw")
    parser.add_argument("--view", default="system", metavar="VIEW", help="system (default), events, or saga:NAME")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="output format (default: from the -o suffix, else dot); svg and png need Graphviz's `dot`",
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")


def run(args: argparse.Namespace) -> int:
    from flowgen_design.codegen.commands.specload import load_flow
    from flowgen_design.codegen.diagrams import UnknownView, build_view, draw_view, view_parts, view_source
    from flowgen_design.codegen.diagrams.render import DotFailed, DotNotFound, render, render_all

    fmt = _format(args.format, args.output)
    flow, _, problem = load_flow(args.spec)
    if problem:
        return fail(problem)
    if flow is None:
        return EXIT_FAILED
    try:
        diagram = build_view(flow, args.view)
    except UnknownView as err:
        return fail(str(err))
    # The parts first: writing them writes the whole view's DOT too (`to_dot_parts`), which
    # `view_source` then takes as written instead of writing every statement again.
    parts = view_parts(flow, args.view) if fmt == "svg" else []
    text = view_source(flow, args.view, "dot" if fmt in ("svg", "png") else fmt, diagram=diagram)
    if fmt in ("dot", "mermaid"):
        return _emit(text.encode("utf-8"), args.output)
    purpose = f"--format {fmt}"
    try:
        if len(parts) > 1:  # the review page's drawing: each connected part drawn on its own, stacked
            return _emit(draw_view(flow, args.view, render_all(parts, fmt, purpose), purpose), args.output)
        return _emit(render(text, fmt, purpose), args.output)
    except (DotNotFound, DotFailed) as err:
        return fail(f"{err}; or use --format dot or mermaid", EXIT_FAILED)


def _format(given: str | None, output: str | None) -> str:
    """The asked format, else the one the output file's suffix names, else DOT."""
    if given:
        return given
    return _BY_SUFFIX.get(Path(output).suffix.lower(), "dot") if output else "dot"


def _emit(data: bytes, output: str | None) -> int:
    if output is None:
        if data[:4] == b"\x89PNG" and sys.stdout.isatty():
            return fail("PNG is binary: write it to a file with -o FILE.png")
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return EXIT_OK
    try:
        Path(output).write_bytes(data)
    except OSError as err:
        return fail(f"cannot write {output}: {err.strerror}", EXIT_FAILED)
    return EXIT_OK
