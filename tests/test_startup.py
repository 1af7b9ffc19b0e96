"""`flowgen --version` and `flowgen check` import only what they need.

Editors and pre-commit hooks run `check` on every change, so its start-up must
not pay for the generators' libraries. Measured the way a user runs it: a real
subprocess with `-X importtime`, which lists every module the process imports.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT, SKETCH

GENERATOR_LIBRARIES = {"black", "graphviz", "yaml", "jinja2"}


def _imported(*args: str) -> set[str]:
    """Top-level packages imported by `python -m flowgen_design ARGS` (below our namespace: `dsl`, `codegen`), from its -X importtime report."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "flowgen_design", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")]
    assert rows, "no -X importtime report"
    return {name.removeprefix("flowgen_design.").split(".")[0] for name in rows[1:]}


def test_check_imports_no_generator_library() -> None:
    imported = _imported("check", str(SKETCH))
    assert {"dsl", "lark"} <= imported
    # pydantic is for the generated models and the edges: its import alone costs about 0.1 s.
    assert not imported & {"pydantic", *GENERATOR_LIBRARIES}


def test_version_imports_neither_pydantic_nor_lark() -> None:
    imported = _imported("--version")
    assert "codegen" in imported
    assert not imported & {"pydantic", "lark", "dsl", *GENERATOR_LIBRARIES}
