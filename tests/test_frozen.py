"""`@frozen` (dsl/frozen.py) makes what `@dataclass(frozen=True, slots=True, kw_only=True)` makes.

Two ways to prove it: the same small classes declared with both decorators behave
alike in every way the code or a user can see (construction and its errors,
equality, hash, repr, docstring, fields, `replace`, immutability, slots,
pickling and copying, deriving with either decorator); and every class of the AST
and the model, rebuilt with the stdlib decorator, gives each element of every
example the same repr, hash and equality as the real class does.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from flowgen_design.dsl import ast, codes, diagnostics, frozen, model, source
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.source import Span
from tests.conftest import ROOT
from tests.element_types import elements

STDLIB = dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
SPECS = sorted(ROOT.joinpath("specs").rglob("*.flow"))


def _declare(decorate: Callable[[type], type]) -> dict[str, Any]:
    """The same declarations, made by `decorate` (the stdlib's or `@frozen`)."""

    @decorate
    class Base:
        """Every sample: a span, like `ast.Node`."""

        span: int

    @decorate
    class Leaf(Base):
        name: str
        doc: str | None = None
        tags: tuple[str, ...] = ()
        _cache: dict[str, int] = dataclasses.field(default_factory=dict, init=False, repr=False, compare=False)

        def shout(self) -> str:
            return self.name.upper()

    @decorate
    class Bare(Base):
        kind: str = "bare"
        made: list[int] = dataclasses.field(default_factory=list, compare=False)

    @decorate
    class Empty:
        pass

    return {"Base": Base, "Leaf": Leaf, "Bare": Bare, "Empty": Empty}


OURS: dict[str, Any] = _declare(frozen.frozen)
THEIRS: dict[str, Any] = _declare(STDLIB)


def _both(kind: str, /, **values: Any) -> tuple[Any, Any]:
    return OURS[kind](**values), THEIRS[kind](**values)


def _field_facts(cls: type) -> list[tuple[Any, ...]]:
    return [
        (f.name, f.type, f.default, f.default_factory, f.init, f.repr, f.compare, f.hash, f.kw_only, f.metadata)
        for f in dataclasses.fields(cls)
    ]


@pytest.mark.parametrize("name", ["Base", "Leaf", "Bare", "Empty"])
def test_the_class_is_described_alike(name: str) -> None:
    ours: Any = OURS[name]
    theirs: Any = THEIRS[name]
    assert all(map(dataclasses.is_dataclass, (ours, theirs)))
    assert _field_facts(ours) == _field_facts(theirs)
    assert ours.__doc__ == theirs.__doc__
    assert ours.__slots__ == theirs.__slots__
    assert ours.__match_args__ == theirs.__match_args__
    assert repr(ours.__dataclass_params__) == repr(theirs.__dataclass_params__)
    assert ours.__qualname__ == theirs.__qualname__ and ours.__name__ == theirs.__name__
    assert ours.__init__.__qualname__ == theirs.__init__.__qualname__
    assert ours.__annotations__ == theirs.__annotations__


def test_instances_compare_hash_and_print_alike() -> None:
    samples: list[tuple[str, dict[str, Any]]] = [
        ("Base", {"span": 1}),
        ("Leaf", {"span": 1, "name": "a"}),
        ("Leaf", {"span": 1, "name": "a", "doc": "d", "tags": ("x", "y")}),
        ("Bare", {"span": 2}),
        ("Bare", {"span": 2, "kind": "k", "made": [1]}),
        ("Empty", {}),
    ]
    for name, values in samples:
        ours, theirs = _both(name, **values)
        assert repr(ours) == repr(theirs)
        assert hash(ours) == hash(theirs)
        again, _ = _both(name, **values)
        assert ours == again
        assert not ours != again  # noqa: SIM202  # __ne__ comes from __eq__ on both
        assert [getattr(ours, f.name) for f in dataclasses.fields(ours)] == [
            getattr(theirs, f.name) for f in dataclasses.fields(theirs)
        ]
    nan_ours, nan_theirs = _both("Leaf", span=float("nan"), name="a")
    assert (nan_ours == nan_ours) == (nan_theirs == nan_theirs)  # the same object: equal, as in a tuple
    assert (nan_ours == _both("Leaf", span=float("nan"), name="a")[0]) is False
    # Equality is per class; compare=False fields are left out of it and out of the hash.
    assert OURS["Base"](span=1) != OURS["Bare"](span=1)
    assert OURS["Base"](span=1).__eq__(THEIRS["Base"](span=1)) is NotImplemented
    assert OURS["Bare"](span=1, made=[1]) == OURS["Bare"](span=1, made=[2])
    assert hash(OURS["Bare"](span=1, made=[1])) == hash(THEIRS["Bare"](span=1, made=[2]))


def test_a_default_factory_makes_a_new_value_per_instance() -> None:
    first, second = OURS["Leaf"](span=1, name="a"), OURS["Leaf"](span=1, name="a")
    assert first._cache == {} and first._cache is not second._cache
    assert OURS["Bare"](span=1).made == [] and OURS["Bare"](span=1).made is not OURS["Bare"](span=1).made


def _error(make: Callable[[], object]) -> tuple[type[BaseException], str]:
    try:
        make()
    except Exception as err:  # any error: both decorators must raise the same
        return type(err), str(err)
    raise AssertionError("no error")


@pytest.mark.parametrize(
    "name, values",
    [
        ("Leaf", {"span": 1}),  # missing
        ("Leaf", {"span": 1, "name": "a", "colour": 1}),  # unknown
        ("Leaf", {"span": 1, "name": "a", "_cache": {}}),  # not an init field
        ("Empty", {"span": 1}),
    ],
)
def test_construction_errors_are_the_same(name: str, values: dict[str, Any]) -> None:
    assert _error(lambda: OURS[name](**values)) == _error(lambda: THEIRS[name](**values))
    assert _error(lambda: OURS[name](1)) == _error(lambda: THEIRS[name](1))  # keyword-only


def test_instances_are_immutable_and_slotted_alike() -> None:
    ours, theirs = _both("Leaf", span=1, name="a")
    for target in (ours, theirs):
        assert not hasattr(target, "__dict__")
    assert _error(lambda: setattr(ours, "name", "b")) == _error(lambda: setattr(theirs, "name", "b"))
    assert _error(lambda: delattr(ours, "name")) == _error(lambda: delattr(theirs, "name"))
    # A name that is no field: both refuse, the stdlib with a TypeError from its `super()` call on the
    # class it made before adding slots (CPython gh-90562), `@frozen` as for a field.
    assert _error(lambda: setattr(theirs, "other", 1))[0] is TypeError
    assert _error(lambda: setattr(ours, "other", 1)) == (
        dataclasses.FrozenInstanceError,
        "cannot assign to field 'other'",
    )
    assert isinstance(_error(lambda: setattr(ours, "name", "b"))[0](), dataclasses.FrozenInstanceError)
    assert ours.name == "a" and ours.shout() == "A"


def test_replace_copy_and_pickle_work_alike() -> None:
    ours, theirs = _both("Leaf", span=1, name="a", tags=("t",))
    changed = dataclasses.replace(ours, name="b")
    assert type(changed) is type(ours) and changed.name == "b" and changed.tags == ("t",)
    assert repr(changed) == repr(dataclasses.replace(theirs, name="b"))
    assert _error(lambda: dataclasses.replace(ours, _cache={})) == _error(
        lambda: dataclasses.replace(theirs, _cache={})
    )
    for clone in (copy.copy(ours), copy.deepcopy(ours)):
        assert clone == ours and clone is not ours
    span = Span("x.flow", 1, 1, 1, 2)  # pickle finds a class by module and name: a real node's
    for node in (ast.Name(span=span, text="a"), model.ScalarRef(scalar=model.Scalar.INT)):
        assert pickle.loads(pickle.dumps(node)) == node


def test_either_decorator_may_derive_from_the_other() -> None:
    ours: Any = OURS["Base"]
    theirs: Any = THEIRS["Base"]

    @STDLIB
    class Await(ours):  # type: ignore[misc]  # a node class added the old way still works
        event: str

    @frozen.frozen
    class Later(theirs):  # type: ignore[misc]
        at: int = 0

    made = Await(span=1, event="E")
    assert [f.name for f in dataclasses.fields(made)] == ["span", "event"]
    assert made == Await(span=1, event="E") and repr(made).endswith("Await(span=1, event='E')")
    assert _error(lambda: setattr(made, "event", "F"))[0] is dataclasses.FrozenInstanceError
    assert Later(span=2).at == 0 and [f.name for f in dataclasses.fields(Later)] == ["span", "at"]


def test_a_class_with_a_class_variable_is_refused() -> None:
    class Counted:
        total: ClassVar[int] = 0  # type: ignore[name-defined]  # noqa: F821  # a string here, never evaluated

    with pytest.raises(TypeError, match="plain fields only"):
        frozen.frozen(Counted)


def _declare_positional(decorate: Callable[[type], type]) -> dict[str, Any]:
    """Classes of the kind `@dataclass(frozen=True[, slots=True])` makes, positional fields and all."""

    @decorate
    class Code:
        code: str
        slug: str
        also: tuple[str, ...] = ()
        """A docstring after a field: not the class's."""

        def __str__(self) -> str:
            return f"{self.code} ({self.slug})"

    @decorate
    class Graph:
        arcs: tuple[int, ...]
        _index: dict[int, int] = dataclasses.field(default_factory=dict, repr=False, compare=False)

        def __post_init__(self) -> None:
            for arc in self.arcs:
                self._index.setdefault(arc, len(self._index))

    return {"Code": Code, "Graph": Graph}


@pytest.mark.parametrize("slots", [True, False])
def test_positional_classes_are_made_as_the_stdlib_makes_them(slots: bool) -> None:
    ours = _declare_positional(frozen.frozen(kw_only=False, slots=slots))
    theirs = _declare_positional(dataclasses.dataclass(frozen=True, slots=slots))
    for name in ("Code", "Graph"):
        a: Any = ours[name]
        b: Any = theirs[name]
        assert _field_facts(a) == _field_facts(b)
        assert a.__doc__ == b.__doc__ and a.__match_args__ == b.__match_args__
        assert hasattr(a, "__slots__") == hasattr(b, "__slots__") == slots
        if not slots:  # defaults stay class attributes (with slots, the slots' descriptors are there)
            assert {k: v for k, v in vars(a).items() if k in ("code", "slug", "also", "arcs")} == {
                k: v for k, v in vars(b).items() if k in ("code", "slug", "also", "arcs")
            }
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        (("F1", "s"), {}),
        (("F1",), {"slug": "s", "also": ("x",)}),
        ((), {"code": "F", "slug": "s"}),
    ]
    for args, kwargs in calls:
        x, y = ours["Code"](*args, **kwargs), theirs["Code"](*args, **kwargs)
        assert (repr(x), hash(x), str(x)) == (repr(y), hash(y), str(y))
        assert x == ours["Code"](*args, **kwargs) and dataclasses.replace(x, slug="t").slug == "t"
    wrong: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        (("F",), {}),
        (("F", "s", (), 4), {}),
        (("F", "s"), {"code": "G"}),
    ]
    for bad_args, bad_kwargs in wrong:
        made = [functools.partial(decl["Code"], *bad_args, **bad_kwargs) for decl in (ours, theirs)]
        assert _error(made[0]) == _error(made[1])
    g, h = ours["Graph"]((3, 1, 3)), theirs["Graph"]((3, 1, 3))
    assert g._index == h._index == {3: 0, 1: 1} and repr(g) == repr(h) and hash(g) == hash(h)
    assert _error(lambda: setattr(g, "arcs", ()))[0] is dataclasses.FrozenInstanceError
    assert ours["Code"]("F", "s") != ours["Code"]("F", "t")


