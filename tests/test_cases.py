"""Diagnostic cases: `tests/cases/*.flow`, expected diagnostics written inline.

Each case file is a small spec with its expected diagnostics on the line they
point at, in mypy's style:

    key order_ref          // E: FLOW201
    key order_id           // W: FLOW602 published
    /// dangling           // W: FLOW030

`E:` is an error and `W:` a warning; the code may be followed by a fragment that
must occur in the message or the help line. A line may carry several
annotations. The test compares the exact multiset of (line, code, severity): a
diagnostic nobody expected fails the case as surely as a missing one, so each
file also proves its near misses (lines that are almost the mistake) stay quiet.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from flowgen_design.codegen.checks import check_spec
from flowgen_design.dsl.codes import CODES
from flowgen_design.dsl.diagnostics import Diagnostic
from flowgen_design.dsl.loader import display_path
from flowgen_design.dsl.source import source_lines

CASES = Path(__file__).resolve().parent / "cases"
CASE_FILES = sorted(CASES.glob("*.flow"))
_ANNOTATION = re.compile(r"//\s*([EW]):\s*(FLOW\d{3})\b((?:(?!//\s*[EW]:).)*)")
_SEVERITY = {"E": "error", "W": "warning"}

# Codes about files rather than their content: exercised by tests/test_bad_input.py;
# the user-owned deployment files' codes (FLOW331-FLOW333) by tests/test_deploy_settings.py.
NOT_FROM_A_CASE = {"FLOW001", "FLOW003", "FLOW023", "FLOW331", "FLOW332", "FLOW333"}


@dataclass(frozen=True)
class Expected:
    line: int
    code: str
    severity: str
    fragment: str


def expectations(path: Path) -> list[Expected]:
    """Every `// E: CODE fragment` annotation of a case file, with its line number."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    found = []
    for number, line in enumerate(source_lines(text), start=1):
        for sev, code, fragment in _ANNOTATION.findall(line):
            found.append(Expected(number, code, _SEVERITY[sev], fragment.strip()))
    return found


def _key(line: int, code: str, severity: str) -> str:
    return f"line {line}: {severity}[{code}]"


def _describe(d: Diagnostic) -> str:
    return f"{_key(d.span.line, d.code, d.severity.value)} {d.message}" + (f" (help: {d.hint})" if d.hint else "")


@pytest.mark.parametrize("case", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_case(case: Path) -> None:
    result = check_spec(case)
    expected = expectations(case)
    got = Counter(_key(d.span.line, d.code, d.severity.value) for d in result.diagnostics)
    want = Counter(_key(e.line, e.code, e.severity) for e in expected)
    report = "\n".join(_describe(d) for d in result.diagnostics) or "(no diagnostics)"
    assert (
        got == want
    ), f"{case.name}\n  unexpected: {sorted((got - want).elements())}\n  missing: {sorted((want - got).elements())}\nall diagnostics:\n{report}"
    assert {d.span.file for d in result.diagnostics} <= {display_path(case)}, "a case reports only on itself"
    for e in expected:
        if e.fragment:
            on_line = [d for d in result.diagnostics if (d.span.line, d.code) == (e.line, e.code)]
            texts = [f"{d.message}\n{d.hint or ''}" for d in on_line]
            assert any(e.fragment in t for t in texts), f"{case.name}:{e.line}: `{e.fragment}` not in {texts}"


def test_every_code_has_a_case() -> None:
    """Each code a spec can trigger is proven by at least one case file."""
    covered = {e.code for path in CASE_FILES for e in expectations(path)}
    missing = sorted(set(CODES) - covered - NOT_FROM_A_CASE)
    assert not missing, f"codes without a case in tests/cases: {missing}"


def test_annotations_name_registered_codes_with_their_default_severity() -> None:
    for path in CASE_FILES:
        for e in expectations(path):
            assert e.code in CODES, f"{path.name}:{e.line}: unknown code {e.code}"
            assert (
                CODES[e.code].severity.value == e.severity
            ), f"{path.name}:{e.line}: {e.code} is an {CODES[e.code].severity.value}"


def test_annotation_parser_reads_several_per_line_and_fragments(tmp_path: Path) -> None:
    spec = tmp_path / "x.flow"
    spec.write_text("a // E: FLOW101 undefined event // W: FLOW602\n\nb // E:FLOW010\n")
    assert expectations(spec) == [
        Expected(1, "FLOW101", "error", "undefined event"),
        Expected(1, "FLOW602", "warning", ""),
        Expected(3, "FLOW010", "error", ""),
    ]


def test_every_target_declares_its_checks() -> None:
    """`flowgen check` knows each target's checks without importing the target itself."""
    from flowgen_design.codegen.checks import target_checks
    from flowgen_design.codegen.targets import TARGET_CHECKS, all_targets

    assert sorted(TARGET_CHECKS) == sorted(all_targets())
    assert target_checks(["python"]) and target_checks(["cloudformation"])
    assert target_checks(["diagrams"]) == ()
    assert set(target_checks(["lambda"])) == set(target_checks(["python", "cloudformation"]))


def test_the_front_end_alone_knows_no_target(tmp_path: Path) -> None:
    """A name only a target rejects passes `dsl.compiler.check_file`, and fails that target's check."""
    from flowgen_design.dsl.compiler import check_file

    spec = tmp_path / "case.flow"
    spec.write_text("flow shop version 1.0.0\ntype T { a: int }\ntype str { b: int }\n")
    assert [d.code for d in check_file(spec).diagnostics] == []
    assert [d.code for d in check_spec(spec, ["python"]).diagnostics] == ["FLOW104"]
    assert [d.code for d in check_spec(spec, ["cloudformation"]).diagnostics] == []
