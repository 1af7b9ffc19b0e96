"""black's output is cached per user: regenerating unchanged Python formats nothing, and changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SKETCH

pytestmark = pytest.mark.slow  # runs the flowgen command in subprocesses


def _generate(out: Path, cache: Path) -> tuple[set[str], dict[str, str]]:
    """Generate the Python target; return the top-level packages imported and every output file."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "FLOWGEN_CACHE_DIR": str(cache)}
    cmd = [
        sys.executable,
        "-X",
        "importtime",
        "-m",
        "flowgen_design",
        "generate",
        str(SKETCH),
        "--target",
        "python",
        "--out",
        str(out),
    ]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    files = {str(p.relative_to(out)): p.read_text() for p in sorted(out.rglob("*.py"))}
    return imported, files


def test_unchanged_modules_are_not_formatted_again(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    imported, first = _generate(tmp_path / "a", cache)
    assert "black" in imported and first
    imported, again = _generate(tmp_path / "b", cache)
    assert "black" not in imported
    assert again == first


@pytest.mark.parametrize("cache_state", ["unusable", "fresh"])
def test_cached_output_is_what_black_makes(tmp_path: Path, cache_state: str) -> None:
    cache = tmp_path / "cache"
    _generate(tmp_path / "warm-up", cache)
    _, cached = _generate(tmp_path / "a", cache)
    if cache_state == "unusable":
        blocker = tmp_path / "a-file"
        blocker.write_text("")
        other = blocker / "cache"
    else:
        other = tmp_path / "fresh-cache"
    imported, direct = _generate(tmp_path / "b", other)
    assert "black" in imported
    assert direct == cached
