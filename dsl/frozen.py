"""`@frozen`: the class decorator of the AST, the resolved model and the front end's other frozen data.

A class decorated `@frozen` is exactly what `@dataclass(frozen=True, slots=True,
kw_only=True)` makes of it: the same fields (`dataclasses.fields`, `replace` and
`is_dataclass` work on it, and a class declared with the stdlib decorator may
derive from it), the same keyword-only `__init__`, equality, hash, repr,
docstring, pickling and the same `FrozenInstanceError` on assignment; only
cheaper to make and to build. `@frozen(kw_only=False)` and `@frozen(slots=False)`
make the stdlib's positional and slot-less frozen dataclasses.

Why not the stdlib decorator: it compiles six methods per class from source
(`__init__`, `__repr__`, `__eq__`, `__hash__`, `__setattr__`, `__delattr__`) and
asks `inspect` for a docstring; for the ~90 classes of `dsl.ast` and `dsl.model`
that was 45 ms of every `flowgen check`, a seventh of it on the benchmark spec.
Here one `__init__` template is compiled per shape of fields and given each class's
parameter names; `__repr__`, `__eq__` and `__hash__` (the stdlib's text) are compiled
on their first call, so only for the classes whose instances are printed, compared
or hashed; `__setattr__` and `__delattr__` are shared. `__init__` stores each field
through its slot's descriptor instead of `object.__setattr__`, so a node is also
about a fifth cheaper to build. `tests/test_frozen.py` checks the classes against
the stdlib decorator's, and docs/benchmarks.md has the measured gain.
"""

from __future__ import annotations

import dataclasses
import reprlib
import types
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Reference:
    """A stdlib dataclass of the kind `@frozen` makes: its parameters are the ones every
    `@frozen` class carries, and its field's kind marker is the one `dataclasses.fields` keeps."""

    field: object = None


# Neither is in typeshed: `__dataclass_params__` is what the stdlib reads to tell a frozen base;
# `_field_type` is the marker by which `dataclasses.fields` tells a field from a class variable.
_PARAMS_ATTRIBUTE, _KIND_ATTRIBUTE = "__dataclass_params__", "_field_type"
_PARAMS = getattr(_Reference, _PARAMS_ATTRIBUTE)
_FIELD_KIND = getattr(dataclasses.fields(_Reference)[0], _KIND_ATTRIBUTE)
_MISSING: Any = dataclasses.MISSING


@overload
def frozen(cls: type[T], /) -> type[T]: ...


@overload
def frozen(*, kw_only: bool = True, slots: bool = True) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(dataclasses.field,))
def frozen(cls: type[T] | None = None, /, *, kw_only: bool = True, slots: bool = True) -> Any:
    """Make `cls` an immutable, slotted dataclass with keyword-only fields (see the module doc).

    `@frozen(kw_only=False)` and `@frozen(slots=False)` make what the stdlib decorator makes
    with `kw_only=False` (fields in order, positional or by keyword) or without `slots=True`.
    """

    def make(cls: type[T]) -> type[T]:
        fields = _collect_fields(cls, kw_only)
        made = _with_slots(cls, fields) if slots else _with_defaults(cls, fields)
        _add_methods(made, fields, kw_only, slots)
        return made

    return make if cls is None else make(cls)


def _collect_fields(cls: type, kw_only: bool) -> dict[str, dataclasses.Field[Any]]:
    """The fields of `cls`: its bases' (most basic first), then its own annotations in order."""
    fields: dict[str, dataclasses.Field[Any]] = {}
    for base in cls.__mro__[-1:0:-1]:
        inherited = base.__dict__.get("__dataclass_fields__")
        if inherited is not None:
            if not getattr(base, _PARAMS_ATTRIBUTE).frozen:
                raise TypeError("cannot inherit frozen dataclass from a non-frozen one")
            fields.update(inherited)
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063  # own, unevaluated
        fields[name] = _field(cls, name, annotation, kw_only)
    for name, value in cls.__dict__.items():
        if isinstance(value, dataclasses.Field) and name not in fields:
            raise TypeError(f"{name!r} is a field but has no type annotation")
    if any(f.kw_only != kw_only for f in fields.values()):
        raise TypeError(f"{cls.__name__}: @frozen takes fields that are all keyword-only or all not")
    return fields


