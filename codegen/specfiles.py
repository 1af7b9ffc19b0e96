"""Finding spec files from command-line paths and `[tool.flowgen]` configuration."""

from __future__ import annotations

import sys
from dataclasses import field
from pathlib import Path
from typing import Any

from flowgen_design.dsl.frozen import frozen


class InputError(Exception):
    """A path on the command line or in configuration cannot be used (exit code 2)."""


def find_specs(paths: list[str]) -> list[Path]:
    """Files as given, and every `*.flow` below each folder, sorted; no duplicates."""
    found: dict[Path, None] = {}
    for raw in paths:
        path = Path(raw)
        try:
            path.stat()
        except FileNotFoundError:
            raise InputError(f"no such file or folder: {raw}") from None
        except OSError as err:
            raise InputError(f"cannot read {raw}: {err.strerror or err}") from None
        if path.is_dir():
            for spec in sorted(path.rglob("*.flow")):
                if spec.is_file() and not any(part.startswith(".") for part in spec.relative_to(path).parts):
                    found.setdefault(spec, None)
        elif path.is_file():
            found.setdefault(path, None)
        elif path.exists():
            raise InputError(f"{raw} is neither a file nor a folder")
        else:
            raise InputError(f"no such file or folder: {raw}")
    return list(found)


def specs_or_error(paths: list[str], config: ProjectConfig | None = None) -> list[Path] | str:
    """The specs named on the command line, else in `[tool.flowgen] specs` (of `config`, read when
    not given), else below the working folder; or the one-line reason there are none."""
    try:
        specs = find_specs(paths or list((config or load_config()).specs) or ["."])
    except InputError as err:
        return str(err)
    return specs or "no .flow files found"


@frozen(kw_only=False, slots=False)
class ProjectConfig:
    """`[tool.flowgen]` of the nearest pyproject.toml: specs, out, targets, and the diagnostic codes
    it ignores or makes errors (checked against the registry by `dsl.selection.build`)."""

    specs: tuple[str, ...] = ()
    out: str | None = None
    targets: tuple[str, ...] = ()
    root: Path = field(default_factory=Path.cwd)
    ignore: tuple[str, ...] = ()
    error: tuple[str, ...] = ()
    path: Path | None = None


def load_config(start: Path | None = None) -> ProjectConfig:
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return _parse_config(candidate)
    return ProjectConfig()


def _parse_config(path: Path) -> ProjectConfig:
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise InputError(f"cannot read {path}: {err}") from err
    section: Any = data.get("tool", {}).get("flowgen", {})
    if not isinstance(section, dict):
        raise InputError(f"{path}: [tool.flowgen] must be a table")
    specs = _strings(section.get("specs", []), path, "specs")
    targets = _strings(section.get("targets", []), path, "targets")
    out = section.get("out")
    if out is not None and not isinstance(out, str):
        raise InputError(f"{path}: [tool.flowgen] out must be a string")
    root = path.parent

    def rel(p: str) -> str:
        """Paths in pyproject.toml are relative to the folder that holds it."""
        return p if Path(p).is_absolute() else str(root / p)

    return ProjectConfig(
        specs=tuple(rel(s) for s in specs),
        out=rel(out) if out else None,
        targets=targets,
        root=root,
        ignore=_strings(section.get("ignore", []), path, "ignore"),
        error=_strings(section.get("error", []), path, "error"),
        path=path,
    )


def _strings(value: Any, path: Path, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{path}: [tool.flowgen] {key} must be a list of strings")
    return tuple(value)


def project_inputs(paths: list[str], out: str | None, folder: str) -> tuple[ProjectConfig, list[Path], Path] | str:
    """The project configuration, the specs (`paths`, else `[tool.flowgen] specs`) and the generated
    folder (`out`, else `[tool.flowgen] out`), or the one-line reason one of them is missing.
    `folder` names the folder in that reason (`output folder`, `generated folder`)."""
    try:
        config = load_config()
        specs = find_specs(paths or list(config.specs))
    except InputError as err:
        return str(err)
    chosen = out or config.out
    if not specs:
        return "no specs given: name spec files or folders, or set [tool.flowgen] specs in pyproject.toml"
    if not chosen:
        return f"no {folder}: use --out DIR, or set [tool.flowgen] out in pyproject.toml"
    return config, specs, Path(chosen)


def use_color(stream: Any = None) -> bool:
    import os

    stream = stream or sys.stdout
    return hasattr(stream, "isatty") and stream.isatty() and "NO_COLOR" not in os.environ
