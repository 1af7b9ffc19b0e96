"""`flowgen fmt`: rewrite specs in the canonical layout, or `--check` that they already are."""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import tempfile
from pathlib import Path

from flowgen_design.codegen.commands import EXIT_FAILED, EXIT_OK, fail
from flowgen_design.codegen.specfiles import specs_or_error, use_color


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="spec files or folders (default: [tool.flowgen] specs, else .)"
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 and list the files that would change"
    )
    parser.add_argument(
        "--diff", action="store_true", help="print a unified diff of what would change (implies --check)"
    )


def run(args: argparse.Namespace) -> int:
    from flowgen_design.dsl.compiler import check_file
    from flowgen_design.dsl.diagnostics import Reporter, render_text
    from flowgen_design.dsl.fmt import format_module
    from flowgen_design.dsl.loader import display_path, read_source
    from flowgen_design.dsl.parser import parse

    specs = specs_or_error(args.paths)
    if isinstance(specs, str):
        return fail(specs)
    check = args.check or args.diff
    changed, broken = [], 0
    for spec in specs:
        shown = display_path(spec)
        reporter = Reporter()
        text = read_source(spec, shown, reporter)
        module = parse(text, shown, reporter) if text is not None else None
        errors, sources = [d for d in reporter.items if d.is_error], {shown: text or ""}
        if module is not None and text is not None and not errors:
            # The spec parses; it must also resolve and pass the rules, as `check` sees it.
            result = check_file(spec)
            errors, sources = [d for d in result.diagnostics if d.is_error], result.sources
        if module is None or text is None or errors:
            # A spec with errors is left as it is: the parser stands placeholders in for what it
            # reported (a capped number, `string` for a type nested too deep) that formatting would
            # write back, and a spec that does not check has no meaning fmt could prove it keeps.
            broken += 1
            print(render_text(errors, sources, color=use_color(sys.stderr)), end="", file=sys.stderr)
            continue
        formatted = format_module(module, text)
        if formatted == text:
            continue
        changed.append(shown)
        if args.diff:
            sys.stdout.writelines(
                difflib.unified_diff(text.splitlines(True), formatted.splitlines(True), shown, shown + " (formatted)")
            )
        if check:
            print(f"would reformat {shown}")
        elif (problem := _replace(spec, formatted)) is not None:
            broken += 1
            print(f"flowgen: error: cannot write {shown}: {problem}; it was left as it was", file=sys.stderr)
        else:
            print(f"reformatted {shown}")
    if broken:
        print(f"flowgen: {broken} file(s) not formatted: fix the errors above", file=sys.stderr)
        return EXIT_FAILED
    if not changed:
        print(f"{len(specs)} file(s) already formatted")
    return EXIT_FAILED if (check and changed) else EXIT_OK


def _replace(path: Path, text: str) -> str | None:
    """Replace `path` with `text`, atomically: a crash or a full disk midway leaves the old
    file, never half of the new one. Returns why it could not (a read-only folder, a full
    disk), or None."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".flowgen-tmp", dir=path.parent)
    except OSError as err:
        return err.strerror or str(err)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        return err.strerror or str(err)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return None
