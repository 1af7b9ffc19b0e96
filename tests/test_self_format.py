"""flowgen's own code is black-formatted (configuration in pyproject.toml), as the code it generates is."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # runs black over the repository


def test_flowgen_itself_is_black_clean() -> None:
    folders = ["flowgen_design", "tests", "benchmarks"]  # flowgen_design/ links to dsl/, codegen/, grammar/
    result = subprocess.run(
        [sys.executable, "-m", "black", "--check", *folders], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
