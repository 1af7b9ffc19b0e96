"""`json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)`, many times faster.

With `indent`, the standard library leaves its C encoder for a pure-Python
one, which made writing a large CloudFormation template most of the
CloudFormation target's time. orjson (`OPT_INDENT_2 | OPT_SORT_KEYS`) writes the
same layout in compiled code, about 12 times faster than even the Python writer
below, and differs from the standard library only where a value is not what a
template holds: NaN and infinities (orjson writes `null`), floats the standard
library writes with an exponent, integers beyond 64 bits, surrogates, keys that
are not plain strings. Its text is kept only when none of those can be in it:
no number printed in a doubtful form, and where `null` is printed, the text read
back equals the value (NaN equals nothing). Otherwise the Python writer below
does it: the layout done here, every string through the standard library's C
string encoder. `tests/test_prettyjson.py` compares both with `json.dumps` on
arbitrary data.
"""

from __future__ import annotations

import json
import math
import re
from json.encoder import encode_basestring  # the C implementation when available
from typing import Any

import orjson

_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
# orjson prints a float with an exponent (`1e-7`, `1e16`) where the standard library does too but
# in another form, and below 1e-4 it writes `0.0000...` where the standard library has an
# exponent. Found as `e` and a digit or `-` after a digit, and `0.0000`; in a string
# ("Orders2e-mail") that is a false alarm, which only costs the Python writer. A regular
# expression with a line anchor or a digit class first costs more than the dump (14 MB).
_EXPONENT = re.compile(rb"e[-0-9]")
_DIGITS = frozenset(b"0123456789")


def _doubtful_number(data: bytes) -> bool:
    return b"0.0000" in data or any(data[m.start() - 1] in _DIGITS for m in _EXPONENT.finditer(data, 1))


def dumps(value: Any) -> str:
    """`value` as indented JSON with sorted keys, exactly as `json.dumps` writes it."""
    data, _ = _compiled(value)
    return data.decode() if data is not None else _python(value)


def dumps_parsed(value: Any) -> tuple[str, Any]:
    """`dumps(value)`, and that text read back as JSON (what a template check reads)."""
    data, parsed = _compiled(value)
    if data is None:
        text = _python(value)
        return text, json.loads(text)
    return data.decode(), parsed if parsed is not None else orjson.loads(data)


def _compiled(value: Any) -> tuple[bytes | None, Any]:
    """orjson's text of `value` when it is the standard library's (else None), and the text
    read back when that was needed to know."""
    try:
        data = orjson.dumps(value, option=_OPTIONS)
    except (TypeError, orjson.JSONEncodeError):  # a big integer, a surrogate, a key not a str
        return None, None
    if _doubtful_number(data):
        return None, None
    if b"null" not in data:
        return data, None
    parsed = orjson.loads(data)  # `null` printed: a None, or a NaN or infinity (equal to no None)
    return (data, parsed) if parsed == value else (None, None)


def _python(value: Any) -> str:
    parts: list[str] = []
    _write(value, "\n", parts)
    return "".join(parts)


def _write(value: Any, newline: str, parts: list[str]) -> None:
    if isinstance(value, str):
        parts.append(encode_basestring(value))
    elif value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, int):
        parts.append(int.__repr__(value))
    elif isinstance(value, float):
        parts.append(_float(value))
    elif isinstance(value, dict):
        _object(value, newline, parts)
    elif isinstance(value, list | tuple):
        _array(value, newline, parts)
    else:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _object(value: dict[Any, Any], newline: str, parts: list[str]) -> None:
    if not value:
        parts.append("{}")
        return
    inner = newline + "  "
    separator = "{" + inner
    for key in sorted(value):
        if not isinstance(key, str):
            raise TypeError(f"keys must be str here, not {type(key).__name__}")
        parts.append(separator)
        parts.append(encode_basestring(key))
        parts.append(": ")
        _write(value[key], inner, parts)
        separator = "," + inner
    parts.append(newline + "}")


def _array(value: list[Any] | tuple[Any, ...], newline: str, parts: list[str]) -> None:
    if not value:
        parts.append("[]")
        return
    inner = newline + "  "
    separator = "[" + inner
    for item in value:
        parts.append(separator)
        _write(item, inner, parts)
        separator = "," + inner
    parts.append(newline + "]")


def _float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)
