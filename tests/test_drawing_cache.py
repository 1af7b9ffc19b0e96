"""Pictures drawn by `dot` are cached per user: an unchanged diagram is never redrawn, a changed one always is.

`dot` here is the real program behind a wrapper that counts its invocations.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import SKETCH, Runner, require_tool

pytestmark = pytest.mark.slow  # runs dot


@pytest.fixture
def dot_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A log with one line per `dot` run; PATH's `dot` is the real one, logging."""
    real = require_tool("dot")
    folder = tmp_path / "bin"
    folder.mkdir()
    log = tmp_path / "dot-calls.log"
    log.write_text("")
    wrapper = folder / "dot"
    wrapper.write_text(f'#!/bin/sh\necho run >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FLOWGEN_CACHE_DIR", str(tmp_path / "cache"))
    return log


def _review(flowgen: Runner, spec: Path, out: Path) -> str:
    result = flowgen("generate", str(spec), "--target", "review", "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    (page,) = (out / "review").iterdir()
    return page.read_text(encoding="utf-8")


def _runs(log: Path) -> int:
    return len(log.read_text().splitlines())


def test_unchanged_diagrams_come_from_the_cache(flowgen: Runner, tmp_path: Path, dot_calls: Path) -> None:
    first = _review(flowgen, SKETCH, tmp_path / "a")
    drawn = _runs(dot_calls)
    assert drawn > 0
    assert _review(flowgen, SKETCH, tmp_path / "b") == first
    assert _runs(dot_calls) == drawn


def test_a_changed_diagram_is_drawn_again(flowgen: Runner, tmp_path: Path, dot_calls: Path) -> None:
    _review(flowgen, SKETCH, tmp_path / "a")
    drawn = _runs(dot_calls)
    spec = tmp_path / "sketch.flow"
    spec.write_text(
        SKETCH.read_text().replace("service Shipping {", "service Delivery {").replace("Shipping.", "Delivery.")
    )
    page = _review(flowgen, spec, tmp_path / "b")
    assert "Delivery" in page
    assert _runs(dot_calls) > drawn


def test_an_unusable_cache_folder_changes_nothing(
    flowgen: Runner, tmp_path: Path, dot_calls: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _review(flowgen, SKETCH, tmp_path / "a")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("FLOWGEN_CACHE_DIR", str(blocker / "cache"))
    drawn = _runs(dot_calls)
    assert _review(flowgen, SKETCH, tmp_path / "b") == expected
    assert _runs(dot_calls) > drawn
