"""A view drawn in parts: each connected part of a diagram drawn by `dot` on its own, the drawings stacked.

`Diagram.parts` splits a diagram into its connected parts, `dot.to_dot_parts` writes each
part's DOT as `to_dot` would, `render.stack` puts `dot`'s drawings of them into one SVG, and
the review page draws a view that way: an edit inside one part has `dot` draw that part only
(the others come from the cache). The last test runs `flowgen generate` with a `dot` that
logs what it is asked to draw.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.specgen import domain_name, write_spec
from flowgen_design.codegen.diagrams import draw_view, view_parts, view_source
from flowgen_design.codegen.diagrams.dot import to_dot, to_dot_parts
from flowgen_design.codegen.diagrams.model import Diagram, Edge, Node
from flowgen_design.codegen.diagrams.render import GAP, inline_svg, render, render_all, stack
from flowgen_design.dsl.compiler import check_file
from tests.conftest import Runner, require_tool


def _diagram(node_count: int, edges: list[tuple[int, int]], direction: str = "LR") -> Diagram:
    nodes = tuple(Node(f"n{i}", "event", (f"Event{i}",), (f"field_{i}: string",)) for i in range(node_count))
    arrows = tuple(Edge(f"n{a}", f"n{b}", "awaits" if (a + b) % 5 == 0 else "flow") for a, b in edges)
    return Diagram("events", "a flow: events", direction, nodes, arrows)  # type: ignore[arg-type]


@st.composite
def _diagrams(draw: st.DrawFn) -> Diagram:
    count = draw(st.integers(min_value=1, max_value=14))
    pairs = st.tuples(st.integers(0, count - 1), st.integers(0, count - 1))
    return _diagram(count, draw(st.lists(pairs, max_size=18, unique=True)))


def _reaches(diagram: Diagram) -> dict[str, set[str]]:
    """Each node's connected part, by a plain search (what `parts` must agree with)."""
    near: dict[str, set[str]] = {n.id: set() for n in diagram.nodes}
    for e in diagram.edges:
        near[e.source].add(e.target)
        near[e.target].add(e.source)
    found: dict[str, set[str]] = {}
    for start in near:
        seen, todo = {start}, [start]
        while todo:
            for other in near[todo.pop()] - seen:
                seen.add(other)
                todo.append(other)
        found[start] = seen
    return found


@given(_diagrams())
@settings(max_examples=300, deadline=None)
def test_the_parts_of_a_diagram_are_its_connected_parts_in_order(diagram: Diagram) -> None:
    parts = diagram.parts()
    reaches = _reaches(diagram)
    assert sorted(n.id for p in parts for n in p.nodes) == sorted(n.id for n in diagram.nodes)
    assert sorted(map(repr, (e for p in parts for e in p.edges))) == sorted(map(repr, diagram.edges))
    for part in parts:
        ids = {n.id for n in part.nodes}
        assert all(reaches[i] == ids for i in ids)  # one whole part, nothing more
        assert all(e.source in ids and e.target in ids for e in part.edges)
        assert list(part.nodes) == [n for n in diagram.nodes if n.id in ids]  # the diagram's order
        assert list(part.edges) == [e for e in diagram.edges if e.source in ids]
    firsts = [diagram.nodes.index(p.nodes[0]) for p in parts]
    assert firsts == sorted(firsts)
    assert [p.title for p in parts] == [diagram.title] + [""] * (len(parts) - 1)
    if len(parts) == 1:
        assert parts[0] is diagram


@given(_diagrams())
@settings(max_examples=200, deadline=None)
def test_each_parts_dot_is_what_to_dot_writes_of_it(diagram: Diagram) -> None:
    whole, parts = to_dot_parts(diagram)
    assert whole == to_dot(diagram)
    assert parts == [to_dot(p) for p in diagram.parts()]


def test_a_part_without_the_title_has_no_label() -> None:
    _, parts = to_dot_parts(_diagram(3, [(0, 1)]))
    assert "a flow: events" in parts[0] and "label=" not in parts[1].split("\n")[1]


_BOX = re.compile(r'viewBox="0\.00 0\.00 ([0-9.]+) ([0-9.]+)"')


