"""Helpers shared by the diagram, review, trace and escaping tests."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from flowgen_design.codegen.options import GenerateOptions
from flowgen_design.codegen.targets import all_targets
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.model import Flow
from tests.conftest import ROOT, SKETCH, example_specs

ESCAPING = Path(__file__).resolve().parent / "specs" / "escaping.flow"
SVG = "{http://www.w3.org/2000/svg}"


def diagram_specs() -> list[Path]:
    """The bundled examples, the language sketch and the escaping spec."""
    return [*example_specs(), SKETCH, ESCAPING]


def spec_id(path: Path) -> str:
    return path.stem


def relative(spec: Path) -> Path:
    """Specs are named relative to the repository root, as a user in it would name them,
    so generated headers (which quote the spec path) are the same on every machine."""
    return Path(os.path.relpath(spec, ROOT))


def load(spec: Path, monkeypatch: pytest.MonkeyPatch) -> Flow:
    monkeypatch.chdir(ROOT)
    result = check_file(relative(spec))
    assert result.ok, [d.message for d in result.diagnostics if d.is_error]
    assert result.flow is not None
    return result.flow


def build_target(name: str, flow: Flow) -> dict[str, str]:
    files = all_targets()[name].build(flow, GenerateOptions(out_dir=Path("out")))
    return {str(f.path): f.content for f in files}


def svg_texts(svg: str) -> set[str]:
    """Every text line drawn in a well-formed SVG document (it must parse as XML)."""
    root = ET.fromstring(svg)
    return {"".join(t.itertext()).strip() for t in root.iter(f"{SVG}text")}


def assert_golden(folder: Path, files: dict[str, str], update: bool) -> None:
    """Compare `files` (relative path -> text) with a golden folder, or rewrite it."""
    if update:
        if folder.exists():
            for old in sorted(folder.rglob("*"), reverse=True):
                old.unlink() if old.is_file() else old.rmdir()
        for rel, content in files.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(content, encoding="utf-8")
        return
    if not folder.is_dir():
        pytest.fail(f"no golden output in {folder}: run pytest with --update-golden and review the new files")
    expected = {str(p.relative_to(folder)): p.read_text(encoding="utf-8") for p in folder.rglob("*") if p.is_file()}
    assert sorted(files) == sorted(expected), "the set of generated files changed (run with --update-golden to accept)"
    for rel in sorted(files):
        assert files[rel] == expected[rel], f"{rel} differs from {folder / rel} (run with --update-golden to accept)"
