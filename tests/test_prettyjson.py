"""flowgen_design.codegen.prettyjson writes exactly what json.dumps(indent=2, sort_keys=True, ensure_ascii=False) writes."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowgen_design.codegen.prettyjson import _compiled, dumps, dumps_parsed


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


@settings(max_examples=300, deadline=None)
@given(value=data)
def test_the_text_read_back_is_the_standard_librarys_reading(value: Any) -> None:
    text, parsed = dumps_parsed(value)
    assert text == _standard(value)
    assert json.dumps(parsed, sort_keys=True) == json.dumps(json.loads(text), sort_keys=True)


@pytest.mark.parametrize(
    "value",
    [
        {"a": 1e-05, "b": None},  # the standard library writes an exponent, orjson 0.00001
        {"a": 3.5e-05},
        {"a": 1e16},  # 1e+16 against 1e16
        [None, math.nan],
        {"ResultPath": None, "x": math.inf},
        {"a": 2**64},  # beyond orjson's integers
        {"a": "\ud800"},  # a lone surrogate
        [(None, 1)],  # a tuple beside a null: read back as a list, so the check must not be fooled
    ],
)
def test_values_orjson_writes_otherwise_take_the_python_writer(value: Any) -> None:
    assert dumps(value) == _standard(value)
    compiled, _ = _compiled(value)
    assert compiled is None or compiled.decode() == _standard(value)


def test_a_templates_values_take_the_compiled_writer() -> None:
    """A null (a state's `ResultPath`), a rate like 2.0, names with digits and capitals: no doubt
    left after the check, so the compiled text is used (the point of the module)."""
    value = {"ResultPath": None, "BackoffRate": 2.0, "Description": "Orders2Events: null or 1E5", "n": [1, 2]}
    data, _ = _compiled(value)
    assert data is not None and data.decode() == _standard(value)
    assert _compiled({"Name": "Orders2Events", "Seconds": 30})[0] is not None