@pytest.mark.parametrize("direction", ["LR", "TB"])
def test_stacked_parts_are_one_svg_of_every_part_at_dots_size(direction: str) -> None:
    require_tool("dot")
    diagram = _diagram(6, [(0, 1), (2, 3), (3, 4)], direction)
    _, sources = to_dot_parts(diagram)
    drawings = render_all(sources, "svg")
    made = stack(drawings, vertical=direction == "LR")
    assert made is not None
    stacked = made.decode("utf-8")
    root = ElementTree.fromstring(stacked)  # well-formed, one root
    assert root.tag.endswith("svg")
    sizes = [_size(d.decode("utf-8")) for d in drawings]
    width, height = _size(stacked)
    gaps = GAP * (len(sizes) - 1)
    if direction == "LR":  # one above the other, as dot places the parts of a left-to-right graph
        assert (width, height) == pytest.approx((max(w for w, _ in sizes), sum(h for _, h in sizes) + gaps), abs=0.01)
    else:
        assert (width, height) == pytest.approx((sum(w for w, _ in sizes) + gaps, max(h for _, h in sizes)), abs=0.01)
    offsets = [float(n) for m in re.findall(r'<g transform="translate\(([0-9.]+) ([0-9.]+)\)">', stacked) for n in m]
    along = [sum(size[direction == "LR"] + GAP for size in sizes[:i]) for i in range(len(sizes))]
    expected = [n for a in along for n in ((0.0, a) if direction == "LR" else (a, 0.0))]
    assert offsets == pytest.approx(expected, abs=0.01)  # each part after the one before, none overlapping
    titles = re.findall(r"<title>(n\d)</title>", stacked)
    assert sorted(titles) == [f"n{i}" for i in range(6)]  # every node drawn, once
    assert stack(drawings[:1], vertical=True) == drawings[0]


def _size(svg: str) -> tuple[float, float]:
    found = _BOX.search(svg)
    assert found is not None
    return float(found[1]), float(found[2])


def _graphs(log: str) -> set[str]:
    """The graphs `dot` was asked to draw (one may be drawn twice: `render` tries batching once)."""
    return {"digraph " + g for g in log.split("digraph ")[1:]}


def _logging_dot(tmp_path: Path) -> tuple[Path, Path]:
    """A folder with a `dot` that appends what it is asked to draw to a log, then draws it."""
    real = require_tool("dot")
    folder, log = tmp_path / "bin", tmp_path / "dot.log"
    folder.mkdir()
    shim = folder / "dot"
    shim.write_text(
        f"#!{sys.executable}\n"
        "import os, sys\n"
        "data = sys.stdin.buffer.read()\n"
        f"with open({str(log)!r}, 'ab') as log:\n"
        "    log.write(data)\n"
        "r, w = os.pipe()\n"
        "os.write(w, data); os.close(w)\n"
        "os.dup2(r, 0)\n"
        f"os.execv({real!r}, [{real!r}, *sys.argv[1:]])\n"
    )
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    return folder, log


