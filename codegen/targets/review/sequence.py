"""A simulated schedule drawn as an inline SVG sequence diagram, for the review page.

The page runs no script (its Content Security Policy forbids it), so the Mermaid
text `flowgen simulate --format mermaid` prints cannot be drawn there; this draws
the same diagram (the same participants, messages, fault and violation notes, from
the same `report.actors`) as SVG, like the page's other diagrams. Participants are
columns with a lifeline; each message is a row; answers are dashed. Text widths are
estimated (no font metrics without a browser), generously.
"""

from __future__ import annotations

from flowgen_design.codegen.escape import html_text
from flowgen_design.codegen.simulate.moves import Move
from flowgen_design.codegen.simulate.report import actors, note_actor
from flowgen_design.dsl.durations import format_ms

CHAR_PX = 7.0
ROW_PX = 30
HEAD_PX = 34
MARGIN_PX = 16
MIN_GAP_PX = 150


def _width(text: str) -> float:
    return len(text) * CHAR_PX


def _rows(moves: tuple[Move, ...], violation: str | None) -> list[tuple[str, str, str, bool]]:
    """(kind, source, target or note, text): `arrow` rows and `note`/`bad` rows, top to bottom."""
    over = note_actor(moves)
    rows: list[tuple[str, str, str, bool]] = []
    for move in moves:
        rows += [("arrow", a.source, a.target + "\0" + a.text, a.reply) for a in move.arrows]
        if move.fault:
            rows.append(("note", over, f"fault at {format_ms(move.at_ms) if move.at_ms else '0s'}", False))
    if violation is not None:
        rows.append(("bad", over, f"violated: {violation}", False))
    return rows


def sequence_svg(moves: tuple[Move, ...], title: str, violation: str | None = None) -> str:
    """The schedule as an `<svg class="sequence">` element, styled by the page's style sheet (`style.css`)."""
    names = actors(moves)
    rows = _rows(moves, violation)
    longest = max([_width(r[2].split("\0")[-1]) for r in rows] + [_width(n) for n in names] + [0.0])
    gap = int(max(MIN_GAP_PX, longest + 24))
    xs = {name: MARGIN_PX + gap // 2 + i * gap for i, name in enumerate(names)}
    width = 2 * MARGIN_PX + gap * len(names)
    height = HEAD_PX + ROW_PX * (len(rows) + 1) + MARGIN_PX
    parts = [
        f'<svg class="sequence" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{html_text(title)}">',
        f"<title>{html_text(title)}</title>",
    ]
    for name, x in xs.items():
        box = int(max(_width(name) + 16, 60))
        parts.append(
            f'<rect class="actor" x="{x - box // 2}" y="4" width="{box}" height="24" rx="3"/>'
            f'<text class="actor" x="{x}" y="20">{html_text(name)}</text>'
            f'<path class="life" d="M{x} 28V{height - MARGIN_PX // 2}"/>'
        )
    for n, (kind, who, what, reply) in enumerate(rows):
        y = HEAD_PX + ROW_PX * (n + 1)
        parts.append(_arrow(xs, who, what, reply, y) if kind == "arrow" else _note(xs[who], what, y, kind == "bad"))
    parts.append("</svg>")
    return "".join(parts) + "\n"


def _arrow(xs: dict[str, int], source: str, what: str, reply: bool, y: int) -> str:
    target, text = what.split("\0", 1)
    x1, x2 = xs[source], xs[target]
    tip = -8 if x2 > x1 else 8
    return (
        f'<path class="{"reply" if reply else "send"}" d="M{x1} {y}H{x2 + tip}"/>'
        f'<path class="tip" d="M{x2} {y}l{tip} -4v8z"/>'
        f'<text x="{(x1 + x2) // 2}" y="{y - 5}">{html_text(text)}</text>'
    )


def _note(x: int, text: str, y: int, bad: bool) -> str:
    box = int(_width(text) + 16)
    return (
        f'<rect class="{"bad" if bad else "note"}" x="{x - box // 2}" y="{y - 16}" width="{box}" height="22" rx="3"/>'
        f'<text x="{x}" y="{y}">{html_text(text)}</text>'
    )
