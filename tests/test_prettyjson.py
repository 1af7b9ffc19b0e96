"""flowgen_design.codegen.prettyjson writes exactly what json.dumps(indent=2, sort_keys=True, ensure_ascii=False) writes."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowgen_design.codegen.prettyjson import dumps


def _standard(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
data = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=40,
)


@settings(max_examples=500, deadline=None)
@given(value=data)
def test_same_text_as_the_standard_library(value: Any) -> None:
    assert dumps(value) == _standard(value)


@pytest.mark.parametrize(
    "value",
    [
        {},
        [],
        {"b": 1, "a": [1, 2, {"c": None}], "é": '\u2028\x00"\\/\ud7ff😀'},
        [[[]], [{}], ({"t": (1, 2)},)],
        {"x": math.inf, "y": -math.inf, "z": 1e-7, "w": -0.0, "v": 10**30},
    ],
)
def test_examples(value: Any) -> None:
    assert dumps(value) == _standard(value)


def test_nan_and_refusals() -> None:
    assert dumps([math.nan]) == _standard([math.nan])
    with pytest.raises(TypeError):
        dumps({1: "a"})
    with pytest.raises(TypeError):
        dumps({"a": object()})
