"""Names and doc comments with quotes, angle brackets, ampersands, backslashes and
newlines never break DOT, SVG, Mermaid or HTML: each output is read back by the
real tool and must say exactly what the spec said."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import graphviz
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from flowgen_design.codegen.diagrams import view_names, view_source
from flowgen_design.codegen.diagrams.render import render
from flowgen_design.codegen.escape import dot_text, html_text, lines_of, mermaid_text
from flowgen_design.dsl.model import Flow
from tests.browser import Browser, check_mermaid, mermaid_js
from tests.conftest import Runner, require_tool
from tests.diagram_support import ESCAPING, load
from tests.test_review import generate_review

pytestmark = pytest.mark.slow  # runs dot and Mermaid

XLINK_TITLE = "{http://www.w3.org/1999/xlink}title"
NASTY = st.text(alphabet=st.sampled_from("ab <>&\"'\\\n\r\t{}[]|#;%-`é✓\x01"), max_size=40)


def _docs(flow: Flow) -> list[str]:
    """Every doc comment in the escaping spec that the diagrams carry as tooltips."""
    docs = (
        [e.doc for e in flow.events]
        + [s.doc for s in flow.services]
        + [s.doc for s in flow.sagas]
        + [x.doc for x in flow.externals]
    )
    return [d for d in docs if d]


def test_the_escaping_spec_is_nasty(monkeypatch: pytest.MonkeyPatch) -> None:
    docs = _docs(load(ESCAPING, monkeypatch))
    text = "".join(docs)
    for needle in ('"', "<", ">", "&", "\\", "\n", "</script>", "-->", "{", "|", "#", ";"):
        assert needle in text, needle


def test_dot_accepts_every_view_and_svg_tooltips_say_exactly_the_docs(monkeypatch: pytest.MonkeyPatch) -> None:
    require_tool("dot")
    flow = load(ESCAPING, monkeypatch)
    tooltips: set[str] = set()
    for view in view_names(flow):
        svg = render(view_source(flow, view, "dot"), "svg").decode()
        root = ET.fromstring(svg)
        tooltips |= {el.attrib[XLINK_TITLE] for el in root.iter() if XLINK_TITLE in el.attrib}
    for doc in _docs(flow):
        assert doc in tooltips, doc


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=NASTY)
@example(text="&#;")
@example(text="a &lt; b &amp; c")
def test_dot_text_round_trips_through_dot(text: str) -> None:
    """A label drawn by `dot` shows exactly the text's lines (Graphviz keeps runs of
    blanks as no-break spaces and drops empty lines; neither is a matter of escaping)."""
    require_tool("dot")
    graph = graphviz.Digraph()
    graph.node("n", label=dot_text(text))
    svg = render(graph.source, "svg").decode()
    drawn = ["".join(t.itertext()) for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]

    def blanks(s: str) -> str:
        return re.sub(r"[ \t\xa0]+", " ", s).strip()

    assert [blanks(t) for t in drawn if blanks(t)] == [blanks(line) for line in lines_of(text) if blanks(line)]


@settings(max_examples=200, deadline=None)
@given(text=NASTY)
def test_mermaid_text_leaves_no_syntax(text: str) -> None:
    escaped = mermaid_text(text)
    without_breaks = escaped.replace("<br/>", "")
    assert re.fullmatch(r"(?:[A-Za-z0-9 _.,:/()'*+=?!-]|#\d+;)*", without_breaks)


@settings(max_examples=200, deadline=None)
@given(text=NASTY)
def test_html_text_escapes_exactly_as_the_standard_library_does(text: str) -> None:
    """One `str.translate` instead of `html.escape`, which costs its import: the same text."""
    import html

    joined = "\n".join(lines_of(text))
    assert html_text(text) == html.escape(joined, quote=True).encode("ascii", "xmlcharrefreplace").decode("ascii")


@settings(max_examples=200, deadline=None)
@given(text=NASTY)
def test_html_text_round_trips_through_an_html_parser(text: str) -> None:
    parser = _Collect()
    parser.feed(f'<p title="{html_text(text)}">{html_text(text)}</p>')
    parser.close()
    expected = "\n".join(lines_of(text)).replace("\r", "\n")
    assert parser.starts == [("p", [("title", expected)])]
    assert "".join(parser.data).replace("\r\n", "\n").replace("\r", "\n") == expected


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.starts: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.data: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.starts.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.data.append(data)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser() as b:
        yield b


def test_mermaid_renders_the_saga_doc_exactly(
    monkeypatch: pytest.MonkeyPatch, browser: Browser, tmp_path: Path
) -> None:
    flow = load(ESCAPING, monkeypatch)
    texts = [view_source(flow, view, "mermaid") for view in view_names(flow)]
    results = check_mermaid(browser, mermaid_js(), texts, tmp_path)
    assert all(r["ok"] for r in results), results
    saga = flow.sagas[0]
    assert saga.doc is not None
    sequence = results[view_names(flow).index(f"saga:{saga.name}")]["text"]
    for line in lines_of(saga.doc):
        assert line in sequence
    system = results[0]["text"]
    assert "POST /orders/{order_id}/place" in system


VOID = {"meta", "br", "img", "input", "link", "hr", "wbr", "source", "col", "area", "base", "embed", "param", "track"}


class _Balance(HTMLParser):
    """Every element is closed, in order: what a careless `<` in a doc comment breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.in_svg = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'} at {self.getpos()}")
        else:
            self.stack.pop()


def test_review_page_shows_every_doc_as_text(
    flowgen: Runner, browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = load(ESCAPING, monkeypatch)
    page = generate_review(flowgen, ESCAPING, tmp_path)
    balance = _Balance()
    balance.feed(page.read_text())
    balance.close()
    assert balance.problems == [] and balance.stack == []
    visit = browser.open(page.as_uri())
    assert visit.errors == [] and visit.requests == [page.as_uri()]
    assert browser.evaluate("document.querySelectorAll('script, b, ok, in').length") == 0
    text = browser.evaluate("document.body.innerText")
    docs = (
        _docs(flow) + [f.doc for r in flow.records for f in r.fields if f.doc] + [r.doc for r in flow.records if r.doc]
    )
    docs += (
        [h.doc for h in flow.handlers() if h.doc]
        + [a.doc for s in flow.services for a in s.apis if a.doc]
        + [s.doc for g in flow.sagas for s in g.steps if s.doc]
    )
    for doc in docs:
        for line in lines_of(doc):
            assert line.strip() in text, line
    assert "POST /orders/{order_id}/place" in text
