"""Diagnostics in the formats CI systems read: GitHub Actions annotations and SARIF 2.1.0.

`flowgen check --format github` prints one workflow command per diagnostic
(`::error file=...,line=...::message`), which a GitHub Actions run shows on the
lines of the pull request; `--format sarif` prints a SARIF 2.1.0 log, the format
code-scanning services (GitHub code scanning, Azure DevOps, GitLab) import, with
one SARIF rule per registered code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import quote

from flowgen_design.dsl.codes import CODES, ErrorCode
from flowgen_design.dsl.diagnostics import Diagnostic

REFERENCE = "docs/diagnostics.md"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

# ---- GitHub Actions workflow commands -------------------------------------------


def escape_data(text: str) -> str:
    """A workflow command's message, escaped as GitHub's toolkit does (`escapeData`)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value (`escapeProperty`): also `:` and `,`, which delimit properties."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def to_github(diagnostics: Iterable[Diagnostic]) -> str:
    """One `::error ...::message` or `::warning ...::message` line per diagnostic."""
    lines = []
    for d in diagnostics:
        s = d.span
        props = {
            "file": s.file,
            "line": s.line,
            "col": s.column,
            "endLine": s.end_line,
            "endColumn": s.end_column,
            "title": d.code,
        }
        shown = ",".join(f"{key}={escape_property(str(value))}" for key, value in props.items())
        message = d.message + (f"\nhelp: {d.hint}" if d.hint else "")
        lines.append(f"::{d.severity.value} {shown}::{escape_data(message)}")
    return "".join(line + "\n" for line in lines)


# ---- SARIF 2.1.0 ----------------------------------------------------------------


def to_sarif(diagnostics: Iterable[Diagnostic], version: str) -> str:
    """A SARIF 2.1.0 log of one run of flowgen; its rules are the whole code registry."""
    index = {code: i for i, code in enumerate(CODES)}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "flowgen",
                "version": version,
                "rules": [_rule(entry) for entry in CODES.values()],
            }
        },
        "columnKind": "unicodeCodePoints",
        "results": [_result(d, index) for d in diagnostics],
    }
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"


def _rule(entry: ErrorCode) -> dict[str, Any]:
    return {
        "id": entry.code,
        "name": entry.slug,
        "shortDescription": {"text": entry.purpose},
        "fullDescription": {"text": f"{entry.code} `{entry.slug}` ({entry.severity.value}): {entry.purpose}"},
        "help": {
            "text": f"{entry.purpose} flowgen's {REFERENCE} explains {entry.code} and how to silence or promote it.",
            "markdown": f"{entry.purpose}\n\nflowgen's `{REFERENCE}` explains `{entry.code}` and how to silence "
            "or promote it (`[tool.flowgen] ignore`, `error`).",
        },
        "defaultConfiguration": {"level": entry.severity.value},
        "properties": {"tags": [entry.stage.value], "slug": entry.slug},
    }


def _result(d: Diagnostic, index: dict[str, int]) -> dict[str, Any]:
    s = d.span
    message = d.message + (f"\nhelp: {d.hint}" if d.hint else "")
    return {
        "ruleId": d.code,
        "ruleIndex": index[d.code],
        "level": d.severity.value,
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": file_uri(s.file)},
                    "region": {
                        "startLine": max(1, s.line),
                        "startColumn": max(1, s.column),
                        "endLine": max(1, s.end_line),
                        "endColumn": max(1, s.end_column),
                    },
                }
            }
        ],
    }


def file_uri(path: str) -> str:
    """A path as SARIF's `artifactLocation.uri`: relative paths stay relative (to the folder
    `flowgen check` ran in), with `/` separators and percent-escaped characters."""
    if PureWindowsPath(path).drive:
        return "file:///" + quote(PureWindowsPath(path).as_posix(), safe="/:")
    posix = PurePosixPath(path.replace("\\", "/"))
    return ("file://" if posix.is_absolute() else "") + quote(posix.as_posix())
