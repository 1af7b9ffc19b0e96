"""Render DOT to SVG or PNG with Graphviz's `dot` program.

DOT itself needs no program; pictures do. A missing `dot` is a user's setup
problem, so it becomes `DotNotFound` with a one-line message that says how to
install it, never a traceback.

`dot` is a separate process, so it can draw while flowgen does other work: `start`
starts the `dot` processes at once and returns, and `render_all` waits for them and
collects the drawings (drawing the rest itself, several `dot`s at once). `generate`
starts the review page's drawings before it builds anything, so `dot` draws while black
formats and the other targets are built. No thread is involved (`dot` writes to a file,
and this process reads it when it needs it), so the worker processes `codegen.fanout`
forks meanwhile inherit no lock a thread holds. Small drawings (a saga's) are drawn
several by one `dot` process (`_batch_parts`), since starting `dot` costs about as much as
drawing one of them. The pictures are the same bytes however they were drawn:
`dot -Kdot -T<fmt>` reads the DOT text from a file on its standard input (a file, not a
pipe, so a forked worker cannot keep a `dot` waiting for the end of its input), and
`tests/test_first_run.py` compares all this with one `dot` per drawing (`codegen.straight`).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from functools import partial
from typing import IO, TYPE_CHECKING

from flowgen_design.codegen.cache import cached_drawing
from flowgen_design.codegen.fanout import jobs
from flowgen_design.codegen.straight import straight

if TYPE_CHECKING:
    import subprocess

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


Drawn = bytes | DotFailed | DotNotFound
"""A drawing, or why `dot` could not make it."""


class _Running:
    """One `dot` process drawing one graph or several (a batch), reading from and writing to
    files; or, given `drawn`, drawings taken from the cache, with nothing to run."""

    def __init__(self, sources: list[str], fmt: str, purpose: str, drawn: list[Drawn] | None = None) -> None:
        self.sources, self.fmt, self.purpose = sources, fmt, purpose
        self.drawn = drawn
        self.error: DotNotFound | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.files: list[IO[bytes]] = []
        if drawn is not None:
            return
        # stdin, stdout, stderr; `close` ends them
        self.files = [tempfile.TemporaryFile() for _ in range(3)]  # noqa: SIM115
        text = "".join(s if s.endswith("\n") else s + "\n" for s in sources)
        self.files[0].write(text.encode("utf-8"))
        self.files[0].seek(0)
        import subprocess  # only where `dot` runs: an edit that draws nothing never imports it (3.6 ms)

        try:
            self.process = subprocess.Popen(
                ["dot", "-Kdot", f"-T{fmt}"], stdin=self.files[0], stdout=self.files[1], stderr=self.files[2]
            )
        except FileNotFoundError:
            self.error = _not_found(fmt, purpose)

    def result(self) -> list[Drawn]:
        """Each source's drawing (waiting for `dot`), put in the cache, or why it could not be made."""
        if self.drawn is None:
            try:
                self.drawn = self._collect()
            finally:
                self.close()
        return self.drawn

    def _collect(self) -> list[Drawn]:
        if self.error is not None or self.process is None:
            return [self.error or _not_found(self.fmt, self.purpose)] * len(self.sources)
        try:
            output = _output(self.process.wait(), self.files[1], self.files[2])
        except DotFailed as err:
            if len(self.sources) == 1:
                return [err]
            return [_drawn_alone(source, self.fmt, self.purpose) for source in self.sources]  # say which
        drawn = [output] if len(self.sources) == 1 else _batch_parts(self.sources, output, self.fmt, self.purpose)
        return [
            cached_drawing(s, self.fmt, partial(bytes, d)) if isinstance(d, bytes) else d
            for s, d in zip(self.sources, drawn, strict=True)
        ]

    def close(self) -> None:
        """Stop `dot` if it is still drawing, and remove its files."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for handle in self.files:
            handle.close()


_started: dict[tuple[str, str], tuple[_Running, int]] = {}


def start(sources: list[str], fmt: str, purpose: str = "") -> Callable[[], None]:
    """Begin drawing `sources` in the background: their `dot` processes start now, and
    `render_all` collects them. Returns what stops the ones not collected."""
    if not straight():
        _begin([s for s in dict.fromkeys(sources) if (fmt, s) not in _started], fmt, purpose)
    return cancel_started


def cancel_started() -> None:
    """Stop every drawing `start` began and nothing collected."""
    for running, _ in _started.values():
        running.close()
    _started.clear()


def render_all(sources: list[str], fmt: str, purpose: str = "") -> list[bytes]:
    """Each of `sources` drawn as by `render`, in order: what `start` began is collected, the rest
    is drawn now, several `dot`s at once. The first failure in the order of `sources` is raised."""
    if straight():
        return [render(source, fmt, purpose) for source in sources]
    _begin([s for s in dict.fromkeys(sources) if (fmt, s) not in _started], fmt, purpose)
    results = [running.result()[index] for running, index in (_started[(fmt, source)] for source in sources)]
    for source in sources:
        _started.pop((fmt, source), None)
    for result in results:
        if not isinstance(result, bytes):
            raise result
    return [result for result in results if isinstance(result, bytes)]


def _begin(sources: list[str], fmt: str, purpose: str) -> None:
    """Start `dot` for each source not in the cache: the large ones alone, the small ones in
    batches, one per core (`jobs()`); what is cached is taken from the cache at once."""
    missing = []
    for source in sources:
        try:
            _started[(fmt, source)] = (_Running([source], fmt, purpose, [cached_drawing(source, fmt, _not_cached)]), 0)
        except _NotCached:
            missing.append(source)
    large = [[source] for source in missing if len(source) > SMALL]
    small = [source for source in missing if len(source) <= SMALL]
    size = max(1, -(-len(small) // jobs()))
    for batch in [*large, *(small[i : i + size] for i in range(0, len(small), size))]:
        running = _Running(batch, fmt, purpose)
        for i, source in enumerate(batch):
            _started[(fmt, source)] = (running, i)


class _NotCached(Exception):
    pass


def _not_cached() -> bytes:
    raise _NotCached


def _not_found(fmt: str, purpose: str) -> DotNotFound:
    return DotNotFound(
        f"{purpose or f'drawing {fmt}'} needs Graphviz's `dot` program, which is not on PATH: {INSTALL_HINT}"
    )


def _output(code: int, stdout: IO[bytes], stderr: IO[bytes]) -> bytes:
    if code != 0:
        stderr.seek(0)
        detail = stderr.read().decode("utf-8", "replace").strip().splitlines()
        raise DotFailed(
            f"`dot` could not draw the diagram ({detail[0] if detail else code}): please report this flowgen bug"
        )
    stdout.seek(0)
    return stdout.read()


def _draw(source: str, fmt: str, purpose: str) -> bytes:
    """`source` drawn by a `dot` of its own."""
    running = _Running([source], fmt, purpose)
    try:
        if running.error is not None:
            raise running.error
        assert running.process is not None
        return _output(running.process.wait(), running.files[1], running.files[2])
    finally:
        running.close()


def _drawn_alone(source: str, fmt: str, purpose: str) -> Drawn:
    try:
        return _draw(source, fmt, purpose)
    except (DotFailed, DotNotFound) as err:
        return err


# One `dot` given several graphs writes one SVG document per graph, each as it draws that
# graph alone, except that every graph after the first names its top group
# `page0,1_graph0` where alone it is `graph0` (Graphviz 2.43; its paging counter is not
# reset between graphs). Whether that holds for the `dot` at hand is tried once per
# process on a real drawing (the last of the first batch, drawn alone too); when it does
# not, or a batch's output does not split into one document per graph, each is drawn alone,
# and a batch that fails is drawn again one by one, so the failing drawing says so.
_DOCUMENT = re.compile(rb"<\?xml version=")
_PAGED, _UNPAGED = b'<g id="page0,1_graph0" class="graph"', b'<g id="graph0" class="graph"'
_batching_works: dict[str, bool] = {}


def _batch_parts(sources: list[str], output: bytes, fmt: str, purpose: str) -> list[Drawn]:
    parts = _split(output, len(sources)) if fmt == "svg" and _batching_works.get(fmt) is not False else None
    if parts is not None and fmt not in _batching_works:
        _batching_works[fmt] = parts[-1] == _draw(sources[-1], fmt, purpose)
    if parts is None or not _batching_works[fmt]:
        return [_drawn_alone(source, fmt, purpose) for source in sources]
    return list(parts)


def _split(drawn: bytes, count: int) -> list[bytes] | None:
    """One SVG document per graph, each as `dot` draws its graph alone; None if `drawn` is not that."""
    starts = [m.start() for m in _DOCUMENT.finditer(drawn)]
    if len(starts) != count or starts[0] != 0:
        return None
    parts = [drawn[a:b] for a, b in zip(starts, [*starts[1:], len(drawn)], strict=True)]
    if any(part.count(_PAGED) > (i > 0) for i, part in enumerate(parts)):
        return None
    return [part.replace(_PAGED, _UNPAGED, 1) for part in parts]


_PROLOGUE = re.compile(r"\A\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^>]*>\s*)?(<!--.*?-->\s*)*", re.S)


def inline_svg(svg: str) -> str:
    """An SVG document as an element to embed in HTML: no XML prologue or
    doctype, no comments naming the Graphviz version; the page's CSS scales it."""
    body = _PROLOGUE.sub("", svg)
    body = re.sub(r"<!--.*?-->\n?", "", body, flags=re.S)
    return body.replace("<svg ", '<svg class="diagram" ', 1).strip() + "\n"


