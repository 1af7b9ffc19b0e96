"""Building frozen pydantic models from values that are already right, without validation.

The parser creates a node for almost every token of a spec, and the grammar
already guarantees each value's type, so validating them again is pure cost.
pydantic's own `model_construct` skips validation but, being Python, is slower
than validating in Rust; this does the same with four attribute stores.

Callers pass every field (defaults are not filled in).
`tests/test_trusted_nodes.py` validates every node the parser builds against its
pydantic schema, so a missing or mistyped field fails the suite, not a user.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_new = object.__new__
_store = object.__setattr__
_FIELDS_SET: dict[type, set[str]] = {}


def trusted(cls: type[M], /, **fields: Any) -> M:
    """An instance of `cls` holding `fields` as given: every field, each already valid."""
    fields_set = _FIELDS_SET.get(cls)
    if fields_set is None:
        fields_set = _FIELDS_SET[cls] = set(cls.model_fields)
    node = _new(cls)
    fill(node, fields, fields_set)
    return node


def fill(model: BaseModel, fields: dict[str, Any], fields_set: set[str]) -> None:
    """Give a bare `model` its state without validation: what pydantic's own `__init__` leaves."""
    _store(model, "__dict__", fields)
    _store(model, "__pydantic_fields_set__", fields_set)
    _store(model, "__pydantic_extra__", None)
    _store(model, "__pydantic_private__", None)
