"""The user's own deployment files next to the template: where they are, reading them, and
reporting their mistakes as located diagnostics.

`infra/<flow>/deploy.toml` (settings per service and handler, `deploy.py`) and
`infra/<flow>/overrides.json` (extra resources, `overrides.py`) are created once by the
`cloudformation` target, with a starter content, and never overwritten: the writer keeps
user-owned files. The target reads them from the output folder on every run (the inputs
stamp covers the user's files, so editing one makes the next `generate` rebuild the
template). Their mistakes are `Diagnostic`s with the file and line, rendered like a spec's;
`generate` prints them and writes nothing (`UserFileError`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from flowgen_design.codegen import ondisk
from flowgen_design.codegen.targets import TargetError
from flowgen_design.dsl.codes import ErrorCode
from flowgen_design.dsl.diagnostics import Diagnostic, make, render_text
from flowgen_design.dsl.model import Flow
from flowgen_design.dsl.source import Span, source_lines

if TYPE_CHECKING:
    from pydantic import ValidationError

Position = tuple[int, int]
"""A 1-based (line, column) in a user's file."""
SETTINGS_NAME = "deploy.toml"
OVERRIDES_NAME = "overrides.json"


def settings_path(flow: Flow) -> PurePosixPath:
    return PurePosixPath("infra") / flow.name / SETTINGS_NAME


def overrides_path(flow: Flow) -> PurePosixPath:
    return PurePosixPath("infra") / flow.name / OVERRIDES_NAME


class UserFileError(TargetError):
    """The user's deployment files have mistakes: every one, located, rendered like a compiler's."""

    def __init__(self, diagnostics: Sequence[Diagnostic], sources: dict[str, str]) -> None:
        self.diagnostics = tuple(diagnostics)
        self.sources = sources
        super().__init__(render_text(self.diagnostics, sources).rstrip("\n"))


@dataclass
class UserFile:
    """One user-owned file as read from the output folder (absent: `text` is None)."""

    display: str
    """How diagnostics name it: the output folder joined with its path."""
    text: str | None
    problems: list[Diagnostic] = field(default_factory=list)

    @classmethod
    def read(cls, out_dir: Path, rel: PurePosixPath) -> UserFile:
        path = out_dir / rel
        display = _shown(path)
        try:  # as `read_text` reads it (newlines made `\n`), but never waiting on a named pipe
            text = ondisk.read_regular(path).decode("utf-8")
            return cls(display, text.replace("\r\n", "\n").replace("\r", "\n"))
        except FileNotFoundError:
            return cls(display, None)
        except (OSError, UnicodeDecodeError) as err:
            found = cls(display, "")
            found.problems.append(make_unreadable(display, err))
            return found

    def span(self, at: Position = (1, 1)) -> Span:
        """From `at` to the end of its line (a key and the value after it)."""
        lines = source_lines(self.text or "")
        line = min(max(1, at[0]), max(1, len(lines)))
        width = len(lines[line - 1]) if lines else 0
        column = min(max(1, at[1]), width + 1)
        return Span(self.display, line, column, line, max(column + 1, width + 1))

    def report(self, code: ErrorCode, message: str, at: Position = (1, 1), hint: str | None = None) -> None:
        found = make(code, message, self.span(at), hint)
        if found not in self.problems:  # one setting shared by many functions is one mistake
            self.problems.append(found)

    def _position(self, offset: int) -> Position:
        text = self.text or ""
        return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1

    def locate(self, path: Sequence[str | int]) -> Position:
        """Where the value at `path` (keys of nested tables or objects) is written, as near as the
        text tells: each key is looked for after the previous one, quoted or bare."""
        text, offset = self.text or "", 0
        for key in path:
            if not isinstance(key, str):
                continue
            quoted, bare = '"' + re.escape(key) + '"', r"(?<![\w-])" + re.escape(key) + r"(?![\w-])"
            found = re.compile(f"(?:{quoted}|{bare})" + r"\s*[=:\].]").search(text, offset)
            if found is not None:
                offset = found.start()
        return self._position(offset)

    def locate_word(self, name: str) -> Position:
        """The first place `name` is written (a variable, a resource a setting refers to)."""
        found = re.search(r"(?<![\w-])" + re.escape(name) + r"(?![\w-])", self.text or "")
        return self._position(found.start()) if found else (1, 1)

    def validation_problems(self, code: ErrorCode, err: ValidationError, data: object) -> None:
        """One diagnostic per place pydantic found wrong; of a union's alternatives, the one
        with flowgen's own message (a `ValueError`), else the first."""
        chosen: dict[tuple[str | int, ...], str] = {}
        for e in sorted(err.errors(), key=lambda e: e["type"] != "value_error"):
            chosen.setdefault(_in_data(e["loc"], data), e["msg"].removeprefix("Value error, "))
        for loc, message in sorted(chosen.items(), key=lambda item: self.locate(item[0])):
            where = ".".join(f'"{k}"' if isinstance(k, str) and "." in k else str(k) for k in loc) or "the file"
            self.report(code, f"{where}: {message}", self.locate(loc))


def _in_data(loc: tuple[str | int, ...], data: object) -> tuple[str | int, ...]:
    """The keys of `loc` a user can find in the file: pydantic adds the alternatives of a union
    (`constrained-str`, `dict[str,any]`) that nobody wrote. A key that is missing or unknown is
    kept (and ends the path): the message is about it."""
    kept: list[str | int] = []
    for key in loc:
        inside = isinstance(data, dict) and key in data
        inside = inside or (isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data))
        if inside:
            data = data[key]  # type: ignore[index]
        elif isinstance(key, str) and not _union_alternative(key):
            kept.append(key)
            break
        else:
            continue
        kept.append(key)
    return tuple(kept)


def _union_alternative(key: str) -> bool:
    return key in ("str", "int", "float", "bool", "dict", "list") or any(c in key for c in "[-")


def _shown(path: Path) -> str:
    """How to name a file in diagnostics and metadata: relative to the working folder when it is
    inside it (as the spec paths are), so a template does not name the machine it was made on."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return path.as_posix()


def make_unreadable(display: str, err: Exception) -> Diagnostic:
    from flowgen_design.dsl import codes

    reason = err.strerror if isinstance(err, OSError) and err.strerror else "not UTF-8 text"
    return make(codes.DEPLOY_SETTINGS_INVALID, f"cannot read {display}: {reason}", Span(display, 1, 1, 1, 2))


def raise_problems(files: Sequence[UserFile]) -> None:
    problems = [d for f in files for d in f.problems]
    if problems:
        raise UserFileError(problems, {f.display: f.text or "" for f in files})
