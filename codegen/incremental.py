"""Regenerating after an edit: only the files whose inputs changed are built.

A target may return, next to plain `GeneratedFile`s, `LazyFile`s: a path, the parts
of the resolved model it is built from (`inputs`: elements, deployment-plan entries,
plain values) and a thunk that renders it. Each lazy file gets a key: a digest of
its path, its target, its inputs and everything the whole run depends on (the
`base`: flowgen's code, black, `dot`, Python, the targets, the output folder, where
the spec sits, the codes chosen). After a clean run the record of that run
(`codegen.stamp`) keeps each file's key with the digest of the bytes it left. The
next run renders a lazy file only when its key is new or its file is no longer what
that run left; otherwise the file is reused as it is on disk, without rendering,
formatting or drawing anything. Files returned eagerly (whole-flow documents, and
every file of a target that returns plain lists) are built as before.

Element fingerprints are structural: a digest of an element's fields, following its
references (a handler's input event with its fields, their record types, ...), so a
file keyed by a handler changes when anything the handler reaches changes. Source
positions (`span` fields) are left out, so an edit that only moves declarations
does not rebuild what follows it; the property test in `tests/test_incremental.py`
proves, after random edits, that reuse gives the bytes of a full run.

Any doubt means the full run: no record, a damaged one, another base, or any
generated file changed on disk since (a user's own file that changed is merged
again on its own, as a full run would).
"""

from __future__ import annotations

import dataclasses
import hashlib
import operator
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import field
from enum import Enum
from functools import partial
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, NamedTuple

from flowgen_design.codegen import ondisk
from flowgen_design.codegen.files import GeneratedFile, KnownFile, Merger, Ownership, UserMerge
from flowgen_design.dsl.frozen import frozen

if TYPE_CHECKING:
    from flowgen_design.codegen.fragments import Listing


@frozen(kw_only=False)
class LazyFile:
    """A file a target can describe without building it: rendered only when its inputs changed.

    `inputs` must hold everything `render` reads (model elements, plan entries, plain
    values); leaving something out would let a stale file be reused. The flow's name,
    version and path (every header) are always part of the key.
    """

    path: PurePosixPath
    inputs: tuple[object, ...]
    render: Callable[[], str] = field(compare=False)
    ownership: Ownership = "generated"
    merge: Merger | None = field(default=None, compare=False)
    target: str = ""
    long: bool = field(default=False, compare=False)
    """Rendering it is long work (the test kit): rendered first among many (`fanout.fan_out`)."""

    def materialize(self) -> GeneratedFile:
        return GeneratedFile(self.path, self.render(), self.ownership, self.merge, self.target)


TargetOutput = GeneratedFile | LazyFile


def materialize_all(files: Iterable[TargetOutput]) -> list[GeneratedFile]:
    """Every file built (what a caller that wants contents gets: tests, `package`), the
    lazy ones rendered over the cores (`codegen.fanout`)."""
    listed = list(files)
    lazy = [f for f in listed if isinstance(f, LazyFile)]
    rendered = iter(_render_all(lazy))
    return [next(rendered) if isinstance(f, LazyFile) else f for f in listed]


def _render(f: LazyFile) -> str:
    return f.render()


def _render_all(lazy: Sequence[LazyFile]) -> list[GeneratedFile]:
    from flowgen_design.codegen.fanout import fan_out

    texts = fan_out(_render, lazy, first=lambda f: f.long)
    return [GeneratedFile(f.path, text, f.ownership, f.merge, f.target) for f, text in zip(lazy, texts, strict=True)]


# ---- fingerprints ----------------------------------------------------------------------


