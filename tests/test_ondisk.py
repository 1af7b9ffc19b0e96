"""`codegen.ondisk`: a file's digest is trusted only while its status is the one noted with it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from flowgen_design.codegen import ondisk


@pytest.fixture(autouse=True)
def _fresh() -> None:
    ondisk.forget()


def _noted(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    found = ondisk.status(path)
    assert found is not None
    ondisk.note(found, digest)
    return digest


def test_a_noted_file_is_known_until_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("one\n")
    digest = _noted(path)
    assert ondisk.known_digest(path) == digest
    assert ondisk.known_digest(str(tmp_path / "." / "a.txt")) == digest, "any spelling of the path"
    assert ondisk.read_known(path, digest) == b"one\n"
    assert ondisk.read_known(path, "another digest") is None
    before = path.stat()
    path.write_text("two\n")  # same size; times put back: the change time still moves
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert ondisk.known_digest(path) is None
    assert ondisk.read_known(path, digest) is None
    assert ondisk.read_checked(path, digest) is None, "read and hashed: not what was noted"
    assert ondisk.read_checked(path, hashlib.sha256(b"two\n").hexdigest()) == b"two\n"


def test_a_file_replaced_or_linked_is_not_known(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("one\n")
    digest = _noted(path)
    path.unlink()
    path.write_text("one\n")  # the same bytes in a new file: hashed again, and found equal
    assert ondisk.known_digest(path) is None
    assert ondisk.read_checked(path, digest) == b"one\n"
    other = tmp_path / "b.txt"
    other.write_text("one\n")
    _noted(other)
    path.unlink()
    path.symlink_to(other)
    assert ondisk.status(path) is None and ondisk.known_digest(path) is None


def test_forget_starts_over(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("one\n")
    _noted(path)
    ondisk.forget()
    assert ondisk.known_digest(path) is None


def test_bytes_kept_from_a_read_are_served_once_and_only_while_the_file_is_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    data = b"x" * ondisk.KEPT_FROM
    path.write_bytes(data)
    found = ondisk.status(path)
    assert found is not None
    digest = hashlib.sha256(data).hexdigest()
    ondisk.note(found, digest, b"kept " + data[5:])  # not the file's bytes: tells a kept read from a read
    assert ondisk.read_known(path, digest) == b"kept " + data[5:], "served from what was kept"
    assert ondisk.read_known(path, digest) == data, "once: then read from the file"
    ondisk.note(found, digest, b"kept " + data[5:])
    before = path.stat()
    path.write_bytes(b"y" * len(data))  # same size, times put back: the change time still moves
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert ondisk.read_known(path, digest) is None
    assert ondisk.read_checked(path, digest) is None, "read and hashed: the kept bytes are not served"
    small = tmp_path / "small.txt"
    small.write_bytes(b"one\n")
    found = ondisk.status(small)
    assert found is not None
    ondisk.note(found, hashlib.sha256(b"one\n").hexdigest(), b"two\n")
    assert ondisk.read_known(small, hashlib.sha256(b"one\n").hexdigest()) == b"one\n", "a small file is read again"


def _now(path: Path) -> ondisk.Status:
    found = ondisk.status(path)
    assert found is not None
    return found


def test_a_file_read_ahead_is_served_once_and_only_with_the_status_it_was_read_with(tmp_path: Path) -> None:
    """`read_ahead` reads (and digests, when asked) in a thread; `ahead` gives the bytes of a file
    whose status now is the one it was read with, once; nothing of a file changed or replaced since,
    nothing through a link, and no thread outlives `wait_ahead`."""
    import threading

    kept, changed, replaced, target = (tmp_path / name for name in ("kept", "changed", "replaced", "target"))
    for path in (kept, changed, replaced, target):
        path.write_bytes(path.name.encode() * 100)
    link = tmp_path / "link"
    link.symlink_to(target)
    ondisk.read_ahead([(str(kept), True), (str(changed), False), (str(replaced), True), (str(link), True)])
    ondisk.wait_ahead()
    assert not [t for t in threading.enumerate() if t.name == "flowgen-read-ahead"]
    changed.write_bytes(b"CHANGED!" * 100)  # same size
    replaced.with_name("new").write_bytes(replaced.read_bytes())
    os.replace(replaced.with_name("new"), replaced)  # same bytes, another file
    now = {path: _now(path) for path in (kept, changed, replaced)}
    assert ondisk.kept(now[kept]) == (kept.read_bytes(), hashlib.sha256(kept.read_bytes()).hexdigest())
    assert ondisk.kept(now[kept]) is None, "given once"
    assert ondisk.kept(now[changed]) is None
    assert ondisk.kept(now[replaced]) is None
    assert ondisk.kept(_now(target)) is None, "not read through the link"


def test_a_file_read_ahead_without_its_digest_is_what_read_known_serves(tmp_path: Path) -> None:
    path = tmp_path / "doc.html"
    path.write_bytes(b"<p>" * 1000)
    ondisk.read_ahead([(str(path), False)])
    digest = _noted(path)
    assert ondisk.kept(_now(path)) == (path.read_bytes(), None)
    ondisk.read_ahead([(str(path), False)])
    assert ondisk.read_known(path, digest) == path.read_bytes()
    ondisk.forget()
    ondisk.read_ahead([(str(path), False)])
    ondisk.forget()
    assert ondisk.kept(_now(path)) is None, "dropped at the end of the run"


def test_only_a_plain_file_is_read_and_a_named_pipe_is_not_waited_on(tmp_path: Path) -> None:
    plain, pipe, link = tmp_path / "plain", tmp_path / "pipe", tmp_path / "link"
    plain.write_bytes(b"a\r\nb")
    os.mkfifo(pipe)
    link.symlink_to(plain)
    assert ondisk.read_regular(plain) == b"a\r\nb"  # the exact bytes
    assert ondisk.read_regular(link) == b"a\r\nb"  # as `read_bytes` reads: the caller checks links
    with pytest.raises(OSError, match="not a plain file"):
        ondisk.read_regular(pipe)
    with pytest.raises(OSError, match="not a plain file"):
        ondisk.read_regular(tmp_path)
    with pytest.raises(FileNotFoundError):
        ondisk.read_regular(tmp_path / "missing")
