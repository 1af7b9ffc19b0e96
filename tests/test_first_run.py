"""A first run's shortcuts change no byte: every bundled spec generated with them and without.

`flowgen generate` into an empty folder with an empty cache takes shortcuts (`codegen.straight`
lists them): black formats each shape of module once, the test kit's data entry by entry,
the models class by class; the constant templates come formatted with flowgen
(`codegen.preformatted`); `dot` draws in the background, several sagas in one process.
With `FLOWGEN_STRAIGHT=1` every file is built the plain way: black over each whole module,
one `dot` per drawing, no cache. Both runs of every spec here must leave the same bytes:
the bundled examples, the test specs, a generated benchmark spec and hypothesis-drawn edits of one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from benchmarks.specgen import spec, write_spec
from flowgen_design.cli import main
from flowgen_design.codegen import shapes
from flowgen_design.dsl.compiler import check_file
from tests.conftest import SKETCH, example_specs
from tests.test_incremental import EDITS

pytestmark = pytest.mark.slow  # black over every whole module of every spec, and dot

ROOT = Path(__file__).resolve().parent.parent
TEST_SPECS = [
    SKETCH,
    ROOT / "tests" / "specs" / "escaping.flow",
    ROOT / "tests" / "specs" / "python_edges.flow",
    ROOT / "tests" / "lambda_adapters.flow",
    ROOT / "tests" / "ordering.flow",
    ROOT / "tests" / "message_language.flow",
]


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _generate(spec_file: Path, out: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, straight: bool) -> None:
    monkeypatch.setenv("FLOWGEN_CACHE_DIR", str(cache))
    monkeypatch.setenv("FLOWGEN_STRAIGHT", "1" if straight else "0")
    monkeypatch.setattr(shapes, "_formatted", {})  # no shape formatted by an earlier test
    assert main(["generate", str(spec_file), "--out", str(out)]) == 0


def assert_same_both_ways(spec_file: Path, work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("quick", "straight", "cache"):
        shutil.rmtree(work / name, ignore_errors=True)
    _generate(spec_file, work / "quick", work / "cache", monkeypatch, straight=False)
    _generate(spec_file, work / "straight", work / "cache", monkeypatch, straight=True)
    quick, straight = _tree(work / "quick"), _tree(work / "straight")
    assert quick.keys() == straight.keys()
    differ = [path for path in quick if quick[path] != straight[path]]
    assert not differ, f"{spec_file.name}: the shortcuts changed {differ[:5]}"


@pytest.mark.parametrize("spec_file", [*example_specs(), *TEST_SPECS], ids=lambda p: p.stem)
def test_bundled_specs_are_the_same_bytes_with_and_without_shortcuts(
    spec_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_same_both_ways(spec_file, tmp_path, monkeypatch)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_benchmark_spec_is_the_same_bytes_with_and_without_shortcuts(
    jobs: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWGEN_JOBS", jobs)
    assert_same_both_ways(write_spec(tmp_path / "spec", 6), tmp_path, monkeypatch)


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(domains=st.integers(1, 3), edits=st.lists(st.sampled_from(sorted(EDITS)), max_size=4, unique=True))
def test_drawn_specs_are_the_same_bytes_with_and_without_shortcuts(
    domains: int, edits: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = spec(domains)
    for edit in edits:
        text = EDITS[edit](text)
    spec_file = tmp_path / "spec" / "drawn.flow"
    spec_file.parent.mkdir(parents=True, exist_ok=True)
    spec_file.write_text(text, encoding="utf-8")
    checked = check_file(spec_file)
    assume(checked.flow is not None and not any(d.is_error for d in checked.diagnostics))  # edits can clash
    assert_same_both_ways(spec_file, tmp_path, monkeypatch)


def test_a_service_too_long_for_an_import_line_is_the_same_bytes_with_and_without_shortcuts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test kit's import lines are cut from its skeleton only when black leaves each as it
    is: a service whose import line black must wrap takes the plain road, with the same bytes."""
    long = "PaymentsForEveryCustomerOrderPlacedThroughTheStorefrontAndTheApp"
    spec_file = tmp_path / "spec" / "long.flow"
    spec_file.parent.mkdir(parents=True)
    spec_file.write_text(SKETCH.read_text(encoding="utf-8").replace("Payments", long), encoding="utf-8")
    assert_same_both_ways(spec_file, tmp_path, monkeypatch)
    kit = (tmp_path / "quick" / "python").rglob("testing.py")
    assert any("import (\n" in path.read_text(encoding="utf-8") for path in kit), "an import black wrapped"


def test_a_bad_drawing_among_several_fails_as_it_fails_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flowgen_design.codegen.diagrams import render

    monkeypatch.setenv("FLOWGEN_CACHE_DIR", str(tmp_path / "cache"))
    good = [f"digraph g{i} {{ a{i} -> b{i} }}\n" for i in range(5)]
    bad = "digraph broken { a -> }\n"
    with pytest.raises(render.DotFailed) as alone:
        render.render(bad, "svg")
    with pytest.raises(render.DotFailed) as among:
        render.render_all([*good, bad], "svg")
    assert str(among.value) == str(alone.value)
    batched = render.render_all(good, "svg")
    monkeypatch.setenv("FLOWGEN_STRAIGHT", "1")  # each alone, no cache
    assert batched == [render.render(source, "svg") for source in good]
