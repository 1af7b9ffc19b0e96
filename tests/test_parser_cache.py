"""The compiled grammar is cached per user; a broken or unusable cache never breaks `check`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SKETCH, Runner


def _check(flowgen: Runner, monkeypatch: pytest.MonkeyPatch, cache: Path) -> tuple[int, str, str]:
    monkeypatch.setenv("FLOWGEN_CACHE_DIR", str(cache))
    result = flowgen("check", str(SKETCH))
    return result.returncode, result.stdout, result.stderr


def test_first_run_writes_the_cache_and_later_runs_read_it(
    flowgen: Runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    first = _check(flowgen, monkeypatch, cache)
    assert first[0] == 0 and first[2] == ""
    (cached,) = cache.iterdir()
    stamp = cached.stat().st_mtime_ns
    assert _check(flowgen, monkeypatch, cache) == first
    assert cached.stat().st_mtime_ns == stamp, "a valid cache is read, not rewritten"


def test_a_corrupt_cache_is_rebuilt(flowgen: Runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    expected = _check(flowgen, monkeypatch, cache)
    (cached,) = cache.iterdir()
    truncated = cached.read_bytes()[:2000]
    cached.write_bytes(truncated)
    assert _check(flowgen, monkeypatch, cache) == expected
    assert cached.read_bytes() != truncated
    stamp = cached.stat().st_mtime_ns
    assert _check(flowgen, monkeypatch, cache) == expected
    assert cached.stat().st_mtime_ns == stamp, "the rebuilt cache is valid again"


def test_an_unusable_cache_folder_is_ignored(flowgen: Runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    expected = _check(flowgen, monkeypatch, tmp_path / "cache")
    assert _check(flowgen, monkeypatch, blocker / "cache") == expected


PARSER_CLASSES = (
    "from flowgen_design.dsl.parser import _get_parser; p = _get_parser(); "
    "print(type(p.parser.parser).__name__, type(p.parser.parser.parser).__name__, type(p.parser.lexer).__name__)"
)


def test_flowgens_lexer_and_parser_loop_are_used_with_and_without_the_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FLOWGEN_CACHE_DIR", str(tmp_path / "cache"))
    runs = [subprocess.run([sys.executable, "-c", PARSER_CLASSES], capture_output=True, text=True) for _ in range(2)]
    assert [r.stdout.split() for r in runs] == [["FastLALRParser", "_FastParser", "FastContextualLexer"]] * 2
    assert len(list((tmp_path / "cache").iterdir())) == 1, "the second run read the cache the first one wrote"
