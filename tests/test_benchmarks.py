"""The benchmark's synthetic specs are clean, and the harness runs end to end.

The benchmark measures the happy path, so its specs must pass `flowgen check`
with no diagnostic at all; the harness asserts that too before measuring.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.specgen import LINES_PER_DOMAIN, domains_for_lines, spec, write_spec
from tests.conftest import ROOT, Runner


@pytest.mark.parametrize("domains", [1, 2, 17])
def test_generated_specs_pass_check_without_any_diagnostic(flowgen: Runner, tmp_path: Path, domains: int) -> None:
    path = write_spec(tmp_path, domains)
    result = flowgen("check", "--format", "json", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == []


def test_spec_size_is_linear_in_domains_and_deterministic() -> None:
    sizes = [spec(n).count("\n") for n in (1, 2, 10, 20)]
    assert sizes[2] - sizes[1] == 8 * LINES_PER_DOMAIN
    assert sizes[3] - sizes[2] == 10 * LINES_PER_DOMAIN
    assert spec(20) == spec(20)
    assert 9_000 < spec(domains_for_lines(10_000)).count("\n") < 11_000


@pytest.mark.slow
def test_the_harness_runs_and_writes_its_report(tmp_path: Path) -> None:
    report = tmp_path / "benchmarks.md"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--runs", "1", "--domains", "1",
         "--workdir", str(tmp_path / "work"), "--output", str(report)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    text = report.read_text()
    assert "cores" in text
    for heading in (
        "against the floor",
        "against the official AsyncAPI parser",
        "`flowgen generate`",
        "Growth from N to 10N",
        "YAML: `codegen/blockyaml.py` against libyaml",
        "## `flowgen simulate`",
    ):
        assert heading in text
    assert "| `flowgen check` |" in text and "| bare lark LALR parse (the floor) |" in text
    assert "outputs byte-identical" in text


@pytest.mark.slow
def test_the_edit_benchmark_makes_only_the_targets_it_is_given(tmp_path: Path) -> None:
    """`benchmarks/incremental.py --target` measures every `generate` with those targets alone:
    what an edit costs without the whole-flow documents (docs/benchmarks.md, round 12)."""
    work = tmp_path / "work"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "incremental.py"), "--domains", "1", "--rounds", "1",
         "--first-runs", "1", "--workdir", str(work), "--target", "python", "--target", "review"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Targets: python, review." in result.stdout
    assert "| `generate` after one field is added to a record type | 1 |" in result.stdout
    for out in (work / "out", work / "first-out"):
        made = {child.name for child in out.iterdir() if not child.name.startswith(".")}
        assert {"python", "review"} <= made and not made & {"infra", "asyncapi", "diagrams", "lambda"}, made