class Fingerprints:
    """Stable digests of model values, memoised per object for one run.

    Dataclass fields named `span`, ending in `_span` or starting with `_` (memo
    tables) are not part of an element's meaning for any output, so they are skipped.
    An element's digest covers its own fields and, through references, everything it
    reaches; each element is digested once per run. A derived value whose class says what
    it is made from (a method `__fingerprint__`: the arguments of the function that alone
    makes it, such as a handler's deployment plan) is digested as those instead of its fields.
    """

    def __init__(self) -> None:
        self._memo: dict[int, bytes] = {}
        self._keep: list[object] = []  # the memo is by id: keep the objects alive
        self._fields: dict[type, _Layout] = {}
        self._kinds: dict[type, str] = {}
        self._spans: dict[int, tuple[object, ...]] = {}

    def of(self, value: object) -> bytes:
        """The digest of `value` (32 bytes)."""
        return hashlib.sha256(self._encode(value)).digest()

    def encoding(self, value: object) -> bytes:
        """What `of` digests: text no other value shares and that ends where it ends, so a key
        can digest it with other text in one go (elements in it stand as their digests)."""
        return self._encode(value)

    def _kind(self, value: object) -> str:
        """How `value` is encoded (`_classify`), decided once per type."""
        kind = self._kinds.get(type(value))
        if kind is None:
            kind = self._kinds[type(value)] = _classify(type(value))
        return kind

    def _encode(self, value: object) -> bytes:
        # The commonest values first, without a look-up: most of a model is text, tuples and None.
        if type(value) is str:
            data: bytes = value.encode("utf-8", "surrogatepass")
            return b"s%d:" % len(data) + data
        if type(value) is tuple:
            return b"(" + b"".join(map(self._encode, value)) + b")"
        if value is None:
            return b"NoneType:None;"
        kind = self._kinds.get(type(value)) or self._kind(value)
        if kind is _DATA:
            known: bytes | None = self._memo.get(id(value))
            if known is None:
                known = self._memo[id(value)] = b"@" + hashlib.sha256(self._dataclass(value)).digest()
                self._keep.append(value)
            return known
        if kind is _STR:
            data = value.encode("utf-8", "surrogatepass")  # type: ignore[attr-defined]
            return b"s%d:" % len(data) + data
        if kind is _SEQUENCE:
            return b"(" + b"".join(map(self._encode, value)) + b")"  # type: ignore[call-overload]
        if kind is _SCALAR:
            return f"{type(value).__name__}:{value!r};".encode()
        if kind is _ENUM:
            return f"enum:{type(value).__qualname__}.{value.name};".encode()  # type: ignore[attr-defined]
        # Every encoding is self-delimiting, so sorting the elements' encodings (a pair's: key then
        # value) orders a set or mapping canonically without a digest per element.
        if kind is _SET:
            return b"{" + b"".join(sorted(map(self._encode, value))) + b"}"  # type: ignore[call-overload]
        if kind is _MAPPING:
            items = value.items()  # type: ignore[attr-defined]
            return b"<" + b"".join(sorted(self._encode(k) + self._encode(v) for k, v in items)) + b">"
        if kind is _BYTES:
            return b"b%d:" % len(value) + value  # type: ignore[arg-type, operator]
        if kind is _PATH:
            return self._encode(str(value))
        raise TypeError(f"cannot fingerprint a {type(value).__name__}: give a LazyFile model elements or plain values")

    def spans(self, value: object) -> tuple[object, ...]:
        """The source positions `of` leaves out, as slots in a fixed order: the value of every
        span field reachable from `value` (None where unset). Two values with the same digest
        have the same slots, so a slot names one position across runs (`codegen.fragments`)."""
        kind = self._kind(value)
        if kind is _DATA:
            known = self._spans.get(id(value))
            if known is None:
                self._encode(value)  # keeps the object alive for the memo
                known = self._spans[id(value)] = self._dataclass_spans(value)
            return known
        if kind is _SEQUENCE:
            return tuple(slot for item in value for slot in self.spans(item))  # type: ignore[attr-defined]
        if kind is _SET:
            return tuple(slot for item in sorted(value, key=self._encode) for slot in self.spans(item))  # type: ignore[call-overload]
        if kind is _MAPPING:
            pairs = sorted(value.items(), key=lambda kv: self._encode(kv[0]) + self._encode(kv[1]))  # type: ignore[attr-defined]
            return tuple(slot for k, v in pairs for slot in (*self.spans(k), *self.spans(v)))
        if kind is _UNKNOWN:
            raise TypeError(
                f"cannot fingerprint a {type(value).__name__}: give a LazyFile model elements or plain values"
            )
        return ()

    def _dataclass_spans(self, value: object) -> tuple[object, ...]:
        kind = type(value)
        layout = self._fields.get(kind)
        if layout is None:
            layout = self._fields[kind] = _layout(kind)
        if layout.made_from is not None:
            return self.spans(layout.made_from(value))
        slots: list[object] = []
        for name, is_span in layout.span_fields:
            if is_span:
                slots.append(getattr(value, name))
            else:
                slots.extend(self.spans(getattr(value, name)))
        return tuple(slots)

    def _dataclass(self, value: object) -> bytes:
        kind = type(value)
        layout = self._fields.get(kind)
        if layout is None:
            layout = self._fields[kind] = _layout(kind)
        head, labels, get, single, made_from, _ = layout
        if made_from is not None:  # a derived value, digested as what it is made from
            return head + b"!" + self._encode(made_from(value))
        if get is None:
            return head
        values: tuple[object, ...] = (get(value),) if single else get(value)  # type: ignore[assignment]
        return head + b"".join(map(operator.add, labels, map(self._encode, values)))


