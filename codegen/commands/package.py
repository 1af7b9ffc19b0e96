"""`flowgen package`: build each flow's deployable code and a template that deploys it.

It packages what `flowgen generate` wrote, so that what is deployed is what was tested: the
generated output must be up to date with the specs (the check of `generate --check`), else it
stops and says so. The artifacts go to `--dist` (default `dist/` beside pyproject.toml), one folder
per flow, never inside the generated folder. See `flowgen_design.codegen.package`.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from flowgen_design.codegen.commands import EXIT_FAILED, EXIT_OK, fail
from flowgen_design.codegen.specfiles import project_inputs

if TYPE_CHECKING:
    from flowgen_design.codegen import writer
    from flowgen_design.codegen.package import Packaged, PackageOptions
    from flowgen_design.dsl.model import Flow

TARGETS = ["python", "lambda", "cloudformation"]
"""What a package is built from: the Python package, its Lambda adapters, and the template."""
PLATFORMS = ("lambda", "native")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", metavar="SPEC", help="spec files or folders (default: [tool.flowgen] specs)"
    )
    parser.add_argument("--out", "-o", metavar="DIR", help="the generated output folder (default: [tool.flowgen] out)")
    parser.add_argument(
        "--dist", metavar="DIR", help="where to write <flow>/template.json and its zips (default: dist)"
    )
    parser.add_argument(
        "--arch",
        metavar="ARCH",
        help="build every function for x86_64 or arm64 (default: each function's architecture in the template)",
    )
    parser.add_argument(
        "--platform",
        default="lambda",
        metavar="WHERE",
        help="lambda (wheels for the functions' Lambda runtime; default) or native (this machine's Python, "
        "to run the package locally)",
    )
    parser.add_argument(
        "--requirements",
        "-r",
        action="append",
        default=[],
        metavar="FILE",
        help="a pip requirements file of what your services import (repeatable)",
    )
    parser.add_argument(
        "--with-boto3", action="store_true", help="include boto3 in the zip (the Lambda runtime provides one)"
    )


def run(args: argparse.Namespace) -> int:
    from flowgen_design.codegen.package import ARCHITECTURES

    if args.arch is not None and args.arch not in ARCHITECTURES:
        return fail(_unknown("architecture", args.arch, ARCHITECTURES))
    if args.platform not in PLATFORMS:
        return fail(_unknown("platform", args.platform, PLATFORMS))
    missing = next((f for f in args.requirements if not Path(f).is_file()), None)
    if missing is not None:
        return fail(f"no such requirements file: {missing}")
    inputs = project_inputs(args.paths, args.out, "generated folder")
    if isinstance(inputs, str):
        return fail(inputs)
    config, specs, out = inputs
    from flowgen_design.codegen.commands.generate import plan_flows

    planned = plan_flows(specs, out, TARGETS, True, config)
    if isinstance(planned, int):
        return planned
    problem = next((p for p in (_not_ready(flow, plan) for flow, plan in planned) if p), None)
    if problem:
        return fail(problem, EXIT_FAILED)
    from flowgen_design.codegen.package import PackageOptions

    options = PackageOptions(
        out_dir=out,
        dist_dir=Path(args.dist) if args.dist else config.root / "dist",
        arch=args.arch,
        native=args.platform == "native",
        include_boto3=args.with_boto3,
        requirement_files=tuple(Path(f).resolve() for f in args.requirements),
    )
    return _package([flow for flow, _ in planned], options)


def _unknown(what: str, value: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(value, known, n=1)
    suggestion = f"; did you mean `{close[0]}`?" if close else ""
    return f"unknown {what} `{value}`{suggestion} (expected {' or '.join(known)})"


def _not_ready(flow: Flow, plan: writer.WritePlan) -> str | None:
    """Why the generated output of a flow cannot be packaged as it is, if it cannot."""
    from flowgen_design.codegen.targets.cloudformation import template_path

    if not (plan.out_dir / template_path(flow)).is_file():
        return f"no generated output for flow `{plan.flow}` in {plan.out_dir}: run `flowgen generate` first"
    stale = plan.stale
    if not stale:
        return None
    first = stale[0]
    more = f" and {len(stale) - 1} more" if len(stale) > 1 else ""
    return (
        f"the generated output in {plan.out_dir} is out of date with the spec of flow `{plan.flow}` "
        f"({first.path}: {first.action}{more}): run `flowgen generate` first"
    )


def _package(flows: list[Flow], options: PackageOptions) -> int:
    from flowgen_design.codegen.package import Dependencies, PackageError, package_flow, requirements
    from flowgen_design.codegen.targets.cloudformation import template_path

    try:
        with tempfile.TemporaryDirectory(prefix="flowgen-package-") as scratch:
            declared = requirements(options.out_dir, options.include_boto3)
            dependencies = Dependencies(declared, Path(scratch), options.requirement_files)
            for flow in flows:
                _report(package_flow(flow.name, options.out_dir / template_path(flow), options, dependencies))
    except PackageError as err:
        return fail(str(err), EXIT_FAILED)
    return EXIT_OK


def _report(packaged: Packaged) -> None:
    from flowgen_design.codegen.package import INLINE_TEMPLATE_LIMIT

    for path, unzipped in packaged.zips:
        print(f"  wrote {path} ({path.stat().st_size / 2**20:.1f} MiB, {unzipped / 2**20:.1f} MiB unzipped)")
    print(f"  wrote {packaged.template}")
    if packaged.template_bytes > INLINE_TEMPLATE_LIMIT:
        print(
            f"note: {packaged.template} is {packaged.template_bytes:,} bytes, over the {INLINE_TEMPLATE_LIMIT:,} "
            "CloudFormation accepts inline: give `aws cloudformation deploy` an --s3-bucket",
            file=sys.stderr,
        )
