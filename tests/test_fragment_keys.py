"""A document entry's key (`fragments._canonical`) is shared only by values written the same way.

An entry whose key was in the last run's document is taken back as it was written then, so two
values with one key must have one text: checked on the values JSON confuses (NaN and null, a
tuple and a list, 1 and 1.0 and true, key orders) and on random data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowgen_design.codegen.blockyaml import dump
from flowgen_design.codegen.fragments import _canonical

plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3)
    | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=12,
)


def _same_key_same_text(a: object, b: object) -> None:
    key_a, key_b = _canonical(a), _canonical(b)
    if key_a is not None and key_a == key_b:
        assert dump(a) == dump(b), (a, b)
    assert key_a is None or key_a == _canonical(a)  # the same value, the same key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (math.nan, None),
        ({"x": math.nan}, {"x": None}),
        ([math.inf], [None]),
        ((1, 2), [1, 2]),
        (1, 1.0),
        (1, True),
        (0, False),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),
        ("1", 1),
        (-0.0, 0.0),
    ],
)
def test_values_json_confuses_share_a_key_only_when_written_alike(a: object, b: object) -> None:
    _same_key_same_text(a, b)
    _same_key_same_text(b, a)


def test_what_is_no_plain_data_has_no_key() -> None:
    @dataclass
    class Point:
        x: int

    for value in [{1: "a"}, Point(1), "\ud800", 2**70, {"a": {2: 3}}, object()]:
        assert _canonical(value) is None, value
    assert _canonical(math.nan) is None  # written `null`, which reads back as no NaN
    assert _canonical({"a": [1, None]}) is not None  # a real null is fine


def _confused(value: object) -> object:
    """`value` with what JSON may confuse changed: tuples as lists, None as NaN, whole numbers as
    floats, True as 1 (each written differently or not, `_same_key_same_text` decides)."""
    if isinstance(value, (list, tuple)):
        items = [_confused(v) for v in value]
        return items if isinstance(value, tuple) else tuple(items)
    if isinstance(value, dict):
        return {k: _confused(v) for k, v in value.items()}
    if value is None:
        return math.nan
    if value is True:
        return 1
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**53:
        return float(value)
    return value


@pytest.mark.slow  # 300 values and their confusions, each written as YAML
@settings(max_examples=300, deadline=None)
@given(plain)
def test_random_values_share_a_key_only_when_written_alike(a: object) -> None:
    _same_key_same_text(a, _confused(a))
    _same_key_same_text(a, a)
