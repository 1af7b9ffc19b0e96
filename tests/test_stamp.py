"""A run with nothing to do builds nothing; any change of input or output makes it do the full work."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowgen_design.cli import main
from flowgen_design.codegen import stamp as stamps
from flowgen_design.codegen import targets
from flowgen_design.codegen.targets import Target, all_targets
from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # generates every target (black, dot) several times

CHECKOUT = ROOT / "specs" / "checkout.flow"
MONEY = ROOT / "specs" / "shared" / "money.flow"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FLOWGEN_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "shared").mkdir()
    shutil.copy(CHECKOUT, tmp_path / "checkout.flow")
    shutil.copy(MONEY, tmp_path / "shared" / "money.flow")
    return tmp_path


def generate(project: Path, *extra: str) -> int:
    return main(["generate", str(project / "checkout.flow"), "-o", str(project / "out"), *extra])


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the targets built while the test runs (each still builds for real)."""
    built: list[str] = []
    for name, target in all_targets().items():

        def build(flow: object, options: object, _target: Target = target) -> object:
            built.append(_target.name)
            return _target.build(flow, options)  # type: ignore[arg-type]

        monkeypatch.setitem(targets._REGISTRY, name, Target(target.name, target.description, build))  # type: ignore[arg-type]
    yield built


def outputs(project: Path) -> dict[str, tuple[bytes, int]]:
    out = project / "out"
    return {
        str(p.relative_to(out)): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(out.rglob("*")) if p.is_file()
    }


