"""`fmt` never damages a spec (issue 11): it refuses one with errors, prints literals as
written, and a folder it cannot write to is an error message, never a traceback."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest

from flowgen_design.cli import main
from flowgen_design.dsl.diagnostics import Reporter
from flowgen_design.dsl.fmt import format_module
from flowgen_design.dsl.parser import parse

CASES = Path(__file__).resolve().parent / "cases"

DEEP = "flow a version 1.0.0\ntype T { x: " + "list<" * 40 + "int" + ">" * 40 + " }\n"
LARGE = "flow a version 1.0.0\ntype T { x: int (max 99999999999999999999) }\n"
KEYWORD_FIELD = "flow a version 1.0.0\nevent E {\n  key: uuid\n}\n"


@pytest.mark.parametrize(
    "original",
    [DEEP, LARGE, KEYWORD_FIELD, (CASES / "invalid-literal.flow").read_text(encoding="utf-8")],
    ids=["40-deep-list", "number-too-large", "keyword-as-field", "invalid-literal-case"],
)
def test_fmt_refuses_a_spec_with_errors(
    original: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "broken.flow"
    spec.write_text(original, encoding="utf-8")
    assert main(["fmt", str(spec)]) == 1
    err = capsys.readouterr().err
    assert "error[FLOW01" in err and "not formatted" in err
    assert spec.read_text(encoding="utf-8") == original
    assert main(["fmt", "--check", str(spec)]) == 1


UNDEFINED = "flow a version 1.0.0\nevent E {   id: uuid\n  key id }\nexternal X { publishes Missing }\n"


def test_fmt_refuses_a_spec_that_parses_but_does_not_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "unresolved.flow"
    spec.write_text(UNDEFINED, encoding="utf-8")
    assert main(["fmt", str(spec)]) == 1
    err = capsys.readouterr().err
    assert "error[FLOW101]" in err and "`Missing`" in err and "not formatted" in err
    assert spec.read_text(encoding="utf-8") == UNDEFINED


def _fmt(text: str) -> str:
    module = parse(text, "a.flow", Reporter())
    assert module is not None
    return format_module(module, text)


@pytest.mark.parametrize(
    "number",
    ["10000000000000000.5", "0.0000000000000001", "-123456789012345678.123456789", "1.10", "-0.0", "007"],
)
def test_numbers_are_printed_as_written(number: str) -> None:
    text = f"flow a version 1.0.0\n\ntype T {{ x: decimal (min {number}) }}\n"
    assert _fmt(text) == text


def test_strings_and_imports_are_printed_as_written() -> None:
    text = 'flow a version 1.0.0\n\nimport "a\\\\b.flow"\n\ntype T { x: string (pattern "a\\nb\\"c\\\\") }\n'
    assert _fmt(text) == text


def test_literal_after_a_comment_inside_a_constraint() -> None:
    text = "flow a version 1.0.0\ntype T { x: decimal (min // low\n 1.5) }\n"
    assert "min 1.5)" in _fmt(text)


def _good(tmp_path: Path) -> Path:
    spec = tmp_path / "a.flow"
    spec.write_text("flow a version 1.0.0\ntype T { x: int }\n", encoding="utf-8")
    return spec


@pytest.mark.parametrize("failure", [errno.EACCES, errno.EROFS])
def test_fmt_in_a_read_only_folder_is_an_error_not_a_traceback(
    failure: int, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _good(tmp_path)
    before = spec.read_text()

    def refuse(*_: object, **__: object) -> None:
        raise OSError(failure, os.strerror(failure))

    monkeypatch.setattr("tempfile.mkstemp", refuse)
    assert main(["fmt", str(spec)]) == 1
    err = capsys.readouterr().err
    assert "cannot write" in err and os.strerror(failure) in err
    assert spec.read_text() == before


def test_fmt_on_a_full_disk_leaves_the_file_and_no_temporary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _good(tmp_path)
    before = spec.read_text()
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, handle: object) -> None:
            self.handle = handle

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *_: object) -> None:
            self.handle.close()  # type: ignore[attr-defined]

        def write(self, _: str) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fdopen", lambda *a, **k: Full(real_fdopen(*a, **k)))
    assert main(["fmt", str(spec)]) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert spec.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.flow"]


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tiny tmpfs needs root")
def test_fmt_on_a_real_full_tmpfs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mount = tmp_path / "tiny"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("tmpfs cannot be mounted here")
    try:
        spec = mount / "a.flow"
        body = "flow a version 1.0.0\ntype T { x: int }\n" + "// padding padding padding\n" * 1500
        spec.write_text(body, encoding="utf-8")
        fd = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"x" * 4096):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        assert main(["fmt", str(spec)]) == 1
        assert "No space left on device" in capsys.readouterr().err
        assert spec.read_text(encoding="utf-8") == body
        assert sorted(p.name for p in mount.iterdir()) == ["a.flow", "filler"]
    finally:
        subprocess.run(["umount", str(mount)], check=False)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a read-only tmpfs needs root")
def test_fmt_in_a_really_read_only_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Root ignores permission bits, so the folder is a read-only file system."""
    mount = tmp_path / "ro"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("tmpfs cannot be mounted here")
    try:
        spec = _good(mount)
        before = spec.read_text()
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        assert main(["fmt", str(spec)]) == 1
        assert "Read-only file system" in capsys.readouterr().err
        assert spec.read_text() == before
    finally:
        subprocess.run(["umount", str(mount)], check=False)
