"""Writing Python source: the one place that turns spec text into Python literals.

Every piece of spec text that reaches generated Python (doc comments, wire names,
patterns) passes through `literal` or `docstring` here, so no quote, backslash,
brace or control character in a spec can break or change the generated code.
Modules are built as lines and formatted in-process with black.
"""

from __future__ import annotations

import keyword
import re
import textwrap
import unicodedata
from collections.abc import Iterable, Sequence

from flowgen_design.codegen.cache import cached_black
from flowgen_design.codegen.fanout import fan_out, forks
from flowgen_design.codegen.shapes import compact, format_by_shape, restore
from flowgen_design.codegen.straight import straight

INDENT = "    "

# Characters that must not appear raw inside a docstring: a backslash starts an
# escape, and control or line-separator characters would end the line or vanish.
_LINE_BREAKS = {"\u2028", "\u2029", "\x85"}


def literal(value: str | int | float | bool | None) -> str:
    """A Python literal that evaluates exactly to `value` (repr is exact for these types)."""
    return repr(value)


def _escape_char(ch: str) -> str:
    if ch == "\\":
        return "\\\\"
    if ch in "\n\t":
        return ch
    if ch in _LINE_BREAKS or unicodedata.category(ch) in ("Cc", "Cs"):
        code = ord(ch)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return ch


# Any character `_docstring_body` may have to change.
_SPECIAL = re.compile('[\\\\"\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]')


def _docstring_body(text: str) -> str:
    """Escape so that no three quotes meet, inside the text or with the closing quotes."""
    if not _SPECIAL.search(text):
        return text
    out = []
    for i, ch in enumerate(text):
        if ch == '"' and (i + 1 == len(text) or (i > 0 and text[i - 1] == '"')):
            out.append('\\"')
        else:
            out.append(_escape_char(ch))
    return "".join(out)


def docstring(text: str, indent: str = "") -> list[str]:
    """A triple-quoted docstring whose value is `text` (black may trim whitespace)."""
    lines = _docstring_body(text.strip()).split("\n")
    if len(lines) == 1:
        return [f'{indent}"""{lines[0]}"""']
    return [f'{indent}"""{lines[0]}', *(f"{indent}{line}" if line else "" for line in lines[1:]), f'{indent}"""']


def indented(lines: Iterable[str], levels: int = 1) -> list[str]:
    prefix = INDENT * levels
    return [prefix + line if line else "" for line in lines]


def prose(text: str, width: int = 76) -> str:
    """flowgen's own sentences, wrapped to fit a docstring; spec text keeps its own lines."""
    return textwrap.fill(text, width, break_long_words=False, break_on_hyphens=False)


def paragraphs(*parts: str | None) -> str:
    """Non-empty text blocks joined by blank lines: the body of a docstring."""
    return "\n\n".join(p.strip() for p in parts if p and p.strip())


def format_module(lines: Iterable[str]) -> str:
    """Join and format with black, in-process (imported here so `flowgen check` never loads it).

    Black's defaults, with the target version named (the generated distribution requires
    3.11) to skip detecting it; a test proves the result is what `black --check` expects.
    Results are cached per user (`codegen.cache`): regenerating an unchanged spec formats nothing.
    """
    return _format_source(_module_source(lines))


def _module_source(lines: Iterable[str]) -> str:
    return "\n".join(lines).rstrip("\n") + "\n"


def _format_source(source: str) -> str:
    """Formatted once per shape of module (`codegen.shapes`), each shape cached per user."""
    return format_by_shape(source, _cached_black)


def _cached_black(source: str) -> str:
    return cached_black(source, BLACK_MODE, lambda: _black(source))


def format_blocks(head: Iterable[str], blocks: Sequence[Sequence[str]]) -> str:
    """`head`, then each top-level block (a class, a function), formatted as black formats
    them all in one module: two blank lines between blocks.

    One flow's models module holds every type of the spec, and black formats one
    module on one core; block by block, the blocks spread over the cores when there
    are many (`codegen.fanout`), and each is cached on its own. Black decides a
    top-level block's layout from the block alone, which `tests/test_fanout.py`
    checks against formatting the whole module.
    """
    from flowgen_design.codegen import incremental

    if straight():
        return format_module([*head, *(line for block in blocks for line in ["", "", *block])])
    sources = [_module_source(lines) for lines in [head, *blocks]]
    digests = [incremental.part_digest(source) for source in sources]
    known = [incremental.previous_part(digest) for digest in digests]
    missing = [source for source, text in zip(sources, known, strict=True) if text is None]
    if forks(missing, minimum=64):
        import_black()  # once, not in each worker; a run that does not fork may find all of it cached
    formatted = iter(fan_out(_format_block, missing, minimum=64))
    texts = [text if text is not None else next(formatted) for text in known]
    return incremental.composed(list(zip(digests, texts, strict=True)))


def _format_block(source: str) -> str:
    """One top-level block formatted: line by line when it is a plain class (`_laid_out`),
    else by shape (`_format_source`)."""
    laid_out = _laid_out(source)
    return laid_out if laid_out is not None else _format_source(source)


# A statement `_laid_out` takes line by line: a name assigned or annotated, on one line, no comment.
_SIMPLE_STATEMENT = re.compile(r"    ([A-Za-z_][A-Za-z0-9_]*) *[:=][^#]*")
_KEYWORDS = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)
_compact_layouts: dict[str, str | None] = {}
"""Black's layout of each compact statement (`shapes.compact`) met in this process; None
when black does not keep it on one line."""


