"""Helpers for the Python target's tests: generate in-process, write trees, run mypy."""

from __future__ import annotations

import contextlib
import importlib
import os
import subprocess
import sys
from collections.abc import Callable, Collection, Generator, Iterator
from pathlib import Path
from typing import Any

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


def generate_with_services(spec: Path, out: Path, package: str, services: dict[str, str]) -> Path:
    """`flowgen generate -t python -t lambda` for `spec` into `out`, with the test's own service
    modules in place of the stubs; the folder to put on `sys.path`."""
    from tests.conftest import run_flowgen

    result = run_flowgen(
        "generate", str(spec.relative_to(ROOT)), "--out", str(out), "-t", "python", "-t", "lambda", cwd=ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for module, source in services.items():
        (out / "python" / package / "services" / f"{module}.py").write_text(source.lstrip(), encoding="utf-8")
    return out / "python"


def importing_from(folder: Path, packages: Collection[str]) -> Generator[Callable[[str], Any], None, None]:
    """`importlib.import_module` with `folder` on the path and `packages` (top-level names) imported
    afresh, then forgotten. For a fixture: `yield from importing_from(...)`."""

    def forget() -> None:
        for name in [m for m in sys.modules if m.split(".")[0] in packages]:
            del sys.modules[name]

    forget()
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module
    finally:
        sys.path.remove(str(folder))
        forget()


def fresh_import(package_dir: Path, package: str) -> Iterator[Callable[[str], Any]]:
    """Import the generated package's modules afresh (their cold-start state is per test), and forget
    them afterwards: yields `module name -> module`. For a fixture: `yield from fresh_import(...)`."""
    loads = importing_from(package_dir, {package})
    load = next(loads)
    try:
        yield lambda module: load(f"{package}.{module}")
    finally:
        loads.close()
