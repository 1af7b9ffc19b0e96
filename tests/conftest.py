"""Shared test helpers: run the real `flowgen` command, locate specs and tools."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
SKETCH = Path(__file__).resolve().parent / "sketch_example.flow"

# A test run keeps its caches (black's formatting, dot's drawings, the run stamps) to itself:
# never the user's ~/.cache/flowgen, which another checkout or version of flowgen may share.
# Subprocesses inherit it through the environment; tests about the cache set their own.
os.environ["FLOWGEN_CACHE_DIR"] = _TEST_CACHE = tempfile.mkdtemp(prefix="flowgen-test-cache-")
atexit.register(shutil.rmtree, _TEST_CACHE, ignore_errors=True)


def example_specs() -> list[Path]:
    """Every spec in specs/ (the bundled examples the suite holds to the highest bar)."""
    return sorted(SPECS.rglob("*.flow"))


def require_tool(name: str) -> str:
    """The path of an external tool; a missing tool fails the test, never skips it."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"required tool `{name}` is not installed; run scripts/test, which installs it")
    return path


def node_tools() -> Path:
    folder = Path(os.environ.get("FLOWGEN_NODE_TOOLS", ROOT / "tools" / "node"))
    if not (folder / "node_modules").is_dir():
        pytest.fail(f"{folder}/node_modules is missing; run scripts/test, which runs `npm ci` there")
    return folder


Runner = Callable[..., subprocess.CompletedProcess[str]]


def run_flowgen(
    *args: str, cwd: Path | None = None, input: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `flowgen ARGS...` as a user would, in a subprocess (`env` adds variables)."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "flowgen_design", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        input=input,
        timeout=300,
    )


@pytest.fixture
def flowgen() -> Runner:
    """Run `flowgen ARGS...` as a user would, in a subprocess, returning the completed process."""
    return run_flowgen


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", help="rewrite golden output folders from the current generators"
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
