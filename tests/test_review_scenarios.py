"""The review page's "failure scenarios" section: one row per scenario with its sequence diagram,
read in headless Chromium as a reviewer would, and the same scenarios' Mermaid text drawn by real Mermaid."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowgen_design.codegen.simulate import simulate
from flowgen_design.codegen.targets.review.scenarios import scenarios_section
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.model import Flow
from tests.browser import Browser, check_mermaid, mermaid_js
from tests.conftest import ROOT, Runner
from tests.test_review import generate_review

CHECKOUT = ROOT / "specs" / "checkout.flow"
SEEDED = ROOT / "tests" / "simulate" / "subscription-window-short.flow"


def _flow(path: Path) -> Flow:
    flow = check_file(path).flow
    assert flow is not None
    return flow


def _single(flow: Flow) -> int:
    return sum(sum(m.fault for m in s) <= 1 for r in simulate(flow) for s in r.scenarios)


def test_one_row_and_one_well_formed_diagram_per_scenario() -> None:
    flow = _flow(CHECKOUT)
    html = scenarios_section(flow)
    rows = re.findall(r'<tr id="scenario-[^"]+"', html)
    assert len(rows) == _single(flow) == 13 + 7
    svgs = re.findall(r"<svg .*?</svg>", html, flags=re.S)
    assert len(svgs) == len(rows)
    for svg in svgs:
        ET.fromstring(svg)
    assert html.count("<details><summary>Mermaid</summary>") == len(rows)
    assert "step `charge`: `Payments.charge` replies `PaymentFailed`" in html


def test_a_violation_is_listed_first_and_marked() -> None:
    html = scenarios_section(_flow(SEEDED))
    first = re.search(r'<tr id="(scenario-[^"]+)" class="violation"', html)
    assert first is not None and first.group(1) == "scenario-Mailer-notify-violation-1"
    assert "violated: effect-twice" in html and "took effect twice, 24s apart" in html


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser(width=1280, height=1600) as b:
        yield b


@pytest.mark.slow
@pytest.mark.parametrize("spec", [CHECKOUT, SEEDED], ids=lambda p: p.stem)
def test_the_section_renders_in_chromium(spec: Path, flowgen: Runner, browser: Browser, tmp_path: Path) -> None:
    page = generate_review(flowgen, spec, tmp_path / "out")
    visit = browser.open(page.as_uri())
    assert not visit.errors and all(r.startswith("file:") for r in visit.requests), visit
    nav = browser.evaluate("[...document.querySelectorAll('nav a')].map(a => a.textContent)")
    assert "Failure scenarios" in nav
    rows = browser.evaluate("""[...document.querySelectorAll('#scenarios tr[id^="scenario-"]')].map(tr =>
             [...tr.querySelectorAll('td')].map(td => td.innerText.trim()))""")
    assert len(rows) == _single(_flow(spec)) + len([c for r in simulate(_flow(spec)) for c in r.violations])
    assert all(len(r) == 5 and r[3] for r in rows)
    boxes = browser.evaluate("""[...document.querySelectorAll('#scenarios svg.sequence')].map(svg => {
             const b = svg.getBoundingClientRect(); const t = svg.querySelectorAll('text').length;
             return [b.width, b.height, t, svg.closest('div').getBoundingClientRect().right];})""")
    page_right = browser.evaluate("document.querySelector('#scenarios table').getBoundingClientRect().right")
    assert len(boxes) == len(rows)
    # the smallest is two participants and one message (a subscription whose handler emits nothing)
    assert all(w > 200 and h > 100 and texts >= 3 and right <= page_right + 1 for w, h, texts, right in boxes)
    if spec == CHECKOUT:
        happy = next(r for r in rows if r[2] == "the happy path")
        assert happy[3].startswith("completed at ") and "OrderConfirmed" in happy[4]
    else:
        assert rows[0][0] == "!1" and "violated: effect-twice" in rows[0][3]
        color = browser.evaluate("getComputedStyle(document.querySelector('tr.violation td')).backgroundColor")
        assert color == "rgb(253, 240, 241)"


@pytest.mark.slow
def test_each_row_mermaid_text_is_drawn_by_real_mermaid(browser: Browser, tmp_path: Path) -> None:
    html = scenarios_section(_flow(CHECKOUT))
    texts = [
        t.replace("&gt;", ">").replace("&lt;", "<").replace("&amp;", "&").replace("&quot;", '"').replace("&#x27;", "'")
        for t in re.findall(r'<pre class="mono">(.*?)</pre>', html, flags=re.S)
    ]
    results = check_mermaid(browser, mermaid_js(), texts, tmp_path)
    assert all(r["ok"] and r["type"] == "sequence" for r in results), [r for r in results if not r["ok"]]


def test_a_saga_the_simulator_does_not_explore_says_why() -> None:
    from flowgen_design.codegen.simulate import SagaReport
    from flowgen_design.codegen.targets.review.scenarios import _report

    report = SagaReport(
        "Order", 2, unexplored="it uses branches (`on REPLY -> TARGET`), which `simulate` does not explore yet"
    )
    html = _report(report)
    assert "Not explored: it uses branches" in html and "<table" not in html and not report.clean


def test_a_resent_retryable_reply_has_its_rows() -> None:
    """Once "not explored", a `retryable` reply the step resends is listed like any fault: resent once, on
    every send (the failure reply decides), and a duplicate that succeeds after it, each with its diagram."""
    flow = _flow(ROOT / "tests" / "simulate" / "retryable-resent.flow")
    html = scenarios_section(flow)
    assert "Not explored" not in html
    rows = re.findall(r'<tr id="scenario-[^"]+"', html)
    assert len(rows) == _single(flow)
    assert "replies `Busy` (retryable) on its last attempt: the step resends the command" in html
    assert "on every send (the last is send 3): the last send&#x27;s is the failure reply" in html
    assert "then a duplicate of the command succeeds before the deadline" in html
    assert len(re.findall(r"<svg .*?</svg>", html, flags=re.S)) == len(rows)
