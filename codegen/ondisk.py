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
# The bytes of large files read before a step needs them: read ahead by a thread while the spec is
# checked (`read_ahead`, digested when asked), or read whole by the run's first step (`note`: the
# documents the last run wrote, whose status was too fresh to trust). Each with the status it was
# read with and its digest if taken; given once (`kept`). A small file is read again instead.
_read: dict[tuple[int, int], tuple[Status, bytes, str | None]] = {}
KEPT_FROM = 1 << 18
_reading: list[threading.Thread] = []
_NOT_A_FILE = "not a plain file (a folder, a named pipe, a device or a socket)"


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


def _opened(path: Path | str, flags: int, limit: int | None) -> tuple[os.stat_result, bytes]:
    """A plain file's status (as opened) and bytes, at most `limit` of them (-1: its size as opened
    and a byte more, so that growing meanwhile shows and is never read whole); OSError for
    anything else. Opened without blocking, then refused if it is not a plain file: a named pipe
    put in the output folder (or where a record was) would otherwise keep the run waiting."""
    flags |= os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, _NOT_A_FILE, str(path))
        with open(fd, "rb", closefd=False) as handle:
            return st, handle.read() if limit is None else handle.read(st.st_size + 1 if limit < 0 else limit)
    finally:
        os.close(fd)


def read_regular(path: Path | str, limit: int | None = None) -> bytes:
    """A plain file's bytes (at most `limit`), as `Path.read_bytes` reads them; OSError for
    anything else (`_opened`)."""
    return _opened(path, 0, limit)[1]


def forget() -> None:
    """A new run: nothing is known, no bytes are kept (the read-ahead waited for)."""
    let_go()
    _known.clear()


def let_go() -> None:
    """The plan is made: the bytes kept and not taken are let go (the read-ahead waited for). The
    digests stay known, each with its file's status: the writer's last look at each file it
    replaces (`writer._changed_since_planned`) takes a file whose status has not moved as the
    plan found it, instead of reading and hashing megabytes again."""
    wait_ahead()
    _read.clear()


def read_ahead(listed: Sequence[tuple[str, bool]]) -> None:
    """Read files in a thread while this one goes on: each file of `listed`, digested too when
    its flag says so. The thread reads and hashes without the interpreter's lock most of the
    time, so the files a run will read (megabytes of documents) are in memory when it asks,
    and taken only if their status is still the one they were read with (`kept`)."""
    wait_ahead()
    thread = threading.Thread(target=_read_ahead, args=(listed,), name="flowgen-read-ahead", daemon=True)
    thread.start()
    _reading.append(thread)


def _read_ahead(listed: Sequence[tuple[str, bool]]) -> None:
    for path, digest in listed:
        found = _read_plain(path)
        if found is not None:
            now, data = found
            _read[now[4], now[3]] = (now, data, hashlib.sha256(data).hexdigest() if digest else None)


def _read_plain(path: str) -> tuple[Status, bytes] | None:
    """A plain file's status and bytes, when it kept that status while it was read (not through a
    link in its last step; the run's own checks of the path come before its bytes are used); None
    for anything else: reading ahead only saves time, what it missed is read when needed."""
    try:
        st, data = _opened(path, getattr(os, "O_NOFOLLOW", 0), -1)
    except OSError:
        return None
    before = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
    return (before, data) if status(path) == before and len(data) == before[0] else None


def wait_ahead() -> None:
    """Until the thread of `read_ahead` is done (what it read stays, for `kept`)."""
    while _reading:
        _reading.pop().join()


def kept(found: Status) -> tuple[bytes, str | None] | None:
    """The bytes kept of the file whose status is `found` now (`_read`), and their digest if it
    was taken: read while the file had that very status. Given once."""
    wait_ahead()
    entry = _read.pop((found[4], found[3]), None)
    return (entry[1], entry[2]) if entry is not None and entry[0] == found else None


def note(found: Status, digest: str, data: bytes | None = None) -> None:
    """The file with status `found` holds bytes with this digest (sha256, hex): `data`, when
    given, are those bytes as just read (kept for the next `read_known` of the file, once)."""
    _known[found[4], found[3]] = (found, digest)
    if data is not None and len(data) >= KEPT_FROM:
        _read[found[4], found[3]] = (found, data, digest)


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
    early = kept(entry[0])  # read with this status, which it still has
    if early is not None and early[1] in (None, digest):
        return early[0]
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