_SVG_START = re.compile(rb'<svg width="[^"]*" height="[^"]*"\s+viewBox="([-0-9. ]+)"([^>]*)>')
_SVG_END = b"</svg>"
GAP = 16.0
"""Points between two stacked parts of a drawing (each part has `dot`'s 4-point margin of its own)."""


def stack(svgs: list[bytes], vertical: bool) -> bytes | None:
    """One SVG document of `dot`'s drawings of a diagram's parts (`Diagram.parts`): one above the
    other (`vertical`, a left-to-right diagram, as `dot` places its parts) or side by side, each at
    the size `dot` drew it, on one white background. One drawing is returned as it is; the
    document's prologue is the first drawing's. None when a drawing is not SVG as `dot` writes it."""
    if len(svgs) == 1:
        return svgs[0]
    placed: list[tuple[float, float, bytes]] = []
    first: re.Match[bytes] | None = None
    width = height = 0.0
    for i, svg in enumerate(svgs):
        start = _SVG_START.search(svg)
        end = svg.rfind(_SVG_END)
        box = start[1].split() if start is not None else []
        if start is None or end < start.end() or len(box) != 4:
            return None
        try:
            w, h = float(box[2]), float(box[3])
        except ValueError:  # `1.2.3`
            return None
        gap = GAP if i else 0.0
        x, y = (0.0, height + gap) if vertical else (width + gap, 0.0)
        placed.append((x, y, svg[start.end() : end]))
        first = first or start
        width, height = (max(width, w), y + h) if vertical else (x + w, max(height, h))
    assert first is not None  # two drawings or more
    head = (
        (
            f'<svg width="{round(width)}pt" height="{round(height)}pt"\n viewBox="0.00 0.00 {width:.2f} {height:.2f}"'
        ).encode()
        + first[2]
        + b">\n"
    )
    body = [f'<rect width="{width:.2f}" height="{height:.2f}" fill="white"/>\n'.encode()]
    for x, y, inner in placed:
        body += [f'<g transform="translate({x:.2f} {y:.2f})">'.encode(), inner, b"</g>\n"]
    return svgs[0][: first.start()] + head + b"".join(body) + _SVG_END + b"\n"
