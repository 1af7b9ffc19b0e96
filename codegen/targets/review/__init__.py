"""Target `review`: one self-contained HTML page per flow for a design review.

`review/<flow>.html` holds the diagrams as inline SVG (drawn by Graphviz's `dot`,
so generation fails with an install hint where it is missing; a view of several
connected parts drawn part by part and stacked, `Diagram.parts`), the event
catalogue with payload schemas, services and their handlers' delivery settings,
each saga as a step table, its failure scenarios as `flowgen simulate` explores
them (`scenarios.py`, each with a sequence diagram), every warning from `check`, and a traceability table
from entry points to code and resources. Nothing is loaded from the network: CSS
is inline, there is no script, the fonts are the reader's own; a Content Security
Policy (`content_security_policy`) makes the browser hold the page to that.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from functools import partial
from importlib import resources
from pathlib import PurePosixPath

from flowgen_design.codegen.diagrams import draw_view, view_key, view_names, view_parts
from flowgen_design.codegen.diagrams.render import DotFailed, DotNotFound, inline_svg, render_all, start
from flowgen_design.codegen.files import GeneratedFile
from flowgen_design.codegen.fragments import Fragments
from flowgen_design.codegen.header import html_header
from flowgen_design.codegen.options import GenerateOptions
from flowgen_design.codegen.targets import TargetError, register, register_background
from flowgen_design.codegen.targets.review import sections
from flowgen_design.codegen.targets.review.html import Child, Html, el, render, tags, void
from flowgen_design.codegen.targets.review.scenarios import scenarios_section
from flowgen_design.dsl.model import Flow

_TITLES = {"system": "System", "events": "Events: what follows what, and what each event carries"}


@register("review", "a self-contained HTML design-review page per flow (needs Graphviz's `dot`)")
def build(flow: Flow, options: GenerateOptions) -> list[GeneratedFile]:
    pieces = Fragments(_path(flow), _identity(flow))
    at = pieces.mark()
    content = _contents(flow, options, pieces)  # while `dot` draws (`start_drawing`): the page's HTML
    since = pieces.mark()
    figures = _figures(flow, pieces)  # the drawings, waited for last
    pieces.made_earlier(at, since)  # the figures come first in the page
    page = _page(flow, figures, content, options)
    return [GeneratedFile(_path(flow), page)]


def _path(flow: Flow) -> PurePosixPath:
    return PurePosixPath("review", f"{flow.name}.html")


def _identity(flow: Flow) -> tuple[object, ...]:
    return (flow.name, flow.version, flow.path)


def _figures(flow: Flow, pieces: Fragments) -> list[str]:
    """Each view's figure (HTML: made by `_figure`, or taken back as the last page had it), keyed
    by what the view draws (`view_key`); figures the last run's page has are not drawn again
    (their DOT is not even written), and the rest are drawn together, over the cores. Megabytes
    of SVG: they go into the page as they are, not copied into an `Html` first."""
    sources = _to_draw(flow, pieces)
    try:
        svgs = iter(render_all(_flat(sources), "svg", _PURPOSE))  # collects what `start_drawing` began
        pictures = {
            view: draw_view(flow, view, [next(svgs) for _ in parts], _PURPOSE) for view, parts in sources.items()
        }
    except (DotNotFound, DotFailed) as err:
        raise TargetError(f"{err}; or leave out the review target") from None
    return [
        pieces.piece("figure", view_key(flow, view), partial(_figure, view, _text(pictures.get(view))), ())
        for view in view_names(flow)
    ]


_PURPOSE = "the review page"


@register_background("review")
def start_drawing(flow: Flow, options: GenerateOptions) -> Callable[[], None]:
    """`dot` begins drawing the views the last run's page lacks before any target is built (`render.start`)."""
    views = _views_to_draw(flow, Fragments(_path(flow), _identity(flow)))
    whole = [view for view in views if not view.startswith("saga:")]  # the longest drawings: begun first
    start(_flat(_sources(flow, whole)), "svg", _PURPOSE)
    return start(_flat(_sources(flow, [view for view in views if view not in whole])), "svg", _PURPOSE)


def _to_draw(flow: Flow, pieces: Fragments) -> dict[str, list[str]]:
    """The DOT texts of each view to draw (one per connected part, `view_parts`), by view: each
    with something to draw whose figure the last run's page does not have. `start_drawing` and
    the page find the same (the texts are kept per flow). A part drawn before is in the cache:
    an edit inside one part of a large view has `dot` draw that part only."""
    return _sources(flow, _views_to_draw(flow, pieces))


def _views_to_draw(flow: Flow, pieces: Fragments) -> list[str]:
    return [view for view in view_names(flow) if not pieces.has("figure", view_key(flow, view), ())]


def _sources(flow: Flow, views: list[str]) -> dict[str, list[str]]:
    return {view: parts for view in views if (parts := view_parts(flow, view))}