def _laid_out(source: str) -> str | None:
    """Black's layout of a plain class, found line by line: without black whenever each of
    its parts was seen before (a model class with one more field formats nothing).

    A plain class is its head (the `class` line and a docstring), one blank line, and a body
    of one-line assignments in groups and of methods, one blank line between groups and
    around each method. Black lays a body out statement by statement: it normalises a
    statement's tokens (quotes, numbers, redundant parentheses, spaces) the same way
    whatever its names are, then prints a line that fits and has no magic trailing comma as
    it is, and splits one that does not by its own width and depth alone; the blank lines
    before a statement depend only on the kinds of the lines around it (one after a class
    docstring; between plain statements, as many as were written, at most one; one around
    a method). So the head is formatted alone (by shape, cached per user); each one-line
    statement with its names replaced by the shortest placeholders (`shapes.compact`), alone
    in a class (cached per user: one entry serves every field of that kind, whatever the
    width of its names), its names put back, and taken when the line black made fits in
    `BLACK_LINE_LENGTH`; a statement that does not fit, and each method, alone in a class by
    shape. None when the class is not plain: black formats it whole.
    `tests/test_laid_out.py` holds this to black on random classes and the bundled specs.
    """
    lines = source.split("\n")
    if len(lines) < 4 or not lines[0].startswith("class ") or not lines[1].startswith(INDENT + '"""') or lines[-1]:
        return None
    end = 1 if lines[1].count('"""') == 2 else next((i for i in range(2, len(lines)) if '"""' in lines[i]), 0)
    body = lines[end + 2 : -1]
    if not end or lines[end + 1] or not body or not body[0] or not body[-1]:
        return None
    laid: list[str] = []
    at = 0
    while at < len(body):
        line = body[at]
        if line.startswith(INDENT + "def "):  # a method: its lines, formatted alone
            start, at = at, at + 1
            while at < len(body) and body[at].startswith(INDENT * 2):
                at += 1
            if start == 0 or body[start - 1] or (at < len(body) and body[at]):  # after fields, blank lines around
                return None
            made = _alone("\n".join(body[start:at]))
        else:
            at += 1
            made = _statement(line) if line else ("" if body[at - 2] else None)  # never two blank lines
        if made is None:
            return None
        laid.append(made)
    head = _format_source("\n".join(lines[: end + 1]) + "\n")
    return head + "\n" + "\n".join(laid) + "\n"


def _statement(line: str) -> str | None:
    """Black's layout of one plain statement of a class body: by its compact shape when black's
    line fits, else the statement alone (`_alone`); None when it is no plain statement."""
    simple = _SIMPLE_STATEMENT.fullmatch(line)
    if simple is None or simple[1] in _KEYWORDS or not line.isascii() or line.endswith((":", "\\")):
        return None
    compacted = compact(line)
    if compacted is None:
        return None
    text, names = compacted
    if text not in _compact_layouts:
        _compact_layouts[text] = _compact_layout(text)
    layout = _compact_layouts[text]
    made = restore(text, layout, names) if layout is not None else None
    return made if made is not None and len(made) <= BLACK_LINE_LENGTH else _alone(line)


def _alone(statement: str) -> str | None:
    """Black's layout of one statement of a class body (one that does not fit on a line, or a
    method): the statement alone in a class, formatted by shape (cached per user)."""
    try:
        formatted = _format_source("class C:\n" + statement + "\n")
    except Exception:  # not a whole statement: black formats the class
        return None
    head, _, layout = formatted.partition("\n")
    if head != "class C:" or not layout.startswith(INDENT) or layout[4:5].isspace() or "\n\n" in layout:
        return None
    return layout[:-1]


def _compact_layout(text: str) -> str | None:
    """Black's layout of a compact statement, when black keeps it on one line."""
    layout = _alone(text)
    return layout if layout is not None and "\n" not in layout else None


BLACK_LINE_LENGTH = 88
"""Black's default line length, which generated modules are formatted with."""
BLACK_MODE = "defaults, target py311"  # part of the cache key: change it with `_black`'s mode


def import_black() -> None:
    """Import black here, before work is forked to other processes (`codegen.fanout`), so each
    worker inherits it instead of importing it again (about 0.1 s of CPU per worker)."""
    import black  # noqa: F401
    from black.mode import TargetVersion  # noqa: F401


def black_format(source: str) -> str:
    """black itself, in flowgen's mode (`BLACK_MODE`): no cache, no shapes."""
    return _black(source)


def _black(source: str) -> str:
    import black
    from black.mode import TargetVersion

    return black.format_str(source, mode=black.Mode(target_versions={TargetVersion.PY311}))


class Imports:
    """The imports of one generated module, rendered in isort's groups and order."""

    GROUPS = ("future", "stdlib", "thirdparty", "local")

    def __init__(self) -> None:
        self._names: dict[tuple[str, str], set[str]] = {}
        self._modules: dict[str, set[str]] = {}

    def add(self, group: str, module: str, name: str | None = None) -> None:
        """`from module import name`, or `import module` when `name` is None."""
        if name is None:
            self._modules.setdefault(group, set()).add(module)
        else:
            self._names.setdefault((group, module), set()).add(name)

    def lines(self) -> list[str]:
        out: list[str] = []
        for group in self.GROUPS:
            block = [f"import {m}" for m in sorted(self._modules.get(group, ()))]
            froms = sorted((module, names) for (g, module), names in self._names.items() if g == group)
            block += [f"from {module} import {', '.join(sorted(names, key=_import_order))}" for module, names in froms]
            if block:
                out += [*block, ""]
        return out


def _import_order(name: str) -> tuple[bool, str]:
    """isort's force_sort_within_sections=False order: CONSTANTS, Classes, functions."""
    return (not name[:1].isupper(), name)
