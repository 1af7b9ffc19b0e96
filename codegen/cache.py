"""A per-user cache of slow, pure transformations of text: `dot`'s drawings and black's formatting.

On a large spec these two are most of `flowgen generate`, and a run where the
spec did not change would redo identical work: redraw every diagram, reformat
every module. Each result depends only on its input text and the tool that
made it, so it is stored under a hash of both; the tool is identified by the
path, size and modification time of its program or package, which an upgrade
changes. Entries are written atomically, and each kind keeps its most recently
used entries up to a limit. Any problem with the cache means computing afresh:
the cache can make flowgen faster, never wrong or failing. Outputs still go
through the writer: this holds intermediate results only.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from flowgen_design.dsl.cache import cache_dir

DRAWINGS_KEPT = 256
FORMATTED_KEPT = 20_000


def cached_drawing(source: str, fmt: str, draw: Callable[[], bytes]) -> bytes:
    """`draw()`'s result for DOT `source` in `fmt`, from the cache when `dot` drew it before."""
    tool = file_identity(shutil.which("dot"))
    if tool is None:  # no `dot`: let `draw` report it
        return draw()
    return _cached("drawings", f"{tool}\0{fmt}", source, draw, DRAWINGS_KEPT)


def cached_black(source: str, mode: str, format_: Callable[[], str]) -> str:
    """`format_()`'s result for Python `source` in black `mode`, from the cache when black formatted it before.

    Black is identified without importing it, so a run that finds everything
    cached never loads black at all.
    """
    spec = importlib.util.find_spec("black")
    tool = file_identity(spec.origin if spec else None)
    if tool is None:
        return format_()
    return _cached("black", f"{tool}\0{mode}", source, lambda: format_().encode("utf-8"), FORMATTED_KEPT).decode(
        "utf-8"
    )


def file_identity(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        real = os.path.realpath(path)
        stat = os.stat(real)
    except OSError:
        return None
    return f"{real}\0{stat.st_size}\0{stat.st_mtime_ns}"


_pruned: set[str] = set()


def _cached(kind: str, tool: str, text: str, compute: Callable[[], bytes], kept: int) -> bytes:
    folder = cache_dir(kind)
    if folder is None:
        return compute()
    digest = hashlib.sha256(tool.encode("utf-8") + b"\0\0" + text.encode("utf-8")).hexdigest()
    entry = folder / digest[:2] / digest[2:]
    try:
        data = entry.read_bytes()
        os.utime(entry)
        return data
    except OSError:
        pass
    data = compute()
    store(entry, data)
    if kind not in _pruned:  # once per process, after its first new entry
        _pruned.add(kind)
        _prune(folder, kept)
    return data


def store(entry: Path, data: bytes) -> None:
    try:
        entry.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=entry.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, entry)
    except OSError:
        pass


def _prune(folder: Path, kept: int) -> None:
    """Keep the `kept` most recently used entries of one kind."""
    try:
        entries = sorted(
            (p for shard in folder.iterdir() if shard.is_dir() for p in shard.iterdir()),
            key=lambda p: p.stat().st_mtime_ns,
            reverse=True,
        )
        for old in entries[kept:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
