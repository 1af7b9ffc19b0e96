"""Hostile and broken input: every case is a located diagnostic or a one-line error, never a traceback.

Most tests call the front end in-process (fast, and an exception fails them
directly); the CLI tests add the exit code and prove nothing leaks to stderr.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowgen_design.dsl.compiler import CheckResult, check_file
from flowgen_design.dsl.loader import MAX_FILE_BYTES
from flowgen_design.dsl.parser import MAX_TYPE_DEPTH, _get_parser
from tests.conftest import Runner

pytestmark = pytest.mark.slow  # runs the flowgen command in subprocesses

HEADER = "flow shop version 1.0.0\n"
HYPOTHESIS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def check_text(folder: Path, text: str | bytes, name: str = "spec.flow") -> CheckResult:
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return check_file(path)


def codes(result: CheckResult) -> list[str]:
    return [d.code for d in result.diagnostics]


def only(result: CheckResult, code: str) -> str:
    """The message of the one diagnostic `result` has, which must carry `code`."""
    assert codes(result) == [code], [f"{d.code} {d.message}" for d in result.diagnostics]
    d = result.diagnostics[0]
    return d.message + "\n" + (d.hint or "")


# ---- files that are not specs ---------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    result = check_text(tmp_path, "")
    assert "the spec is empty" in only(result, "FLOW010")
    assert result.diagnostics[0].span.start == (1, 1)


def test_only_comments_and_blank_lines(tmp_path: Path) -> None:
    result = check_text(tmp_path, "// a comment\n\n/// a doc comment\n   \n")
    assert "flow checkout version 1.0.0" in only(result, "FLOW010")


def test_nul_bytes_are_binary_data_on_their_line(tmp_path: Path) -> None:
    result = check_text(tmp_path, HEADER.encode() + b"type A { a: int }\n\x00\x01\x02")
    assert "NUL byte" in only(result, "FLOW002")
    assert result.diagnostics[0].span.line == 3


def test_invalid_utf8_points_at_the_byte(tmp_path: Path) -> None:
    result = check_text(tmp_path, HEADER.encode() + b"type Caf\xe9 { a: int }\n")
    assert "byte 0xe9" in only(result, "FLOW002")
    assert result.diagnostics[0].span.start == (2, 9)


def test_a_byte_order_mark_is_fine(tmp_path: Path) -> None:
    assert check_text(tmp_path, b"\xef\xbb\xbf" + HEADER.encode()).diagnostics == []


def test_windows_line_endings_are_fine(tmp_path: Path) -> None:
    assert check_text(tmp_path, HEADER.replace("\n", "\r\n") + "type A {\r\n  a: int\r\n}\r\n").diagnostics == []


@HYPOTHESIS
@given(data=st.binary(max_size=2000))
def test_random_bytes_never_crash(tmp_path: Path, data: bytes) -> None:
    result = check_text(tmp_path, data)
    assert result.flow is not None or any(d.is_error for d in result.diagnostics)


@HYPOTHESIS
@given(text=st.text(max_size=400))
def test_random_text_after_a_header_never_crashes(tmp_path: Path, text: str) -> None:
    result = check_text(tmp_path, HEADER + text)
    for d in result.diagnostics:
        assert d.span.line >= 1 and d.span.column >= 1


# ---- syntax ---------------------------------------------------------------------------


def test_unclosed_brace_at_end_of_file_names_its_line(tmp_path: Path) -> None:
    text = HEADER + "\ntype Money {\n  amount: int\n}\n\nservice Orders {\n  publishes X\n"
    message = only(check_text(tmp_path, text), "FLOW010")
    assert "the file ends too early" in message
    assert "the `{` at line 7, column 16 is never closed" in message


def test_unclosed_brace_before_the_next_declaration_names_its_line(tmp_path: Path) -> None:
    text = HEADER + "type Money {\n  amount: int\n\ntype Price {\n  net: Money\n}\n"
    result = check_text(tmp_path, text)
    assert "the `{` at line 2, column 12 is never closed" in only(result, "FLOW010")
    assert result.diagnostics[0].span.line == 5


def test_unknown_keyword_gets_did_you_mean(tmp_path: Path) -> None:
    result = check_text(tmp_path, HEADER + "sevice Orders {}\n")
    assert "did you mean `service`?" in only(result, "FLOW010")


_TERMINALS = sorted({t.name for t in _get_parser().terminals} | {"$END"}, key=len, reverse=True)
_TERMINAL_NAME = re.compile(r"(?<![\w$])(" + "|".join(re.escape(t) for t in _TERMINALS) + r")(?!\w)")
_SOUP = (
    'flow shop version 1.0.0 import "x.flow" type enum event command policy defaults service saga external '
    "{ } ( ) : , -> .. | < > ? . list map key ordered by retry 3 backoff fixed 10s timeout dlq idempotent within use "
    "emits jitter api POST /orders publishes consumes handles on trigger pivot step compensate readonly emit -1.5 "
    "; @ # RBRACE NAME A.B min pattern"
).split() + ["\n", "// c\n", "/// d\n"]


@HYPOTHESIS
@given(header=st.booleans(), tokens=st.lists(st.sampled_from(_SOUP), max_size=30))
def test_token_soup_errors_speak_human(tmp_path: Path, header: bool, tokens: list[str]) -> None:
    """Whatever the mess, messages name `}` or "a name", never RBRACE, NAME or __ANON_0.

    Text between backticks is quoted from the input (a user may write `RBRACE`), so only
    the wording around it is checked for terminal names; `__ANON` may appear nowhere.
    """
    result = check_text(tmp_path, (HEADER if header else "") + " ".join(tokens))
    for d in result.diagnostics:
        for text in (d.message, d.hint or ""):
            assert "__ANON" not in text
            wording = re.sub(r"`[^`]*`", "", text)
            assert not _TERMINAL_NAME.search(wording), text


# ---- size and depth ------------------------------------------------------------------------


def _declarations(count: int) -> str:
    return "".join(f"""
