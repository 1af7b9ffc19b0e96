"""`flowgen --version`, `flowgen check` and `generate` after an edit import only what they need.

Editors and pre-commit hooks run `check` on every change, so its start-up must
not pay for the generators' libraries. Measured the way a user runs it: a real
subprocess with `-X importtime`, which lists every module the process imports.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, SKETCH

GENERATOR_LIBRARIES = {"black", "graphviz", "yaml", "jinja2"}


def _imported(*args: str, env: dict[str, str] | None = None, whole: bool = False) -> set[str]:
    """Top-level packages imported by `python -m flowgen_design ARGS` (below our namespace: `dsl`, `codegen`), from its
    -X importtime report; with `whole`, every module's full name."""
    env = {**os.environ, **(env or {}), "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
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
    if whole:
        return set(rows[1:])
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


def test_an_edit_that_draws_nothing_imports_only_what_it_uses(tmp_path: Path) -> None:
    """The process aside (`fanout.aside`) forks by itself: asking multiprocessing whether this
    platform forks cost 5 ms of every edit. `subprocess` is for `dot`, `xml.parsers.expat` for
    reading a drawing back from the cache, and `html` escaping is one `str.translate`: an edit
    that draws nothing needs none of them (about 7 ms). `mmap` is what collects the process
    aside's result, so it shows that the run did fork."""
    spec = tmp_path / "sketch.flow"
    shutil.copy(SKETCH, spec)
    env = {"FLOWGEN_JOBS": "2", "FLOWGEN_CACHE_DIR": str(tmp_path / "cache")}
    out = ["--out", str(tmp_path / "out")]
    _imported("generate", str(spec), *out, env=env)
    spec.write_text(spec.read_text(encoding="utf-8") + "// an edit\n", encoding="utf-8")
    imported = _imported("generate", str(spec), *out, env=env, whole=True)
    assert "mmap" in imported, "no process aside ran: this test proves nothing"
    unused = {"multiprocessing", "subprocess", "html", "xml"}
    assert not {name for name in imported if name.split(".")[0] in unused}
