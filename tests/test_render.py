"""How `flowgen check` reports: compiler-style text, JSON for tools, exit codes, --strict.

Everything here runs the real command in a subprocess, as a user or a CI job would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from flowgen_design.dsl.codes import Severity
from flowgen_design.dsl.diagnostics import Diagnostic, render_text
from flowgen_design.dsl.source import Span
from tests.conftest import ROOT, Runner

pytestmark = pytest.mark.slow  # renders diagrams with dot

CLEAN = """\
flow shop version 1.0.0

event OrderPlaced { order_id: uuid  key order_id }

service Audit {
  on OrderPlaced -> record { idempotent by order_id }
}

external Shop {
  publishes OrderPlaced
}
"""

# One warning: OrderShipped is published but nobody consumes it.
WARNS = CLEAN + """
event OrderShipped { order_id: uuid  key order_id }

service Shipping {
  publishes OrderShipped
}
"""

MISSPELT = """\
flow shop version 1.0.0

event OrderPlaced { order_id: uuid  key order_id }
event OrderFailed { order_id: uuid  key order_id }

service Orders {
  on OrderFialed -> retry_order { idempotent by order_id }
}

external Shop {
  publishes OrderPlaced, OrderFailed
  consumes OrderPlaced, OrderFailed
}
"""

JSON_KEYS = {"file", "line", "column", "end_line", "end_column", "severity", "code", "message", "hint"}


def _spec(folder: Path, text: str, name: str = "shop.flow") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_text_names_file_line_column_code_and_shows_line_caret_and_help(flowgen: Runner, tmp_path: Path) -> None:
    _spec(tmp_path, MISSPELT)
    result = flowgen("check", "shop.flow", cwd=tmp_path)
    lines = result.stdout.splitlines()
    assert lines[0] == "shop.flow:7:6: error[FLOW101]: undefined event `OrderFialed`"
    assert lines[1] == "   7 |   on OrderFialed -> retry_order { idempotent by order_id }"
    caret = lines[2]
    assert caret.strip() == "^" * len("OrderFialed")
    assert lines[1][caret.index("^") :].startswith("OrderFialed")
    assert lines[3] == "  help: did you mean `OrderFailed`?"
    assert lines[4] == "checked 1 file: 1 error, 0 warnings"
    assert result.returncode == 1
    assert result.stderr == ""


def test_warnings_are_labelled_and_do_not_fail(flowgen: Runner, tmp_path: Path) -> None:
    _spec(tmp_path, WARNS)
    result = flowgen("check", "shop.flow", cwd=tmp_path)
    assert re.match(r"shop\.flow:\d+:\d+: warning\[FLOW602\]: `OrderShipped` is published", result.stdout)
    assert result.stdout.splitlines()[-1] == "checked 1 file: 0 errors, 1 warning"
    assert result.returncode == 0


def test_strict_fails_on_warnings_but_not_on_a_clean_spec(flowgen: Runner, tmp_path: Path) -> None:
    _spec(tmp_path, WARNS, "warns.flow")
    _spec(tmp_path, CLEAN, "clean.flow")
    assert flowgen("check", "--strict", "warns.flow", cwd=tmp_path).returncode == 1
    assert flowgen("check", "--strict", "clean.flow", cwd=tmp_path).returncode == 0


def test_clean_spec_exits_zero_and_says_so(flowgen: Runner, tmp_path: Path) -> None:
    _spec(tmp_path, CLEAN)
    result = flowgen("check", "shop.flow", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "checked 1 file: 0 errors, 0 warnings\n")


def test_json_objects_have_exactly_the_documented_fields(flowgen: Runner, tmp_path: Path) -> None:
    _spec(tmp_path, MISSPELT)
    result = flowgen("check", "--format", "json", "shop.flow", cwd=tmp_path)
    assert result.returncode == 1
    rows = json.loads(result.stdout)
    assert rows == [
        {
            "file": "shop.flow",
            "line": 7,
            "column": 6,
            "end_line": 7,
            "end_column": 17,
            "severity": "error",
            "code": "FLOW101",
            "message": "undefined event `OrderFialed`",
            "hint": "did you mean `OrderFailed`?",
        }
    ]


def test_json_of_warnings_and_of_a_clean_spec(flowgen: Runner, tmp_path: Path) -> None:
    _spec(tmp_path, WARNS, "warns.flow")
    _spec(tmp_path, CLEAN, "clean.flow")
    rows = json.loads(flowgen("check", "--format", "json", "warns.flow", cwd=tmp_path).stdout)
    assert [set(r) for r in rows] == [JSON_KEYS]
    assert (rows[0]["severity"], rows[0]["code"]) == ("warning", "FLOW602")
    assert all(isinstance(rows[0][k], int) and rows[0][k] >= 1 for k in ("line", "column", "end_line", "end_column"))
    clean = flowgen("check", "--format", "json", "clean.flow", cwd=tmp_path)
    assert (clean.returncode, json.loads(clean.stdout)) == (0, [])


def test_json_hint_is_null_when_there_is_none(flowgen: Runner, tmp_path: Path) -> None:
    _spec(tmp_path, CLEAN.replace("key order_id }", "key order_id  key order_id }"))
    rows = json.loads(flowgen("check", "--format", "json", "shop.flow", cwd=tmp_path).stdout)
    assert [r["code"] for r in rows] == ["FLOW108"]
    spans = {(r["line"], r["column"]) for r in rows}
    assert spans == {(3, 51)}
    no_hint = render_text(
        [
            Diagnostic(
                code="FLOW010",
                severity=Severity.ERROR,
                message="m",
                span=Span(file="f", line=1, column=1, end_line=1, end_column=2),
            )
        ],
        {},
    )
    assert "help:" not in no_hint


def test_a_folder_checks_every_spec_in_it(flowgen: Runner, tmp_path: Path) -> None:
    _spec(tmp_path, CLEAN, "a.flow")
    (tmp_path / "nested").mkdir()
    _spec(tmp_path / "nested", MISSPELT, "b.flow")
    (tmp_path / "notes.txt").write_text("not a spec")
    result = flowgen("check", ".", cwd=tmp_path)
    assert result.stdout.splitlines()[-1] == "checked 2 files: 1 error, 0 warnings"
    assert result.stdout.startswith(f"nested{os.sep}b.flow:7:6: error[FLOW101]")
    assert result.returncode == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "missing.flow"], "flowgen: error: no such file or folder: missing.flow"),
        (["check", "empty"], "flowgen: error: no .flow files found"),
        (["check", "--format", "yaml", "."], "invalid choice: 'yaml'"),
    ],
)
def test_usage_errors_exit_two_with_one_line(flowgen: Runner, tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "empty").mkdir()
    result = flowgen(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def _without_file_access_override() -> None:
    """Run the child without root's right to read any file, so a mode-000 file is unreadable."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "cannot drop CAP_DAC_OVERRIDE")


