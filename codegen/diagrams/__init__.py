"""Architecture diagrams of a flow: views built as data, drawn as DOT or Mermaid.

A view name is `system`, `events` or `saga:NAME`. `build_view` returns the
format-neutral `Diagram`; `dot.to_dot` and `mermaid.flowchart` draw it, and
`mermaid.saga_sequence` draws a saga as a sequence diagram.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from flowgen_design.codegen.diagrams.events import events_view
from flowgen_design.codegen.diagrams.model import Diagram
from flowgen_design.codegen.diagrams.saga import saga_view
from flowgen_design.codegen.diagrams.system import system_view
from flowgen_design.dsl.model import Flow, Saga


class UnknownView(ValueError):
    """A view or saga name the flow does not have; the message is one line with a suggestion."""


def view_names(flow: Flow) -> list[str]:
    return ["system", "events", *(f"saga:{s.name}" for s in flow.sagas)]


def find_saga(flow: Flow, view: str) -> Saga | None:
    """The saga a `saga:NAME` view draws, or None for the other views."""
    if not view.startswith("saga:"):
        return None
    wanted = view.removeprefix("saga:")
    saga = next((s for s in flow.sagas if s.name == wanted), None)
    if saga is None:
        raise UnknownView(
            f"flow `{flow.name}` has no saga `{wanted}`{_suggest(wanted, [s.name for s in flow.sagas], 'saga:')}"
        )
    return saga


# The views of the flow being generated: the diagrams target and the review page both draw
# every view, and building a large one and writing its DOT takes a while. Only the last
# flow's views are kept (its model is immutable, so they cannot go stale).
_memo: tuple[Flow, dict[tuple[str, str], object]] | None = None


def _views_of(flow: Flow) -> dict[tuple[str, str], object]:
    global _memo
    if _memo is None or _memo[0] is not flow:
        _memo = (flow, {})
    return _memo[1]


def build_view(flow: Flow, view: str) -> Diagram:
    memo = _views_of(flow)
    diagram = memo.get(("diagram", view))
    if not isinstance(diagram, Diagram):
        diagram = memo[("diagram", view)] = _build_view(flow, view)
    return diagram


# The digests of saga views, by the saga's fingerprint: the last clean run's (from its record) and
# this run's (for the next record), while `generate` runs (`saga_digests_from`); None otherwise.
_saga_digests: tuple[Mapping[str, str], dict[str, str]] | None = None


def saga_digests_from(known: Mapping[str, str]) -> None:
    """A run begins: the digest of each saga view the last clean run built, by the fingerprint of
    its saga (`codegen.incremental.Fingerprints`, the run's own: `codegen.fragments.run_prints`)."""
    global _saga_digests
    _saga_digests = (known, {})


def saga_digests() -> dict[str, str]:
    """The run ends: the digest of each saga view it keyed, by its saga's fingerprint (for the record)."""
    global _saga_digests
    made = _saga_digests[1] if _saga_digests is not None else {}
    _saga_digests = None
    return made


def _digest(flow: Flow, view: str) -> bytes:
    """The digest of what `view` draws. A saga's view is a function of the saga alone (`saga_view`
    reads nothing else, and no position), so while `generate` runs, a saga whose fingerprint the
    last clean run keyed has its view's digest without the view being built (70 sagas: ~14 ms of
    every edit); the view is built when its DOT or figure is made."""
    saga = find_saga(flow, view)
    memo = _saga_digests
    if saga is None or memo is None:
        return build_view(flow, view).digest()
    from flowgen_design.codegen.fragments import run_prints

    fingerprint = run_prints().of(saga).hex()
    known = memo[0].get(fingerprint)
    digest = bytes.fromhex(known) if known is not None else build_view(flow, view).digest()
    memo[1][fingerprint] = digest.hex()
    return digest


def view_key(flow: Flow, view: str) -> tuple[object, ...]:
    """What `view` draws, as the inputs that key what is drawn of it (its DOT file, the review
    page's figure; `codegen.incremental`, `codegen.fragments`): the digest of its `Diagram`,
    which is built on every run (cheaply: the 72 views of the benchmark spec in about 20 ms)
    while its DOT is written, and drawn, only when it changed. So an edit that changes
    nothing a view shows (a record's field, even in a saga's command) writes none."""
    memo = _views_of(flow)
    digest = memo.get(("digest", view))
    if not isinstance(digest, bytes):
        digest = memo[("digest", view)] = _digest(flow, view)
    return (view, digest)


def mermaid_key(flow: Flow, view: str) -> tuple[object, ...]:
    """What the Mermaid text of `view` is made from: a saga's is a sequence diagram of the saga
    itself (`saga_sequence`), not of its `Diagram`, so the saga; any other view's is its
    `Diagram` (`view_key`)."""
    saga = find_saga(flow, view)
    return (view, saga) if saga is not None else view_key(flow, view)


def _build_view(flow: Flow, view: str) -> Diagram:
    saga = find_saga(flow, view)
    if saga is not None:
        return saga_view(saga)
    if view == "system":
        return system_view(flow)
    if view == "events":
        return events_view(flow)
    raise UnknownView(f"unknown view `{view}`{_suggest(view, view_names(flow))} (views: {', '.join(view_names(flow))})")


def _suggest(name: str, known: list[str], prefix: str = "") -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    if not close:
        return f" (sagas: {', '.join(known) or 'none'})" if prefix else ""
    return f"; did you mean `{prefix}{close[0]}`?"


def view_source(flow: Flow, view: str, fmt: str, header: str = "", diagram: Diagram | None = None) -> str:
    """The text of a view as `dot` or `mermaid` (a saga is a sequence diagram in Mermaid).

    Callers that already built the view pass it as `diagram`, so it is built once.
    """
    from flowgen_design.codegen.diagrams.mermaid import flowchart, saga_sequence

    saga = find_saga(flow, view) if fmt != "dot" else None
    if saga is not None:
        return saga_sequence(saga, header)
    built = build_view(flow, view)
    if fmt != "dot":
        return flowchart(diagram or built, header)
    from flowgen_design.codegen.diagrams.dot import to_dot  # graphviz: only where DOT is written

    if diagram is not None and diagram is not built:
        return to_dot(diagram, header)
    memo = _views_of(flow)
    body = memo.get(("dot", view))
    if not isinstance(body, str):
        body = memo[("dot", view)] = to_dot(built)
    return header + body


def view_parts(flow: Flow, view: str) -> list[str]:
    """The DOT text of each connected part of `view` (`Diagram.parts`), for drawing each on its
    own and stacking the drawings (`render.stack`): one text, the view's own DOT, when the view
    is one part; none when it has nothing to draw."""
    built = build_view(flow, view)
    if not built.nodes:
        return []
    memo = _views_of(flow)
    parts = memo.get(("parts", view))
    if isinstance(parts, list):
        return parts
    split = built.parts()
    if len(split) == 1:
        parts = [view_source(flow, view, "dot")]
    else:
        from flowgen_design.codegen.diagrams.dot import to_dot_parts

        memo[("dot", view)], parts = to_dot_parts(built, split)
    memo[("parts", view)] = parts
    return parts


def draw_view(flow: Flow, view: str, drawings: list[bytes], purpose: str = "") -> bytes:
    """The SVG drawing of `view` from the drawings of its parts (`view_parts`, in order); drawn
    whole by `dot` when a part's SVG is not what `render.stack` knows (another Graphviz)."""
    from flowgen_design.codegen.diagrams.render import render, stack

    stacked = stack(drawings, vertical=build_view(flow, view).direction == "LR")
    return stacked if stacked is not None else render(view_source(flow, view, "dot"), "svg", purpose)


def view_file_stem(view: str) -> str:
    """`system` -> `system`; `saga:Checkout` -> `saga-checkout`."""
    from flowgen_design.dsl.naming import snake_case

    kind, _, name = view.partition(":")
    return f"{kind}-{snake_case(name).replace('_', '-')}" if name else kind
