"""The documentation tells the truth: the code table matches the registry, the examples parse.

`docs/diagnostics.md` holds a table generated from `dsl/codes.py` (and the case
files that exercise each code) between two markers; `pytest --update-golden`
rewrites it, anything else compares. The examples in `docs/language.md` are real
specs: complete ones check without a diagnostic, fragments parse.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from flowgen_design.codegen.checks import check_spec, target_checks
from flowgen_design.dsl.codes import CODES, ErrorCode, Stage
from flowgen_design.dsl.diagnostics import Reporter
from flowgen_design.dsl.model import Scalar
from flowgen_design.dsl.parser import _get_parser, parse
from flowgen_design.dsl.rules import RULES
from tests.conftest import ROOT
from tests.test_cases import CASE_FILES, expectations

DOCS = ROOT / "docs"
DIAGNOSTICS = DOCS / "diagnostics.md"
LANGUAGE = DOCS / "language.md"
BEGIN = "<!-- BEGIN codes: generated from dsl/codes.py by tests/test_docs.py; refresh with pytest --update-golden -->"
END = "<!-- END codes -->"


def reported_by(entry: ErrorCode) -> str:
    """The stage that reports a code; for a rule's code, the rules that declare it in `RULES`;
    for a target's code, the targets' checks that declare it."""
    rules = [f"`{r.name}`" for r in RULES if entry in r.emits]
    checks = [
        f"`{c.check.__module__.removeprefix('flowgen_design.')}.{c.check.__name__}`"
        for c in target_checks()
        if entry in c.emits
    ]
    stages = [s.value for s in (entry.stage, *entry.also) if s not in (Stage.RULES, Stage.TARGET)]
    return ", ".join([*stages, *rules, *checks])


def codes_table() -> str:
    """The Markdown table of every registered code, in registry order."""
    cases: dict[str, list[str]] = {code: [] for code in CODES}
    for path in CASE_FILES:
        for code in sorted({e.code for e in expectations(path)}):
            cases[code].append(f"[{path.stem}](../tests/cases/{path.name})")
    rows = [
        "| Code | Slug | Severity | Reported by | Can ignore | Purpose | Cases |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for entry in CODES.values():
        purpose = entry.purpose.replace("|", "\\|")
        ignore = "yes" if entry.can_ignore else "no"
        rows.append(
            f"| {entry.code} | `{entry.slug}` | {entry.severity.value} | {reported_by(entry)} | {ignore} | {purpose} "
            f"| {', '.join(cases[entry.code]) or '-'} |"
        )
    return "\n".join(rows) + "\n"


def _split(text: str) -> tuple[str, str, str]:
    assert BEGIN in text and END in text, f"{DIAGNOSTICS} must hold the markers {BEGIN!r} and {END!r}"
    head, rest = text.split(BEGIN, 1)
    table, tail = rest.split(END, 1)
    return head, table, tail


def test_diagnostics_table_matches_the_registry(update_golden: bool) -> None:
    head, table, tail = _split(DIAGNOSTICS.read_text())
    expected = "\n" + codes_table()
    if update_golden:
        DIAGNOSTICS.write_text(head + BEGIN + expected + END + tail)
        return
    assert table == expected, "docs/diagnostics.md is stale: run pytest tests/test_docs.py --update-golden"


def test_the_table_generator_lists_every_code_once() -> None:
    rows = [line for line in codes_table().splitlines()[2:]]
    assert [row.split(" | ")[0].strip("| ") for row in rows] == list(CODES)


# ---- the language reference ----------------------------------------------------


def _code_blocks(text: str) -> list[str]:
    return re.findall(r"```\n(.*?)```", text, flags=re.S)


def _is_complete(block: str) -> bool:
    first = next(line for line in block.splitlines() if not line.startswith("///"))
    return first.startswith("flow ")


def test_complete_examples_check_cleanly(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "specs" / "shared", tmp_path / "shared")
    complete = [b for b in _code_blocks(LANGUAGE.read_text()) if _is_complete(b) and "..." not in b]
    assert complete, "docs/language.md should open with a complete example"
    for number, block in enumerate(complete):
        spec = tmp_path / f"example{number}.flow"
        spec.write_text(block)
        result = check_spec(spec)
        assert [f"{d.code} {d.message}" for d in result.diagnostics] == [], block


def test_fragments_parse() -> None:
    fragments = [b for b in _code_blocks(LANGUAGE.read_text()) if not _is_complete(b) and "..." not in b]
    assert len(fragments) >= 8
    for block in fragments:
        body = f"type Wrapper {{\n{block}}}\n" if block.startswith("  ") else block
        reporter = Reporter()
        module = parse("flow docs version 1.0.0\n" + body, "docs.flow", reporter)
        assert module is not None, (block, [d.message for d in reporter.items])


def test_the_reference_names_every_keyword_and_built_in_type() -> None:
    text = LANGUAGE.read_text()
    keyword = re.compile(r"(\w+)\(\?!\[A-Za-z0-9_\]\)")
    words = {m.group(1) for t in _get_parser().terminals if (m := keyword.fullmatch(str(t.pattern.value)))}
    words |= {s.value for s in Scalar}
    assert len(words) > 40
    missing = sorted(w for w in words if f"`{w}" not in text and f" {w} " not in text)
    assert not missing, f"docs/language.md never mentions {missing}"


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_code_is_explained_in_the_reference(code: str) -> None:
    assert code in LANGUAGE.read_text(), f"{code} is not explained in docs/language.md"