class _Layout(NamedTuple):
    """How `Fingerprints` encodes a dataclass and finds its spans, decided once per class (`_layout`)."""

    head: bytes  # the class's name
    labels: tuple[bytes, ...]  # each field's label, spans and memo tables left out
    get: Callable[[object], object] | None  # what reads those fields (None: there are none)
    single: bool  # one field: `get` returns its value, not a tuple
    made_from: Callable[[object], object] | None  # `__fingerprint__`: what a value is made from
    span_fields: tuple[tuple[str, bool], ...]  # every field but memo tables, and whether it is a span


def _layout(kind: type) -> _Layout:
    made_from = getattr(kind, "__fingerprint__", None)
    listed = [(f.name, f.name == "span" or f.name.endswith("_span")) for f in dataclasses.fields(kind)]
    span_fields = tuple((name, is_span) for name, is_span in listed if not name.startswith("_"))
    names = [name for name, is_span in span_fields if not is_span]
    return _Layout(
        kind.__qualname__.encode(),
        tuple(b";" + name.encode() + b"=" for name in names),
        operator.attrgetter(*names) if names and made_from is None else None,
        len(names) == 1,
        made_from,
        span_fields,
    )


# How `Fingerprints` encodes a value, by its type (decided once per type).
_DATA, _STR, _SEQUENCE, _SCALAR, _ENUM, _SET, _MAPPING, _BYTES, _PATH, _UNKNOWN = (
    "data",
    "str",
    "sequence",
    "scalar",
    "enum",
    "set",
    "mapping",
    "bytes",
    "path",
    "unknown",
)


def _classify(kind: type) -> str:
    if kind is type(None) or (issubclass(kind, (bool, int, float)) and not issubclass(kind, Enum)):
        return _SCALAR
    if issubclass(kind, str) and not issubclass(kind, Enum):
        return _STR
    if issubclass(kind, bytes):
        return _BYTES
    if issubclass(kind, Enum):
        return _ENUM
    if issubclass(kind, (tuple, list)):
        return _SEQUENCE
    if issubclass(kind, (frozenset, set)):
        return _SET
    if issubclass(kind, Mapping):
        return _MAPPING
    if issubclass(kind, PurePosixPath):
        return _PATH
    if dataclasses.is_dataclass(kind):
        return _DATA
    return _UNKNOWN


def file_key(base: str, prints: Fingerprints, f: LazyFile, identity: tuple[object, ...]) -> str:
    """The key of one lazy file: the run's base, the file's path, owner, target and inputs."""
    digest = hashlib.sha256(f"{base}\0{f.path}\0{f.ownership}\0{f.target}\0".encode("utf-8", "surrogateescape"))
    digest.update(prints.encoding(identity))
    digest.update(prints.encoding(f.inputs))
    return digest.hexdigest()


# ---- the last clean run ------------------------------------------------------------------


@frozen(kw_only=False)
class Previous:
    """What the last clean run left, as far as it can still be trusted: each lazy file's key
    and the digest of the bytes it left (user-owned files: as the user last left them)."""

    keys: dict[str, str]
    files: dict[str, str]
    user_owned: frozenset[str]
    parts: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    """Files built of separately formatted parts (`format_blocks`): each part's source digest and length."""
    fragments: dict[str, Listing] = field(default_factory=dict)
    """Whole-flow documents made of fragments (`codegen.fragments`): where each one is."""
    merges: dict[str, UserMerge] = field(default_factory=dict)
    """What merging each of the user's files found, when it left the file as it is (`writer`)."""
    statuses: dict[str, ondisk.Status] = field(default_factory=dict)
    """The settled status each file was found with (`codegen.stamp`)."""
    views: dict[str, str] = field(default_factory=dict)
    """The digest of each saga view, by its saga's fingerprint (`codegen.diagrams.saga_digests`)."""


def resolve(
    outputs: Sequence[TargetOutput],
    base: str,
    identity: tuple[object, ...],
    previous: Previous | None,
    out_dir: Path,
    reused: dict[str, str] | None = None,
    prints: Fingerprints | None = None,
) -> tuple[list[GeneratedFile], dict[str, str]]:
    """Concrete files for the writer, and the key of every lazy file (for the record).

    A lazy file whose key and file on disk are as the last clean run left them is
    returned with the bytes on disk, without rendering it (and noted in `reused`, with
    the digest of those bytes, for `writer.plan`); any other is rendered. Eager files
    pass through. `prints` may be the run's fingerprints so far (those the targets' fragments
    took, `codegen.fragments.run_prints`): each element is digested once per run.
    """
    prints = Fingerprints() if prints is None else prints
    keys: dict[str, str] = {}
    if previous is None:  # nothing to take back: the keys are only the record's, made while workers render
        from flowgen_design.codegen.fanout import ahead

        def key_all() -> None:
            for f in outputs:
                if isinstance(f, LazyFile):
                    keys[str(f.path)] = file_key(base, prints, f, identity)

        with ahead(key_all):
            built = materialize_all(outputs)
        return built, keys
    files: list[GeneratedFile | LazyFile] = []
    for f in outputs:
        if not isinstance(f, LazyFile):
            files.append(f)
            continue
        rel = str(f.path)
        key = keys[rel] = file_key(base, prints, f, identity)
        taken = _reuse(f, key, previous, out_dir, unread=reused is not None) if previous is not None else None
        files.append(taken if taken is not None else f)
        if taken is not None and reused is not None and previous is not None:
            reused[rel] = previous.files[rel]  # a user's file: read by `_reuse`, with this digest
    return materialize_all(files), keys


