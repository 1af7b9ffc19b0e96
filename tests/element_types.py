"""Walk the AST and the resolved model (frozen dataclasses) and check each value against its annotation.

Nothing validates these classes at run time (the parser and the resolver build
them from values already checked), so the tests prove instead that every field
of every element built from the examples holds exactly what its annotation
says: a tuple where a tuple belongs (not a list), a `Scalar` (not its string),
a `bool` where a bool belongs (not an int).
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Iterator
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from flowgen_design.dsl.source import Span

_HINTS: dict[type, dict[str, Any]] = {}


def compared_fields(element: Any) -> tuple[dataclasses.Field[Any], ...]:
    """The fields that make up `element`'s value (not the lookups it caches)."""
    return tuple(f for f in dataclasses.fields(element) if f.compare)


def elements(value: object) -> Iterator[Any]:
    """Every dataclass instance in `value`, itself included, depth first."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        yield value
        for f in compared_fields(value):
            yield from elements(getattr(value, f.name))
    elif isinstance(value, tuple) and not isinstance(value, Span):
        for item in value:
            yield from elements(item)


def dump(value: Any) -> Any:
    """`value` as nested dicts of field values (spans and enums kept as they are)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: dump(getattr(value, f.name)) for f in compared_fields(value)}
    if isinstance(value, tuple) and not isinstance(value, Span):
        return tuple(dump(item) for item in value)
    return value


def type_errors(element: Any) -> list[str]:
    """Each field of `element` whose value does not match its annotation, described."""
    cls = type(element)
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = get_type_hints(cls)
    return [
        f"{cls.__name__}.{f.name} = {getattr(element, f.name)!r} is not a {hints[f.name]}"
        for f in compared_fields(element)
        if not conforms(getattr(element, f.name), hints[f.name])
    ]


def conforms(value: Any, hint: Any) -> bool:
    """`value` is exactly of type `hint` (strict: no bool for int, no list for tuple, no str for an enum)."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return any(conforms(value, option) for option in get_args(hint))
    if origin is Literal:
        return any(type(value) is type(allowed) and value == allowed for allowed in get_args(hint))
    if origin is tuple:
        return type(value) is tuple and _tuple_conforms(value, get_args(hint))
    if hint is type(None):
        return value is None
    if hint is Span:
        return _is_span(value)
    if hint in (int, float, str, bool):
        return type(value) is hint
    if isinstance(hint, type):
        return isinstance(value, hint)
    raise AssertionError(f"no check for annotation {hint!r}")


def _tuple_conforms(value: tuple[Any, ...], args: tuple[Any, ...]) -> bool:
    if len(args) == 2 and args[1] is Ellipsis:
        return all(conforms(item, args[0]) for item in value)
    return len(value) == len(args) and all(conforms(item, arg) for item, arg in zip(value, args, strict=True))


def _is_span(value: Any) -> bool:
    return (
        type(value) is Span
        and type(value.file) is str
        and all(type(n) is int and n >= 1 for n in value[1:])
        and (value.line, value.column) <= (value.end_line, value.end_column)
    )