def test_an_unchanged_spec_builds_nothing_and_touches_nothing(
    project: Path, builds: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert generate(project) == 0
    assert builds == list(all_targets())
    first = capsys.readouterr().out
    before = outputs(project)
    builds.clear()
    assert generate(project) == 0
    assert builds == []
    assert outputs(project) == before
    done = capsys.readouterr().out.strip()
    assert done.startswith("done:") and "keep-user" in done and "unchanged" in done
    assert generate(project, "--check") == 0 and builds == []
    assert capsys.readouterr().out.strip() == "generated files are up to date"
    assert "create" in first


@pytest.mark.parametrize(
    "change",
    [
        "a comment in the spec",
        "an imported spec",
        "a generated file edited",
        "a generated file deleted",
        "a user file edited",
        "the manifest edited",
        "the record lost",
        "the record damaged",
    ],
)
def test_any_change_means_a_full_run_and_then_a_skip_again(project: Path, builds: list[str], change: str) -> None:
    assert generate(project) == 0
    out = project / "out"
    generated = out / "asyncapi" / "checkout.asyncapi.yaml"
    (user_file,) = [p for p in (out / "python").rglob("services/*.py") if p.name.startswith("orders")]
    if change == "a comment in the spec":
        with (project / "checkout.flow").open("a") as spec:
            spec.write("// a new comment\n")
    elif change == "an imported spec":
        with (project / "shared" / "money.flow").open("a") as spec:
            spec.write("// a new comment\n")
    elif change == "a generated file edited":
        generated.write_text(generated.read_text() + "# edited\n")
    elif change == "a generated file deleted":
        generated.unlink()
    elif change == "a user file edited":
        user_file.write_text(user_file.read_text() + "\n\nHELPER = 1\n")
    elif change == "the manifest edited":
        manifest = out / ".flowgen" / "checkout.json"
        manifest.write_text(manifest.read_text().replace('"flow": "checkout"', '"flow": "checkout" '))
    elif change == "the record lost":
        shutil.rmtree(project / "cache" / "stamps")
    else:
        for record in (p for p in (project / "cache" / "stamps").rglob("*") if p.is_file()):
            record.write_text(record.read_text()[:-10])
    user_text = user_file.read_text()
    builds.clear()
    assert generate(project) == 0
    assert builds == list(all_targets()), "the change must be noticed"
    assert "# edited" not in generated.read_text() and generated.exists()
    assert user_file.read_text() == user_text, "user code is never touched"
    builds.clear()
    assert generate(project) == 0
    assert builds == [], "the full run recorded the new state"


def test_check_mode_reports_an_edited_file_as_stale(project: Path, builds: list[str]) -> None:
    assert generate(project) == 0
    generated = project / "out" / "asyncapi" / "checkout.asyncapi.yaml"
    generated.write_text("edited\n")
    builds.clear()
    assert generate(project, "--check") == 1
    assert builds
    assert generated.read_text() == "edited\n", "--check writes nothing"


def test_other_targets_are_a_different_stamp(project: Path, builds: list[str]) -> None:
    assert generate(project) == 0
    builds.clear()
    assert generate(project, "--target", "python") == 0
    assert builds == ["python"]
    builds.clear()
    assert generate(project, "--target", "python") == 0
    assert builds == []


def test_a_run_with_something_to_say_is_never_skipped(
    project: Path, builds: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Warnings (here an orphaned handler in the user's file) repeat on every run until someone acts."""
    assert generate(project) == 0
    user_file = project / "out" / "python" / "checkout" / "services" / "shipping.py"
    user_file.write_text(
        user_file.read_text() + "\n    @override\n    def cancel_shipment(self) -> None:\n        pass\n"
    )
    capsys.readouterr()
    for _ in range(3):
        builds.clear()
        assert generate(project) == 0
        assert builds, "a run that warns must run again next time"
        assert "`cancel_shipment` is no longer a handler of `Shipping`" in capsys.readouterr().err
    user_file.write_text(user_file.read_text().split("\n    @override\n    def cancel_shipment")[0] + "\n")
    assert generate(project) == 0
    builds.clear()
    assert generate(project) == 0
    assert builds == [], "once the warning is dealt with, runs are skipped again"


def test_the_stamp_covers_every_input(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    base = dict(
        sources={"a.flow": "flow a version 1.0.0\n"}, project_path="a.flow", targets=["python"], out_dir=tmp_path
    )
    first = stamps.inputs_stamp(**base)  # type: ignore[arg-type]
    assert stamps.inputs_stamp(**base) == first  # type: ignore[arg-type]
    variants = [
        {"sources": {"a.flow": "flow a version 1.0.1\n"}},
        {"sources": {"b.flow": "flow a version 1.0.0\n"}},
        {"sources": {"a.flow": "flow a version 1.0.0\n", "m.flow": ""}},
        {"project_path": "specs/a.flow"},
        {"targets": ["python", "asyncapi"]},
        {"out_dir": tmp_path / "other"},
    ]
    for variant in variants:
        assert stamps.inputs_stamp(**{**base, **variant}) != first, variant  # type: ignore[arg-type, dict-item]
    monkeypatch.setattr(stamps, "code_digest", lambda: "another flowgen")
    assert stamps.inputs_stamp(**base) != first  # type: ignore[arg-type]
    monkeypatch.undo()
    monkeypatch.setattr(stamps, "file_identity", lambda path: f"another tool at {path}")
    assert stamps.inputs_stamp(**base) != first  # type: ignore[arg-type]


def test_the_code_digest_follows_every_file_of_the_packages_but_not_bytecode(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    package = tmp_path / "fakeflowgen"
    (package / "templates").mkdir(parents=True)
    (package / "__init__.py").write_text("X = 1\n")
    (package / "templates" / "page.html").write_text("<p>\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(stamps, "_PACKAGES", ("fakeflowgen",))
    digests = []
    for change in (None, "bytecode", "template", "code"):
        if change == "bytecode":
            (package / "__pycache__").mkdir()
            (package / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"\0")
        elif change == "template":
            (package / "templates" / "page.html").write_text("<p>changed\n")
        elif change == "code":
            (package / "__init__.py").write_text("X = 2\n")
        stamps.code_digest.cache_clear()
        digests.append(stamps.code_digest())
    stamps.code_digest.cache_clear()
    assert digests[0] == digests[1], "bytecode is not code"
    assert len(set(digests[1:])) == 3, "every edit of a file changes the digest"