/// Payload number {i}.
type Record{i} {{
  id: uuid
  name: string (min_length 1, max_length 80)
  tags: list<string>
}}

event Happened{i} {{
  id: uuid
  record: Record{i}
  key id
}}
""" for i in range(count))


def test_five_megabytes_of_declarations_check_cleanly(tmp_path: Path) -> None:
    block = len(_declarations(1))
    text = HEADER + _declarations(5 * 1024 * 1024 // block + 1)
    assert len(text) >= 5 * 1024 * 1024
    result = check_text(tmp_path, text)
    assert result.diagnostics == []
    assert result.flow is not None and len(result.flow.events) > 20_000


def test_a_file_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    text = HEADER + "// padding\n" * (MAX_FILE_BYTES // 11 + 1)
    result = check_text(tmp_path, text)
    message = only(result, "FLOW003")
    assert "flowgen reads spec files up to 8 MiB" in message and "import" in message


def test_a_type_nested_a_thousand_deep_is_one_diagnostic(tmp_path: Path) -> None:
    for shape in ("list<{}>", "map<string, {}>", "list<{}?>"):
        nested = "int"
        for _ in range(1000):
            nested = shape.format(nested)
        result = check_text(tmp_path, HEADER + f"type Deep {{\n  cells: {nested}\n}}\n")
        assert f"more than {MAX_TYPE_DEPTH} levels" in only(result, "FLOW011")


def test_a_chain_of_two_thousand_types_is_refused_not_a_recursion_error(tmp_path: Path) -> None:
    chain = "".join(f"type T{i} {{ next: T{i + 1} }}\n" for i in range(2000)) + "type T2000 { end: int }\n"
    result = check_text(tmp_path, HEADER + chain)
    assert set(codes(result)) == {"FLOW011"}
    assert "nest more than 64 levels deep (T0 -> ... -> T64)" in result.diagnostics[0].message


def test_a_chain_of_two_thousand_policies_is_refused_not_a_recursion_error(tmp_path: Path) -> None:
    chain = "".join(f"policy p{i} {{ use p{i + 1} }}\n" for i in range(2000)) + "policy p2000 { retry 2 }\n"
    result = check_text(tmp_path, HEADER + chain)
    assert set(codes(result)) == {"FLOW011"}
    assert "policies `use` each other more than 32 deep" in result.diagnostics[0].message


def test_a_chain_of_twelve_hundred_imports_loads(tmp_path: Path) -> None:
    count = 1200
    for i in range(count):
        nxt = f'import "f{i + 1}.flow"\n' if i + 1 < count else ""
        (tmp_path / f"f{i}.flow").write_text(f"flow f{i} version 1.0.0\n{nxt}type T{i} {{ a: int }}\n")
    result = check_file(tmp_path / "f0.flow")
    assert result.diagnostics == []
    assert result.flow is not None and len(result.flow.records) == count


def test_numbers_too_large_for_python_are_diagnostics(tmp_path: Path) -> None:
    nines = "9" * 5000
    text = (
        HEADER
        + f"policy p {{\n  retry {nines}\n  timeout {nines}s\n}}\ntype T {{ a: int (max {nines}) b: float (max {nines}.5) }}\n"
    )
    result = check_text(tmp_path, text)
    assert codes(result) == ["FLOW012"] * 4


# ---- names -----------------------------------------------------------------------------------


def test_undefined_and_duplicate_names_are_located(tmp_path: Path) -> None:
    text = HEADER + "type Money { amount: int }\ntype Money { cents: int }\ntype Price { net: Mony }\n"
    result = check_text(tmp_path, text)
    assert [(d.code, d.span.line, d.span.column) for d in result.diagnostics] == [("FLOW102", 3, 6), ("FLOW101", 4, 19)]
    assert (result.diagnostics[0].hint or "").endswith("spec.flow:2:6; rename one of them")
    assert result.diagnostics[1].hint == "did you mean `Money`?"


# ---- through the command ------------------------------------------------------------------------


def test_the_command_never_shows_a_traceback(flowgen: Runner, tmp_path: Path) -> None:
    inputs = {
        "empty.flow": b"",
        "comments.flow": b"// nothing here\n",
        "binary.flow": bytes(range(256)),
        "latin1.flow": HEADER.encode() + b"type Caf\xe9 {}\n",
        "unclosed.flow": (HEADER + "type Money {\n").encode(),
        "typo.flow": (HEADER + "evnt X {}\n").encode(),
        "cycle.flow": (HEADER + 'import "cycle.flow"\n').encode(),
        "missing.flow": (HEADER + 'import "nowhere.flow"\n').encode(),
    }
    for name, data in inputs.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "folder.flow").mkdir()
    result = flowgen("check", *inputs, cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and result.stderr == ""
    reported = {
        line.split(":", 1)[0] for line in result.stdout.splitlines() if re.match(r"\S+\.flow:\d+:\d+: error", line)
    }
    assert reported == set(inputs)


def test_huge_tokens_make_short_messages(tmp_path: Path) -> None:
    junk = "b" * 100_000
    for text in (HEADER + f"type T {{ a: int }}\n{junk}\n", HEADER + f"type T {{ a: {junk.upper()} }}\n"):
        result = check_text(tmp_path, text)
        assert len(result.diagnostics) == 1
        d = result.diagnostics[0]
        assert len(d.message) < 300 and len(d.hint or "") < 300
        assert "bbbbbbbbbb..." in d.message.lower()
