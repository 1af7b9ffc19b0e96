"""Render DOT to SVG or PNG with Graphviz's `dot` program, through the graphviz package.

DOT itself needs no program; pictures do. A missing `dot` is a user's setup
problem, so it becomes `DotNotFound` with a one-line message that says how to
install it, never a traceback.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import graphviz

from flowgen_design.codegen.cache import cached_drawing
from flowgen_design.codegen.fanout import jobs

INSTALL_HINT = "install Graphviz (Debian/Ubuntu: `apt-get install graphviz`, macOS: `brew install graphviz`, Windows: `winget install graphviz`)"


class DotNotFound(RuntimeError):
    """Graphviz's `dot` is not on PATH."""


class DotFailed(RuntimeError):
    """`dot` rejected the DOT source: a bug in flowgen, reported in one line."""


def render(source: str, fmt: str, purpose: str = "") -> bytes:
    """`source` drawn as `fmt` (`svg` or `png`) by `dot`, or the same drawing from the cache."""
    return cached_drawing(source, fmt, lambda: _draw(source, fmt, purpose))


def render_all(sources: list[str], fmt: str, purpose: str = "") -> list[bytes]:
    """Each of `sources` drawn as by `render`, in order, with up to `jobs()` `dot`s at a time.

    Each drawing is a separate `dot` process, so threads suffice to keep every core busy;
    the first failure is raised, as `render` would raise it.
    """
    workers = min(len(sources), jobs())
    if workers <= 1:
        return [render(source, fmt, purpose) for source in sources]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda source: render(source, fmt, purpose), sources))


def _draw(source: str, fmt: str, purpose: str) -> bytes:
    try:
        return bytes(graphviz.pipe("dot", fmt, source.encode("utf-8"), quiet=True))
    except graphviz.ExecutableNotFound:
        raise DotNotFound(
            f"{purpose or f'drawing {fmt}'} needs Graphviz's `dot` program, which is not on PATH: {INSTALL_HINT}"
        ) from None
    except graphviz.CalledProcessError as err:
        detail = (err.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise DotFailed(
            f"`dot` could not draw the diagram ({detail[0] if detail else err.returncode}): please report this flowgen bug"
        ) from None


_PROLOGUE = re.compile(r"\A\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^>]*>\s*)?(<!--.*?-->\s*)*", re.S)


def inline_svg(svg: str) -> str:
    """An SVG document as an element to embed in HTML: no XML prologue or
    doctype, no comments naming the Graphviz version; the page's CSS scales it."""
    body = _PROLOGUE.sub("", svg)
    body = re.sub(r"<!--.*?-->\n?", "", body, flags=re.S)
    return body.replace("<svg ", '<svg class="diagram" ', 1).strip() + "\n"
