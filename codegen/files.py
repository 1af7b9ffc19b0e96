"""What a target returns: files in memory, each owned by flowgen or by the user."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import field
from pathlib import PurePosixPath
from typing import Literal

from flowgen_design.dsl.frozen import frozen

Ownership = Literal["generated", "user"]


@frozen(kw_only=False)
class LineNote:
    """A warning about one place in a user-owned file (1-based line), e.g. an orphaned method.

    A note that `repeats` makes the next `generate` run again (not skipped by the inputs stamp) so
    that it is said again until someone acts. A reminder that only the user's file can change (a
    handler not implemented yet) does not: editing that file changes the stamp anyway.
    """

    line: int
    message: str
    repeats: bool = True


@frozen(kw_only=False)
class UserMerge:
    """The result of merging new spec content into a user-owned file.

    `content` is the new text to write, or None to leave the file untouched;
    `messages` tell the user what flowgen did or what they must do by hand;
    `notes` point at lines of the file that no longer match the spec.
    """

    content: str | None
    messages: tuple[str, ...] = ()
    notes: tuple[LineNote, ...] = ()


Merger = Callable[[str], UserMerge]


@frozen(kw_only=False)
class GeneratedFile:
    """One output file, its path relative to the output folder (POSIX separators).

    `generated` files are flowgen's: rewritten whenever the spec changes.
    `user` files are created once; afterwards flowgen never overwrites them, and
    only calls `merge` (if given) to add what the spec gained.
    """

    path: PurePosixPath
    content: str
    ownership: Ownership = "generated"
    merge: Merger | None = field(default=None, compare=False)
    target: str = ""

    @property
    def is_user_owned(self) -> bool:
        return self.ownership == "user"


@frozen(kw_only=False)
class KnownFile(GeneratedFile):
    """One of flowgen's files that a run takes back without reading it (`codegen.incremental`):
    its `content` is empty, and the writer, which is given its digest, leaves it as it is."""


@frozen(kw_only=False)
class EncodedFile(GeneratedFile):
    """One of flowgen's files built in another process (`codegen.fanout.aside`) and sent back as
    its bytes and their digest: its `content` is empty (no megabytes decoded here only to be
    encoded and hashed again), and the writer, given both, keeps or writes it by them."""

    data: bytes = field(default=b"", compare=False, repr=False)
    digest: str = ""

    @classmethod
    def of(cls, f: GeneratedFile) -> EncodedFile:
        data = f.content.encode("utf-8")
        return cls(f.path, "", f.ownership, f.merge, f.target, data, hashlib.sha256(data).hexdigest())
