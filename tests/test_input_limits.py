"""Input that could exhaust memory or hang `check` is refused cheaply (issue 11)."""

from __future__ import annotations

import os
import resource
from pathlib import Path

from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.loader import MAX_FILE_BYTES


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
