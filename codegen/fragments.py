"""Fragments of whole-flow documents, taken back from the last clean run after an edit.

A whole-flow document (the review page, ...) is rebuilt after any edit, but it is made
of per-element fragments (an event's article, a saga's failure scenarios), and an edit
changes few of them. A target asks `Fragments.piece(kind, inputs, render)` for each:
the fragment's key is a digest of its kind, the flow's identity and the structural
fingerprint of `inputs` (`codegen.incremental.Fingerprints`: the elements it reads
and everything they reach, source positions left out). When the last clean run's
document holds a fragment with that key, its text is taken from that file (at the
offset the run's record keeps, the file checked against the record's digest) instead
of rendering it; otherwise `render()` runs. After the run, `finish_run` finds every
fragment in the finished document, and the record keeps where each one is (in a file
beside the record, `codegen.stamp`).

Positions: a fragment may print where an element is in the spec (`file:line`, through
`where`). Those are the only thing of a fragment that an edit elsewhere changes (lines
move), so they are kept as holes: the record keeps, for each hole, the slots of the
fragment's inputs (every span field reachable from them, in a fixed order) whose
`where` was that text; a reused fragment gets each hole filled from the same slots of
this run's inputs, and is rendered instead when those slots no longer agree on one
text. A `file:line` in a fragment that no `where` printed (a doc comment quoting one)
makes the fragment one that is never reused.

Any doubt means rendering: no record, another base, a changed document, a fragment
not found where the record says; the property test of `tests/test_incremental.py`
compares the result with a full run after random edits.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath
from typing import NamedTuple

import orjson

from flowgen_design.codegen import ondisk
from flowgen_design.codegen.files import GeneratedFile
from flowgen_design.codegen.incremental import Fingerprints, Previous
from flowgen_design.dsl.source import Span

Hole = tuple[int, int, list[int]]
"""A position printed in a fragment: offset in the fragment, length, the input slots that printed it."""


class Recorded(NamedTuple):
    """Where a fragment is in a document: its key, offset and length, and its holes."""

    key: str
    offset: int
    length: int
    holes: list[Hole]


class Listing(NamedTuple):
    """Where the fragments of one document are, as the record keeps them: a column each of keys,
    offsets and lengths, in document order, and the holes of the fragments that have any, by
    their place in the columns. Some fifteen thousand fragments on a large spec are read on
    every edit: columns are read and checked without an object per fragment."""

    keys: list[str]
    offsets: list[int]
    lengths: list[int]
    holes: dict[int, list[Hole]]

    @classmethod
    def of(cls, recorded: Sequence[Recorded]) -> Listing:
        return cls(
            [r.key for r in recorded],
            [r.offset for r in recorded],
            [r.length for r in recorded],
            {i: r.holes for i, r in enumerate(recorded) if r.holes},
        )

    def entry(self, at: int) -> Recorded:
        return Recorded(self.keys[at], self.offsets[at], self.lengths[at], self.holes.get(at, []))


class Index(Mapping[str, Recorded]):
    """The fragments of a listing by key, those that end within the document (`limit`
    characters); each entry made when it is asked for. A key listed twice: the later one."""

    def __init__(self, listing: Listing, limit: int) -> None:
        self._listing = listing
        self._at = {
            key: at
            for at, (key, offset, length) in enumerate(zip(listing.keys, listing.offsets, listing.lengths, strict=True))
            if offset + length <= limit
        }

    def __getitem__(self, key: str) -> Recorded:
        return self._listing.entry(self._at[key])

    def place(self, key: str) -> tuple[int, int] | None:
        """Where the fragment of this key is (offset, length), without making its entry."""
        at = self._at.get(key)
        return None if at is None else (self._listing.offsets[at], self._listing.lengths[at])

    def __contains__(self, key: object) -> bool:
        return key in self._at

    def __iter__(self) -> Iterator[str]:
        return iter(self._at)

    def __len__(self) -> int:
        return len(self._at)


@dataclass
class _Made:
    """A fragment of this run: its key, text and holes (offsets within the text), in document order."""

    key: str
    text: str
    holes: list[Hole] | None  # None: never to be reused (a position not printed by `where`)


class _Documents:
    """The last clean run's documents, each with its fragments by key, read when first asked for:
    a process that builds some documents only (`fanout.aside`) reads and decodes those only."""

    def __init__(self) -> None:
        self._loaders: dict[str, Callable[[], tuple[str, Index] | None]] = {}
        self._loaded: dict[str, tuple[str, Index] | None] = {}

    def add(self, rel: str, load: Callable[[], tuple[str, Index] | None]) -> None:
        self._loaders[rel] = load

    def get(self, rel: str) -> tuple[str, Index] | None:
        if rel not in self._loaded:
            load = self._loaders.pop(rel, None)
            self._loaded[rel] = load() if load is not None else None
        return self._loaded[rel]

    def document(self, rel: str) -> tuple[str, Index]:
        """The document and its fragments, or nothing (an empty document, no fragment)."""
        return self.get(rel) or ("", _NOTHING)

    def __contains__(self, rel: object) -> bool:
        return isinstance(rel, str) and self.get(rel) is not None


@dataclass
class _Run:
    """What this process knows for the current run: the previous documents' fragments, and this run's."""

    prints: Fingerprints = field(default_factory=Fingerprints)
    previous: _Documents = field(default_factory=_Documents)
    made: dict[str, list[_Made]] = field(default_factory=dict)
    placed: dict[str, tuple[str, list[Recorded]]] = field(default_factory=dict)
    elsewhere: dict[str, Listing] = field(default_factory=dict)
    """Documents built in another process (`fanout.aside`): where their fragments are, found there."""
    active: bool = False


_NOTHING = Index(Listing([], [], [], {}), 0)
_run = _Run()
_printed: list[list[str]] = []  # the `where` texts of the fragments being rendered, innermost last


def where(file: str, line: int) -> str:
    """`file:line` as a document prints a position, noted as a hole of the fragment being rendered."""
    text = f"{file}:{line}"
    if _printed:
        _printed[-1].append(text)
    return text


class Fragments:
    """The fragments of one document of one flow (`path` as the document is written)."""

    def __init__(self, path: PurePosixPath, identity: tuple[object, ...]) -> None:
        self.path = str(path)
        self._run = _run if _run.active else _Run()  # outside `generate` (tests, `package`): nothing kept
        self._identity = self._run.prints.of(identity).hex()
        self._made = self._run.made[self.path] = []

    def mark(self) -> int:
        """Where the next fragment made goes in document order (for `made_earlier`)."""
        return len(self._made)

    def made_earlier(self, at: int, since: int) -> None:
        """The fragments made since `since` (a `mark`) stand at `at` (an earlier mark) in the
        document: a caller that builds a document's later parts first (while something slow
        finishes) and its earlier parts last says where the latter go."""
        moved = self._made[since:]
        del self._made[since:]
        self._made[at:at] = moved

    def has(self, kind: str, inputs: tuple[object, ...], positions: Sequence[object] | None = None) -> bool:
        """Whether `piece` would take this fragment back (so a caller can batch what it must make)."""
        if self.path not in self._run.previous:  # a first run: nothing to fingerprint yet
            return False
        keyed = self._key(kind, inputs, positions)
        return keyed is not None and self._fillable(*keyed)

    def _fillable(self, key: str, slots: Sequence[object]) -> bool:
        """Whether `_reuse` would take the fragment back, without copying its text (a figure is megabytes)."""
        found = self._run.previous.get(self.path)
        if found is None or key not in found[1]:
            return False
        document, index = found
        start = index[key].offset
        for offset, length, where_slots in index[key].holes:
            text = _agreed(slots, where_slots)
            if text is None or not _same_file(document, start + offset, start + offset + length, text):
                return False
        return True

    def _key(
        self, kind: str, inputs: tuple[object, ...], positions: Sequence[object] | None = None
    ) -> tuple[str, tuple[object, ...]] | None:
        """The fragment's key and input slots; None when an input is no value a fingerprint
        knows (a model type added since): such a fragment is always made, never recorded."""
        key = self.key(kind, inputs)
        if key is None:
            return None
        try:
            slots = self._run.prints.spans(inputs) if positions is None else tuple(positions)
        except TypeError:
            return None
        return key, slots

    def piece(
        self,
        kind: str,
        inputs: tuple[object, ...],
        render: Callable[[], str],
        positions: Sequence[object] | None = None,
    ) -> str:
        """The text of one fragment: taken back from the last clean run's document when its
        key (kind, flow, inputs) is there and its holes can be filled; else `render()`.

        `positions` are the spans `render` may print (through `where`), in an order that inputs
        with the same fingerprint share (an element's own spans: its name's, its fields'); by
        default every span the inputs reach, a walk that costs more than the fingerprint. A
        position printed from a span not listed makes a fragment that is never taken back."""
        keyed = self._key(kind, inputs, positions)
        if keyed is None:
            return render()
        return self._piece(*keyed, render)

    def digested(self, kind: str, digest: bytes, slots: Sequence[object], render: Callable[[], str]) -> str:
        """`piece` for inputs the caller digested itself: `digest` stands for everything `render`
        prints but positions, and `slots` are the spans it may print positions from (through
        `where`), in a fixed order. For many small parts of plain values (a table's rows, whose
        values `repr` writes far faster than fingerprints walk them)."""
        key = hashlib.sha256(f"{kind}\0{self._identity}\0digest\0".encode() + digest).hexdigest()
        return self._piece(key, tuple(slots), render)

    def _piece(self, key: str, slots: tuple[object, ...], render: Callable[[], str]) -> str:
        reused = self._reuse(key, slots)
        if reused is not None:
            self._made.append(_Made(key, *reused))
            return reused[0]
        _printed.append([])
        try:
            text = render()
        finally:
            printed = _printed.pop()
        self._made.append(_Made(key, text, _holes(text, printed, slots)))
        return text

    def dumped(self, kind: str, value: object, dump: Callable[[], str]) -> str:
        """The text of one data value (a document's entry) as `dump()` writes it, taken back
        from the last clean run's document when that held an equal value.

        The key is the value itself, as JSON (`_canonical`: keys in their order, `blockyaml` keeps
        it). `kind` says the format and depth. Writing the key costs a fraction of writing YAML
        in Python, but about what `prettyjson` costs, so JSON documents gain nothing by it
        (measured on the CloudFormation template: 0.26 s written, 0.63 s keyed and taken back,
        with digits as holes for the moved spec lines)."""
        canonical = _canonical(value)
        if canonical is None:  # not plain data: written as it is, never reused
            return dump()
        key = hashlib.sha256(f"{kind}\0{self._identity}\0".encode("utf-8", "surrogatepass") + canonical).hexdigest()
        document, index = self._run.previous.document(self.path)
        placed = index.place(key)
        text = dump() if placed is None else document[placed[0] : placed[0] + placed[1]]
        self._made.append(_Made(key, text, []))
        return text

    def key(self, kind: str, inputs: tuple[object, ...]) -> str | None:
        """The key `piece` gives a fragment of this kind and inputs (None: an input no fingerprint
        knows), for a caller that makes and takes back its fragments itself (`previous`, `place`)."""
        try:
            encoded = self._run.prints.encoding(inputs)
        except TypeError:
            return None
        return hashlib.sha256(f"{kind}\0{self._identity}\0".encode() + encoded).hexdigest()

    def previous(self) -> tuple[str, Index]:
        """The last clean run's document and its fragments by key (empty when there is none), for a
        caller that takes its fragments back itself and says where they are (`place`)."""
        return self._run.previous.document(self.path)

    def place(self, document: str, placed: list[Recorded]) -> None:
        """Note where the fragments of `document` are, for the record: when the finished document is
        `document`, they are recorded as placed (nothing is searched for)."""
        self._run.placed[self.path] = (document, placed)

    def _reuse(self, key: str, slots: Sequence[object]) -> tuple[str, list[Hole]] | None:
        found = self._run.previous.get(self.path)
        if found is None or key not in found[1]:
            return None
        document, index = found
        recorded = index[key]
        start, end = recorded.offset, recorded.offset + recorded.length
        parts: list[str] = []
        holes: list[Hole] = []
        at, size = start, 0  # where the old text not yet taken begins; the length of the new text so far
        for offset, length, where_slots in recorded.holes:
            text = _agreed(slots, where_slots)
            if text is None:
                return None
            here = start + offset
            if not _same_file(document, here, here + length, text):
                return None  # another file name (the spec given by another path): it may need escaping
            kept = document[at:here]
            parts += (kept, text)
            size += len(kept)
            holes.append((size, len(text), where_slots))
            size += len(text)
            at = here + length
        parts.append(document[at:end])
        return "".join(parts), holes


_ONLY_PLAIN = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS


def _canonical(value: object) -> bytes | None:
    """`value` as JSON text that no other value shares, None when it is no plain data (JSON's
    types, text keys): orjson's, unless it wrote `null` for something that is not None (a NaN:
    the text read back must equal the value, `prettyjson`'s rule)."""
    try:
        data = orjson.dumps(value, option=_ONLY_PLAIN)
    except TypeError:  # not JSON's types, a key that is no text, a lone surrogate, a huge number
        return None
    if b"null" in data and orjson.loads(data) != value:
        return None
    return data


def _agreed(slots: Sequence[object], where_slots: list[int]) -> str | None:
    """The one position the slots of a hole print now, or None if they print none or several."""
    if not where_slots or where_slots[0] >= len(slots):
        return None
    first = slots[where_slots[0]]
    if type(first) is Span and type(first.line) is int and type(first.file) is str:
        # Nearly every hole: spans, compared without writing each one's text (`file:line` names one
        # file and line, since no line number holds a colon).
        for i in where_slots[1:]:
            if i >= len(slots):
                return None
            other = slots[i]
            if (
                type(other) is not Span
                or other.line != first.line
                or other.file != first.file
                or type(other.line) is not int
            ):
                return _agreed_slowly(slots, where_slots)
        return f"{first.file}:{first.line}"
    return _agreed_slowly(slots, where_slots)


def _agreed_slowly(slots: Sequence[object], where_slots: list[int]) -> str | None:
    text = _where_of(slots[where_slots[0]])
    for i in where_slots[1:]:
        if i >= len(slots) or _where_of(slots[i]) != text:
            return None
    return text


def _same_file(document: str, start: int, end: int, text: str) -> bool:
    """Whether the position `document[start:end]` (`file:line`) names the file `text` names:
    it begins with that file and a colon, and no colon follows (a line has none)."""
    colon = text.rfind(":") + 1
    return document.startswith(text[:colon], start) and document.find(":", start + colon, end) < 0


def _where_of(slot: object) -> str | None:
    if type(slot) is Span:  # nearly every slot: a span field's value
        return f"{slot.file}:{slot.line}"
    file, line = getattr(slot, "file", None), getattr(slot, "line", None)
    return f"{file}:{line}" if isinstance(file, str) and isinstance(line, int) else None


def _holes(text: str, printed: list[str], slots: Sequence[object]) -> list[Hole] | None:
    """Where the fragment printed positions: every `file:line` of a printed file in `text`
    must be one that `where` printed, and be the `where` of some input slot."""
    if not printed:
        return []
    files = sorted({p.rpartition(":")[0] for p in printed})
    pattern = re.compile("(?:" + "|".join(map(re.escape, files)) + r"):[0-9]+(?![0-9])")
    matches = list(pattern.finditer(text))
    if Counter(m.group(0) for m in matches) != Counter(printed):
        return None
    by_text: dict[str, list[int]] = {}
    for i, slot in enumerate(slots):
        shown = _where_of(slot)
        if shown is not None:
            by_text.setdefault(shown, []).append(i)
    holes: list[Hole] = []
    for m in matches:
        where_slots = by_text.get(m.group(0))
        if not where_slots:
            return None  # a position the inputs do not hold: its line could move unseen
        holes.append((m.start(), len(m.group(0)), where_slots))
    return holes


# ---- the run: loading the last clean run's documents, recording this run's ------------------


def start_run(previous: Previous | None, out_dir: Path) -> None:
    """Forget any earlier run of this process; make the last clean run's fragments (the
    documents it left, as its record describes them) available to `Fragments.piece`."""
    global _run
    _run = _Run(active=True)
    if previous is None:
        return
    for rel, listing in previous.fragments.items():
        if rel not in previous.files or rel in previous.user_owned:
            continue
        _run.previous.add(
            rel, partial(_document, out_dir.joinpath(*PurePosixPath(rel).parts), previous.files[rel], listing)
        )


def _document(path: Path, digest: str, listing: Listing) -> tuple[str, Index] | None:
    """The last clean run's document at `path`, if it is still what it left (`digest`), with its fragments."""
    data = ondisk.read_checked(path, digest)
    if data is None:
        return None
    try:
        document = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return document, Index(listing, len(document))


def adopt(found: Mapping[str, Listing]) -> None:
    """Where the fragments of documents built in another process are (its `found_in`), for the record."""
    _run.elsewhere.update(found)


def run_prints() -> Fingerprints:
    """The fingerprints of this run's fragments, for the run's lazy files (`incremental.resolve`)."""
    return _run.prints


def _find(document: str, text: str, start: int) -> int:
    """`document.find(text, start)`, found by the text's first characters and then compared: a
    part is megabytes (a figure), and `find` prepares a long text before searching for it, which
    costs several times comparing it where it is (the next part is usually just after the last)."""
    head = text[:64]
    at = document.find(head, start)
    while at >= 0 and not document.startswith(text, at):
        at = document.find(head, at + 1)
    return at


def finish_run(files: Iterable[GeneratedFile]) -> dict[str, Listing]:
    """Where each fragment of this run is in its finished document, for the record; and
    the run forgotten (a target built later in this process reuses nothing).

    Fragments are found in the order they were made, each after the one before; from the
    first that is not found on (a document that transformed it), none is recorded, so none
    is reused: finding costs one pass over the document."""
    global _run
    found = {**found_in(files), **_run.elsewhere}  # a document built aside: as found there
    _run = _Run()
    return found


def found_in(files: Iterable[GeneratedFile]) -> dict[str, Listing]:
    """Where each fragment this process made is in its finished document (`finish_run`, without
    ending the run): what a process that built some documents aside gives back (`adopt`), in
    columns (a fraction of the time of an object per fragment to send and receive)."""
    made, placed = _run.made, _run.placed
    found: dict[str, Listing] = {}
    for f in files:
        document = placed.get(str(f.path))
        if document is not None and not f.is_user_owned and f.content == document[0]:
            found[str(f.path)] = Listing.of(document[1])
            continue
        listed_made = made.get(str(f.path))
        if not listed_made or f.is_user_owned:
            continue
        listed = Listing([], [], [], {})
        cursor = 0
        for m in listed_made:
            if m.holes is None or not m.text:
                continue
            at = _find(f.content, m.text, cursor)
            if at < 0:  # the document is not its fragments in order: the rest is not looked for
                break
            if m.holes:
                listed.holes[len(listed.keys)] = m.holes
            listed.keys.append(m.key)
            listed.offsets.append(at)
            listed.lengths.append(len(m.text))
            cursor = at + len(m.text)
        found[str(f.path)] = listed
    return found
