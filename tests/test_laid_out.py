"""A plain model class laid out line by line (`source._laid_out`) is laid out as black lays it out.

Its head is formatted alone and each field line by its compact shape (`shapes.compact`);
these tests hold every layout made so to black itself, on random classes (names of every
width, lines near and past the limit, layouts black changes) and on the models of every
bundled spec, and check that ordinary models are laid out so (an edit that adds a field
formats nothing).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowgen_design.codegen import shapes
from flowgen_design.codegen.targets.python import source
from flowgen_design.codegen.targets.python.models import ModelWriter
from flowgen_design.dsl.compiler import check_file

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FLOWGEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(source, "_compact_layouts", {})
    monkeypatch.setattr(shapes, "_formatted", {})


names = st.from_regex(r"[a-z_][a-z0-9_]{0,44}", fullmatch=True).filter(lambda n: n not in source._KEYWORDS)
annotation_texts = st.sampled_from(
    ["str", "int", "Decimal", "list[str]", "dict[str, int]", "Money | None", "AwareDatetime"]
)
texts = st.text(st.sampled_from("ab Z-_.'\"\\#é"), max_size=60)


@st.composite
def field_lines(draw: st.DrawFn) -> str:
    name, annotation = draw(names), draw(annotation_texts)
    form = draw(st.integers(0, 9))
    if form == 0:
        return f"    {name}: {annotation}"
    if form == 1:
        return f"    {name}: {annotation} | None = None"
    if form == 2:
        return f"    {name}: {annotation} = Field(max_length={draw(st.integers(0, 10**12))})"
    if form == 3:
        return f"    {name}: {annotation} = Field(alias={source.literal(draw(texts))})"
    if form == 4:
        return f"    {name}: {annotation} = Field(pattern={draw(texts)!r})"  # black may change the quotes
    if form == 5:
        return f"    {name}: {annotation} = Field(ge=0, le={draw(st.integers(0, 99))},)"  # a magic trailing comma
    if form == 6:
        return f"    {name} = {source.literal(draw(texts))}"
    if form == 7:
        return f"    {name}:{annotation}"  # black adds the space
    if form == 8:
        return f"    {name}: {annotation} = Field(default=(1), description={source.literal(draw(texts))})"
    return f"    {name}: {annotation} = Field(0x{draw(st.integers(0, 255)):X}, min_length=1_000)"


@st.composite
def methods(draw: st.DrawFn) -> str:
    name, field = draw(names), draw(names)
    doc = source.docstring(draw(texts), "        ")
    returned = draw(st.sampled_from(["str(self.{})", "self.{}.isoformat()", "_key_text(self.{}, {!r})"]))
    body = f"        return {returned.format(field, draw(texts))}"
    return "\n".join(["", f"    def {name}(self) -> str | None:", *doc, body, ""])


@st.composite
def classes(draw: st.DrawFn) -> str:
    name = draw(st.from_regex(r"[A-Z][A-Za-z0-9]{0,40}", fullmatch=True))
    doc = source.docstring(draw(st.sampled_from(["", "One line.", "Two\n\nparagraphs."])) + draw(texts), "    ")
    body = draw(st.lists(st.one_of(field_lines(), field_lines(), st.just(""), methods()), min_size=1, max_size=7))
    return "\n".join([f"class {name}(_Model):", *doc, "", *"\n".join(body).strip("\n").split("\n")]) + "\n"


@pytest.mark.slow  # black on 500 classes
@settings(max_examples=500, deadline=None)
@given(classes())
def test_a_class_laid_out_line_by_line_is_laid_out_as_black_lays_it_out(text: str) -> None:
    laid_out = source._laid_out(text)
    if laid_out is not None:
        assert laid_out == source._black(text)


@pytest.mark.parametrize("width", [0, 1, 2, 40])
def test_a_field_line_past_the_limit_is_split_as_black_splits_it(width: int) -> None:
    short = 'class Order(_Model):\n    """Record `Order`."""\n\n    note: str = Field(alias=\'x\')\n'
    assert source._laid_out(short) == short.replace("'x'", '"x"')
    fill = "x" * (88 - len('    note: str = Field(alias="")') + width)
    long = short.replace("'x'", f"'{fill}'")
    made = source._laid_out(long)
    assert made == source._black(long)
    assert ("\n        alias=" in made) is (width > 0)  # the compact line fits; the real one does not


def test_a_new_field_of_a_known_kind_needs_no_black(monkeypatch: pytest.MonkeyPatch) -> None:
    first = 'class Address(_Model):\n    """Record `Address`."""\n\n    street: str\n    note: str | None = None\n'
    assert source._laid_out(first) == first

    def no_black(_: str) -> str:
        raise AssertionError("black was asked")

    monkeypatch.setattr(source, "_black", no_black)
    monkeypatch.setattr(source, "_compact_layouts", {})  # only the cache on disk is left
    monkeypatch.setattr(shapes, "_formatted", {})
    edited = first.replace("    street", "    delivery_instructions_for_the_courier: str | None = None\n    street")
    assert source._laid_out(edited) == edited


@pytest.mark.slow  # every bundled spec's models, each class through black
def test_the_models_of_every_bundled_spec_are_mostly_taken_as_they_are() -> None:
    specs = sorted([*(ROOT / "specs").glob("*.flow"), *(ROOT / "tests" / "specs").glob("*.flow")])
    laid_out = total = 0
    for spec in specs:
        flow = check_file(spec).flow
        assert flow is not None, spec
        for block in ModelWriter(flow)._classes():
            text = "\n".join(block) + "\n"
            total += 1
            made = source._laid_out(text)
            if made is not None:
                laid_out += 1
                assert made == source._black(text), text
    assert total > 50 and laid_out > total * 0.8, (laid_out, total)