def _field(cls: type, name: str, annotation: object, kw_only: bool) -> dataclasses.Field[Any]:
    if isinstance(annotation, str) and annotation.startswith(("ClassVar", "typing.ClassVar", "InitVar", "KW_ONLY")):
        raise TypeError(f"{cls.__name__}.{name}: @frozen classes take plain fields only, not {annotation}")
    default = cls.__dict__.get(name, _MISSING)
    made: dataclasses.Field[Any] = (
        default if isinstance(default, dataclasses.Field) else dataclasses.field(default=default)
    )
    made.name = name
    made.type = annotation
    if made.kw_only is _MISSING:
        made.kw_only = kw_only
    setattr(made, _KIND_ATTRIBUTE, _FIELD_KIND)
    value = made.default
    if value is not _MISSING and value.__class__.__hash__ is None:
        raise ValueError(f"mutable default {type(value)} for field {name} is not allowed: use default_factory")
    return made


def _with_slots(cls: type, fields: dict[str, dataclasses.Field[Any]]) -> type:
    """`cls` made again with a slot per field it adds (a class cannot gain slots once made)."""
    namespace = dict(cls.__dict__)
    if "__slots__" in namespace:
        raise TypeError(f"{cls.__name__} already specifies __slots__")
    inherited = {slot for base in cls.__mro__[1:-1] for slot in base.__dict__.get("__slots__", ())}
    namespace["__slots__"] = tuple(name for name in fields if name not in inherited)
    for name in fields:
        namespace.pop(name, None)
    namespace.pop("__dict__", None)
    namespace.pop("__weakref__", None)
    made = type(cls)(cls.__name__, cls.__bases__, namespace)
    made.__qualname__ = cls.__qualname__
    return made


def _with_defaults(cls: type, fields: dict[str, dataclasses.Field[Any]]) -> type:
    """`cls` without slots: a field given as `field(...)` leaves its default as the class attribute."""
    for name, f in fields.items():
        if isinstance(cls.__dict__.get(name), dataclasses.Field):
            if f.default is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
    return cls


def _add_methods(cls: type, fields: dict[str, dataclasses.Field[Any]], kw_only: bool, slots: bool) -> None:
    """The methods the stdlib decorator writes, where the class does not define its own."""
    own = dict(cls.__dict__)
    values = list(fields.values())
    compared = tuple(f.name for f in values if f.compare)
    hashed = tuple(f.name for f in values if (f.compare if f.hash is None else f.hash))
    for name in ("__setattr__", "__delattr__"):
        if name in own:
            raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}")
    methods: dict[str, Any] = {
        "__init__": _init(cls, values, kw_only, slots),
        "__repr__": _on_first_use(cls, "__repr__", lambda: _repr_source([f.name for f in values if f.repr])),
        "__eq__": _on_first_use(cls, "__eq__", lambda: _eq_source(compared)),
        "__setattr__": _setattr,
        "__delattr__": _delattr,
    }
    if slots:  # what pickling a slotted frozen class needs (a plain one pickles its __dict__)
        methods.update({"__getstate__": _getstate, "__setstate__": _setstate})
    if "__hash__" not in own or (own["__hash__"] is None and "__eq__" in own):
        methods["__hash__"] = _on_first_use(cls, "__hash__", lambda: _hash_source(hashed))
        own.pop("__hash__", None)
    positional = () if kw_only else tuple(f.name for f in values if f.init)
    methods.update({_PARAMS_ATTRIBUTE: _PARAMS, "__dataclass_fields__": fields, "__match_args__": positional})
    for name, method in methods.items():
        if name not in own:
            setattr(cls, name, method)
    if not cls.__doc__:
        cls.__doc__ = cls.__name__ + _signature_text(values, kw_only)


