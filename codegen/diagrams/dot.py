"""Draw a `Diagram` as Graphviz DOT: the graph's head with the `graphviz` package's builder, each
node and edge statement as that builder writes it, quoted by the package's own `quote`.

Imported only where DOT is written (`diagrams.view_source`, `view_parts`), so a run that
writes none does not load `graphviz`. Every piece of text goes through
`codegen.escape.dot_text`; node identifiers are made from spec names (identifiers already)
and quoted by the package. Edges that
marked `backwards` (a saga's compensations) are laid out with `dir=back`, so a
compensation sits under the step it undoes; a saga awaiting a reply does not
constrain the ranks, so the answers to its commands do not pull the picture apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import graphviz
from graphviz import quoting

from flowgen_design.codegen.diagrams.model import EDGE_COLORS, NODE_STYLES, Diagram, Edge, Node
from flowgen_design.codegen.escape import dot_label, dot_text

FONT = "DejaVu Sans,Helvetica,Arial,sans-serif"
# From this many nodes on, dot spends most of its time trying ever more orderings
# to remove edge crossings, and that time grows far faster than the picture: the
# 2,000-node system view of a 10,000-line spec took 22 s, 3 s with these limits.
# Smaller diagrams keep dot's defaults and so their exact layout.
LARGE_DIAGRAM = 400
LARGE_LAYOUT = {"mclimit": "0.1", "nslimit": "2", "nslimit1": "2"}


def to_dot(diagram: Diagram, header: str = "") -> str:
    """DOT source of `diagram`, after `header` (comment lines, each ending in a newline)."""
    return header + _source(diagram, _statements(diagram))


def to_dot_parts(diagram: Diagram, parts: Sequence[Diagram] | None = None) -> tuple[str, list[str]]:
    """The DOT source of `diagram` and of each of its connected parts (`parts`, by default
    `Diagram.parts`), each what `to_dot` writes of it, with every node and edge statement written once."""
    lines = _statements(diagram)
    nodes = {id(n): line for n, line in zip(diagram.nodes, lines, strict=False)}
    edges = {id(e): line for e, line in zip(diagram.edges, lines[len(diagram.nodes) :], strict=True)}
    split = diagram.parts() if parts is None else parts
    texts = [_source(p, [*(nodes[id(n)] for n in p.nodes), *(edges[id(e)] for e in p.edges)]) for p in split]
    return _source(diagram, lines), texts


def _statements(diagram: Diagram) -> list[str]:
    """One DOT statement per node, then one per edge, in the diagram's order: each line as the
    `graphviz` package's `Digraph.node` and `Digraph.edge` write it (`\tID [label=... key=value
    ...]`, the other attributes in key order), every identifier quoted by the package's own
    `quote`, once per distinct text (`_quoter`: most keys and values repeat on every line, and
    quoting is what writing a large view costs). `tests/test_diagram_parts.py` holds this to the
    package's builder."""
    quote = _quoter()
    fixed: dict[tuple[object, ...], str] = {}
    lines = [f"\t{quote(node.id)}{_node_attributes(quote, fixed, node)}\n" for node in diagram.nodes]
    for edge in diagram.edges:
        tail, head = _ends(edge)
        lines.append(
            f"\t{_quote_edge(quote, tail)} -> {_quote_edge(quote, head)}{_edge_attributes(quote, fixed, edge)}\n"
        )
    return lines


def _node_attributes(quote: Callable[[str], str], fixed: dict[tuple[object, ...], str], node: Node) -> str:
    """The package's `attr_list` of `_node_attrs(node)`, the label first: what a node's kind and
    emphasis decide (every attribute but its label and tooltip, which sorts last) written once
    per diagram in `fixed`."""
    key = ("node", node.kind, node.emphasis)
    middle = fixed.get(key)
    if middle is None:
        attrs = _node_attrs(node)
        del attrs["label"], attrs["tooltip"]
        assert all(name < "tooltip" for name in attrs), "the tooltip must sort last"
        middle = fixed[key] = _pairs(quote, attrs)
    tooltip = dot_text(node.tooltip or " ".join(node.label))
    return f" [label={quote(_label(node))} {middle} tooltip={quote(tooltip)}]"


def _edge_attributes(quote: Callable[[str], str], fixed: dict[tuple[object, ...], str], edge: Edge) -> str:
    """The package's `attr_list` of `_edge_statement(edge)`'s attributes, the label first: every
    other is decided by the edge's kind, dash and direction, written once per diagram in `fixed`."""
    key = ("edge", edge.kind, edge.dashed, edge.backwards)
    middle = fixed.get(key)
    if middle is None:
        attrs = _edge_statement(edge)[2]
        attrs.pop("label", None)
        middle = fixed[key] = _pairs(quote, attrs)
    label = f"label={quote(dot_label(edge.label))} " if edge.label else ""
    return f" [{label}{middle}]"


def _quoter() -> Callable[[str], str]:
    """The package's `quote`, remembered per text (and per kind: a `nohtml` text is quoted
    where the same plain text would not be)."""
    known: dict[tuple[bool, str], str] = {}

    def quote(text: str) -> str:
        key = (isinstance(text, quoting.NoHtml), text)
        found = known.get(key)
        if found is None:
            found = known[key] = quoting.quote(text)
        return found

    return quote


def _pairs(quote: Callable[[str], str], attrs: dict[str, str]) -> str:
    """`key=value` for each attribute with a value, by key, as the package's `attr_list` writes them."""
    return " ".join(f"{quote(key)}={quote(value)}" for key, value in sorted(attrs.items()) if value is not None)


def _quote_edge(quote: Callable[[str], str], identifier: str) -> str:
    """The package's `quote_edge`: `node[:port[:compass]]`, each quoted but the compass."""
    node, _, rest = identifier.partition(":")
    parts = [quote(node)]
    if rest:
        port, _, compass = rest.partition(":")
        parts.append(quote(port))
        if compass:
            parts.append(compass)
    return ":".join(parts)


def _source(diagram: Diagram, statements: list[str]) -> str:
    """The graph's attributes, then `statements` (`_statements` of the diagram or of some of it)."""
    graph = graphviz.Digraph(name=diagram.name.replace(":", "_"))
    titled = {"labelloc": "t", "label": dot_text(diagram.title)} if diagram.title else {}
    graph.attr(
        rankdir=diagram.direction,
        fontname=FONT,
        fontsize="16",
        **titled,
        nodesep="0.35",
        ranksep="0.6",
        **(LARGE_LAYOUT if len(diagram.nodes) >= LARGE_DIAGRAM else {}),
    )
    graph.attr("node", fontname=FONT, fontsize=_node_font(diagram), style="filled", margin="0.15,0.08")
    graph.attr("edge", fontname=FONT, fontsize="10", arrowsize="0.8")
    graph.body += statements
    return cast(str, graph.source)


def _node_font(diagram: Diagram) -> str:
    """Points of node text: a saga view is read step by step, at body-text size (14pt is 18.7 CSS px
    where the review page shows it unscaled); the overviews keep a denser 12pt."""
    return "14" if diagram.name.startswith("saga:") else "12"


def _node_attrs(node: Node) -> dict[str, str]:
    style = NODE_STYLES[node.kind]
    attrs = {
        "label": _label(node),
        "shape": style.shape,
        "fillcolor": style.fill,
        "color": style.border,
        "fontcolor": style.text,
        "style": "filled,dashed" if style.dashed else "filled",
        "tooltip": dot_text(node.tooltip or " ".join(node.label)),
    }
    if node.emphasis:
        attrs.update(penwidth="3", peripheries="2")
    return attrs


def _label(node: Node) -> str:
    """Title lines centred, detail lines (fields, settings) left-aligned under them."""
    title = dot_label(node.label)
    return cast(str, graphviz.nohtml(title + "\\n" + dot_label(node.detail, "left"))) if node.detail else title


def _edge_statement(edge: Edge) -> tuple[str, str, dict[str, str]]:
    """An edge's tail, head and attributes (a compensation is drawn `dir=back`, head to tail, so
    that it sits under the step it undoes)."""
    color = EDGE_COLORS[edge.kind]
    attrs = {"color": color, "fontcolor": color}
    if edge.label:
        attrs["label"] = dot_label(edge.label)
    if edge.dashed:
        attrs["style"] = "dashed"
    if edge.kind in ("compensation", "failure"):
        attrs["penwidth"] = "1.6"
    if edge.kind == "awaits":
        attrs.update(constraint="false", style="dotted")
    return (*_ends(edge), {**attrs, "dir": "back"} if edge.backwards else attrs)


def _ends(edge: Edge) -> tuple[str, str]:
    """An edge's tail and head as written: a backwards one (`dir=back`) head first."""
    return (edge.target, edge.source) if edge.backwards else (edge.source, edge.target)
