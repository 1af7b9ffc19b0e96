"""A per-user cache of pictures drawn by Graphviz's `dot`, so an unchanged diagram is never redrawn.

On a large spec, drawing the review page's diagrams is most of `flowgen
generate` (dot's layout grows faster than the graph), and a run where the spec
did not change would redraw identical pictures. A picture depends only on the
DOT text, the format and the `dot` program, so it is stored under a hash of
those three (the program by its path, size and modification time, which any
upgrade changes). Entries are written atomically and the folder keeps the
most recently used `MAX_ENTRIES`. Any problem with the cache means drawing
afresh: the cache can make flowgen faster, never wrong or failing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from dsl.cache import cache_dir

MAX_ENTRIES = 256


def cached_drawing(source: str, fmt: str, draw: Callable[[], bytes]) -> bytes:
    """`draw()`'s result for DOT `source` in `fmt`, from the cache when `dot` drew it before."""
    key = _key(source, fmt)
    folder = cache_dir("drawings") if key else None
    if folder is None:
        return draw()
    entry = folder / f"{key}.{fmt}"
    try:
        data = entry.read_bytes()
        os.utime(entry)
        return data
    except OSError:
        pass
    data = draw()
    _store(entry, data)
    _prune(folder)
    return data


def _key(source: str, fmt: str) -> str | None:
    program = shutil.which("dot")
    if program is None:
        return None
    try:
        real = os.path.realpath(program)
        stat = os.stat(real)
    except OSError:
        return None
    digest = hashlib.sha256(f"{real}\0{stat.st_size}\0{stat.st_mtime_ns}\0{fmt}\0".encode())
    digest.update(source.encode("utf-8"))
    return digest.hexdigest()


def _store(entry: Path, data: bytes) -> None:
    try:
        fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=entry.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, entry)
    except OSError:
        pass


def _prune(folder: Path) -> None:
    """Keep the `MAX_ENTRIES` most recently used entries."""
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in entries[MAX_ENTRIES:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
