"""Input that could exhaust memory or hang `check` is refused cheaply (issue 11)."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.loader import MAX_FILE_BYTES

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def test_a_huge_sparse_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    spec = tmp_path / "sparse.flow"
    with spec.open("wb") as handle:
        handle.truncate(4 * 1024**3)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = check_file(spec)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert [d.code for d in result.diagnostics] == ["FLOW003"]
    assert "4194304 KiB" in result.diagnostics[0].message
    assert grown_kib < 4 * MAX_FILE_BYTES // 1024


def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.flow"
    os.mkfifo(pipe)
    result = check_file(pipe)
    assert [d.code for d in result.diagnostics] == ["FLOW001"]
    assert "named pipe" in result.diagnostics[0].message


def _run(args: list[str], cwd: Path, jobs: str) -> subprocess.CompletedProcess[str]:
    """`flowgen ARGS` in a subprocess that may not take a minute (a wait on a pipe would)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "FLOWGEN_JOBS": jobs}
    env["FLOWGEN_CACHE_DIR"] = str(cwd / "cache")
    command = [sys.executable, "-m", "flowgen_design", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("jobs", ["1", "2"])  # 2: the last run's documents are read ahead in a thread
def test_a_named_pipe_where_a_generated_file_was_is_not_waited_on(tmp_path: Path, jobs: str) -> None:
    """`generate` reads the files the last run left (to trust them, to take parts back): a named
    pipe put in place of one is not opened to wait for a writer; the file is generated again."""
    shutil.copytree(SPECS, tmp_path / "specs")
    args = ["generate", "specs/checkout.flow", "--out", "out", "--target", "cloudformation"]
    assert _run(args, tmp_path, jobs).returncode == 0
    template = tmp_path / "out" / "infra" / "checkout" / "template.json"
    written = template.read_bytes()
    template.unlink()
    os.mkfifo(template)
    with (tmp_path / "specs" / "checkout.flow").open("a", encoding="utf-8") as spec:
        spec.write("// an edit\n")
    result = _run(args, tmp_path, jobs)
    assert result.returncode == 0, result.stderr
    assert template.is_file() and template.read_bytes() == written


def test_a_named_pipe_as_the_users_deployment_file_is_a_located_error(tmp_path: Path) -> None:
    shutil.copytree(SPECS, tmp_path / "specs")
    args = ["generate", "specs/checkout.flow", "--out", "out", "--target", "cloudformation"]
    assert _run(args, tmp_path, "2").returncode == 0
    deploy = tmp_path / "out" / "infra" / "checkout" / "deploy.toml"
    deploy.unlink()
    os.mkfifo(deploy)
    result = _run(args, tmp_path, "2")
    assert result.returncode == 1
    assert "out/infra/checkout/deploy.toml:1:1: error[FLOW331]: cannot read" in result.stderr
    assert "not a plain file" in result.stderr
