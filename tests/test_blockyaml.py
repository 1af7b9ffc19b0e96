"""flowgen_design.codegen.blockyaml writes YAML that reads back as exactly the data it was given."""

from __future__ import annotations

import json
import math
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from flowgen_design.codegen.blockyaml import dump
from tests.conftest import ROOT, node_tools, require_tool

AWKWARD = [
    "",
    " ",
    "a ",
    " a",
    "yes",
    "No",
    "ON",
    "off",
    "y",
    "n",
    "null",
    "Null",
    "~",
    "true",
    "False",
    "1",
    "-1",
    "0x1F",
    "0o17",
    "1_000",
    "1e3",
    ".5",
    ".inf",
    ".NaN",
    "12:30:00",
    "2001-12-14",
    "a: b",
    "a:b",
    "a #b",
    "a#b",
    "#a",
    "- a",
    "-",
    "?",
    "? a",
    "&a",
    "*a",
    "!a",
    "%a",
    "@a",
    "`a",
    "|",
    ">",
    "'a'",
    '"a"',
    "{a}",
    "[a]",
    "a, b",
    "a\nb",
    "a\nb\n",
    "a\n\nb",
    "a\nb\n\n",
    "\na",
    " a\nb",
    "a\n b",
    "a \nb",
    "a\n  \nb",
    "a\tb",
    "a\rb",
    "a\r\nb",
    "a\x85b",
    "a\u2028b",
    "a\u2029b",
    "\ufeffa",
    "a\x00b",
    "a\x7fb",
    "a\x1bb",
    "a\\b",
    "é",
    "日本",
    "😀",
    "/orders/{id}",
    "<<",
    "=",
    "---",
    "...",
    "a\n---\nb",
    "a\n...\nb",
    "x" * 2000,
    "$ref",
    "$",
    "3.0.0",
    "1.2.3-rc.1",
    "1.2",
    "1.2.3.4",
    "1.2.3 ",
    "1.2.3-",
]

PYYAML_LAYOUT = {
    "asyncapi": "3.0.0",
    "info": {"title": "t", "version": "x"},
    "channels": {"a": {"address": "orders.placed", "messages": {"$ref": "x/y"}}},
    "list": [{"a": 1, "b": [1, 2]}, [1, [2, 3]], [], {}, "x", None, True, 2.5],
    "empty": [],
}


def _roundtrip(data: Any) -> None:
    text = dump(data)
    assert text.endswith("\n")
    assert yaml.safe_load(text) == data, text


@pytest.mark.parametrize("text", AWKWARD, ids=lambda t: repr(t)[:40])
def test_awkward_strings_read_back_as_themselves_as_values_keys_and_items(text: str) -> None:
    _roundtrip({"k": text})
    _roundtrip({text: "v"})
    _roundtrip([text, {"k": text}, [text]])
    _roundtrip({"outer": {"inner": [text, {text: [text]}]}})


def test_the_layout_is_pyyamls_and_multi_line_text_is_a_literal_block() -> None:
    expected = yaml.dump(PYYAML_LAYOUT, sort_keys=False, allow_unicode=True, default_flow_style=False, width=10_000)
    assert dump(PYYAML_LAYOUT) == expected
    assert (
        dump({"info": {"description": "line one\nline two\n"}})
        == "info:\n  description: |\n    line one\n    line two\n"
    )
    assert dump(["a\nb"]) == "- |-\n  a\n  b\n"


def test_scalars_and_floats() -> None:
    for value in [None, True, False, 0, -7, 2**70, 0.1, 1e-5, 1e300, -0.0, 2.5]:
        _roundtrip({"v": value})
        _roundtrip([value])
    assert dump({"v": 1e-5}) == "v: 1.0e-05\n"
    assert yaml.safe_load(dump({"v": math.inf})) == {"v": math.inf}
    assert yaml.safe_load(dump({"v": -math.inf})) == {"v": -math.inf}
    assert math.isnan(yaml.safe_load(dump({"v": math.nan}))["v"])


def test_non_string_keys_and_unknown_values_are_refused() -> None:
    with pytest.raises(TypeError):
        dump({1: "a"})
    with pytest.raises(TypeError):
        dump({"a": object()})


scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
data = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=30
)


@settings(max_examples=400, deadline=None)
@given(value=data)
def test_any_plain_data_reads_back_exactly(value: Any) -> None:
    _roundtrip({"root": value})
    _roundtrip([value])


def _tricky_strings(count: int) -> list[str]:
    """Strings made of the characters YAML treats specially, with a fixed seed."""
    rng = random.Random(20261130)
    pieces = list("0123456789.:-+_eExXoObB ~#'\"\\|>!&*%@`?,[]{}\n\t\r") + [
        "yes", "no", "on", "off", "null", "true", "false", "y", "n", ".inf", ".nan", "0x", "0o", "0b",
        "2026-11-30", "<<", "=", "---", "...", "é", "\u2028", "\x85", "\ufeff", "\x00", "ms", "s",
    ]  # fmt: skip
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 6))) for _ in range(count)] + AWKWARD


def test_a_yaml_1_2_reader_reads_back_the_same_data(tmp_path: Path) -> None:
    """What @asyncapi/parser reads (YAML 1.2, via @stoplight/yaml) is what flowgen wrote."""
    strings = _tricky_strings(3000)
    data = {
        "values": strings,
        "keys": {s: i for i, s in enumerate(strings)},
        "nested": [[s, {s: [s]}] for s in AWKWARD],
    }
    path = tmp_path / "data.yaml"
    path.write_text(dump(data), encoding="utf-8")
    node = require_tool("node")
    result = subprocess.run(
        [node, str(ROOT / "tools" / "node" / "read-yaml.cjs"), str(path)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={"NODE_PATH": str(node_tools() / "node_modules"), "PATH": str(Path(node).parent)},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    (read,) = json.loads(result.stdout)
    assert read["values"] == data["values"]
    assert read["keys"] == data["keys"]
    assert read["nested"] == data["nested"]


def _yaml_printable(code: int) -> bool:
    """YAML 1.2's printable characters (c-printable) less \\u2028, \\u2029 (line breaks to YAML 1.1)
    and the BOM, as the YAML specification lists them."""
    if code in (0x09, 0x0A, 0x0D, 0x85, 0x2028, 0x2029, 0xFEFF):
        return False
    return 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF


def test_the_printable_set_is_yamls_for_every_character() -> None:
    from flowgen_design.codegen import blockyaml

    for code in range(0x110000):
        ch = chr(code)
        printable = _yaml_printable(code)
        assert bool(blockyaml._ALL_PRINTABLE.match(ch)) is printable, hex(code)
        assert bool(blockyaml._NEEDS_ESCAPE.search(ch)) is (not printable or ch in '"\\'), hex(code)
