"""Plain data -> block-style YAML, deterministically and fast.

PyYAML's emitter is general (events, styles, analysis of every scalar) and
pure Python, so dumping a large AsyncAPI document took most of a no-op
`generate`. The documents flowgen writes are plain data: dicts with string
keys, lists, strings, ints, floats, bools and None. This writes exactly that,
in PyYAML's layout (keys in insertion order, two-space indent, list items at
their key's indent, multi-line text as literal blocks), with one rule for
every string: plain when it can only be read back as that string by both a
YAML 1.1 reader (PyYAML) and a YAML 1.2 one (the AsyncAPI parser), literal
block for ordinary multi-line text, single-quoted when every character is
printable, double-quoted with escapes otherwise.

`tests/test_blockyaml.py` reads the output back with PyYAML and checks it
against arbitrary data, including every awkward character.

It stays while it beats the kept library: on the benchmark spec's AsyncAPI
document (92,949 lines) it takes 0.24 s against 1.18 s for PyYAML with libyaml's
emitter (`yaml.dump(..., Dumper=yaml.CSafeDumper)`), whose output is
byte-identical; `benchmarks/yaml_dump.py` measures both, docs/benchmarks.md
reports it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

# A string may be written plain when it reads back as that same string in YAML 1.1
# (PyYAML) and in YAML 1.2 (the AsyncAPI parser): printable ASCII without `:` or `#`,
# not starting with an indicator or a space, not ending with a space ...
_PLAIN = re.compile(r"[A-Za-z0-9_$/^().<=+~;\\][ -\"$-9;-~]*(?<! )\Z")
# ... and not something either version reads as another type: a boolean or null word
# (in any case), a number of any base or notation (YAML 1.1 accepts `1_000`, `0b1`,
# `1:30` and `1.2.3`), infinity, not-a-number, a date, or the merge and value keys.
_NOT_TEXT = re.compile(r"""(?x) (?:
    (?i:y|yes|n|no|true|false|on|off|null|~)
    | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])*(?:\.[0-9._]*)?(?:[eE][-+]?[0-9]+)?
    | [-+]?\.[0-9._]*(?:[eE][-+]?[0-9]+)?
    | [-+]?0[bB][01_]+ | [-+]?0[xX][0-9a-fA-F_]+ | [-+]?0[oO][0-7_]+
    | [-+]?\.(?i:inf) | \.(?i:nan)
    | [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*
    | <<|=
    ) \Z""")
# Version numbers look like YAML 1.1's loosest float pattern but no reader in use takes them for one.
_VERSION = re.compile(r"[0-9]+(?:\.[0-9]+){2}(?:-[0-9A-Za-z.-]+)?\Z")
# Characters that may stand as they are in a double-quoted or literal scalar: YAML's
# printable set (\x20-\x7e, \xa0-\ud7ff, \ue000-\ufffd, \U00010000-\U0010ffff) less the characters
# YAML 1.1 reads as line breaks (\u2028, \u2029) and the BOM. Written as the set they are not: a
# class of a few small ranges compiles in a fraction of the time of one of the whole of Unicode
# (each process compiles it; `tests/test_blockyaml.py` compares the two over every character).
_NOT_PRINTABLE = "\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff"
_ALL_PRINTABLE = re.compile(f"[^{_NOT_PRINTABLE}]*\\Z")
_NEEDS_ESCAPE = re.compile(f'["\\\\{_NOT_PRINTABLE}]')
_ESCAPES = {
    "\0": "\\0",
    "\a": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    "\x1b": "\\e",
    '"': '\\"',
    "\\": "\\\\",
    "\x85": "\\N",
    "\u2028": "\\L",
    "\u2029": "\\P",
}
# YAML allows implicit keys up to 1024 characters; longer ones are written explicitly (`? key`).
_MAX_IMPLICIT_KEY = 1000


def dump(data: Any) -> str:
    """`data` as a YAML document (block style), ending in a newline."""
    out: list[str] = []
    if isinstance(data, Mapping) and data:
        _mapping(data, 0, out, "")
    elif isinstance(data, list | tuple) and data:
        _sequence(data, 0, out, "")
    else:
        out.append(_inline(data, 0) + "\n")
    return "".join(out)


def _mapping(data: Mapping[Any, Any], indent: int, out: list[str], lead: str) -> None:
    """Each `key: value` at `indent`; the first line starts with `lead` (`- ` in a list) instead."""
    pad = " " * indent
    for key, value in data.items():
        if not isinstance(key, str):
            raise TypeError(f"YAML keys must be strings here, not {type(key).__name__}")
        name = _scalar(key, indent)
        if len(name) > _MAX_IMPLICIT_KEY:
            out.append(f"{lead}? {name}\n{pad}:")
        else:
            out.append(f"{lead}{name}:")
        lead = pad
        _value(value, indent, out, under_key=True)


def _sequence(data: Sequence[Any], indent: int, out: list[str], lead: str) -> None:
    """Each `- item` at `indent`; the first line starts with `lead` instead."""
    pad = " " * indent
    for item in data:
        if isinstance(item, Mapping) and item:
            _mapping(item, indent + 2, out, lead + "- ")
        elif isinstance(item, list | tuple) and item:
            _sequence(item, indent + 2, out, lead + "- ")
        else:
            out.append(lead + "-")
            _value(item, indent, out, under_key=False)
        lead = pad


class Raw(str):
    """What follows a `key:` at some indent, already written (`value_text`)."""


def value_text(value: Any, indent: int) -> str:
    """What `dump` writes after `key:` for `value` under a key at `indent`: a `Raw` to put there."""
    out: list[str] = []
    _value(value, indent, out, under_key=True)
    return "".join(out)


def _value(value: Any, indent: int, out: list[str], under_key: bool) -> None:
    """What follows `key:` or `-` at `indent`: the rest of the line and any nested lines."""
    if type(value) is Raw:
        out.append(value)
    elif isinstance(value, Mapping) and value:
        out.append("\n")
        _mapping(value, indent + 2, out, " " * (indent + 2))
    elif isinstance(value, list | tuple) and value:
        out.append("\n")
        # As PyYAML writes it: a list under a key is not indented further.
        inner = indent if under_key else indent + 2
        _sequence(value, inner, out, " " * inner)
    else:
        out.append(" " + _inline(value, indent + 2) + "\n")


def _inline(value: Any, indent: int) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        return _scalar(value, indent, block=True)
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, list | tuple):
        return "[]"
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _float(value: float) -> str:
    """As PyYAML writes floats: `.inf`, `.nan`, and always a `.` before an exponent."""
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value).lower()
    if "." not in text and "e" in text:
        text = text.replace("e", ".0e", 1)
    return text


def _scalar(text: str, indent: int, block: bool = False) -> str:
    if _PLAIN.match(text) and (_VERSION.match(text) or not _NOT_TEXT.match(text)):
        return text
    if block and "\n" in text and _blockable(text):
        return _literal(text, indent)
    return _quoted(text)


def _blockable(text: str) -> bool:
    """Multi-line text that a literal block keeps exactly: printable, no leading space or
    blank first line, no carriage returns, tabs or trailing blank lines to get lost."""
    return (
        bool(_ALL_PRINTABLE.match(text.replace("\n", " ")))
        and not text[0].isspace()
        and not text.endswith("\n\n")
        and all(line == line.rstrip(" ") or line.strip() for line in text.split("\n"))
    )


def _literal(text: str, indent: int) -> str:
    chomp = "" if text.endswith("\n") else "-"
    pad = " " * indent
    body = text[:-1] if text.endswith("\n") else text
    lines = [(pad + line) if line else "" for line in body.split("\n")]
    return f"|{chomp}\n" + "\n".join(lines)


def _quoted(text: str) -> str:
    """Single-quoted when every character is printable (as PyYAML prefers), else double-quoted with escapes."""
    if _ALL_PRINTABLE.match(text):
        return "'" + text.replace("'", "''") + "'"
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02X}"
    if code <= 0xFFFF:
        return f"\\u{code:04X}"
    return f"\\U{code:08X}"
