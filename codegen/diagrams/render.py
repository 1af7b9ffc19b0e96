"""Render DOT to SVG or PNG with Graphviz's `dot` program.

DOT itself needs no program; pictures do. A missing `dot` is a user's setup
problem, so it becomes `DotNotFound` with a one-line message that says how to
install it, never a traceback.

`dot` is a separate process, so it can draw while flowgen does other work: `start`
begins drawing in the background (up to `jobs()` `dot`s at a time, on threads that
only wait for them), and `render_all` collects what was started and draws the rest itself.
`generate` starts the review page's drawings before it builds anything, so `dot` draws
while black formats and the other targets are built. Small drawings (a saga's) are drawn several by
one `dot` process (`_draw_batch`), since starting `dot` costs about as much as drawing
one of them. The pictures are the same bytes however they were drawn: `dot -Kdot -T<fmt>`
reads the DOT text from a file on its standard input (a file, not a pipe, so a worker
process forked meanwhile cannot keep a `dot` waiting for the end of its input), and
`tests/test_first_run.py` compares all this with one `dot` per drawing (`codegen.straight`).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from flowgen_design.codegen.cache import cached_drawing, cached_drawings
from flowgen_design.codegen.fanout import jobs
from flowgen_design.codegen.straight import straight

INSTALL_HINT = "install Graphviz (Debian/Ubuntu: `apt-get install graphviz`, macOS: `brew install graphviz`, Windows: `winget install graphviz`)"


class DotNotFound(RuntimeError):
    """Graphviz's `dot` is not on PATH."""


class DotFailed(RuntimeError):
    """`dot` rejected the DOT source: a bug in flowgen, reported in one line."""


def render(source: str, fmt: str, purpose: str = "") -> bytes:
    """`source` drawn as `fmt` (`svg` or `png`) by `dot`, or the same drawing from the cache."""
    return cached_drawing(source, fmt, lambda: _draw(source, fmt, purpose))


SMALL = 20_000
"""DOT text up to this many characters (a saga's view) is drawn with others by one `dot` process."""
BATCH = 16
"""At most this many small drawings per `dot` process: starting `dot` costs about as much as drawing one."""

_background: ThreadPoolExecutor | None = None
_started: dict[tuple[str, str], tuple[Future[list[bytes]], int]] = {}


def start(sources: list[str], fmt: str, purpose: str = "") -> Callable[[], None]:
    """Begin drawing `sources` in the background, the largest first, up to `jobs()` `dot`s at
    a time (the largest drawing alone is most of the time); `render_all` collects them. Returns what
    cancels the drawings not begun yet, for a caller that ends up not needing them."""
    global _background
    if straight():
        return cancel_started
    if _background is None:
        _background = ThreadPoolExecutor(max_workers=jobs(), thread_name_prefix="flowgen-dot")
    for batch in _batches([s for s in set(sources) if (fmt, s) not in _started], BATCH):
        future = _background.submit(render_batch, batch, fmt, purpose)
        for i, source in enumerate(batch):
            _started[(fmt, source)] = (future, i)
    return cancel_started


def cancel_started() -> None:
    """Forget every drawing `start` began; those not begun yet are not drawn at all."""
    for future, _ in _started.values():
        future.cancel()
    _started.clear()


def render_all(sources: list[str], fmt: str, purpose: str = "") -> list[bytes]:
    """Each of `sources` drawn as by `render`, in order: what `start` began is collected, the
    rest is drawn here with up to `jobs()` `dot`s at a time.

    The first failure in the order of `sources` is raised, as `render` would raise it.
    """
    started = [_started.pop((fmt, source), None) for source in sources]
    here = [i for i, begun in enumerate(started) if begun is None or begun[0].cancel()]
    results: list[bytes | Exception] = [b""] * len(sources)
    for i, result in zip(here, _render_here([sources[i] for i in here], fmt, purpose), strict=True):
        results[i] = result
    for i, begun in enumerate(started):
        if begun is not None and i not in here:
            error = begun[0].exception()
            results[i] = error if isinstance(error, Exception) else begun[0].result()[begun[1]]
    for result in results:
        if isinstance(result, Exception):
            raise result
    return [result for result in results if isinstance(result, bytes)]


def _batches(sources: list[str], size: int) -> list[list[str]]:
    """The largest first: each large source alone, the small ones `size` at a time."""
    ordered = sorted(sources, key=len, reverse=True)
    small = [source for source in ordered if len(source) <= SMALL]
    return [[source] for source in ordered if len(source) > SMALL] + [
        small[i : i + size] for i in range(0, len(small), size)
    ]