def _init(cls: type, fields: list[dataclasses.Field[Any]], kw_only: bool, slots: bool) -> Callable[..., None]:
    """The class's `__init__`: each field stored through its slot's descriptor.

    Classes whose fields take the same kinds of value share one compiled template (the AST
    and the model have 16 shapes among ~90 classes); a class gets the template's code with
    its own parameter names (`CodeType.replace`) and its own setters, factories and defaults.
    """
    kinds = tuple(_kind(f) for f in fields)
    shape = (kinds, kw_only, hasattr(cls, "__post_init__"), slots)
    make = _TEMPLATES.get(shape)
    if make is None:
        make = _TEMPLATES[shape] = _template(*shape)
    cells: list[Any] = []
    defaults: dict[str, Any] = {}
    for f, kind in zip(fields, kinds, strict=True):
        if kind != "skip":  # with slots, the slot's setter; without, `object.__setattr__` and the name
            cells += [getattr(cls, f.name).__set__] if slots else [object.__setattr__, f.name]
        if kind in ("factory", "factory-param"):
            cells.append(f.default_factory)
        elif kind == "fixed":
            cells.append(f.default)
        if kind == "factory-param":
            defaults[f.name] = _NO_VALUE
        elif kind == "param" and f.default is not _MISSING:
            defaults[f.name] = f.default
    template = make(*cells)
    names = tuple(f.name for f, kind in zip(fields, kinds, strict=True) if kind.endswith("param"))
    if "self" in names:
        raise TypeError(f"{cls.__name__}: a field cannot be called `self`")
    qualname = f"{cls.__qualname__}.__init__"
    code = template.__code__.replace(co_varnames=("self", *names), co_name="__init__", co_qualname=qualname)
    init = types.FunctionType(code, template.__globals__, "__init__", None, template.__closure__)
    if kw_only:
        init.__kwdefaults__ = defaults or None
    else:
        init.__defaults__ = _positional_defaults(cls, names, defaults)
    init.__qualname__ = qualname
    init.__module__ = cls.__module__
    return init


_TEMPLATES: dict[tuple[tuple[str, ...], bool, bool, bool], Callable[..., Callable[..., None]]] = {}


def _positional_defaults(cls: type, names: tuple[str, ...], defaults: dict[str, Any]) -> tuple[Any, ...] | None:
    """The defaults of the last parameters, which must be all that have one (as the stdlib says)."""
    given = [name in defaults for name in names]
    first = given.index(True) if True in given else len(names)
    for name, has in zip(names[first:], given[first:], strict=True):
        if not has:
            raise TypeError(f"non-default argument {name!r} follows default argument")
    return tuple(defaults[name] for name in names[first:]) or None


def _kind(f: dataclasses.Field[Any]) -> str:
    """How `__init__` fills a field: from a parameter (with or without a default), from a
    parameter or else its factory, from its factory or default alone, or not at all."""
    if f.default_factory is not _MISSING:
        return "factory-param" if f.init else "factory"
    if f.init:
        return "param"
    return "skip" if f.default is _MISSING else "fixed"


