"""The `flowgen` command. Verbs live in `flowgen_design.codegen.commands`, imported only when used,
so `flowgen --version` and `flowgen check` start fast."""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import os
import sys
from collections.abc import Sequence

from flowgen_design.codegen.commands import EXIT_FAILED, EXIT_OK, EXIT_USAGE, fail

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "entry", "fail", "main"]

# verb -> (module in flowgen_design.codegen.commands, one-line help); a verb's module is imported
# only when it runs, and a missing one fails loudly.
VERBS: dict[str, tuple[str, str]] = {
    "check": ("check", "check specs and report diagnostics"),
    "fmt": ("fmt", "format specs in the canonical layout"),
    "generate": ("generate", "generate code, infrastructure, AsyncAPI and diagrams from specs"),
    "diagram": ("diagram", "draw a system, saga or event diagram of a spec"),
    "package": ("package", "build each flow's Lambda code and a template that deploys it"),
    "trace": ("trace", "follow an endpoint, event, service, handler or saga to its code and resources"),
    "simulate": ("simulate", "explore every failure schedule of each saga and check the runtime contract"),
}


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("flowgen-design")
    except PackageNotFoundError:
        return "0+unknown"


class _VersionAction(argparse.Action):
    """Like argparse's `version` action, but reads the installed version only when asked:
    `importlib.metadata` costs tens of milliseconds that every other command would pay."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        print(f"flowgen {version()}")
        parser.exit()


def build_parser(verb: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowgen",
        description="Design-first event-driven systems: check .flow specs and generate typed Python, "
        "AWS CloudFormation, AsyncAPI 3.0 and diagrams from them.",
    )
    parser.add_argument("--version", action=_VersionAction, nargs=0, help="show the version and exit")
    sub = parser.add_subparsers(dest="verb", metavar="COMMAND")
    for name, (module, help_text) in VERBS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text[:1].upper() + help_text[1:] + ".")
        if name == verb:
            importlib.import_module(f"flowgen_design.codegen.commands.{module}").configure(cmd)
    return parser


def _verb_of(argv: Sequence[str]) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


def _tune_gc() -> None:
    """Collect garbage less often: a run builds one large, mostly acyclic AST and model, then exits.

    CPython's default (a collection every 700 allocations) rescans those young
    objects again and again, costing about a fifth of `check` on a large spec;
    cycles are rare here, so a higher threshold only delays freeing a few. A
    collection of the youngest objects costs in proportion to how many there are,
    so a lower threshold mostly splits about the same scanning into more collections;
    what a higher one saves is the scanning of objects the run never needs
    collected (it exits first). At 1,000,000 (200,000 before) a `generate` after
    an edit of the benchmark spec collects never instead of twice (45 ms of CPU,
    peak memory 1 MB higher), a first run's main process never instead of three
    times (0.15 s; peak 4 MB higher); `check` and the bundled specs' runs are
    unchanged (their collections scan few objects at either threshold).
    """
    gc.set_threshold(1_000_000, 20, 100)


def main(argv: Sequence[str] | None = None) -> int:
    _tune_gc()
    args_list = list(sys.argv[1:] if argv is None else argv)
    verb = _verb_of(args_list)
    parser = build_parser(verb if verb in VERBS else None)
    args = parser.parse_args(args_list)
    if args.verb is None:
        parser.print_help()
        return EXIT_USAGE
    module = importlib.import_module(f"flowgen_design.codegen.commands.{VERBS[args.verb][0]}")
    try:
        return int(module.run(args))
    except KeyboardInterrupt:
        print("flowgen: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_FAILED
    except OSError as err:  # the output went to a full or failing device: say so, no traceback
        _say(f"flowgen: error: cannot write the output: {err.strerror or err}")
        return EXIT_FAILED


def _say(message: str) -> None:
    with contextlib.suppress(OSError):
        print(message, file=sys.stderr)


def entry() -> None:
    """The `flowgen` program: run `main`, flush the output, and exit without tearing the heap down.

    At exit CPython frees every object one by one; for a large spec's AST and
    model that is about a tenth of a second spent on memory the OS reclaims at
    once anyway (mypy exits the same way). Nothing else needs the teardown: the
    writer closes and renames its files before `main` returns.
    """
    code = main()
    try:
        sys.stdout.flush()
    except OSError as err:  # a closed pipe, a full device
        if not isinstance(err, BrokenPipeError):
            _say(f"flowgen: error: cannot write the output: {err.strerror or err}")
        code = code or EXIT_FAILED
    try:
        sys.stderr.flush()
    except OSError:
        code = code or EXIT_FAILED
    os._exit(code)


if __name__ == "__main__":
    entry()