def _render_here(sources: list[str], fmt: str, purpose: str) -> list[bytes | Exception]:
    def batch(sources: list[str]) -> list[bytes | Exception]:
        try:
            return list(render_batch(sources, fmt, purpose))
        except (DotNotFound, DotFailed) as err:
            return [err] * len(sources)

    unique = list(dict.fromkeys(sources))
    workers = max(1, min(len(unique), jobs()))
    batches = _batches(unique, max(1, min(BATCH, -(-len(unique) // workers))))
    if workers <= 1:
        drawn = [batch(b) for b in batches]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            drawn = list(pool.map(batch, batches))
    found = {source: result for b, results in zip(batches, drawn, strict=True) for source, result in zip(b, results)}
    return [found[source] for source in sources]


def render_batch(sources: list[str], fmt: str, purpose: str = "") -> list[bytes]:
    """Each of `sources` drawn as `render` draws it, from the cache or, the rest, by one `dot`."""
    if len(sources) == 1:
        return [render(sources[0], fmt, purpose)]
    return cached_drawings(sources, fmt, lambda missing: _draw_batch(missing, fmt, purpose))


# One `dot` given several graphs writes one SVG document per graph, each as it draws that
# graph alone, except that every graph after the first names its top group
# `page0,1_graph0` where alone it is `graph0` (Graphviz 2.43; its paging counter is not
# reset between graphs). Whether that holds for the `dot` at hand is tried once per
# process on a real drawing (the last of the first batch, drawn alone too); when it does
# not, or a batch's output does not split into one document per graph, each is drawn alone.
_DOCUMENT = re.compile(rb"<\?xml version=")
_PAGED, _UNPAGED = b'<g id="page0,1_graph0" class="graph"', b'<g id="graph0" class="graph"'
_batching_works: dict[str, bool] = {}


def _draw_batch(sources: list[str], fmt: str, purpose: str) -> list[bytes]:
    if straight() or fmt != "svg" or len(sources) < 2 or _batching_works.get(fmt) is False:
        return [_draw(source, fmt, purpose) for source in sources]
    try:
        parts = _split(_draw("".join(s if s.endswith("\n") else s + "\n" for s in sources), fmt, purpose), len(sources))
    except DotFailed:  # drawn alone, the failing one says so
        parts = None
    if parts is not None and fmt not in _batching_works:
        _batching_works[fmt] = parts[-1] == _draw(sources[-1], fmt, purpose)
    if parts is None or not _batching_works[fmt]:
        return [_draw(source, fmt, purpose) for source in sources]
    return parts


def _split(drawn: bytes, count: int) -> list[bytes] | None:
    """One SVG document per graph, each as `dot` draws its graph alone; None if `drawn` is not that."""
    starts = [m.start() for m in _DOCUMENT.finditer(drawn)]
    if len(starts) != count or starts[0] != 0:
        return None
    parts = [drawn[a:b] for a, b in zip(starts, [*starts[1:], len(drawn)])]
    if any(part.count(_PAGED) > (i > 0) for i, part in enumerate(parts)):
        return None
    return [part.replace(_PAGED, _UNPAGED, 1) for part in parts]


def _draw(source: str, fmt: str, purpose: str) -> bytes:
    with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        stdin.write(source.encode("utf-8"))
        stdin.seek(0)
        try:
            code = subprocess.run(["dot", "-Kdot", f"-T{fmt}"], stdin=stdin, stdout=stdout, stderr=stderr).returncode
        except FileNotFoundError:
            raise DotNotFound(
                f"{purpose or f'drawing {fmt}'} needs Graphviz's `dot` program, which is not on PATH: {INSTALL_HINT}"
            ) from None
        if code != 0:
            stderr.seek(0)
            detail = stderr.read().decode("utf-8", "replace").strip().splitlines()
            raise DotFailed(
                f"`dot` could not draw the diagram ({detail[0] if detail else code}): please report this flowgen bug"
            )
        stdout.seek(0)
        return stdout.read()


_PROLOGUE = re.compile(r"\A\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^>]*>\s*)?(<!--.*?-->\s*)*", re.S)


def inline_svg(svg: str) -> str:
    """An SVG document as an element to embed in HTML: no XML prologue or
    doctype, no comments naming the Graphviz version; the page's CSS scales it."""
    body = _PROLOGUE.sub("", svg)
    body = re.sub(r"<!--.*?-->\n?", "", body, flags=re.S)
    return body.replace("<svg ", '<svg class="diagram" ', 1).strip() + "\n"