@pytest.mark.slow
def test_an_edit_inside_one_part_of_a_view_has_dot_draw_that_part_only(flowgen: Runner, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec", 3)  # three domains: each view of events has three parts
    folder, log = _logging_dot(tmp_path)
    env = {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}", "FLOWGEN_CACHE_DIR": str(tmp_path / "cache")}
    out = tmp_path / "out"
    first = flowgen("generate", str(spec), "--out", str(out), "--target", "review", env=env)
    assert first.returncode == 0, first.stderr
    graphs = _graphs(log.read_text())
    assert len([g for g in graphs if g.startswith("digraph events {")]) == 3, "each part drawn on its own"
    page = (out / "review" / "bench.html").read_text()
    figure = page[page.index('id="diagram-events"') :]
    figure = figure[: figure.index("</figure>")]
    for i in range(3):
        assert f"<title>event_{domain_name(i)}Requested</title>" in figure  # every part is in the one figure

    log.write_text("")
    first_domain = domain_name(0)
    text = spec.read_text()
    spec.write_text(
        text.replace(
            f"event {first_domain}Requested {{\n", f"event {first_domain}Requested {{\n  added_note: string?\n", 1
        )
    )
    again = flowgen("generate", str(spec), "--out", str(out), "--target", "review", env=env)
    assert again.returncode == 0, again.stderr
    (drawn,) = _graphs(log.read_text())  # one part drawn again
    assert f"event_{first_domain}Requested" in drawn and "added_note" in drawn
    page = (out / "review" / "bench.html").read_text()
    assert "added_note" in page[page.index('id="diagram-events"') :]

    full = tmp_path / "full"  # and the page is what a first run into an empty folder makes
    assert flowgen("generate", str(spec), "--out", str(full), "--target", "review", env=env).returncode == 0
    assert (full / "review" / "bench.html").read_bytes() == (out / "review" / "bench.html").read_bytes()


@pytest.mark.slow
def test_flowgen_diagram_draws_the_review_pages_picture(flowgen: Runner, tmp_path: Path) -> None:
    require_tool("dot")
    spec = write_spec(tmp_path / "spec", 2)
    drawn = flowgen("diagram", str(spec), "--view", "events", "--format", "svg", "-o", str(tmp_path / "events.svg"))
    assert drawn.returncode == 0, drawn.stderr
    svg = (tmp_path / "events.svg").read_text()
    assert ElementTree.fromstring(svg).tag.endswith("svg") and svg.count('<g id="graph0"') == 2  # two parts
    out = tmp_path / "out"
    assert flowgen("generate", str(spec), "--out", str(out), "--target", "review").returncode == 0
    page = (out / "review" / "bench.html").read_text()
    assert inline_svg(svg) in page


def test_parts_that_cannot_be_stacked_are_drawn_whole(tmp_path: Path) -> None:
    """Another Graphviz's SVG that `stack` does not know: the view is drawn whole, not failed."""
    require_tool("dot")
    flow = check_file(write_spec(tmp_path, 2)).flow
    assert flow is not None and len(view_parts(flow, "events")) == 2
    assert stack([b"<svg/>", b"<svg/>"], vertical=True) is None
    whole = render(view_source(flow, "events", "dot"), "svg")
    assert draw_view(flow, "events", [b"<svg/>", b"<svg/>"]) == whole


# ---- DOT statements written as the `graphviz` package writes them -----------------------------------------


def _package_statements(diagram: Diagram) -> list[str]:
    """What `Digraph.node` and `Digraph.edge` write of the diagram (how flowgen wrote DOT before
    `dot._statements` quoted each text once)."""
    import graphviz

    from flowgen_design.codegen.diagrams import dot

    graph = graphviz.Digraph()
    for node in diagram.nodes:
        graph.node(node.id, **dot._node_attrs(node))
    for edge in diagram.edges:
        tail, head, attrs = dot._edge_statement(edge)
        graph.edge(tail, head, **attrs)
    return list(graph.body)


def test_every_view_of_the_bundled_specs_is_written_as_the_package_writes_it() -> None:
    from flowgen_design.codegen.diagrams import build_view, view_names
    from flowgen_design.codegen.diagrams.dot import _statements

    specs = sorted((Path(__file__).parent.parent / "specs").glob("*.flow"))
    checked = 0
    for spec in specs:
        flow = check_file(spec).flow
        assert flow is not None, spec
        for view in view_names(flow):
            diagram = build_view(flow, view)
            assert _statements(diagram) == _package_statements(diagram), (spec.name, view)
            checked += len(diagram.nodes) + len(diagram.edges)
    assert checked > 200


# Text that DOT quotes in every way: keywords, numerals, HTML-like strings, quotes, backslashes, ports.
_TRICKY = st.text(alphabet='ab:<>"\\ -.09é\nnodegraphstrictEdG', max_size=12) | st.sampled_from(
    ["node", "Edge", "graph", "strict", "subgraph", "-4.2", ".42", "", "<<b>x</b>>", '\\"', "a:b:n", "<>"]
)


@given(
    ids=st.lists(_TRICKY, min_size=1, max_size=4),
    labels=st.lists(st.lists(_TRICKY, max_size=2), min_size=1, max_size=4),
    tooltip=st.none() | _TRICKY,
    details=st.lists(_TRICKY, max_size=2),
)
@settings(max_examples=300, deadline=None)
@pytest.mark.filterwarnings("ignore::graphviz.exceptions.DotSyntaxWarning")  # a text ending in one backslash
def test_tricky_text_is_quoted_as_the_package_quotes_it(
    ids: list[str], labels: list[list[str]], tooltip: str | None, details: list[str]
) -> None:
    from flowgen_design.codegen.diagrams.dot import _statements

    nodes = tuple(
        Node(node_id, "event", tuple(labels[i % len(labels)]), tuple(details), tooltip, i % 2 == 0)
        for i, node_id in enumerate(ids)
    )
    kinds = ("flow", "compensation", "awaits", "failure", "reply")
    edges = tuple(
        Edge(a, b, kinds[i % 5], tuple(labels[i % len(labels)]), i % 2 == 1)  # type: ignore[arg-type]
        for i, (a, b) in enumerate(zip(ids, reversed(ids), strict=True))
    )
    diagram = Diagram("events", "t", "LR", nodes, edges)
    assert _statements(diagram) == _package_statements(diagram)