def test_a_positional_field_without_a_default_after_one_with_is_refused() -> None:
    class Wrong:
        a: int = 0
        b: int

    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
        frozen.frozen(kw_only=False)(Wrong)


# ---- the real classes ----------------------------------------------------------------------------


def _node_classes() -> Iterator[type]:
    for module in (ast, model, diagnostics, source):
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == module.__name__ and dataclasses.is_dataclass(value):
                yield value


def test_every_ast_model_and_diagnostic_class_is_made_by_frozen() -> None:
    """A class added with the stdlib decorator would work, but cost `check` its import time: use `@frozen`."""
    made_otherwise = [c.__qualname__ for c in _node_classes() if c.__dict__.get("__setattr__") is not frozen._setattr]
    assert made_otherwise == [], "declare these with `@frozen` (flowgen_design.dsl.frozen), as their neighbours"
    assert len(list(_node_classes())) > 80 and diagnostics.Diagnostic in set(_node_classes())


_TWINS: dict[type, type] = {}


def _twin(cls: type) -> type:
    """`cls` declared again, from its own annotations and fields, with the stdlib decorator."""
    if cls in _TWINS:
        return _TWINS[cls]
    bases = tuple(_twin(b) if dataclasses.is_dataclass(b) else b for b in cls.__bases__)
    namespace: dict[str, Any] = {
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__annotations__": dict(cls.__dict__.get("__annotations__", {})),  # noqa: RUF063  # own, unevaluated
    }
    for name in namespace["__annotations__"]:
        f = cls.__dataclass_fields__[name]  # type: ignore[attr-defined]
        namespace[name] = dataclasses.field(
            default=f.default, default_factory=f.default_factory, init=f.init, repr=f.repr, compare=f.compare
        )
    if cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "("):
        namespace["__doc__"] = cls.__doc__
    twin: type = STDLIB(type(cls.__name__, bases, namespace))
    _TWINS[cls] = twin
    return twin


