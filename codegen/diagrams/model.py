"""A diagram as data, independent of the language it is drawn in.

Views (system, saga, events) build a `Diagram` from the resolved model; the DOT
and Mermaid renderers draw any `Diagram`. Colours follow Event Storming, so a
reviewer who knows the sticky notes reads the picture without a legend: events
orange, commands blue, services yellow, external systems pink, sagas (process
managers, "policies") lilac.
"""

from __future__ import annotations

import hashlib
from dataclasses import fields
from operator import attrgetter
from typing import Literal

import orjson

from flowgen_design.dsl.frozen import frozen

NodeKind = Literal[
    "service", "event", "command", "external", "api", "saga", "handler", "step", "compensation", "outcome", "parallel"
]
EdgeKind = Literal["flow", "handled", "trigger", "reply", "awaits", "failure", "compensation"]


@frozen(kw_only=False)
class Style:
    fill: str
    border: str
    shape: str
    text: str = "#1f2328"
    dashed: bool = False


ORANGE, BLUE, YELLOW, PINK, LILAC, RED = "#ffb35c", "#8fc8f2", "#fff27a", "#f7a8c8", "#d7c2f0", "#c62828"

NODE_STYLES: dict[NodeKind, Style] = {
    "event": Style(ORANGE, "#c46a00", "box"),
    "outcome": Style(ORANGE, "#c46a00", "box"),
    "command": Style(BLUE, "#1f6aa5", "box"),
    "step": Style(BLUE, "#1f6aa5", "box"),
    "api": Style(BLUE, "#1f6aa5", "cds"),
    "service": Style(YELLOW, "#a89a00", "box3d"),
    "external": Style(PINK, "#b0306a", "box3d"),
    "saga": Style(LILAC, "#6a3fa0", "hexagon"),
    "handler": Style(LILAC, "#6a3fa0", "box"),
    "compensation": Style("#fde4e4", RED, "box", text=RED, dashed=True),
    "parallel": Style("#eeeeee", "#444444", "box"),
}

EDGE_COLORS: dict[EdgeKind, str] = {
    "flow": "#444444",
    "handled": "#444444",
    "trigger": "#6a3fa0",
    "reply": "#1f6aa5",
    "awaits": "#7a9cc0",
    "failure": RED,
    "compensation": RED,
}


@frozen(kw_only=False)
class Node:
    """One box. `id` is a safe identifier made from names; `label` is plain text
    lines, centred; `detail` lines (payload fields) are left-aligned below it."""

    id: str
    kind: NodeKind
    label: tuple[str, ...]
    detail: tuple[str, ...] = ()
    tooltip: str | None = None
    emphasis: bool = False


@frozen(kw_only=False)
class Edge:
    """An arrow. `reply`: a command's answer; `awaits`: a saga waiting for that answer."""

    source: str
    target: str
    kind: EdgeKind = "flow"
    label: tuple[str, ...] = ()
    backwards: bool = False
    """A layout hint: the edge runs against the reading direction (a compensation
    undoing earlier steps), so its target is drawn before its source."""

    @property
    def dashed(self) -> bool:
        return self.kind in ("failure", "compensation", "reply", "awaits")


@frozen(kw_only=False)
class Diagram:
    """A whole picture: `name` is the view (`system`, `saga:Checkout`, `events`)."""

    name: str
    title: str
    direction: Literal["LR", "TB"]
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    notes: tuple[str, ...] = ()

    def node(self, node_id: str) -> Node | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    def parts(self) -> tuple[Diagram, ...]:
        """The diagram's connected parts (nodes joined by any edge, `constraint=false` ones too),
        each a diagram of its own, in the order of their first nodes, nodes and edges in the
        diagram's order. `dot` lays the parts of a graph out one by one and puts them one after
        another across the reading direction; drawing each part alone and stacking the drawings
        (`render.stack`) shows the same parts the same way (only their ranks are no longer
        aligned with each other's), and an edit inside one part redraws that part only. The
        first part keeps the title and notes; a diagram of one part is itself."""
        parent: dict[str, str] = {n.id: n.id for n in self.nodes}

        def root(x: str) -> str:
            while parent[x] != x:
                parent[x] = x = parent[parent[x]]
            return x

        for e in self.edges:
            parent.setdefault(e.source, e.source)
            parent.setdefault(e.target, e.target)
            a, b = root(e.source), root(e.target)
            if a != b:
                parent[b] = a
        order: dict[str, int] = {}
        for n in self.nodes:
            order.setdefault(root(n.id), len(order))
        for e in self.edges:  # a part of nodes that are only named by edges (`dot` makes them up)
            order.setdefault(root(e.source), len(order))
        if len(order) <= 1:
            return (self,)
        nodes: list[list[Node]] = [[] for _ in order]
        edges: list[list[Edge]] = [[] for _ in order]
        for n in self.nodes:
            nodes[order[root(n.id)]].append(n)
        for e in self.edges:
            edges[order[root(e.source)]].append(e)
        return tuple(
            Diagram(
                self.name,
                self.title if i == 0 else "",
                self.direction,
                tuple(nodes[i]),
                tuple(edges[i]),
                self.notes if i == 0 else (),
            )
            for i in range(len(order))
        )

    def digest(self) -> bytes:
        """What the diagram draws, as 32 bytes: its every field, nodes and edges included. The
        DOT and Mermaid texts of a diagram are functions of it (and of a header), so what is
        made of a whole-flow view is keyed by this, without writing the texts (`to_dot` costs
        about ten times more). Node and edge fields are read as tuples and written as JSON by
        orjson (plain strings, tuples, booleans, None: the same text in every process), or with
        `repr` where orjson refuses (text with a lone surrogate)."""
        nodes = list(map(_NODE_FIELDS, self.nodes))
        edges = list(map(_EDGE_FIELDS, self.edges))
        drawn = {"nodes": nodes, "edges": edges}
        values = [drawn.get(f.name, getattr(self, f.name)) for f in fields(self)]
        try:
            text = orjson.dumps(values, option=orjson.OPT_PASSTHROUGH_SUBCLASS)
        except TypeError:
            text = b"repr:" + repr(values).encode("utf-8", "surrogatepass")
        return hashlib.sha256(text).digest()


_NODE_FIELDS = attrgetter(*(f.name for f in fields(Node)))
_EDGE_FIELDS = attrgetter(*(f.name for f in fields(Edge)))


class GraphBuilder:
    """Collects nodes and edges once each, in the order they are first added."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.edges: dict[tuple[str, str, str, tuple[str, ...]], Edge] = {}

    def node(self, node: Node) -> str:
        self.nodes.setdefault(node.id, node)
        return node.id

    def edge(self, edge: Edge) -> None:
        self.edges.setdefault((edge.source, edge.target, edge.kind, edge.label), edge)

    def build(self, name: str, title: str, direction: Literal["LR", "TB"], notes: tuple[str, ...] = ()) -> Diagram:
        return Diagram(name, title, direction, tuple(self.nodes.values()), tuple(self.edges.values()), notes)


def node_id(kind: str, *names: str) -> str:
    """A diagram identifier: spec names are identifiers already, the kind keeps
    an event and a service of the same name apart (and clear of DOT/Mermaid keywords)."""
    return "_".join((kind, *names))
