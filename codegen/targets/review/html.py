"""A tiny HTML builder: spec text is escaped exactly once, when it becomes a child.

`Html` marks markup that is already safe (built here); any plain `str` passed
as a child or attribute value goes through `codegen.escape.html_text`. Nothing
else in the review page writes angle brackets around spec text.
"""

from __future__ import annotations

from collections.abc import Iterable

from flowgen_design.codegen.escape import html_text


class Html(str):
    """Markup that is safe to insert as is."""


Child = str | Html | None | Iterable["Child"]


def render(child: Child) -> Html:
    if child is None:
        return Html("")
    if isinstance(child, Html):
        return child
    if isinstance(child, str):
        return Html(html_text(child))
    return Html("".join(render(c) for c in child))


def el(tag: str, *children: Child, **attrs: str | None) -> Html:
    """`<tag attrs>children</tag>`; `class_` is written `class`, `data_x` as `data-x`."""
    return Html(f"<{tag}{_attrs(attrs)}>{render(children)}</{tag}>")


def tags(tag: str, **attrs: str | None) -> tuple[str, str]:
    """The opening and closing tags `el` writes around its children, for a document that is joined
    once from its parts (the page is megabytes: each `el` around it would copy it twice)."""
    return f"<{tag}{_attrs(attrs)}>", f"</{tag}>"


def void(tag: str, **attrs: str | None) -> Html:
    return Html(f"<{tag}{_attrs(attrs)}>")


def _attrs(attrs: dict[str, str | None]) -> str:
    return "".join(f' {k.rstrip("_").replace("_", "-")}="{html_text(v)}"' for k, v in attrs.items() if v is not None)


def table(headers: Iterable[str], rows: Iterable[Iterable[Child]], class_: str | None = None) -> Html:
    head = el("thead", el("tr", [el("th", h, scope="col") for h in headers]))
    body = el("tbody", [el("tr", [el("td", cell) for cell in row]) for row in rows])
    return el("table", head, body, class_=class_)


def anchor(kind: str, name: str) -> str:
    """A fragment id for an element of the spec; names are identifiers, routes are not."""
    return f"{kind}-" + "".join(c if c.isalnum() or c in "_-" else "-" for c in name)