def _flat(sources: dict[str, list[str]]) -> list[str]:
    return [source for parts in sources.values() for source in parts]


def _text(svg: bytes | None) -> str | None:
    return None if svg is None else svg.decode("utf-8")


def _figure(view: str, svg: str | None) -> Html:
    caption = (
        _TITLES.get(view) or f"Saga {view.removeprefix('saga:')}: happy path, failures and compensations (red, dashed)"
    )
    if svg is None:
        return el(
            "figure",
            el("figcaption", caption),
            el("p", "Nothing to draw: this flow declares no events, services or external systems.", class_="muted"),
        )
    return el("figure", el("figcaption", caption), Html(inline_svg(svg)), id=f"diagram-{view.replace(':', '-')}")


def _page(flow: Flow, figures: list[str], content: dict[str, str], options: GenerateOptions) -> str:
    title = f"{flow.name} {flow.version}: design review"
    css = _css()
    head = el(
        "head",
        void("meta", charset="utf-8"),
        void("meta", http_equiv="Content-Security-Policy", content=content_security_policy(css)),
        void("meta", name="viewport", content="width=device-width, initial-scale=1"),
        el("title", title),
        el("style", Html(css)),
    )
    footer = el(
        "footer",
        f"Generated by flowgen from {flow.path} (flow {flow.name} {flow.version}). Regenerate it with `flowgen generate`; do not edit it.",
    )
    html, body = tags("html", lang="en"), tags("body")
    parts = ["<!DOCTYPE html>\n", html_header(flow), html[0], head, body[0], _header(flow, options), _nav()]
    parts += _sections(figures, content)
    parts += [footer, body[1], html[1], "\n"]
    return "".join(parts)


def content_security_policy(css: str) -> str:
    """The page's policy: nothing is fetched, nothing runs, and only the page's own style
    sheet (allowed by its hash) applies. Should text from a spec ever get past the escaping,
    a browser still would not run it or send anything anywhere."""
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return f"default-src 'none'; style-src 'sha256-{digest}'; img-src data:; base-uri 'none'; form-action 'none'"


def _css() -> str:
    return resources.files("flowgen_design.codegen.targets.review").joinpath("style.css").read_text(encoding="utf-8")


def _header(flow: Flow, options: GenerateOptions) -> Html:
    counts = [
        (len(flow.services), "service", "service"),
        (len(flow.events), "event", "event"),
        (len(flow.commands), "command", "command"),
        (len(flow.sagas), "saga", "saga"),
        (len(flow.externals), "external system", "external"),
        (len(options.warnings), "warning", "warn"),
    ]
    summary = el(
        "ul",
        [el("li", el("span", f"{n} {noun}{'s' * (n != 1)}", class_=f"chip {kind}")) for n, noun, kind in counts],
        class_="summary",
    )
    heading = el("h1", flow.name, " ", el("span", f"version {flow.version}", class_="version"))
    return el(
        "header",
        heading,
        el("p", "Design review of ", el("code", flow.path), class_="muted"),
        sections.doc(flow.doc),
        summary,
    )


_SECTIONS = (
    ("diagrams", "Diagrams"),
    ("warnings", "Warnings from flowgen check"),
    ("events", "Event catalogue"),
    ("types", "Payload types"),
    ("services", "Services and handlers"),
    ("externals", "External systems"),
    ("sagas", "Sagas"),
    ("scenarios", "Failure scenarios"),
    ("alarms", "Alarms: what is watched, and when it fires"),
    ("traceability", "Traceability: entry point to code and resources"),
)


def _nav() -> Html:
    return el("nav", el("ol", [el("li", el("a", text, href=f"#{key}")) for key, text in _SECTIONS]))


def _contents(flow: Flow, options: GenerateOptions, pieces: Fragments) -> dict[str, str]:
    """Each section's content but the diagrams, as the page has it; those made of parts take back
    the parts that did not change from the last run's page (`codegen.fragments`)."""
    content: dict[str, Child] = {
        "warnings": sections.warnings_section(options.warnings),
        "events": sections.events_section(flow, pieces),
        "types": sections.types_section(flow, pieces),
        "services": sections.services_section(flow, pieces),
        "externals": sections.externals_section(flow),
        "sagas": sections.sagas_section(flow, pieces),
        "scenarios": scenarios_section(flow, pieces),
        "alarms": sections.alarms_section(flow, pieces),
        "traceability": sections.trace_section(flow, pieces),
    }
    return {key: render(child) for key, child in content.items()}


def _sections(figures: list[str], content: dict[str, str]) -> list[str]:
    """The page's sections, as the parts of the page they are (joined once, by `_page`): the
    figures, put in as they are, then the others."""
    parts = []
    for i, (key, text) in enumerate(_SECTIONS):
        opening, closing = tags("section", id=key)
        inside = figures if key == "diagrams" else [content[key]]
        parts += [opening, el("h2", text, class_="first" if i == 0 else None), *inside, closing]
    return parts