def _flowgen_unprivileged(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    drop = _without_file_access_override if os.geteuid() == 0 else None
    return subprocess.run(
        [sys.executable, "-m", "flowgen_design", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=drop,
        timeout=120,
    )


def test_an_unreadable_spec_is_reported_and_exits_two(tmp_path: Path) -> None:
    spec = _spec(tmp_path, CLEAN, "locked.flow")
    spec.chmod(0)
    try:
        result = _flowgen_unprivileged("check", "locked.flow", cwd=tmp_path)
    finally:
        spec.chmod(0o644)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout.startswith("locked.flow:1:1: error[FLOW001]: cannot read locked.flow: Permission denied")
    assert "Traceback" not in result.stderr


def test_a_spec_behind_an_unreadable_folder_is_a_one_line_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    _spec(locked, CLEAN)
    locked.chmod(0)
    try:
        result = _flowgen_unprivileged("check", "locked/shop.flow", cwd=tmp_path)
    finally:
        locked.chmod(0o755)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip() == "flowgen: error: cannot read locked/shop.flow: Permission denied"


def test_an_unreadable_import_is_located_at_the_import(tmp_path: Path) -> None:
    _spec(tmp_path, "flow lib version 1.0.0\ntype Money { amount: int }\n", "lib.flow").chmod(0)
    _spec(tmp_path, 'flow shop version 1.0.0\nimport "lib.flow"\n')
    try:
        result = _flowgen_unprivileged("check", "shop.flow", cwd=tmp_path)
    finally:
        (tmp_path / "lib.flow").chmod(0o644)
    assert result.returncode == 1
    assert result.stdout.startswith("shop.flow:2:8: error[FLOW001]: cannot read lib.flow: Permission denied")


def test_caret_covers_a_span_to_the_end_of_its_first_line() -> None:
    span = Span(file="f.flow", line=1, column=6, end_line=3, end_column=2)
    d = Diagnostic(code="FLOW412", severity=Severity.ERROR, message="m", span=span)
    lines = render_text([d], {"f.flow": "saga Checkout {\n  trigger X\n}\n"}).splitlines()
    assert lines[1:] == ["   1 | saga Checkout {", "            ^^^^^^^^^^"]


def test_a_long_line_is_shown_around_the_span() -> None:
    line = "x" * 3000 + " OrderFialed " + "y" * 3000
    column = line.index("OrderFialed") + 1
    span = Span(file="f.flow", line=1, column=column, end_line=1, end_column=column + 11)
    d = Diagnostic(code="FLOW101", severity=Severity.ERROR, message="m", span=span)
    _, source, caret = render_text([d], {"f.flow": line}).splitlines()
    assert len(source) < 200
    start = caret.index("^")
    assert source[start : start + 11] == "OrderFialed" and caret[start:] == "^" * 11


def test_color_only_on_a_terminal(flowgen: Runner, tmp_path: Path) -> None:
    _spec(tmp_path, MISSPELT)
    assert "\x1b[" not in flowgen("check", "shop.flow", cwd=tmp_path).stdout
    colored = render_text(
        [
            Diagnostic(
                code="FLOW101",
                severity=Severity.ERROR,
                message="m",
                span=Span(file="f", line=1, column=1, end_line=1, end_column=2),
            )
        ],
        {},
        color=True,
    )
    assert colored.startswith("f:1:1: \x1b[1;31merror\x1b[0m[FLOW101]: m")
