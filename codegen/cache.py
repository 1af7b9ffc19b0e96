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

A cache folder may be shared (a CI cache step restores it from somewhere), so no
entry is trusted as it is. Each one carries the digest of its key and content,
so a damaged, truncated or moved entry is a miss; and each is checked for what it
claims to be before it is used: black's output must parse to the same syntax tree,
with the same comments, as the source it was asked to format (black's own safety
check), so an entry cannot add code; a drawing must be a PNG, or an SVG with
nothing that runs or loads. Nothing from the cache is ever executed or unpickled.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import io
import os
import re
import shutil
import tempfile
import tokenize
from collections.abc import Callable
from pathlib import Path

from flowgen_design.codegen import ondisk
from flowgen_design.codegen.straight import straight
from flowgen_design.dsl.cache import cache_dir

DRAWINGS_KEPT = 2_048
"""Drawings kept: a large view is drawn in parts (one per connected part, `Diagram.parts`), so
a large spec's views are hundreds of drawings (the benchmark's: 141), all wanted again after
an edit; a few megabytes of SVG in all."""
FORMATTED_KEPT = 20_000


def cached_drawing(source: str, fmt: str, draw: Callable[[], bytes]) -> bytes:
    """`draw()`'s result for DOT `source` in `fmt`, from the cache when `dot` drew it before."""
    tool = file_identity(shutil.which("dot"))
    if tool is None:  # no `dot`: let `draw` report it
        return draw()
    return _cached("drawings", f"{tool}\0{fmt}", source, draw, DRAWINGS_KEPT, lambda data: _is_drawing(data, fmt))


def cached_black(source: str, mode: str, format_: Callable[[], str]) -> str:
    """`format_()`'s result for Python `source` in black `mode`, from the cache when black formatted it before.

    Black is identified without importing it, so a run that finds everything
    cached never loads black at all.
    """
    spec = importlib.util.find_spec("black")
    tool = file_identity(spec.origin if spec else None)
    if tool is None:
        return format_()
    return _cached(
        "black",
        f"{tool}\0{mode}",
        source,
        lambda: format_().encode("utf-8"),
        FORMATTED_KEPT,
        lambda data: _same_program(source, data),
    ).decode("utf-8")


def _same_program(source: str, data: bytes) -> bool:
    """`data` is `source` reformatted: the same syntax tree and the same comments (a comment
    can matter: a `# coding:` line changes how Python reads the file)."""
    try:
        formatted = data.decode("utf-8")
        same_tree = ast.dump(ast.parse(source)) == ast.dump(ast.parse(formatted))
        return same_tree and _comments(source) == _comments(formatted)
    except (SyntaxError, ValueError, UnicodeDecodeError, tokenize.TokenError):
        return False


def _comments(text: str) -> list[str]:
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return [t.string.lstrip("#").strip() for t in tokens if t.type == tokenize.COMMENT]


_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Checked on the text lowered and with every whitespace character made a space, so that each
# pattern begins with a literal (which `re` finds fast): a tag that runs, loads or embeds, an
# entity declaration, an event handler's attribute, a link that leaves the document.
_AS_SPACES = bytes.maketrans(b" \t\n\r\x0b\x0c", b"      ")
_ACTIVE_SVG = (
    re.compile(rb"< *(?:script|foreignobject|iframe|object|embed)|<!entity"),
    re.compile(rb" on[a-z]+ *="),
    re.compile(rb"href *= *(?:\"(?!#)|'(?!#))"),
)
_SVG_ROOT = re.compile(rb"\A(?:\s*<\?xml[^>]*\?>)?\s*(?:<!DOCTYPE svg[^>\[]*>\s*)?(?:<!--.*?-->\s*)*<svg[\s>]", re.S)


def _is_drawing(data: bytes, fmt: str) -> bool:
    """A PNG, or an SVG (what the review page inlines) without anything that runs, loads or expands:
    well-formed XML whose root is `svg`, with none of `_ACTIVE_SVG` in its text (a parser that
    reads it otherwise, HTML's, finds none either)."""
    if fmt == "png":
        return data.startswith(_PNG_MAGIC)
    if fmt != "svg":
        return True
    plain = data.lower().translate(_AS_SPACES)
    if any(pattern.search(plain) for pattern in _ACTIVE_SVG) or not _SVG_ROOT.match(data):
        return False
    from xml.parsers import expat  # only where a drawing is read back from the cache

    try:
        expat.ParserCreate().Parse(data, True)
    except expat.ExpatError:
        return False
    return True


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


_ENTRY_MAGIC = b"flowgen-cache-1 "


def _seal(key: str, data: bytes) -> bytes:
    """An entry: a magic line with the digest of its key and content, then the content."""
    return _ENTRY_MAGIC + hashlib.sha256(key.encode("ascii") + b"\0" + data).hexdigest().encode("ascii") + b"\n" + data


def _unseal(key: str, entry: bytes) -> bytes | None:
    """The content of a sealed entry for `key`, or None when it is damaged or belongs to another key."""
    head, newline, data = entry.partition(b"\n")
    if not newline or head != _seal(key, data).partition(b"\n")[0]:
        return None
    return data


def _cached(
    kind: str,
    tool: str,
    text: str,
    compute: Callable[[], bytes],
    kept: int,
    verify: Callable[[bytes], bool],
) -> bytes:
    folder = cache_dir(kind) if not straight() else None
    if folder is None:
        return compute()
    digest = hashlib.sha256(tool.encode("utf-8") + b"\0\0" + text.encode("utf-8")).hexdigest()
    entry = folder / digest[:2] / digest[2:]
    try:
        data = _unseal(digest, ondisk.read_regular(entry))
        if data is not None and verify(data):
            os.utime(entry)
            return data
    except OSError:
        pass
    data = compute()
    store(entry, _seal(digest, data))
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