@pytest.mark.parametrize("cls", list(_node_classes()), ids=lambda c: f"{c.__module__.rsplit('.', 1)[-1]}.{c.__name__}")
def test_every_class_is_declared_as_the_stdlib_would_declare_it(cls: type) -> None:
    twin = _twin(cls)
    assert _field_facts(cls) == _field_facts(twin)
    assert cls.__doc__ == twin.__doc__
    assert cls.__slots__ == twin.__slots__  # type: ignore[attr-defined]
    assert cls.__match_args__ == twin.__match_args__  # type: ignore[attr-defined]


def _as_twin(element: Any) -> Any:
    values = {f.name: getattr(element, f.name) for f in dataclasses.fields(element) if f.init}
    return _twin(type(element))(**values)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_element_of_every_example_behaves_as_the_stdlib_class_would(path: Path) -> None:
    result = check_file(path)
    assert result.flow is not None
    seen = 0
    made = diagnostics.make(codes.SYNTAX_ERROR, "m", result.flow.span, "h")
    for root in (result.flow, *result.modules, made, source.SourceFile(path="p", text="t")):
        for element in elements(root):
            twin = _as_twin(element)
            assert repr(element) == repr(twin)
            assert hash(element) == hash(twin)
            assert element == dataclasses.replace(element) and twin == dataclasses.replace(twin)
            seen += 1
    assert seen > 50


def test_a_node_is_built_keyword_only_and_frozen() -> None:
    span = Span("x.flow", 1, 1, 1, 2)
    name = ast.Name(span=span, text="a")
    assert name == ast.Name(span=span, text="a") and hash(name) == hash((span, "a"))
    assert repr(name) == f"Name(span={span!r}, text='a')"
    with pytest.raises(dataclasses.FrozenInstanceError):
        name.text = "b"  # type: ignore[misc]
