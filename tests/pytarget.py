"""Helpers for the Python target's tests: generate in-process, write trees, run mypy."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flowgen_design.codegen.files import GeneratedFile
from flowgen_design.codegen.options import GenerateOptions
from flowgen_design.dsl.compiler import check_file
from tests.conftest import ROOT, SKETCH, example_specs

EDGES = ROOT / "tests" / "specs" / "python_edges.flow"


def python_specs() -> list[Path]:
    """Every spec the Python target must handle perfectly: the examples, the sketch, the edge cases."""
    return [*example_specs(), SKETCH, EDGES]


def spec_id(spec: Path) -> str:
    return spec.stem


def build_python(spec: Path) -> list[GeneratedFile]:
    """The python target's files for `spec`, named relative to the repository like a user would."""
    from flowgen_design.codegen.targets import all_targets

    with contextlib.chdir(ROOT):
        result = check_file(spec.relative_to(ROOT))
    errors = [d for d in result.diagnostics if d.is_error]
    assert result.flow is not None and not errors, errors
    return all_targets()["python"].build(result.flow, GenerateOptions(out_dir=Path("out")))


def write_tree(files: list[GeneratedFile], root: Path) -> None:
    for f in files:
        dest = root / f.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(f.content.encode("utf-8"))


def tree(root: Path) -> dict[str, bytes]:
    """Every file below `root` (no caches), by POSIX relative path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and ".mypy_cache" not in p.parts
    }


def run_mypy(folder: Path, *paths: str) -> subprocess.CompletedProcess[str]:
    """The real mypy, `--strict`, on `paths` inside `folder` (the generated `python/` folder)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MYPYPATH", "PYTHONPATH")}
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", os.devnull, *(paths or (".",))],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def require_module(name: str) -> None:
    """A Python tool the tests run must be installed; missing fails, never skips."""
    import importlib.util

    if importlib.util.find_spec(name) is None:
        pytest.fail(f"`{name}` is not installed; run scripts/test, which installs the test extras")