def _reuse(f: LazyFile, key: str, previous: Previous, out_dir: Path, unread: bool = False) -> GeneratedFile | None:
    """`f` as the last clean run left it, None when it must be rendered. With `unread`, one of
    flowgen's own files is not even read: its status is still the one found with the recorded
    digest (`codegen.ondisk`), and the writer takes it as unchanged by that digest (`KnownFile`)."""
    rel = str(f.path)
    if previous.keys.get(rel) != key or rel not in previous.files:
        return None
    path = os.path.join(out_dir, rel)  # `rel` is a plain relative path (`LazyFile.path`): no object per file
    if unread and f.ownership != "user":
        if ondisk.known_digest(path) != previous.files[rel]:
            return None
        return KnownFile(f.path, "", f.ownership, f.merge, f.target)
    data = ondisk.read_checked(path, previous.files[rel])
    if data is None:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    # A user's file keeps its merge: the writer merges nothing new into it (what it was merged
    # with has not changed), but says again what the file still lacks, as a full run does;
    # what the last run's merge found, when neither the file nor its inputs changed since.
    found = previous.merges.get(rel) if f.ownership == "user" else None
    merge = f.merge if found is None or f.merge is None else partial(_merged_before, found)
    return GeneratedFile(f.path, text, f.ownership, merge, f.target)


def _merged_before(found: UserMerge, existing: str) -> UserMerge:
    """The last run's merge of a user's file that neither it nor the spec changed since."""
    return found if found.content is None else dataclasses.replace(found, content=existing)


# ---- formatted parts of whole-flow files ---------------------------------------------------
#
# A whole-flow file (the models module) is rebuilt after any edit that reaches it, but it
# is formatted in parts (one per class), and most parts are what they were. The last
# clean run's record keeps, for such a file, the digest of each part's source and the
# part's length in the file it left; this run takes an unchanged part back from that
# file (checked against the record's digest of it) instead of formatting it again.

PART_SEPARATOR = "\n\n"
_previous_parts: dict[str, str] = {}
_composed: dict[str, list[tuple[str, int]]] = {}


def part_digest(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()


def previous_part(source_digest: str) -> str | None:
    """The formatted text of a part whose source has this digest, from the last clean run's files."""
    return _previous_parts.get(source_digest)


def composed(parts: Sequence[tuple[str, str]]) -> str:
    """`(source digest, formatted text)` parts joined as a file, remembered for the record."""
    text = PART_SEPARATOR.join(formatted for _, formatted in parts)
    _composed[part_digest(text)] = [(digest, len(formatted)) for digest, formatted in parts]
    return text


def parts_of(files: Iterable[GeneratedFile]) -> dict[str, list[tuple[str, int]]]:
    """The parts of each file built by `composed` in this process, for the record."""
    if not _composed:
        return {}
    lengths = {
        sum(length for _, length in parts) + len(PART_SEPARATOR) * max(len(parts) - 1, 0)
        for parts in _composed.values()
    }
    found = {}
    for f in files:
        if f.is_user_owned or len(f.content) not in lengths:  # hashing every file costs more than this
            continue
        parts = _composed.get(part_digest(f.content))
        if parts is not None:
            found[str(f.path)] = parts
    return found


def load_parts(previous: Previous | None, out_dir: Path) -> None:
    """Make the parts of the last clean run's files available to `previous_part`, and only
    those: a process that generates several times (tests) never reuses another run's parts."""
    _previous_parts.clear()
    _composed.clear()
    if previous is None:
        return
    for rel, parts in previous.parts.items():
        if rel not in previous.files or rel in previous.user_owned:
            continue
        data = ondisk.read_checked(out_dir.joinpath(*PurePosixPath(rel).parts), previous.files[rel])
        try:
            text = data.decode("utf-8") if data is not None else None
        except UnicodeDecodeError:
            continue
        if text is None:
            continue
        offset, found = 0, {}
        for digest, length in parts:
            found[digest] = text[offset : offset + length]
            offset += length + len(PART_SEPARATOR)
        if offset - len(PART_SEPARATOR) == len(text):  # the parts tile the file exactly
            _previous_parts.update(found)
