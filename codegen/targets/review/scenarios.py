"""The review page's "failure scenarios" section: the design's behaviour under faults, from `flowgen simulate`.

For each saga and subscription: first every counterexample the simulator finds at
its default bound, then one row per distinct scenario with a single fault (every
step's failure reply, a `retryable` reply resent (once, on every send, with a
late duplicate), exhaustion, timeout with a late success, lost answer,
duplicate and late delivery, failed or duplicated compensation; for a
subscription its duplicates, exhaustion and re-orderings) and the happy path:
what failed, how, the outcome, the events, and its sequence diagram, with the
Mermaid text to paste elsewhere. Schedules with more faults are counted, not
listed (`flowgen simulate --format mermaid` prints them all).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from flowgen_design.codegen.fragments import Fragments
from flowgen_design.codegen.simulate import SagaReport, explorations
from flowgen_design.codegen.simulate.moves import Move
from flowgen_design.codegen.simulate.report import mermaid
from flowgen_design.codegen.targets.review.html import Child, Html, anchor, el
from flowgen_design.codegen.targets.review.sequence import sequence_svg
from flowgen_design.dsl.durations import format_ms
from flowgen_design.dsl.model import Flow

HEADERS = ("#", "what failed", "how", "outcome", "events")


def scenarios_section(flow: Flow, pieces: Fragments | None = None) -> Html:
    """The scenarios of each saga and subscription; with `pieces`, only those whose exploration's
    inputs changed since the last run are explored again (`codegen.fragments`)."""
    runs = explorations(flow)
    if not runs:
        return el("p", "This flow has no sagas and no subscriptions: nothing to simulate.", class_="muted")
    intro = el(
        "p",
        "Every schedule below was explored by ",
        el("code", "flowgen simulate"),
        " on a virtual clock, from the resolved model and docs/semantics.md; durations are worst cases.",
        class_="muted",
    )
    if pieces is None:
        return Html(intro + "".join(_report(run()) for _, run in runs))
    return Html(
        intro + "".join(pieces.piece("scenarios", inputs, partial(_run_report, run), ()) for inputs, run in runs)
    )


def _run_report(run: Callable[[], SagaReport]) -> Html:
    return _report(run())


def _report(report: SagaReport) -> Html:
    kind = "saga" if report.kind == "saga" else "service"
    if report.unexplored is not None:
        heading = el("h3", "Saga ", el("span", report.saga, class_="chip saga"))
        note = el("p", f"Not explored: {report.unexplored}.", class_="muted")
        return el("article", heading, note, id=anchor("scenarios", report.saga))
    single = [s for s in report.scenarios if sum(m.fault for m in s) <= 1]
    summary = (
        f"{report.states} states, {report.schedules} schedules with up to "
        f"{report.bound if report.kind == 'saga' else min(report.bound, 1)} fault(s); "
        f"{len(report.violations)} violation(s); {len(single)} scenario(s) with one fault or none listed"
    )
    rows = [
        _row(report, f"{report.saga}-violation-{n}", c.moves, c.violation.code, c.violation.message)
        for n, c in enumerate(report.violations, 1)
    ]
    rows += [_row(report, f"{report.saga}-{n}", s) for n, s in enumerate(single, 1)]
    head = el("thead", el("tr", [el("th", h, scope="col") for h in HEADERS]))
    table = el("table", head, el("tbody", rows), class_="scenarios")
    label = "Saga" if report.kind == "saga" else "Subscription"
    heading = el("h3", f"{label} ", el("span", report.saga, class_=f"chip {kind}"))
    return el("article", heading, el("p", summary, class_="muted"), table, id=anchor("scenarios", report.saga))


def _row(report: SagaReport, key: str, moves: tuple[Move, ...], code: str | None = None, message: str = "") -> Html:
    faults = [m for m in moves if m.fault]
    what: Child = [el("div", m.step or "trigger") for m in faults] or "nothing"
    told = [m for m in moves if m.fault or m.kind == "branch"]  # the faults, and the branches taken on the way
    how: Child = [el("div", m.text) for m in told] or "the happy path"
    last = moves[-1]
    when = format_ms(last.at_ms) if last.at_ms else "0s"
    outcome: Child = f"{last.result} at {when}" if last.kind == "outcome" else "no outcome: the saga timed out"
    if code is not None:
        outcome = [el("span", f"violated: {code}", class_="chip bad"), el("div", message)]
    events = [e for m in moves for e in m.events]
    title = f"{report.saga}: {'; '.join(m.text for m in faults) or 'no fault'}"
    diagram = Html(sequence_svg(moves, title, code))
    source = el("details", el("summary", "Mermaid"), el("pre", mermaid(moves, title, code), class_="mono"))
    number = key.rsplit("-", 1)[-1] if code is None else f"!{key.rsplit('-', 1)[-1]}"
    cells = [number, what, how, outcome, el("ul", [el("li", e) for e in events]) if events else "—"]
    marked = "violation" if code is not None else None
    facts = el("tr", [el("td", c) for c in cells], id=anchor("scenario", key), class_=marked)
    picture = el("td", el("div", diagram, class_="sequence"), source, colspan=str(len(HEADERS)))
    return Html(facts + el("tr", picture, class_=" ".join(filter(None, ("diagram-row", marked)))))