def _template(
    kinds: tuple[str, ...], kw_only: bool, post_init: bool, slots: bool
) -> Callable[..., Callable[..., None]]:
    """Compile the maker of an `__init__` for fields of these kinds (parameters `p0`, `p1`, ...).
    Without slots, a field is stored as the stdlib's `__init__` stores it, `object.__setattr__`
    called with its name (a cell), not through a function of ours."""
    cells: list[str] = []
    params: list[str] = []
    body: list[str] = []
    for i, kind in enumerate(kinds):
        if kind == "skip":
            continue
        cells += [f"_set{i}"] if slots else [f"_set{i}", f"_name{i}"]
        store = f"_set{i}(self, " if slots else f"_set{i}(self, _name{i}, "
        if kind == "param":
            params.append(f"p{len(params)}")
            body.append(f"{store}{params[-1]})")
        elif kind == "factory-param":
            params.append(f"p{len(params)}")
            cells.append(f"_factory{i}")
            body.append(f"{store}_factory{i}() if {params[-1]} is _NO_VALUE else {params[-1]})")
        elif kind == "factory":
            cells.append(f"_factory{i}")
            body.append(f"{store}_factory{i}())")
        else:
            cells.append(f"_default{i}")
            body.append(f"{store}_default{i})")
    if post_init:
        body.append("self.__post_init__()")
    signature = ", ".join(["self", *(["*"] if params and kw_only else []), *params])
    lines = "\n".join(f"        {line}" for line in body) or "        pass"
    source = f"def _make({', '.join(cells)}):\n    def __init__({signature}):\n{lines}\n    return __init__\n"
    namespace: dict[str, Any] = {"_NO_VALUE": _NO_VALUE}
    exec(source, namespace)  # our own text, from the kinds of the fields
    make: Callable[..., Callable[..., None]] = namespace["_make"]
    return make


class _NoValue:
    """The default of a field with a default factory: "not given", as the stdlib's `_HAS_DEFAULT_FACTORY`."""

    def __repr__(self) -> str:
        return "<factory>"


_NO_VALUE = _NoValue()


def _on_first_use(cls: type, name: str, source: Callable[[], str]) -> Callable[..., Any]:
    """A stand-in for the method `name`, compiled from `source()` and put in its place on its first call.

    The method is the stdlib decorator's own text, so as fast; compiling it only for the classes
    whose instances are printed, compared or hashed keeps that cost out of `check`'s start-up.
    """

    def stand_in(self: object, *args: Any) -> Any:
        namespace: dict[str, Any] = {}
        exec(source(), namespace)  # our own text, from the field names the class declares
        method = namespace[name]
        method.__qualname__ = f"{cls.__qualname__}.{name}"
        if name == "__repr__":
            method = reprlib.recursive_repr()(method)
        setattr(cls, name, method)
        return method(self, *args)

    stand_in.__name__ = name
    stand_in.__qualname__ = f"{cls.__qualname__}.{name}"
    return stand_in


def _repr_source(names: list[str]) -> str:
    shown = ", ".join(f"{name}={{self.{name}!r}}" for name in names)
    return f'def __repr__(self):\n    return self.__class__.__qualname__ + f"({shown})"\n'


def _tuple_text(owner: str, names: tuple[str, ...]) -> str:
    return "(" + "".join(f"{owner}.{name}," for name in names) + ")"


def _eq_source(names: tuple[str, ...]) -> str:
    return (
        "def __eq__(self, other):\n"
        "    if other.__class__ is self.__class__:\n"
        f"        return {_tuple_text('self', names)} == {_tuple_text('other', names)}\n"
        "    return NotImplemented\n"
    )


def _hash_source(names: tuple[str, ...]) -> str:
    return f"def __hash__(self):\n    return hash({_tuple_text('self', names)})\n"


def _setattr(self: object, name: str, value: object) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _delattr(self: object, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


def _getstate(self: Any) -> list[Any]:
    return [getattr(self, f.name) for f in dataclasses.fields(self)]


def _setstate(self: Any, state: list[Any]) -> None:
    for f, value in zip(dataclasses.fields(self), state, strict=False):
        object.__setattr__(self, f.name, value)


def _signature_text(fields: list[dataclasses.Field[Any]], kw_only: bool) -> str:
    """`(*, span: 'Span', doc: 'str | None' = None)`: the docstring the stdlib gives a class without one."""
    params = []
    for f in fields:
        if not f.init:
            continue
        text = f"{f.name}: {f.type!r}"
        if f.default_factory is not _MISSING:
            text += " = <factory>"
        elif f.default is not _MISSING:
            text += f" = {f.default!r}"
        params.append(text)
    return f"({', '.join([*(['*'] if kw_only else []), *params])})" if params else "()"
