"""Formatting generated Python once per shape, not once per module.

A large spec makes hundreds of modules that differ only in names: one handler
interface, one adapter and one stub per service, one model class per message. black
lays a module out from its tokens' kinds and widths and from a few fixed words
(keywords, and the `# fmt:`, `# type:`, `# noqa`-style comments), never from what
the other names are: a module in which every other name is replaced, everywhere, by
another name of the same width is laid out the same way. So each name of three or more
ASCII letters, digits and underscores (outside numbers, escapes and string prefixes) is
replaced by a placeholder of the same width, distinct names by distinct placeholders
(`shape`); black formats the shape, once for all modules that have it, and the names
are put back. Names shorter than three characters and the fixed words stay
as they are, so they are part of the shape.

The placeholders are checked on the way back, once per shape: every one must come back
exactly as many times as it went in, or each module of that shape is formatted as it is. Tests compare
the result with formatting each module directly (`tests/test_shapes.py`), and the goldens
are byte-identical with and without it.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Sequence
from functools import cache

from flowgen_design.codegen.straight import straight

# A name: not inside a number (`1e10`, `0x1f`, `1.e10`), not an escape (`\N{...}`, `\x41`);
# the whole run of word characters or nothing. String prefixes (`rb"..."`) are at most two
# characters long, and names shorter than `_MIN` stay as they are.
_WORD = re.compile(r"(?<![0-9A-Za-z_\\])(?<![0-9]\.)[A-Za-z_][A-Za-z0-9_]*(?![A-Za-z0-9_])")
_SPLIT = re.compile(f"({_WORD.pattern})")  # the same matches, kept between the text around them
_MIN = 3
_COMPACT = re.compile("Q[a-z]+")  # what `compact` makes of a name
# Words black compares with fixed values: keywords and soft keywords, and the words of
# the comments it treats specially (pragma comments, `# fmt: off`, type comments, coding lines).
FIXED = frozenset(
    [
        *keyword.kwlist,
        *keyword.softkwlist,
        *"print exec async await self super __future__ coding".split(),
        *"fmt off on skip type ignore noqa pylint yapf disable enable".split(),
    ]
)


@cache
def _placeholder(index: int, width: int) -> str | None:
    """The `index`th placeholder of `width` characters (`Q___a`, `Q___b`, ...); no keyword
    or fixed word starts with `Q`, and a placeholder is as wide as the name it stands for."""
    digits = _base26(index)  # letters only: a placeholder ending in a digit would make `Q_a1.name` look like a number
    if len(digits) + 1 > width:
        return None
    return "Q" + digits.rjust(width - 1, "_")


def shape(source: str) -> tuple[str, dict[str, str]] | None:
    """`source` with every name replaced by a placeholder of its width, and the names by
    placeholder; None when a placeholder cannot be made (or the source already has one)."""
    parts = _SPLIT.split(source)  # text, name, text, name, ..., text
    names: dict[str, str] = {}
    counts: dict[int, int] = {}
    for word in dict.fromkeys(parts[1::2]):
        if len(word) < _MIN or word in FIXED:
            continue
        width = len(word)
        made = _placeholder(counts.get(width, 0), width)
        counts[width] = counts.get(width, 0) + 1
        if made is None:
            return None
        names[word] = made
    if not names:
        return None
    parts[1::2] = [names.get(word, word) for word in parts[1::2]]
    return "".join(parts), {placeholder: word for word, placeholder in names.items()}


def compact(source: str) -> tuple[str, dict[str, str]] | None:
    """`source` with every name `shape` would replace replaced by the shortest placeholder
    (`Qa`, `Qb`, ..., in order of first use), and the names by placeholder: one text for every
    source with the same tokens in the same order, whatever its names' widths. None when the
    source has a word that looks like one of these placeholders."""
    parts = _SPLIT.split(source)
    names: dict[str, str] = {}
    for word in dict.fromkeys(parts[1::2]):
        if _COMPACT.fullmatch(word):
            return None
        if len(word) >= _MIN and word not in FIXED:
            index = len(names)
            names[word] = "Q" + _base26(index)
    parts[1::2] = [names.get(word, word) for word in parts[1::2]]
    return "".join(parts), {placeholder: word for word, placeholder in names.items()}


def restore(compacted: str, formatted: str, names: dict[str, str]) -> str | None:
    """`formatted`, black's layout of `compacted` (`compact`), with the names put back; None
    when a placeholder does not come back as often as it went in."""
    parts = _SPLIT.split(formatted)
    if _occurrences(parts[1::2], names) != _occurrences(_WORD.findall(compacted), names):
        return None
    parts[1::2] = [names.get(word, word) for word in parts[1::2]]
    return "".join(parts)


def _base26(index: int) -> str:
    digits = ""
    while True:
        index, rest = divmod(index, 26)
        digits = "abcdefghijklmnopqrstuvwxyz"[rest] + digits
        if index == 0:
            return digits


def _occurrences(words: list[str], names: dict[str, str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for word in words:
        if word in names:
            counts[word] = counts.get(word, 0) + 1
    return counts


_formatted: dict[str, list[str] | None] = {}
"""Each shape formatted in this process, split as `_SPLIT` splits it (text, name, text, ...);
None when its placeholders did not come back as often as they went in."""


def format_by_shape(source: str, format_: Callable[[str], str]) -> str:
    """`format_(source)`, computed as `format_` of the source's shape with the names put back
    (each shape formatted and checked once per process); directly when the shape does not check out."""
    shaped = shape(source) if not straight() else None
    if shaped is None:
        return format_(source)
    text, names = shaped
    if text in _formatted:
        parts = _formatted[text]
    else:
        try:
            formatted = format_(text)
        except Exception:  # the shape is no module black takes: format the source itself
            return format_(source)
        parts = _formatted[text] = _checked(text, formatted, names)
    if parts is None:
        return format_(source)
    restored = parts.copy()
    restored[1::2] = [names.get(word, word) for word in parts[1::2]]
    return "".join(restored)


def _checked(text: str, formatted: str, names: dict[str, str]) -> list[str] | None:
    """The formatted shape's parts, if every placeholder came back as often as it went in.
    The placeholders of a shape are its names (every name of three or more characters that
    is not a fixed word), so the check holds for every source of that shape."""
    parts = _SPLIT.split(formatted)
    if _occurrences(parts[1::2], names) != _occurrences(_WORD.findall(text), names):
        return None
    return parts


def stable_lines(lines: Sequence[str], format_: Callable[[str], str]) -> bool:
    """Whether `format_` (black) leaves each of these one-line top-level statements as it is,
    one after another: checked in one call on the distinct shapes of the lines (a line laid out
    alone keeps its layout among lines of its kind, and its shape's layout is its own)."""
    shaped = []
    for line in lines:
        made = shape(line + "\n") if not straight() else None
        shaped.append(made[0] if made is not None else line + "\n")
    module = "".join(dict.fromkeys(shaped))
    try:
        return format_(module) == module
    except Exception:  # black takes none of them: they are formatted with the rest
        return False
