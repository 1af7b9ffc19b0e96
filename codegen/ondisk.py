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

import hashlib
import os
import stat
from pathlib import Path

Status = tuple[int, int, int, int, int]

# By device and inode, not by path: the stamp, the writer and the targets spell paths differently.
_known: dict[tuple[int, int], tuple[Status, str]] = {}
# The bytes of large files read whole to be noted (the documents the last run wrote, read again
# by this run's first step because their status was too fresh to trust), until a later step reads
# them; a small file is read again instead of held.
_read: dict[tuple[int, int], tuple[Status, bytes]] = {}
_KEPT_FROM = 1 << 18


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


def forget() -> None:
    """A new run: nothing is known."""
    _known.clear()
    _read.clear()


def note(found: Status, digest: str, data: bytes | None = None) -> None:
    """The file with status `found` holds bytes with this digest (sha256, hex): `data`, when
    given, are those bytes as just read (kept for the next `read_known` of the file, once)."""
    _known[found[4], found[3]] = (found, digest)
    if data is not None and len(data) >= _KEPT_FROM:
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
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    return data if status(path) == entry[0] else None


def read_checked(path: Path | str, digest: str) -> bytes | None:
    """The file's bytes when they have this digest (from what is known, else read and hashed)."""
    data = read_known(path, digest)
    if data is not None:
        return data
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    return data if hashlib.sha256(data).hexdigest() == digest else None
