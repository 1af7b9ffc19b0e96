"""What `flowgen simulate` prints: text for people, JSON for tools, Mermaid sequence diagrams."""

from __future__ import annotations

from typing import Any

from flowgen_design.codegen.simulate import SagaReport
from flowgen_design.codegen.simulate.moves import SAGA, Move
from flowgen_design.dsl.durations import format_ms


def _explored(report: SagaReport) -> str:
    timeout = format_ms(report.timeout_ms) if report.timeout_ms is not None else "none"
    beyond = " (reaching it takes more faults than the bound)" if report.worst_case_ms < report.arithmetic_ms else ""
    return (
        f"saga {report.saga}: {report.states} states, {report.schedules} schedules "
        f"(bound: {report.bound} fault(s) per schedule); slowest schedule {format_ms(report.worst_case_ms)}, "
        f"worst case by `check` {format_ms(report.arithmetic_ms)}{beyond}, timeout {timeout}"
    )


def _numbered(moves: tuple[Move, ...]) -> list[str]:
    return [
        f"  {n}. [{format_ms(m.at_ms) if m.at_ms else '0s'}] {m.text}{'  <- fault' if m.fault else ''}"
        for n, m in enumerate(moves, 1)
    ]


def render_text(reports: list[SagaReport]) -> str:
    lines: list[str] = []
    for report in reports:
        if report.unexplored is not None:
            lines.append(f"saga {report.saga}: not explored: {report.unexplored}")
            continue
        lines.append(_explored(report))
        if report.clean:
            lines.append("  no violations")
        for found in report.violations:
            lines.append(f"  violation [{found.violation.code}]: {found.violation.message}")
            lines.append("  shortest counterexample:")
            lines += ["  " + line for line in _numbered(found.moves)]
    return "\n".join(lines) + "\n"


def to_json(reports: list[SagaReport]) -> dict[str, Any]:
    return {
        "sagas": [
            {
                "saga": r.saga,
                "bound": r.bound,
                "states": r.states,
                "schedules": r.schedules,
                "slowest_ms": r.worst_case_ms,
                "worst_case_ms": r.arithmetic_ms,
                "timeout_ms": r.timeout_ms,
                "violations": [
                    {
                        "code": c.violation.code,
                        "message": c.violation.message,
                        "counterexample": [m.to_json() for m in c.moves],
                    }
                    for c in r.violations
                ],
            }
            | ({"unexplored": r.unexplored} if r.unexplored is not None else {})
            for r in reports
        ],
        "violations": sum(len(r.violations) for r in reports),
    }


def _label(text: str) -> str:
    """Mermaid message text: no `;`, `#` or line breaks."""
    return text.replace(";", ",").replace("#", "").replace("\n", " ")


def mermaid(moves: tuple[Move, ...], title: str, violation: str | None = None) -> str:
    """A sequence diagram of one schedule; a counterexample ends with a note saying what broke."""
    actors: list[str] = ["Bus", SAGA]
    for move in moves:
        for arrow in move.arrows:
            actors += [a for a in (arrow.source, arrow.target) if a not in actors]
    lines = ["sequenceDiagram", f"  %% {_label(title)}"] + [f"  participant {a}" for a in actors]
    for move in moves:
        for arrow in move.arrows:
            lines.append(f"  {arrow.source}{'-->>' if arrow.reply else '->>'}{arrow.target}: {_label(arrow.text)}")
        if move.fault:
            lines.append(f"  Note over {SAGA}: fault at {format_ms(move.at_ms) if move.at_ms else '0s'}")
    if violation is not None:
        lines.append(f"  Note over {SAGA}: violated: {_label(violation)}")
    return "\n".join(lines) + "\n"


def render_mermaid(reports: list[SagaReport]) -> str:
    """Each counterexample; on a clean saga, each distinct scenario (one per end state)."""
    parts: list[str] = []
    for report in reports:
        if report.violations:
            parts += [
                mermaid(c.moves, f"{report.saga}: {c.violation.message}", c.violation.code) for c in report.violations
            ]
        else:
            parts += [mermaid(s, f"{report.saga}: {s[-1].text}") for s in report.scenarios]
    return "\n".join(parts)
