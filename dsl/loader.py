"""Reading spec files and following their imports.

Every problem here (a missing file, binary junk, an import cycle) is a
diagnostic with a location; nothing raises for user mistakes.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from flowgen_design.dsl import ast, codes
from flowgen_design.dsl.diagnostics import Reporter
from flowgen_design.dsl.parser import parse
from flowgen_design.dsl.source import Span

MAX_FILE_BYTES = 8 * 1024 * 1024


@dataclass
class LoadResult:
    """The modules of one spec, imports first, and the text of every file read."""

    root: ast.Module | None
    modules: list[ast.Module] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)


def display_path(path: Path) -> str:
    """Paths in diagnostics are relative to the working directory when that is shorter."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return rel if not rel.startswith("../..") else str(path)


def file_span(path: str) -> Span:
    return Span(file=path, line=1, column=1, end_line=1, end_column=1)


def read_source(path: Path, shown: str, reporter: Reporter, at: Span | None = None) -> str | None:
    """Read a file as UTF-8 text, or report why it cannot be and return None."""
    where = at or file_span(shown)
    try:
        data = _read_at_most(path, MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        reporter.add(codes.UNREADABLE_FILE, f"no such file: {shown}", where)
        return None
    except IsADirectoryError:
        reporter.add(codes.UNREADABLE_FILE, f"{shown} is a folder, not a spec file", where)
        return None
    except OSError as err:
        reporter.add(codes.UNREADABLE_FILE, f"cannot read {shown}: {err.strerror or err}", where)
        return None
    if len(data) > MAX_FILE_BYTES:
        size = _size(path, len(data))
        reporter.add(
            codes.FILE_TOO_LARGE,
            f"{shown} is {size // 1024} KiB; flowgen reads spec files up to {MAX_FILE_BYTES // 1024 // 1024} MiB",
            where,
            "split the spec into files that `import` each other",
        )
        return None
    return _decode(data, shown, reporter)


def _read_at_most(path: Path, limit: int) -> bytes:
    """At most `limit` bytes of a file: a 4 GB (or endless, or sparse) file costs no more memory than the limit.

    A named pipe is refused before it is opened: opening one waits for a writer, for ever.
    """
    if stat.S_ISFIFO(path.stat().st_mode):
        raise OSError(errno.EINVAL, "a named pipe, not a spec file")
    with path.open("rb") as handle:
        return handle.read(limit)


def _size(path: Path, at_least: int) -> int:
    try:
        return max(path.stat().st_size, at_least)
    except OSError:
        return at_least


def _decode(data: bytes, shown: str, reporter: Reporter) -> str | None:
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        reporter.add(
            codes.NOT_TEXT,
            f"{shown} contains binary data (a NUL byte)",
            _line_span(shown, line),
            "a spec is a UTF-8 text file",
        )
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        span = Span(file=shown, line=line, column=column, end_line=line, end_column=column + 1)
        reporter.add(
            codes.NOT_TEXT, f"{shown} is not valid UTF-8 (byte 0x{data[err.start]:02x})", span, "save the file as UTF-8"
        )
        return None
    return text.removeprefix("\ufeff")


def _line_span(shown: str, line: int) -> Span:
    return Span(file=shown, line=line, column=1, end_line=line, end_column=2)


def load(path: Path, reporter: Reporter) -> LoadResult:
    """Parse `path` and, depth first, every file it imports.

    The walk keeps its own stack rather than recursing, so a long chain of
    imports cannot exhaust Python's; the stack is also the chain that an import
    cycle is reported with.
    """
    result = LoadResult(root=None)
    done: dict[Path, ast.Module | None] = {}
    try:
        root = path.resolve()
    except (OSError, RuntimeError) as err:  # a loop of links
        reporter.add(
            codes.UNREADABLE_FILE, f"cannot read {display_path(path)}: {_why(err)}", file_span(display_path(path))
        )
        return result
    project = project_root(root)
    result.root = _parse_file(root, display_path(path), None, reporter, result, done)
    if result.root is None:
        return result
    stack: list[tuple[Path, ast.Module, Iterator[ast.ImportDecl]]] = [(root, result.root, iter(result.root.imports))]
    while stack:
        here, module, imports = stack[-1]
        imp = next(imports, None)
        if imp is None:
            stack.pop()
            result.modules.append(module)
            continue
        child = _follow(here, imp, project, [p for p, _, _ in stack], reporter, result, done)
        if child is not None:
            stack.append((child[0], child[1], iter(child[1].imports)))
    return result


def project_root(spec: Path) -> Path:
    """The folder a spec's imports must stay inside: the nearest one at or above the spec
    that holds a `pyproject.toml` (where `[tool.flowgen]` lives), else the spec's own folder.

    An import that leads anywhere else (`/etc/passwd`, `../../x`, a link pointing out) is
    a diagnostic, and the file is never opened: its text can never reach a CI log.
    """
    for folder in spec.parents:
        try:
            if (folder / "pyproject.toml").is_file():
                return folder
        except OSError:
            continue
    return spec.parent


def _why(err: Exception) -> str:
    return (err.strerror if isinstance(err, OSError) else None) or "a loop of symbolic links"


def _follow(
    here: Path,
    imp: ast.ImportDecl,
    project: Path,
    loading: list[Path],
    reporter: Reporter,
    result: LoadResult,
    done: dict[Path, ast.Module | None],
) -> tuple[Path, ast.Module] | None:
    """The module `imp` brings in, if it is new and parses; report cycles and missing files."""
    try:
        target = (here.parent / imp.path).resolve()
        inside = target == project or project in target.parents
        is_file = inside and target.is_file()
    except (OSError, RuntimeError, ValueError) as err:  # a name too long, a loop of links, a NUL
        reporter.add(codes.UNREADABLE_FILE, f'cannot import "{imp.path}": {_why(err)}', imp.path_span)
        return None
    if not inside:
        reporter.add(
            codes.IMPORT_OUTSIDE_PROJECT,
            f'cannot import "{imp.path}": it is outside the project folder {display_path(project)}',
            imp.path_span,
            "imports stay inside the folder of the nearest pyproject.toml (else the spec's own folder)",
        )
        return None
    if target in loading:
        chain = " -> ".join(display_path(p) for p in loading[loading.index(target) :] + [target])
        reporter.add(
            codes.IMPORT_CYCLE,
            f"import cycle: {chain}",
            imp.span,
            "move the shared declarations into a file that both import",
        )
        return None
    if target in done:
        return None
    if not is_file:
        hint = "import paths are relative to the importing file"
        missing = (
            f"{display_path(target)} is a folder, not a spec file"
            if target.is_dir()
            else f"no such file {display_path(target)}"
        )
        reporter.add(codes.IMPORT_NOT_FOUND, f'cannot import "{imp.path}": {missing}', imp.path_span, hint)
        return None
    module = _parse_file(target, display_path(target), imp.path_span, reporter, result, done)
    return (target, module) if module is not None else None


def _parse_file(
    path: Path, shown: str, at: Span | None, reporter: Reporter, result: LoadResult, done: dict[Path, ast.Module | None]
) -> ast.Module | None:
    text = read_source(path, shown, reporter, at)
    module = None
    if text is not None:
        result.sources[shown] = text
        module = parse(text, shown, reporter)
    done[path] = module
    return module
