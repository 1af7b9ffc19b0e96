"""The resolved model is built without validation (dsl.model.Frozen): prove every element is exactly valid."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from benchmarks.specgen import write_spec
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.model import Constraints, DeliveryPolicy, Field, Frozen, Scalar, ScalarRef
from flowgen_design.dsl.source import Span
from tests.conftest import ROOT

SPECS = sorted({*ROOT.joinpath("specs").rglob("*.flow"), *ROOT.joinpath("tests").glob("*.flow")})
SPECS += sorted(ROOT.joinpath("tests", "specs").glob("*.flow"))


def _elements(value: object) -> Iterator[BaseModel]:
    if isinstance(value, BaseModel):
        yield value
        for name in type(value).model_fields:
            yield from _elements(getattr(value, name))
    elif isinstance(value, tuple) and not isinstance(value, Span):
        for item in value:
            yield from _elements(item)


def _assert_exact(path: Path) -> int:
    result = check_file(path)
    assert result.flow is not None, [d.message for d in result.diagnostics]
    count = 0
    for element in _elements(result.flow):
        cls = type(element)
        assert isinstance(element, Frozen)
        fields = {name: getattr(element, name) for name in cls.model_fields}
        assert set(element.__dict__) >= set(fields), f"{cls.__name__} lacks fields"
        # Strict: a list where a tuple belongs, a str where an enum belongs, fails here.
        assert cls.model_validate(fields, strict=True) == element, cls.__name__
        count += 1
    return count


@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_element_of_every_example_validates_strictly(path: Path) -> None:
    assert _assert_exact(path) > 10


def test_every_element_of_a_generated_spec_validates_strictly(tmp_path: Path) -> None:
    assert _assert_exact(write_spec(tmp_path, 3)) > 100


def test_construction_fills_defaults_and_refuses_missing_or_unknown_fields() -> None:
    span = Span("x.flow", 1, 1, 1, 2)
    field = Field(name="a", type=ScalarRef(scalar=Scalar.INT), span=span)
    assert field.constraints == Constraints() and field.doc is None
    assert field.model_fields_set == {"name", "type", "span"}
    assert DeliveryPolicy().attempts == 1
    with pytest.raises(TypeError, match="needs `span`"):
        Field(name="a", type=ScalarRef(scalar=Scalar.INT))  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="no field `colour`"):
        Field(name="a", type=ScalarRef(scalar=Scalar.INT), span=span, colour=1)  # type: ignore[call-arg]
