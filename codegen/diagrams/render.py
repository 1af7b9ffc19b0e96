"""Render DOT to SVG or PNG with Graphviz's `dot` program.

DOT itself needs no program; pictures do. A missing `dot` is a user's setup
problem, so it becomes `DotNotFound` with a one-line message that says how to
install it, never a traceback.

`dot` is a separate process, so it can draw while flowgen does other work: `start`
begins drawing in the background (one `dot` at a time, on a thread that only waits
for it), and `render_all` collects what was started and draws the rest itself. On a
large spec `generate` starts the review page's drawings first, and `dot` draws on one
core while black formats on the other. The pictures are the same bytes however they
were drawn: every drawing is one `dot -Kdot -T<fmt>` reading the DOT text from a file on its
standard input (a file, not a pipe, so a worker process forked meanwhile cannot keep a
`dot` waiting for the end of its input).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from flowgen_design.codegen.cache import cached_drawing
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


_background: ThreadPoolExecutor | None = None
_started: dict[tuple[str, str], Future[bytes]] = {}


def start(sources: list[str], fmt: str, purpose: str = "") -> Callable[[], None]:
    """Begin drawing `sources` in the background, the largest first, one `dot` at a time
    (the other cores stay with the caller); `render_all` collects them. Returns what
    cancels the drawings not begun yet, for a caller that ends up not needing them."""
    global _background
    if straight():
        return cancel_started
    if _background is None:
        _background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flowgen-dot")
    for source in sorted(set(sources), key=len, reverse=True):
        if (fmt, source) not in _started:
            _started[(fmt, source)] = _background.submit(render, source, fmt, purpose)
    return cancel_started


def cancel_started() -> None:
    """Forget every drawing `start` began; those not begun yet are not drawn at all."""
    for future in _started.values():
        future.cancel()
    _started.clear()


def render_all(sources: list[str], fmt: str, purpose: str = "") -> list[bytes]:
    """Each of `sources` drawn as by `render`, in order: what `start` began is collected, the
    rest is drawn here with up to `jobs()` `dot`s at a time.

    The first failure in the order of `sources` is raised, as `render` would raise it.
    """
    started = [_started.pop((fmt, source), None) for source in sources]
    here = [i for i, future in enumerate(started) if future is None or future.cancel()]
    results: list[bytes | Exception] = [b""] * len(sources)
    for i, result in zip(here, _render_here([sources[i] for i in here], fmt, purpose), strict=True):
        results[i] = result
    for i, future in enumerate(started):
        if future is not None and not future.cancelled():
            error = future.exception()
            results[i] = error if isinstance(error, Exception) else future.result()
    for result in results:
        if isinstance(result, Exception):
            raise result
    return [result for result in results if isinstance(result, bytes)]


def _render_here(sources: list[str], fmt: str, purpose: str) -> list[bytes | Exception]:
    def one(source: str) -> bytes | Exception:
        try:
            return render(source, fmt, purpose)
        except (DotNotFound, DotFailed) as err:
            return err

    workers = min(len(sources), jobs())
    if workers <= 1:
        return [one(source) for source in sources]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, sources))


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
