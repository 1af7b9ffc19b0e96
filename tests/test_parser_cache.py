"""The grammar is never loaded from the cache folder: a poisoned shared cache runs nothing on `flowgen check`.

flowgen once kept lark's compiled grammar (a pickle, checked by a header line
read after the pickle was loaded) in FLOWGEN_CACHE_DIR, which CI systems share
between runs. Whatever that folder holds now, `check` neither reads nor writes
a grammar there.
"""

from __future__ import annotations

import hashlib
import pickle
import sys
from pathlib import Path

import lark

from flowgen_design.grammar import grammar_text
from tests.conftest import SKETCH, Runner


class _RunsCode:
    """Unpickling this writes `marker`: what a poisoned cache entry would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


def _poison(path: Path, marker: Path) -> None:
    """A file in lark's cache format (a header line, then pickles) whose first pickle runs code."""
    path.write_bytes(b"0" * 64 + b"\n" + pickle.dumps(_RunsCode(marker)) + pickle.dumps(_RunsCode(marker)))


def _legacy_name() -> str:
    """The name under which flowgen looked for the grammar before it stopped caching it there."""
    key = f"{grammar_text()}\0{lark.__version__}\0{sys.version_info[:2]}"
    return f"flow-grammar-{hashlib.sha256(key.encode()).hexdigest()[:20]}.lark"


def _check(flowgen: Runner, cache: Path) -> tuple[int, str, str]:
    result = flowgen("check", str(SKETCH), env={"FLOWGEN_CACHE_DIR": str(cache)})
    return result.returncode, result.stdout, result.stderr


def test_check_keeps_no_grammar_in_the_cache_folder(flowgen: Runner, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = _check(flowgen, cache)
    assert first[0] == 0 and first[2] == ""
    assert not cache.exists() or not list(cache.rglob("*"))


def test_a_poisoned_cache_is_never_executed(flowgen: Runner, tmp_path: Path) -> None:
    cache, marker = tmp_path / "cache", tmp_path / "pwned"
    expected = _check(flowgen, tmp_path / "clean-cache")
    cache.mkdir()
    for name in (_legacy_name(), "flow-grammar.lark", "grammar.json", "flow-grammar.pickle"):
        _poison(cache / name, marker)
    assert _check(flowgen, cache) == expected
    assert not marker.exists(), "a cache entry ran code"


def test_the_poison_runs_code_when_unpickled(tmp_path: Path) -> None:
    """The test above proves something: its entries do run code when loaded as lark loaded them."""
    marker = tmp_path / "pwned"
    _poison(tmp_path / "entry", marker)
    with open(tmp_path / "entry", "rb") as entry:
        entry.readline()
        pickle.load(entry)  # deliberately: this is the attack
    assert marker.read_text() == "pwned"


def test_an_unusable_cache_folder_is_ignored(flowgen: Runner, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    expected = _check(flowgen, tmp_path / "cache")
    assert _check(flowgen, blocker / "cache") == expected
