"""The `review` target: one self-contained page, checked in real headless Chromium."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowgen_design.codegen.targets.review.sections import services_section
from tests.browser import Browser
from tests.cloudformation_support import load_flow
from tests.conftest import ROOT, SKETCH, Runner, require_tool
from tests.diagram_support import diagram_specs, load, relative, spec_id
from tests.test_diagrams import run_without_dot

pytestmark = pytest.mark.slow  # opens the review page in headless Chromium

SPECS = diagram_specs()
SCREENSHOTS = ROOT / ".pytest_cache" / "review-screenshots"
# Anything that could make the page fetch something: attributes that load or link, CSS url() and @import.
LOADING = re.compile(
    r"""(?:\b(?:src|href|srcset|poster|data|action|xlink:href)\s*=\s*["']?\s*([^"'\s>]+))|url\(\s*["']?([^"')]+)|@import\s+["']?([^"';\s]+)""",
    re.I,
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser(width=1280, height=1600) as b:
        yield b


def generate_review(flowgen: Runner, spec: Path, out: Path) -> Path:
    require_tool("dot")
    result = flowgen("generate", "-t", "review", "-o", str(out), str(relative(spec)), cwd=ROOT)
    assert result.returncode == 0, result.stderr
    pages = sorted((out / "review").glob("*.html"))
    assert len(pages) == 1
    return pages[0]


def test_review_page_is_self_contained(flowgen: Runner, tmp_path: Path) -> None:
    html = generate_review(flowgen, SKETCH, tmp_path).read_text()
    references = [next(g for g in m.groups() if g) for m in LOADING.finditer(html)]
    assert references, "the page has in-page links; the pattern must find them"
    assert all(ref.startswith("#") for ref in references), [r for r in references if not r.startswith("#")]
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert not re.search(
        r"(?i)\b(?:https?:)?//[a-z0-9]", html.replace("http://www.w3.org/", "")
    ), "no URL to another host"


def test_loading_pattern_catches_what_would_leave_the_page() -> None:
    """The static check above is real: each of these would make a request."""
    for html in [
        '<img src="https://cdn.example/x.png">',
        "<div style=\"background:url('//cdn/x.png')\">",
        "<link href=http://x/y.css rel=stylesheet>",
        "<style>@import 'x.css';</style>",
    ]:
        refs = [next(g for g in m.groups() if g) for m in LOADING.finditer(html)]
        assert refs and not all(r.startswith("#") for r in refs), html


@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_review_page_in_chromium(
    spec: Path, flowgen: Runner, browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = generate_review(flowgen, spec, tmp_path / "out")
    visit = browser.open(page.as_uri())
    assert visit.requests == [page.as_uri()], "the page made requests of its own"
    assert visit.errors == []
    text = browser.evaluate("document.body.innerText")
    flow = load(spec, monkeypatch)
    for name in (
        [s.name for s in flow.services]
        + [e.name for e in flow.events]
        + [s.name for s in flow.sagas]
        + [x.name for x in flow.externals]
    ):
        assert name in text, f"{name} does not appear on the rendered page"
    svgs = browser.evaluate(
        "Array.from(document.querySelectorAll('svg.diagram')).map(s => [s.getBoundingClientRect().width, s.getBoundingClientRect().height])"
    )
    drawn = 2 + len(flow.sagas) if flow.events or flow.services or flow.externals else 0
    assert len(svgs) == drawn and all(w > 100 and h > 50 for w, h in svgs), svgs
    assert browser.evaluate("document.querySelectorAll('script, iframe, object, embed').length") == 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = browser.screenshot(SCREENSHOTS / f"{spec.stem}.png")
    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 50_000


def test_the_browser_check_can_fail(browser: Browser, tmp_path: Path) -> None:
    """A page that fetches a neighbour file and logs an error is caught by the same checks."""
    page = tmp_path / "leaky.html"
    page.write_text(
        '<!DOCTYPE html><html><body><img src="neighbour.png"><script>console.error("boom")</script></body></html>'
    )
    visit = browser.open(page.as_uri())
    assert visit.requests != [page.as_uri()]
    assert visit.errors


def test_review_lists_every_warning_from_check(flowgen: Runner, browser: Browser, tmp_path: Path) -> None:
    check = flowgen("check", "--format", "json", str(relative(SKETCH)), cwd=ROOT)
    warnings = [d for d in json.loads(check.stdout) if d["severity"] == "warning"]
    assert warnings, "the sketch has warnings to list"
    browser.open(generate_review(flowgen, SKETCH, tmp_path).as_uri())
    listed = browser.evaluate("document.querySelector('#warnings').innerText")
    for d in warnings:
        assert (
            f"{d['file']}:{d['line']}:{d['column']}" in listed
            and f"warning[{d['code']}]" in listed
            and d["message"] in listed
        )


def test_review_step_table_and_traceability(flowgen: Runner, browser: Browser, tmp_path: Path) -> None:
    browser.open(generate_review(flowgen, SKETCH, tmp_path).as_uri())
    rows = browser.evaluate(
        "Array.from(document.querySelectorAll('table.steps tbody tr')).map(r => Array.from(r.cells).map(c => c.innerText.trim()))"
    )
    assert [r[:7] for r in rows] == [
        [
            "1",
            "reserve",
            "Inventory.ReserveStock",
            "Inventory.ReleaseStock",
            "",
            "timeout 1m30s",
            "sent once (no resend); handler: 5 attempts, exponential 200ms..30s + jitter",
        ],
        [
            "2",
            "charge",
            "Payments.Charge",
            "Payments.Refund",
            "",
            "timeout 1m20s",
            "sent once (no resend); handler: 3 attempts, fixed 1s",
        ],
        [
            "3",
            "ship",
            "Shipping.ScheduleShipment",
            "—",
            "PIVOT",
            "timeout 1m30s",
            "sent once (no resend); handler: 5 attempts, exponential 200ms..30s + jitter",
        ],
    ]
    trace = browser.evaluate("document.querySelector('table.trace').innerText")
    for expected in (
        "POST /orders",
        "ApiPostOrdersMethod",
        "OrdersCancelOrderQueue",
        "OrdersCancelOrderDeadLetterQueue",
        "python/checkout/handlers/orders.py",
        "CheckoutSagaStateMachine",
    ):
        assert expected in trace


def test_print_layout_hides_navigation_and_fits_diagrams(flowgen: Runner, browser: Browser, tmp_path: Path) -> None:
    browser.open(generate_review(flowgen, SKETCH, tmp_path).as_uri())
    browser.call("Emulation.setEmulatedMedia", {"media": "print"}, browser.session)
    try:
        assert browser.evaluate("getComputedStyle(document.querySelector('nav')).display") == "none"
        assert browser.evaluate("getComputedStyle(document.querySelector('h2:not(.first)')).breakBefore") == "page"
        widths = browser.evaluate(
            "Array.from(document.querySelectorAll('svg.diagram')).map(s => s.getBoundingClientRect().width <= document.body.getBoundingClientRect().width + 1)"
        )
        assert widths and all(widths)
        pdf = browser.call("Page.printToPDF", {"printBackground": True}, browser.session)["data"]
        assert len(pdf) > 10_000
    finally:
        browser.call("Emulation.setEmulatedMedia", {"media": ""}, browser.session)


def test_inline_svgs_are_well_formed_xml(flowgen: Runner, tmp_path: Path) -> None:
    html = generate_review(flowgen, SKETCH, tmp_path).read_text()
    svgs = re.findall(r"<svg\b.*?</svg>", html, flags=re.S)
    assert len([s for s in svgs if s.startswith('<svg class="diagram"')]) == 3  # and the failure scenarios' sequences
    for svg in svgs:
        ET.fromstring(svg)


def test_review_without_dot_fails_in_one_line_and_writes_nothing(tmp_path: Path) -> None:
    result = run_without_dot("generate", "-t", "review", "-o", str(tmp_path / "out"), str(SKETCH))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "`dot`" in lines[0] and "apt-get install graphviz" in lines[0]
    assert not (tmp_path / "out" / "review").exists()


def test_review_is_identical_when_generated_twice(flowgen: Runner, tmp_path: Path) -> None:
    first = generate_review(flowgen, SKETCH, tmp_path / "a").read_bytes()
    second = generate_review(flowgen, SKETCH, tmp_path / "b").read_bytes()
    assert first == second


def test_the_content_security_policy_blocks_what_escaping_might_miss(
    flowgen: Runner, browser: Browser, tmp_path: Path
) -> None:
    """Issue 11: the page's own CSS applies, but an injected script never runs and an
    injected image is never fetched (the policy is in a meta tag, ahead of everything)."""
    page = generate_review(flowgen, SKETCH, tmp_path / "out")
    html = page.read_text()
    assert html.index('http-equiv="Content-Security-Policy"') < html.index("<style>")
    hostile = tmp_path / "hostile.html"
    hostile.write_text(
        html.replace(
            "<body>",
            '<body><script>document.title = "ran"</script><img src="neighbour.png"><p style="color:red">x</p>',
            1,
        )
    )
    visit = browser.open(hostile.as_uri())
    assert browser.evaluate("document.title") != "ran"
    blocked = [e for e in visit.errors if "Content Security Policy" in e]
    assert any("script" in e for e in blocked) and any("neighbour.png" in e for e in blocked), visit.errors
    clean = browser.open(page.as_uri())
    assert clean.errors == []
    assert browser.evaluate("getComputedStyle(document.querySelector('nav')).display") != "inline"


# Per saga figure: the rendered height of each node's text (its glyph box on screen) and of the
# body text in a paragraph of the page, both measured with a Range, as a reader sees them.
TEXT_HEIGHTS = """
(() => {
  const height = (node) => { const r = document.createRange(); r.selectNodeContents(node); return r.getBoundingClientRect().height; };
  const body = Array.from(document.querySelectorAll('main p, body p')).find((p) => p.textContent.trim());
  const sagas = Array.from(document.querySelectorAll('figure[id^="diagram-saga-"]')).map((f) => ({
    id: f.id,
    texts: Array.from(f.querySelectorAll('svg.diagram g.node text')).map(height),
  }));
  return { body: body ? height(body.firstChild) : 0, bodyFont: parseFloat(getComputedStyle(document.body).fontSize), sagas };
})()
"""


@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_saga_view_text_is_at_least_body_text_size(
    spec: Path, flowgen: Runner, browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The saga view is drawn at reading size: the page does not shrink it below the body text.

    Drawn left to right, a five-step saga was one row 3,452 px wide that the page scaled to
    a third; top to bottom it fits the column at its natural size.
    """
    if not load(spec, monkeypatch).sagas:
        pytest.skip("no saga to draw")
    browser.open(generate_review(flowgen, spec, tmp_path / "out").as_uri())
    measured = browser.evaluate(TEXT_HEIGHTS)
    body = measured["body"]
    assert body >= measured["bodyFont"], measured
    assert measured["sagas"], "no saga figure on the page"
    for saga in measured["sagas"]:
        texts = sorted(saga["texts"])
        assert texts, saga["id"]
        median = texts[len(texts) // 2]
        assert median >= body, f"{saga['id']}: node text {median:.1f}px high, body text {body:.1f}px ({texts})"


def test_the_services_section_shows_who_may_call_each_endpoint() -> None:
    html = str(services_section(load_flow(ROOT / "tests" / "cloudformation" / "gateway.flow")))
    assert "auth iam (default)" in html and "auth iam<" in html
    assert '<code class="public">auth none</code>' in html
    assert "auth jwt issuer &quot;https://id.example.com&quot; audience &quot;bookings&quot;, &quot;admin&quot;" in html


def test_text_beyond_ascii_is_written_as_character_references_and_read_as_written(
    flowgen: Runner, browser: Browser, tmp_path: Path
) -> None:
    """What flowgen writes into the page is ASCII (a page of ASCII is read, joined, encoded and
    hashed as one byte per character on every edit); a reader sees the characters themselves."""
    require_tool("dot")
    doc = "Café crème — naïve ✓, 😀 ünïcödé"
    spec = tmp_path / "sketch.flow"
    spec.write_text(SKETCH.read_text().replace("/// Money in minor units (cents).", f"/// {doc}", 1))
    result = flowgen("generate", "-t", "review", "-o", str(tmp_path / "out"), str(spec))
    assert result.returncode == 0, result.stderr
    page = tmp_path / "out" / "review" / "checkout.html"
    data = page.read_bytes()
    outside_drawings = re.sub(rb"<svg .*?</svg>", b"", data, flags=re.S)  # dot's text is dot's
    assert outside_drawings.isascii() and b"&#8212;" in outside_drawings
    visit = browser.open(page.as_uri())
    assert visit.errors == []
    assert doc in browser.evaluate("document.body.innerText")
