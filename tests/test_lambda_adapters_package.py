"""The `lambda` target's files for every example spec: black-formatted, `mypy --strict`
clean together with the `python` target's package, importable at the path the
infrastructure names as each function's handler, and pinned by golden files."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import black
import pytest
from black.mode import TargetVersion

from flowgen_design.codegen.names import lambda_handler, python_package
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.model import Flow
from tests.conftest import ROOT, SKETCH, example_specs, run_flowgen
from tests.golden_files import check_golden, tree

pytestmark = pytest.mark.slow  # runs mypy on the generated package

LAMBDA_SPEC = Path(__file__).resolve().parent / "lambda_adapters.flow"
SPECS = [*example_specs(), SKETCH, LAMBDA_SPEC]


def flow_of(spec: Path) -> Flow:
    result = check_file(spec)
    assert result.ok and result.flow is not None, [d.message for d in result.diagnostics]
    return result.flow


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Path]:
    """Each spec's `python` + `lambda` output, generated once by the CLI."""
    root = tmp_path_factory.mktemp("lambda-package")
    out = {}
    for spec in SPECS:
        folder = root / spec.stem
        result = run_flowgen(
            "generate", str(spec.relative_to(ROOT)), "--out", str(folder), "-t", "python", "-t", "lambda", cwd=ROOT
        )
        assert result.returncode == 0, result.stdout + result.stderr
        out[spec] = folder
    return out


def adapter_files(out: Path, flow: Flow) -> dict[str, str]:
    package = python_package(flow)
    return tree(out, only=[f"python/{package}/adapters/", f"python/{package}/testing.py"])


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_adapters_match_golden(spec: Path, outputs: dict[Path, Path], update_golden: bool) -> None:
    flow = flow_of(spec)
    files = adapter_files(outputs[spec], flow)
    if not flow.handlers():
        assert files == {}, "a flow without handlers needs no adapters"
        return
    check_golden(files, "lambda", spec, update_golden)


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_adapters_are_black_formatted_and_marked_generated(spec: Path, outputs: dict[Path, Path]) -> None:
    flow = flow_of(spec)
    files = adapter_files(outputs[spec], flow)
    assert bool(files) == bool(flow.handlers())
    for rel, text in files.items():
        assert text.splitlines()[1].startswith("# DO NOT EDIT"), rel
        assert (
            black.format_str(text, mode=black.Mode(target_versions={TargetVersion.PY311})) == text
        ), f"{rel} is not black-formatted"


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_package_passes_mypy_strict(spec: Path, outputs: dict[Path, Path]) -> None:
    package = python_package(flow_of(spec))
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", "/dev/null", "-p", package],
        cwd=outputs[spec] / "python",
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def importable(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No AWS settings at all, and the imported packages forgotten afterwards."""
    for key in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    saved = dict(sys.modules)
    yield
    for name in set(sys.modules) - set(saved):
        del sys.modules[name]


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_every_handler_is_importable_at_its_lambda_handler_path(
    spec: Path, outputs: dict[Path, Path], importable: None
) -> None:
    """Importing needs no AWS credentials or region: clients are created on first use."""
    flow = flow_of(spec)
    sys.path.insert(0, str(outputs[spec] / "python"))
    try:
        for handler in flow.handlers():
            module, _, function = lambda_handler(flow, handler).rpartition(".")
            assert callable(getattr(importlib.import_module(module), function))
    finally:
        sys.path.remove(str(outputs[spec] / "python"))
