"""The one place where names and doc comments become text of another language.

Doc comments are free text: quotes, angle brackets, ampersands, backslashes and
newlines are all allowed in them. Every diagram and page builder passes such text
through exactly one function here for its output language, and never builds
escaped text by hand, so a spec can never break DOT, Mermaid, SVG or HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal, cast

_LINE_BREAKS = re.compile(r"\r\n|\r|\n")
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_MERMAID_SAFE = re.compile(r"[A-Za-z0-9 _.,:/()'*+=?!-]")
# What `html.escape(text, quote=True)` replaces, in one pass: the `html` package costs 2 ms to
# import (its entity tables), on every run that writes a page or a drawing.
_HTML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"})


def printable(text: str) -> str:
    """`text` on one line of any language's comment: every character that is not printable
    (a newline, `\r`, a form feed, `\x85`, U+2028, ...) as a Python-style escape (`\n`,
    `\x85`, `\u2028`), and backslashes doubled so an escape cannot be faked.

    For text from outside the spec's grammar, such as its file name: a name with a
    newline would otherwise end a `#` comment and put code in a generated module.
    """
    return "".join(c if c.isprintable() and c != "\\" else repr(c)[1:-1] for c in text)


def lines_of(text: str) -> list[str]:
    """A text's lines, whatever line endings it uses, with control characters
    (which XML cannot carry at all) shown as U+FFFD."""
    return _LINE_BREAKS.split(_CONTROLS.sub("\ufffd", text))


def dot_text(text: str, align: Literal["center", "left"] = "center") -> str:
    """Text for a DOT quoted string (label, tooltip, ...), escaped once.

    Ampersands become `&amp;` (Graphviz decodes character entities in every
    label, so `&#;` or `&lt;` would otherwise not survive), backslashes are
    doubled so none starts an escape sequence, quotes become `\\"`, and line
    breaks become DOT's own `\\n` (centred) or `\\l` (left) breaks. The result
    is marked `nohtml`, so the graphviz package never takes a name like `<b>` for
    an HTML-like label.
    """
    import graphviz  # only where DOT is written: a run that draws nothing does not import it

    escaped = [line.replace("&", "&amp;").replace("\\", "\\\\").replace('"', '\\"') for line in lines_of(text)]
    if align == "left":
        return cast(str, graphviz.nohtml("".join(line + "\\l" for line in escaped)))
    return cast(str, graphviz.nohtml("\\n".join(escaped)))


def dot_label(lines: Iterable[str], align: Literal["center", "left"] = "center") -> str:
    """A multi-line DOT label from lines of plain text."""
    return dot_text("\n".join(lines), align)


def mermaid_text(text: str) -> str:
    """Text for a Mermaid label or message: anything but plain characters as `#NN;`.

    Mermaid decodes `#NN;` entity codes in labels, so brackets, braces, pipes,
    quotes, `#`, `;` and angle brackets can never end a label or a statement.
    Line breaks become `<br/>`, which Mermaid renders as a line break.
    """
    return "<br/>".join(
        "".join(c if _MERMAID_SAFE.fullmatch(c) else f"#{ord(c)};" for c in line) for line in lines_of(text)
    )


def html_text(text: str) -> str:
    """Text for HTML element content or a quoted attribute value; a character beyond ASCII as a
    numeric character reference (`—` as `&#8212;`), so that a page is ASCII wherever flowgen
    writes it (a page of ASCII is a string of one byte per character: the review page of a large
    spec is read, joined, encoded and hashed on every edit)."""
    escaped = "\n".join(lines_of(text)).translate(_HTML_ESCAPES)
    return escaped if escaped.isascii() else escaped.encode("ascii", "xmlcharrefreplace").decode("ascii")
