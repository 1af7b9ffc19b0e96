"""The options that choose diagnostic codes, shared by the verbs that check specs.

`--disable CODE` and `--enable CODE` turn a code off or back on for one run over
`[tool.flowgen] ignore`; `--error CODE` reports a warning as an error, adding to
`[tool.flowgen] error`. The rules of what may be ignored live in `dsl.selection`.
"""

from __future__ import annotations

import argparse

from flowgen_design.codegen.specfiles import InputError, ProjectConfig, load_config
from flowgen_design.dsl.selection import Selection, SelectionError, build


def add_code_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("diagnostic codes (by code, FLOW602, or slug, published-never-consumed)")
    group.add_argument(
        "--disable",
        action="append",
        default=[],
        metavar="CODE",
        help="do not report CODE (a warning, or an error that may be ignored)",
    )
    group.add_argument(
        "--enable",
        action="append",
        default=[],
        metavar="CODE",
        help="report CODE even if [tool.flowgen] ignore lists it",
    )
    group.add_argument("--error", action="append", default=[], metavar="CODE", help="report CODE as an error")


def selection(args: argparse.Namespace | None = None, config: ProjectConfig | None = None) -> Selection | str:
    """The selection of `[tool.flowgen]` and the command line (if the verb has the options),
    or the one-line usage error."""
    try:
        config = config or load_config()
    except InputError as err:
        return str(err)
    source = f"{config.path} [tool.flowgen]" if config.path else "[tool.flowgen]"
    try:
        return build(
            config.ignore,
            config.error,
            disable=getattr(args, "disable", ()),
            enable=getattr(args, "enable", ()),
            promote=getattr(args, "error", ()),
            config=source,
        )
    except SelectionError as err:
        return str(err)
