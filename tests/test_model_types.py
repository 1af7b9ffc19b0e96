"""The resolved model is built without run-time checks (frozen dataclasses): prove every element is exactly typed."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.specgen import write_spec
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.model import Constraints, DeliveryPolicy, Field, Flow, Frozen, Scalar, ScalarRef
from flowgen_design.dsl.source import Span
from tests.conftest import ROOT
from tests.element_types import elements, type_errors

SPECS = sorted({*ROOT.joinpath("specs").rglob("*.flow"), *ROOT.joinpath("tests").glob("*.flow")})
SPECS += sorted(ROOT.joinpath("tests", "specs").glob("*.flow"))


def _assert_exact(path: Path) -> int:
    result = check_file(path)
    assert result.flow is not None, [d.message for d in result.diagnostics]
    count = 0
    for element in elements(result.flow):
        assert isinstance(element, Frozen), type(element).__name__
        # Strict: a list where a tuple belongs, a str where an enum belongs, fails here.
        assert type_errors(element) == []
        count += 1
    return count


@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_element_of_every_example_is_exactly_typed(path: Path) -> None:
    assert _assert_exact(path) > 10


def test_every_element_of_a_generated_spec_is_exactly_typed(tmp_path: Path) -> None:
    assert _assert_exact(write_spec(tmp_path, 3)) > 100


def test_the_type_check_catches_a_wrong_value() -> None:
    not_a_span = "x.flow:1:1"
    field = Field(name="a", type=ScalarRef(scalar="int"), span=not_a_span)  # type: ignore[arg-type]
    assert len(type_errors(field)) == 1 and len(type_errors(field.type)) == 1
    flow = Flow(name="f", version="1.0.0", path="f.flow", span=field.span, records=[])  # type: ignore[arg-type]
    assert [e.split(" = ")[0] for e in type_errors(flow)] == ["Flow.span", "Flow.records"]


def test_construction_fills_defaults_and_refuses_missing_or_unknown_fields() -> None:
    span = Span("x.flow", 1, 1, 1, 2)
    field = Field(name="a", type=ScalarRef(scalar=Scalar.INT), span=span)
    assert field.constraints == Constraints() and field.doc is None
    assert DeliveryPolicy().attempts == 1
    with pytest.raises(TypeError, match="'span'"):
        Field(name="a", type=ScalarRef(scalar=Scalar.INT))  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="'colour'"):
        Field(name="a", type=ScalarRef(scalar=Scalar.INT), span=span, colour=1)  # type: ignore[call-arg]
    with pytest.raises(AttributeError):
        field.name = "b"  # type: ignore[misc]
