"""A valid sample payload for a message, from its types and constraints: what a replayed scenario publishes.

Values are plain JSON (what `Model.model_validate` takes). Constraints are kept:
numbers within `min`/`max`, strings within their lengths, and a `pattern` matched
by a small sampler for the patterns specs use (character classes, `\\d`, literals,
fixed or bounded repeats); a pattern it cannot satisfy gives a placeholder the
replay file asks the reader to edit (`unsatisfied`).
"""

from __future__ import annotations

import re
from typing import Any

from flowgen_design.dsl.model import (
    Constraints,
    EnumRef,
    Field,
    ListRef,
    MapRef,
    Message,
    OptionalRef,
    RecordRef,
    Scalar,
    ScalarRef,
    TypeRef,
)

_SCALARS: dict[Scalar, Any] = {
    Scalar.INT: 1,
    Scalar.FLOAT: 1.5,
    Scalar.DECIMAL: "1.50",
    Scalar.BOOL: True,
    Scalar.UUID: "00000000-0000-4000-8000-000000000001",
    Scalar.TIMESTAMP: "2030-01-01T00:00:00Z",
    Scalar.DATE: "2030-01-01",
    Scalar.DURATION: "PT1S",
    Scalar.BYTES: "AA==",
}
_ATOM = re.compile(r"(\[[^\]]+\]|\\d|\\w|[A-Za-z0-9 _.:@/-])(\{(\d+)(?:,(\d*))?\}|[+*?])?")


def sample_payload(message: Message) -> dict[str, Any]:
    return {f.name: sample_value(f.type, f.name, f.constraints) for f in message.fields}


def unsatisfied(message: Message) -> list[str]:
    """Fields of `message` (top level) whose pattern the sampler could not match."""
    return [f.name for f in message.fields if _pattern_missed(f)]


def _pattern_missed(field: Field) -> bool:
    pattern = field.constraints.pattern
    return pattern is not None and _from_pattern(pattern) is None


NO_CONSTRAINTS = Constraints()


def sample_value(t: TypeRef, name: str, c: Constraints = NO_CONSTRAINTS) -> Any:
    if isinstance(t, OptionalRef):
        return sample_value(t.inner, name, c)
    if isinstance(t, ListRef):
        return [sample_value(t.item, name)]
    if isinstance(t, MapRef):
        return {"k": sample_value(t.value, name)}
    if isinstance(t, RecordRef):
        return {f.name: sample_value(f.type, f.name, f.constraints) for f in t.record.fields}
    if isinstance(t, EnumRef):
        return t.enum.members[0].name
    assert isinstance(t, ScalarRef)
    if t.scalar is Scalar.STRING:
        return _string(name, c)
    if t.scalar in (Scalar.INT, Scalar.FLOAT) and c.minimum is not None:
        return max(c.minimum, 1) if c.maximum is None or c.maximum >= 1 else c.minimum
    return _SCALARS[t.scalar]


def _string(name: str, c: Constraints) -> str:
    if c.pattern is not None:
        return _from_pattern(c.pattern) or f"EDIT-ME: match {c.pattern}"
    text = f"{name}-1"
    if c.max_length is not None:
        text = text[: max(c.max_length, 0)]
    if c.min_length is not None and len(text) < c.min_length:
        text += "x" * (c.min_length - len(text))
    return text


def _from_pattern(pattern: str) -> str | None:
    """The shortest string of a simple pattern's form, or None."""
    body = pattern.removeprefix("^").removesuffix("$")
    out, at = [], 0
    while at < len(body):
        match = _ATOM.match(body, at)
        if match is None:
            return None
        atom, repeat, low = match.group(1), match.group(2), match.group(3)
        count = int(low) if low is not None else (1 if repeat in (None, "+") else 0)
        out.append(_char(atom) * count)
        at = match.end()
    text = "".join(out)
    return text if re.fullmatch(pattern, text) else None


def _char(atom: str) -> str:
    if atom in ("\\d",):
        return "1"
    if atom == "\\w":
        return "a"
    if atom.startswith("["):
        inner = atom[1:-1]
        return "1" if inner.startswith("0-9") else inner[0] if inner[0] not in "\\^" else "a"
    return atom
