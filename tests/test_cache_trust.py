"""Cache entries are never trusted as they are (issue 11): a shared cache folder that someone
else can write must not change what flowgen generates, let alone run code."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowgen_design.codegen import cache

SOURCE = "x  =  1\n# a note\n"
FORMATTED = "x = 1\n# a note\n"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><g id="a"><text>A</text></g></svg>'


@pytest.fixture(autouse=True)
def cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FLOWGEN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _entries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")]


def _black(calls: list[str]) -> str:
    return cache.cached_black(SOURCE, "mode", lambda: calls.append("black") or FORMATTED)  # type: ignore[func-returns-value]


def _poison(entry: Path, content: bytes) -> None:
    """What an attacker with write access can do: any content, correctly sealed."""
    key = entry.parent.name + entry.name
    entry.write_bytes(cache._seal(key, content))


def test_black_entries_are_used_when_they_check_out(cache_folder: Path) -> None:
    calls: list[str] = []
    assert _black(calls) == FORMATTED and _black(calls) == FORMATTED
    assert calls == ["black"]


@pytest.mark.parametrize(
    "hostile",
    [
        b"x = 1\n# a note\nimport os\nos.system('touch PWNED')\n",
        b"# coding: utf-7\nx = 1\n# a note\n",
        b"x = 2\n# a note\n",
        b"x = (\n",
    ],
    ids=["added-code", "coding-cookie", "changed-value", "not-python"],
)
def test_a_poisoned_black_entry_is_recomputed(cache_folder: Path, hostile: bytes) -> None:
    calls: list[str] = []
    _black(calls)
    (entry,) = _entries(cache_folder / "black")
    _poison(entry, hostile)
    assert _black(calls) == FORMATTED and calls == ["black", "black"]


@pytest.mark.parametrize("damage", ["truncate", "flip", "unsealed", "moved"])
def test_a_damaged_entry_is_a_miss(cache_folder: Path, damage: str) -> None:
    calls: list[str] = []
    _black(calls)
    (entry,) = _entries(cache_folder / "black")
    data = entry.read_bytes()
    if damage == "truncate":
        entry.write_bytes(data[:-3])
    elif damage == "flip":
        entry.write_bytes(data[:-2] + b"2\n")
    elif damage == "unsealed":
        entry.write_bytes(FORMATTED.encode())
    else:  # a valid entry of another key, copied over this one
        other = cache._seal("0" * 64, FORMATTED.encode())
        entry.write_bytes(other)
    assert _black(calls) == FORMATTED and calls == ["black", "black"]


@pytest.mark.parametrize(
    "hostile",
    [
        SVG.replace(b"<g ", b"<script>alert(1)</script><g "),
        SVG.replace(b'<g id="a">', b'<g id="a" onload="alert(1)">'),
        SVG.replace(b"<text>A</text>", b'<a href="https://evil.example/">A</a>'),
        SVG.replace(b"<g ", b"<foreignObject><p>x</p></foreignObject><g "),
        b'<!DOCTYPE svg [<!ENTITY a "aaaa">]>' + SVG,
        b"not xml",
        SVG.replace(b'<g id="a">', b'<g id="a"\tONMouseOver\n=\n"alert(1)">'),
        SVG.replace(b"<text>A</text>", b"<a href='//evil.example/'>A</a>"),
        SVG.replace(b"<g ", b'<?x > <g onload="alert(1)"> ?><g '),  # HTML ends the instruction at the first `>`
        SVG.replace(b"<svg ", b"<html ").replace(b"</svg>", b"</html>"),
        SVG.replace(b"</g>", b"</g></svg><svg>"),
    ],
    ids=[
        "script",
        "handler",
        "link-out",
        "foreign-object",
        "entity",
        "not-xml",
        "handler-spaced",
        "link-single-quoted",
        "handler-in-an-instruction",
        "not-svg",
        "two-roots",
    ],
)
def test_a_poisoned_drawing_is_redrawn(cache_folder: Path, hostile: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "file_identity", lambda path: "dot-identity")
    calls: list[str] = []

    def draw() -> bytes:
        calls.append("dot")
        return SVG

    assert cache.cached_drawing("digraph {}", "svg", draw) == SVG
    assert cache.cached_drawing("digraph {}", "svg", draw) == SVG and calls == ["dot"]
    (entry,) = _entries(cache_folder / "drawings")
    _poison(entry, hostile)
    assert cache.cached_drawing("digraph {}", "svg", draw) == SVG and calls == ["dot", "dot"]


def test_a_png_entry_must_be_a_png(cache_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "file_identity", lambda path: "dot-identity")
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
    calls: list[str] = []
    assert cache.cached_drawing("digraph {}", "png", lambda: calls.append("dot") or png) == png  # type: ignore[func-returns-value]
    (entry,) = _entries(cache_folder / "drawings")
    _poison(entry, b"<svg/>")
    assert cache.cached_drawing("digraph {}", "png", lambda: calls.append("dot") or png) == png  # type: ignore[func-returns-value]
    assert calls == ["dot", "dot"]
