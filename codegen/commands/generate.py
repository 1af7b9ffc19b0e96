"""`flowgen generate`: check specs, run targets, and write through the one writer."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from flowgen_design.codegen.commands import EXIT_FAILED, EXIT_OK, fail
from flowgen_design.codegen.commands.codeflags import add_code_options, selection
from flowgen_design.codegen.specfiles import ProjectConfig, project_inputs, use_color

if TYPE_CHECKING:
    from flowgen_design.codegen import writer
    from flowgen_design.codegen.files import GeneratedFile
    from flowgen_design.codegen.fragments import Listing
    from flowgen_design.codegen.incremental import Fingerprints, Previous, TargetOutput
    from flowgen_design.codegen.options import GenerateOptions
    from flowgen_design.codegen.targets import Target
    from flowgen_design.dsl.compiler import CheckResult
    from flowgen_design.dsl.diagnostics import Diagnostic
    from flowgen_design.dsl.model import Flow
    from flowgen_design.dsl.selection import Selection


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", metavar="SPEC", help="spec files or folders (default: [tool.flowgen] specs)"
    )
    parser.add_argument("--out", "-o", metavar="DIR", help="output folder (default: [tool.flowgen] out)")
    parser.add_argument(
        "--target", "-t", action="append", metavar="NAME", help="generate only this target (repeatable; default: all)"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and list what is stale if the output differs from the spec",
    )
    parser.add_argument("--list-targets", action="store_true", help="list the available targets and exit")
    add_code_options(parser)


def run(args: argparse.Namespace) -> int:
    from flowgen_design.codegen.targets import TARGET_NAMES, all_targets

    if args.list_targets:
        for target in all_targets().values():
            print(f"{target.name:16} {target.description}")
        return EXIT_OK
    inputs = project_inputs(args.paths, args.out, "output folder")
    if isinstance(inputs, str):
        return fail(inputs)
    config, specs, out = inputs
    chosen = _choose_targets(args.target or list(config.targets), list(TARGET_NAMES))
    if isinstance(chosen, str):
        return fail(chosen)
    codes = selection(args, config)
    if isinstance(codes, str):
        return fail(codes)
    try:
        out.resolve()
    except (OSError, RuntimeError) as err:  # RuntimeError: how Python 3.11 reports a loop of links
        why = err.strerror if isinstance(err, OSError) and err.strerror else "a loop of symbolic links"
        return fail(f"cannot use the output folder {out}: {why}")
    return _generate(specs, out, chosen, args.check, config, codes)


def _choose_targets(wanted: list[str], known: list[str]) -> list[str] | str:
    for name in wanted:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            suggestion = f"; did you mean `{close[0]}`?" if close else ""
            return f"unknown target `{name}`{suggestion} (available: {', '.join(known)})"
    return [t for t in known if t in wanted] if wanted else known


def _generate(
    specs: list[Path], out: Path, targets: list[str], check: bool, config: ProjectConfig, codes: Selection
) -> int:
    planned = plan_flows(specs, out, targets, check, config, codes)
    if isinstance(planned, int):
        return planned
    plans = [p for _, p in planned]
    return _report_check(plans) if check else _write(plans)


def plan_flows(
    specs: list[Path],
    out: Path,
    targets: list[str],
    check: bool,
    config: ProjectConfig,
    codes: Selection | None = None,
) -> list[tuple[Flow, writer.WritePlan]] | int:
    """Check the specs and plan what generating each flow would write: (flow, plan) per flow
    (imported specs are not flows of their own), or the exit code after printing why not.
    `codes` is the project's selection of diagnostic codes (the default: every code as registered).
    `flowgen package` uses it with `check` to prove the generated output is up to date."""
    from flowgen_design.codegen import ondisk
    from flowgen_design.codegen.stamp import read_ahead
    from flowgen_design.dsl.selection import DEFAULT

    codes = DEFAULT if codes is None else codes
    ondisk.forget()  # a new run: nothing known of the files on disk
    read_ahead(out, specs)  # the last run's documents, read in a thread while the specs are checked
    try:
        return _plan_flows(specs, out, targets, check, config, codes)
    finally:
        ondisk.let_go()  # what was read and not taken; the digests known stay, for the writer's last look


def _plan_flows(
    specs: list[Path], out: Path, targets: list[str], check: bool, config: ProjectConfig, codes: Selection
) -> list[tuple[Flow, writer.WritePlan]] | int:
    from flowgen_design.codegen import fragments, ondisk, writer
    from flowgen_design.codegen.checks import check_spec
    from flowgen_design.codegen.incremental import load_parts, parts_of
    from flowgen_design.codegen.options import GenerateOptions
    from flowgen_design.codegen.stamp import inputs_stamp, previous_run, run_base, source_digests, unchanged_plan
    from flowgen_design.codegen.targets import TargetError, all_targets
    from flowgen_design.dsl.diagnostics import render_text

    results = [check_spec(spec, targets, codes) for spec in specs]
    ondisk.wait_ahead()  # no thread outlives the checks: a target may fork workers (`fanout`)
    imported = {
        Path(m.path).resolve() for r in results for m in r.modules if Path(m.path).resolve() != r.path.resolve()
    }
    failed = False
    for r in results:
        shown = [d for d in r.diagnostics if d.is_error]
        if shown or r.flow is None:
            failed = True
            print(render_text(shown, r.sources, color=use_color(sys.stderr)), end="", file=sys.stderr)
    if failed:
        print("flowgen: nothing generated: fix the errors above (`flowgen check` shows warnings too)", file=sys.stderr)
        return EXIT_FAILED
    options = GenerateOptions(out_dir=out, targets=tuple(targets), check=check)
    plans: list[tuple[Flow, writer.WritePlan]] = []
    planned: list[tuple[CheckResult, writer.WritePlan]] = []
    try:
        for r in results:
            if r.path.resolve() in imported or r.flow is None:
                continue
            flow_options = replace(options, warnings=tuple(d for d in r.diagnostics if not d.is_error))
            flow = replace(r.flow, path=_project_path(r.path, r.flow.path, config.root))
            stamp = inputs_stamp(r.sources, flow.path, targets, out, codes.key)
            unchanged = unchanged_plan(out, flow.name, stamp)
            if unchanged is not None:
                plans.append((flow, unchanged))
            else:
                base = run_base(flow.path, targets, out, codes.key)
                previous = previous_run(out, flow.name, base)
                load_parts(previous, out)
                fragments.start_run(previous, out)
                from flowgen_design.codegen import diagrams  # not in a run with nothing to do

                reused: dict[str, str] = {}
                identity = (flow.name, flow.version, flow.path)
                diagrams.saga_digests_from(previous.views if previous is not None else {})
                try:
                    files, keys = _build(
                        all_targets(),
                        targets,
                        flow,
                        flow_options,
                        (base, identity, previous, out),
                        reused,
                        fragments.run_prints(),
                    )
                finally:
                    views = diagrams.saga_digests()
                p = writer.plan(flow.name, out, files, ran=targets, stamp=stamp, spec=flow.path, known=reused)
                p.base, p.keys, p.parts = base, keys, parts_of(files)
                p.sources = source_digests(r.sources)
                p.statuses = previous.statuses if previous is not None else {}
                p.fragments = fragments.finish_run(files)
                p.views = views
                plans.append((flow, p))
            planned.append((r, plans[-1][1]))
    except (writer.UnsafePathError, TargetError) as err:
        # imported only here: a run with nothing to do imports no target
        from flowgen_design.codegen.targets.cloudformation.userfiles import UserFileError

        if not isinstance(err, UserFileError):
            return fail(str(err), EXIT_FAILED)
        # your deploy.toml or overrides.json: located, like a spec's errors
        print(render_text(err.diagnostics, err.sources, color=use_color(sys.stderr)), end="", file=sys.stderr)
        print("flowgen: nothing generated: fix the errors above in your deployment files", file=sys.stderr)
        return EXIT_FAILED
    collisions = _collisions(planned)
    if collisions:
        print(render_text(collisions, {k: v for r in results for k, v in r.sources.items()}), end="", file=sys.stderr)
        print("flowgen: nothing generated: two specs would write the same files", file=sys.stderr)
        return EXIT_FAILED
    return plans


def _build(
    registry: dict[str, Target],
    targets: list[str],
    flow: Flow,
    options: GenerateOptions,
    run: tuple[str, tuple[object, ...], Previous | None, Path],
    reused: dict[str, str],
    prints: Fingerprints,
) -> tuple[list[GeneratedFile], dict[str, str]]:
    """Every target's files, and the keys of the lazy ones (`codegen.incremental.resolve`).

    Targets with background work (`dot`'s drawings) begin it first. The targets with lazy
    files are described, their files rendered over the cores (`codegen.fanout`), and
    whenever the workers work (the models module's classes, then the lazy files), this
    process builds the other targets, one at a time, the ones with background work last,
    so that the drawings are ready, or nearly, when they are needed. After an edit (a last
    run to take from), the targets `APART` names are built in a forked process of their own
    meanwhile (`fanout.aside`): an edit keeps one core busy otherwise. `run` is the base,
    identity, last run and output folder `resolve` compares with; `reused` collects the files
    it took back; `prints` are the run's fingerprints, shared with the targets' fragments.
    """
    from flowgen_design.codegen import fragments
    from flowgen_design.codegen.fanout import aside, meanwhile
    from flowgen_design.codegen.incremental import LazyFile, resolve
    from flowgen_design.codegen.targets import APART

    base, identity, previous, out = run
    starts = {name: start for name in targets if (start := registry[name].background) is not None}
    lazy = [name for name in targets if registry[name].outputs is not None and name not in starts]
    rest = [name for name in targets if name not in lazy and name not in starts] + list(starts)
    # Only plain targets go aside: a lazy one's files are rendered here, a background one's work begun here.
    apart = [name for name in rest if name in APART and name not in starts] if previous is not None else []
    here = [name for name in rest if name not in apart]

    def outputs(names: list[str]) -> list[TargetOutput]:
        return [replace(f, target=name) for name in names for f in registry[name].files(flow, options)]

    def built_apart() -> tuple[list[TargetOutput], dict[str, Listing]]:
        built = outputs(apart)
        found = fragments.found_in(f for f in built if not isinstance(f, LazyFile))
        return [_sent(f) for f in built], found

    # Forked before `dot` is started or any thread begins: the process aside inherits neither.
    with aside(built_apart) if apart else contextlib.nullcontext(built_apart) as apart_built:
        cancels = [start(flow, options) for start in starts.values()]
        try:
            with meanwhile(*(partial(outputs, [name]) for name in here)) as others:
                described = outputs(lazy)
                files, keys = resolve(described, base, identity, previous, out, reused, prints)
            by_target = dict(zip(here, others.results(), strict=True))
            if apart:
                built, found = apart_built()
                fragments.adopt(found)
                by_target.update((name, [f for f in built if f.target == name]) for name in apart)
            built = [f for name in rest for f in by_target[name]]
            more, more_keys = resolve(built, base, identity, previous, out, reused, prints)
            return files + more, {**keys, **more_keys}
        finally:
            for cancel in cancels:
                cancel()


def _sent(f: TargetOutput) -> TargetOutput:
    """A file built aside as it comes back: one of flowgen's as its bytes and their digest
    (`EncodedFile`), a user's as it is (the writer merges its text)."""
    from flowgen_design.codegen.files import EncodedFile, GeneratedFile

    return EncodedFile.of(f) if type(f) is GeneratedFile and not f.is_user_owned else f


def _collisions(planned: list[tuple[CheckResult, writer.WritePlan]]) -> list[Diagnostic]:
    """Specs whose outputs land on the same file (or on names a case-insensitive file system
    takes for one): each run would overwrite the other's. Identical shared files
    (`python/pyproject.toml`) are fine; a manifest never is."""
    from flowgen_design.codegen import writer
    from flowgen_design.dsl import codes
    from flowgen_design.dsl.diagnostics import make

    found: list[Diagnostic] = []
    seen: dict[str, tuple[CheckResult, str, str]] = {}
    for r, p in planned:
        entries = {**p.manifest, str(writer.manifest_relpath(p.flow)): f"manifest of {r.path}"}
        for rel, digest in sorted(entries.items()):
            first = seen.setdefault(rel.casefold(), (r, rel, digest))
            if first[0] is r or (first[1:] == (rel, digest) and digest != writer.USER_OWNED):
                continue
            assert r.flow is not None and first[0].flow is not None
            found.append(
                make(
                    codes.OUTPUT_COLLISION,
                    f"flow `{r.flow.name}` and flow `{first[0].flow.name}` ({first[0].flow.span.file}) would both write `{rel}`",
                    r.flow.span,
                    "give one of the flows another name, or generate them into different --out folders",
                )
            )
            break
    return found


def _project_path(spec: Path, shown: str, root: Path) -> str:
    """The spec's path relative to the project root (the folder of pyproject.toml), so that
    generated headers do not change with the folder flowgen runs in; as shown otherwise."""
    try:
        return spec.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return shown


def _report_check(plans: list[writer.WritePlan]) -> int:
    stale = [(p, c) for p in plans for c in p.stale]
    for p, change in stale:
        print(f"stale: {p.out_dir / change.path} ({change.action}{': ' + change.detail if change.detail else ''})")
    for p in plans:
        _print_notices(p, "note")
    if stale:
        print(f"{len(stale)} file(s) out of date: run `flowgen generate`", file=sys.stderr)
        return EXIT_FAILED
    print("generated files are up to date")
    return EXIT_OK


def _write(plans: list[writer.WritePlan]) -> int:
    from flowgen_design.codegen import stamp, writer

    try:
        writer.apply_all(plans)  # every flow or none
    except (OSError, writer.UnsafePathError) as err:
        return fail(f"cannot write to {plans[0].out_dir}: {err}", EXIT_FAILED)
    counts: dict[str, int] = {}
    for p in plans:
        stamp.record(p)
        refused = {c.path for c in p.refused}
        for change in p.changes:
            if change.path in refused:
                continue
            counts[change.action] = counts.get(change.action, 0) + 1
            if change.action in ("create", "update", "delete", "merge"):
                print(
                    f"{change.action:>7} {p.out_dir / change.path}" + (f"  ({change.detail})" if change.detail else "")
                )
        _print_notices(p, "warning")
        for change in p.refused:
            print(f"conflict: {p.out_dir / change.path}: {change.detail}", file=sys.stderr)
    summary = ", ".join(f"{n} {a}" for a, n in sorted(counts.items()))
    print(f"done: {summary or 'nothing to do'}")
    return EXIT_FAILED if any(p.refused for p in plans) else EXIT_OK


def _print_notices(p: writer.WritePlan, label: str) -> None:
    """Conflicts and orphans, one line each; notes on a line of a file as `path:line: message`."""
    for change in p.notices:
        path = p.out_dir / change.path
        if change.detail and change.action in ("conflict", "orphan", "keep-user"):
            print(f"{label}: {path}: {change.detail}", file=sys.stderr)
        for note in change.notes:
            print(f"{label}: {path}:{note.line}: {note.message}", file=sys.stderr)
