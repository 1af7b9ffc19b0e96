"""`archive 90d`: the bus-level declaration from the grammar to the template.

Parsed into `ast.ArchiveDecl` (with its doc comment), printed back by `fmt` on one line
(comments kept), resolved into `Flow.archive` in whole days, and rendered as an
`AWS::Events::Archive` on the flow's bus. Its diagnostics are in
tests/cases/archive-retention.flow.
"""

from __future__ import annotations

from pathlib import Path

from flowgen_design.codegen.aws.plan import plan_of
from flowgen_design.dsl import ast
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.diagnostics import Reporter
from flowgen_design.dsl.fmt import format_module
from flowgen_design.dsl.parser import parse

SPEC = """flow kept version 1.0.0

event Pinged { id: uuid  key id }

service Pinger { publishes Pinged }

external Monitor { consumes Pinged }

/// Every event, to replay after a fix.
archive   2w_not_a_duration
"""


def _fmt(text: str) -> str:
    module = parse(text, "x.flow", Reporter())
    assert module is not None
    return format_module(module, text)


def test_archive_parses_with_its_doc_comment() -> None:
    text = SPEC.replace("2w_not_a_duration", "90d")
    module = parse(text, "x.flow", Reporter())
    assert module is not None
    (archive,) = [d for d in module.declarations if isinstance(d, ast.ArchiveDecl)]
    assert archive.retention.text == "90d" and archive.doc == "Every event, to replay after a fix."
    assert (archive.span.line, archive.span.column) == (10, 1)


def test_fmt_prints_it_on_one_line_and_keeps_its_comments() -> None:
    text = SPEC.replace("archive   2w_not_a_duration", "archive   // how long:\n  90d  // three months")
    once = _fmt(text)
    assert "archive 90d  // how long:" in once and "// three months" in once
    assert _fmt(once) == once


def test_the_model_and_the_plan_keep_whole_days(tmp_path: Path) -> None:
    spec = tmp_path / "kept.flow"
    spec.write_text(SPEC.replace("2w_not_a_duration", "90d"))
    result = check_file(spec)
    assert result.ok and result.flow is not None and result.flow.archive is not None
    assert result.flow.archive.retention_days == 90
    archive = plan_of(result.flow).archive
    assert archive is not None and archive.type == "AWS::Events::Archive" and archive.span.line == 10


def test_no_archive_means_none(tmp_path: Path) -> None:
    spec = tmp_path / "kept.flow"
    spec.write_text(SPEC.split("///")[0])
    result = check_file(spec)
    assert result.ok and result.flow is not None
    assert result.flow.archive is None and plan_of(result.flow).archive is None
