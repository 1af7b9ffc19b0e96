"""`codegen.incremental.Fingerprints`: the structural digests every lazy file and fragment is keyed by.

A digest must change with anything an output could print (else a stale file is reused) and must
not change with source positions (else every edit rebuilds everything below it)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowgen_design.codegen.incremental import Fingerprints
from flowgen_design.dsl.frozen import frozen


@frozen
class Leaf:
    name: str
    span: tuple[int, int] | None = None


@frozen
class Node:
    name: str
    leaves: tuple[Leaf, ...] = ()
    kind: str = "plain"
    name_span: tuple[int, int] | None = None


@dataclass(frozen=True)
class Std:  # a standard-library dataclass (plan entries are)
    node: Node
    count: int


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    ONE = 1


class Mode(enum.StrEnum):
    FAST = "fast"


def test_positions_are_left_out_and_returned_as_slots() -> None:
    a = Node(name="n", leaves=(Leaf(name="x", span=(1, 2)),), name_span=(1, 1))
    b = Node(name="n", leaves=(Leaf(name="x", span=(9, 9)),), name_span=(5, 5))
    assert Fingerprints().of(a) == Fingerprints().of(b)
    assert Fingerprints().spans(a) == ((1, 2), (1, 1))
    assert Fingerprints().spans(Std(b, 1)) == ((9, 9), (5, 5))


@pytest.mark.parametrize(
    "other",
    [
        Node(name="m", leaves=(Leaf(name="x"),)),
        Node(name="n", leaves=(Leaf(name="y"),)),
        Node(name="n", leaves=(Leaf(name="x"), Leaf(name="x"))),
        Node(name="n", leaves=(Leaf(name="x"),), kind="other"),
        Node(name="n"),
    ],
)
def test_every_other_field_counts(other: Node) -> None:
    assert Fingerprints().of(Node(name="n", leaves=(Leaf(name="x"),))) != Fingerprints().of(other)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (1, True),
        (1, 1.0),
        (1, "1"),
        (Level.ONE, 1),
        (Mode.FAST, "fast"),
        (Colour.RED, "red"),
        (None, "None"),
        (b"a", "a"),
        (("a",), (("a",),)),
        (("ab",), ("a", "b")),
        (frozenset({"ab"}), frozenset({"a", "b"})),
        ({"a": "bc"}, {"ab": "c"}),
        ({"a": ("b",)}, {("a",): "b"}),
        (PurePosixPath("a/b"), "a/b/"),
        (Leaf(name="x"), Node(name="x")),  # same fields, another class
    ],
)
def test_different_values_differ(a: object, b: object) -> None:
    assert Fingerprints().of(a) != Fingerprints().of(b)


def test_sets_and_mappings_are_read_in_any_order() -> None:
    first = {"b": frozenset({"x", "y", "z"}), "a": 1}
    second = {"a": 1, "b": frozenset({"z", "y", "x"})}
    assert Fingerprints().of(first) == Fingerprints().of(second)
    a, b = Leaf(name="a", span=(1, 1)), Leaf(name="b", span=(2, 2))
    slots = Fingerprints().spans(frozenset([a, b]))
    assert sorted(slots) == [(1, 1), (2, 2)]  # type: ignore[type-var]
    assert Fingerprints().spans(frozenset([b, a])) == slots


def test_an_element_reached_many_times_is_digested_once() -> None:
    shared = Node(name="shared", leaves=tuple(Leaf(name=str(i)) for i in range(50)))
    prints = Fingerprints()
    calls: list[object] = []
    real = prints._dataclass

    def counting(value: object) -> bytes:
        calls.append(value)
        return real(value)

    prints._dataclass = counting  # type: ignore[method-assign]
    digests = {prints.of((shared, Std(shared, i))) for i in range(10)}
    assert len(digests) == 10
    assert sum(1 for c in calls if c is shared) == 1


def test_an_unknown_type_is_refused() -> None:
    with pytest.raises(TypeError, match="cannot fingerprint a object"):
        Fingerprints().of((1, object()))
    with pytest.raises(TypeError):
        Fingerprints().spans([object()])


def _typed(value: Any) -> Any:
    """What a digest must tell apart: the value and the type of everything in it."""
    if isinstance(value, (tuple, list)):
        return ("seq", tuple(_typed(v) for v in value))
    if isinstance(value, frozenset):
        return ("set", frozenset(_typed(v) for v in value))
    if isinstance(value, dict):
        return ("map", frozenset((_typed(k), _typed(v)) for k, v in value.items()))
    if isinstance(value, Leaf):
        return ("leaf", value.name)
    return (type(value).__name__, repr(value))


scalars = (
    st.none() | st.booleans() | st.integers() | st.text(max_size=3) | st.binary(max_size=2) | st.floats(allow_nan=False)
)
hashable = st.recursive(scalars, lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=3), max_leaves=6)
values = st.recursive(
    hashable | st.builds(Leaf, name=st.text(max_size=2)),
    lambda inner: st.lists(inner, max_size=3).map(tuple)
    | st.dictionaries(hashable, inner, max_size=3)
    | st.frozensets(hashable, max_size=3),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(a=values, b=values)
def test_digests_are_equal_exactly_when_the_typed_values_are(a: Any, b: Any) -> None:
    assert (Fingerprints().of(a) == Fingerprints().of(b)) == (_typed(a) == _typed(b))


@frozen
class Derived:
    """A value made from `source` alone (its other fields follow from it), as a plan entry is."""

    source: Node
    made: tuple[str, ...]
    label: str

    def __fingerprint__(self) -> tuple[object, ...]:
        return (self.source,)


def test_a_derived_value_is_digested_as_what_it_is_made_from() -> None:
    def node(leaf: str, at: tuple[int, int] | None = None) -> Node:
        return Node(name="a", leaves=(Leaf(name=leaf, span=at),), name_span=(1, 2))

    prints = Fingerprints()
    a = Derived(source=node("x"), made=("one", "two"), label="A")
    assert prints.of(a) == Fingerprints().of(Derived(source=node("x"), made=("other",), label="B"))
    assert prints.of(a) != prints.of(Derived(source=node("y"), made=("one", "two"), label="A"))
    assert prints.of(a) != prints.of((node("x"),))  # the class counts
    assert prints.spans(Derived(source=node("x", (3, 4)), made=(), label="")) == ((3, 4), (1, 2))


def test_a_handlers_plan_is_made_from_what_it_says() -> None:
    """`HandlerPlan.__fingerprint__` names the handler and its entry point: `_handler_plan` makes
    the same plan from those alone, for every handler of the bundled specs."""
    from pathlib import Path

    from flowgen_design.codegen.aws.plan import _handler_plan, plan_of
    from flowgen_design.dsl.compiler import check_file

    specs = sorted((Path(__file__).parent.parent / "specs").glob("*.flow"))
    plans = 0
    for spec in specs:
        flow = check_file(spec).flow
        assert flow is not None, spec
        for planned in plan_of(flow).handlers:
            handler, entry_point = planned.__fingerprint__()
            assert _handler_plan(handler, entry_point) == planned  # type: ignore[arg-type]
            plans += 1
    assert plans >= 10
