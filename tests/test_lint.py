"""ruff finds nothing: in flowgen's own code (configuration in pyproject.toml), and in the
Python that flowgen generates from the bundled specs (handler interfaces, models, Lambda
adapters and the service stubs the user starts from: no unused imports, sorted imports)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SPECS, run_flowgen

pytestmark = pytest.mark.slow  # runs ruff over the repository and the generated code

# The rules flowgen holds itself to, applied to the code it generates; black's line length for
# generated code is its default, and long lines there are docstrings and messages, as at home.
GENERATED_RULES = ["--select", "E,F,W,I,B,UP,SIM,RUF", "--ignore", "E501,RUF005,UP042", "--target-version", "py311"]


def ruff(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_flowgen_itself_is_ruff_clean() -> None:
    result = ruff(".", cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_python_is_ruff_clean(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run_flowgen("generate", str(SPECS), "--out", str(out), "--target", "python", "--target", "lambda")
    assert done.returncode == 0, done.stdout + done.stderr
    package_root = out / "python"  # holds the generated pyproject.toml: ruff finds the flow packages first-party
    assert sorted(package_root.rglob("*.py"))
    result = ruff("--isolated", *GENERATED_RULES, ".", cwd=package_root)
    assert result.returncode == 0, result.stdout + result.stderr
