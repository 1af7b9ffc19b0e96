"""Output files as this run found them, so that one run reads and hashes each file once.

`codegen.stamp` establishes, at the start of a run, that each file the last clean run left is
still what it left: by its status (`lstat`) or by reading and hashing it. It notes here the
file's status with that digest. Later steps of the same run (the reused lazy files, the
fragments of whole-flow documents, the models module's parts, the writer's plan and its check
that nobody saved a file meanwhile) ask here first: a file whose status is still the one noted
has the noted digest, without hashing it again (and is read, when its bytes are needed, with
its status checked again after reading). A status that moved means the file is read and
hashed as before.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import threading
from collections.abc import Sequence
from pathlib import Path

Status = tuple[int, int, int, int, int]

# By device and inode, not by path: the stamp, the writer and the targets spell paths differently.
_known: dict[tuple[int, int], tuple[Status, str]] = {}
# The bytes of large files read whole to be noted (the documents the last run wrote, read again
# by this run's first step because their status was too fresh to trust), until a later step reads
# them; a small file is read again instead of held.
_read: dict[tuple[int, int], tuple[Status, bytes]] = {}
KEPT_FROM = 1 << 18
# Files read ahead by a thread while the spec is checked (`read_ahead`), by device and inode: the
# status each had both before and after it was read, its bytes, and their digest when it was asked for.
_ahead: dict[tuple[int, int], tuple[Status, bytes, str | None]] = {}
_reading: list[threading.Thread] = []


def status(path: Path | str) -> Status | None:
    """A regular file's size, modification and change times (ns), inode and device; None if it
    is missing or not a regular file (a symbolic link included: it is not followed)."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def read_regular(path: Path | str) -> bytes:
    """A regular file's bytes, as `Path.read_bytes` reads them; OSError for anything else. Opened
    without blocking, then refused if it is not a plain file: a named pipe put in the output
    folder (or where a record was) would otherwise keep the run waiting for a writer, for ever."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a plain file (a folder, a named pipe, a device or a socket)", str(path))
        with open(fd, "rb", closefd=False) as handle:
            return handle.read()
    finally:
        os.close(fd)


def forget() -> None:
    """A new run: nothing is known (but what was read ahead for it, `read_ahead`)."""
    _known.clear()
    _read.clear()


def read_ahead(listed: Sequence[tuple[str, bool]]) -> None:
    """Read files in a thread while this one goes on: each file of `listed`, digested too when
    its flag says so. The thread reads and hashes without the interpreter's lock most of the
    time, so the files a run will read (megabytes of documents) are in memory when it asks,
    and taken only if their status is still the one they were read with (`ahead`)."""
    drop_ahead()
    thread = threading.Thread(target=_read_ahead, args=(listed,), name="flowgen-read-ahead", daemon=True)
    thread.start()
    _reading.append(thread)


def _read_ahead(listed: Sequence[tuple[str, bool]]) -> None:
    for path, digest in listed:
        try:
            found = _read_plain(path)
        except OSError:  # reading ahead only saves time: whatever it missed is read when needed
            continue
        if found is not None:
            now, data = found
            _ahead[now[4], now[3]] = (now, data, hashlib.sha256(data).hexdigest() if digest else None)


def _read_plain(path: str) -> tuple[Status, bytes] | None:
    """A regular file's status and bytes, when it kept that status while it was read (not through
    a link in its last step; the run's own checks of the path come before its bytes are used)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)  # not blocking: a named pipe put there would wait for a writer
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        with open(fd, "rb", closefd=False) as handle:
            data = handle.read(st.st_size + 1)  # grown since: not taken (below), and never more than that
    finally:
        os.close(fd)
    before = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
    return (before, data) if status(path) == before and len(data) == before[0] else None


def wait_ahead() -> None:
    """Until the thread of `read_ahead` is done (what it read stays, for `ahead`)."""
    while _reading:
        _reading.pop().join()


def ahead(found: Status) -> tuple[bytes, str | None] | None:
    """The bytes read ahead of the file whose status is `found` now, and their digest if it was
    taken: read while the file had that very status. Given once."""
    wait_ahead()
    entry = _ahead.pop((found[4], found[3]), None)
    return (entry[1], entry[2]) if entry is not None and entry[0] == found else None


def drop_ahead() -> None:
    """The end of a run: what was read ahead and not taken is let go (the thread waited for)."""
    wait_ahead()
    _ahead.clear()


def note(found: Status, digest: str, data: bytes | None = None) -> None:
    """The file with status `found` holds bytes with this digest (sha256, hex): `data`, when
    given, are those bytes as just read (kept for the next `read_known` of the file, once)."""
    _known[found[4], found[3]] = (found, digest)
    if data is not None and len(data) >= KEPT_FROM:
        _read[found[4], found[3]] = (found, data)


def _entry(path: Path | str) -> tuple[Status, str] | None:
    now = status(path)
    if now is None:
        return None
    entry = _known.get((now[4], now[3]))
    return entry if entry is not None and entry[0] == now else None


def known_digest(path: Path | str) -> str | None:
    """The digest of the file, when its status is still the one noted with it."""
    entry = _entry(path)
    return entry[1] if entry is not None else None


def read_known(path: Path | str, digest: str) -> bytes | None:
    """The file's bytes, when its status is the one noted with `digest` before and after reading."""
    entry = _entry(path)
    if entry is None or entry[1] != digest:
        return None
    kept = _read.pop((entry[0][4], entry[0][3]), None)
    if kept is not None and kept[0] == entry[0]:  # read with this status, which it still has
        return kept[1]
    read = ahead(entry[0])
    if read is not None:
        return read[0]
    try:
        data = read_regular(path)
    except OSError:
        return None
    return data if status(path) == entry[0] else None


def read_checked(path: Path | str, digest: str) -> bytes | None:
    """The file's bytes when they have this digest (from what is known, else read and hashed)."""
    data = read_known(path, digest)
    if data is not None:
        return data
    try:
        data = read_regular(path)
    except OSError:
        return None
    return data if hashlib.sha256(data).hexdigest() == digest else None
