"""Skipping a run with nothing to do: the inputs stamp, and what the last clean run left.

`generate` is a pure function of the spec files (the root and its imports),
where the spec sits in the project, the targets asked for, the output folder,
flowgen's own code, the tools whose output it embeds (black's formatting,
`dot`'s pictures) and the Python running it; and, for the user's own files,
of what is in them. After a run that had nothing to tell the user, `record`
keeps the digest of those inputs (the stamp) with a digest of every file the
run left: generated files, the user's files and the manifest. A later run
whose stamp and files all match builds nothing (`unchanged_plan`), so an
unchanged spec costs little more than `check`.

Anything uncertain only means doing the full work: a changed spec or import,
another flowgen, black or `dot`, any file edited or deleted in the output
folder, a missing or unreadable record. Records live in flowgen's per-user
cache folder, not in the project, so the manifest (which teams commit) does not
change when someone edits their own code.

Reading every output file to compare digests was most of a run with nothing to
do, so the record also keeps each file's status as `lstat` gave it (size,
modification and change times in nanoseconds, inode, device), as git's index
does. A file whose status is still the recorded one was not written since: its
digest is taken as recorded, without reading it. Any write, rename or `touch`
moves the change time, which no user call can set back. The one doubt is a
write in the same tick of the file system's clock as the status recorded
(git's "racily clean" entries): so a status is recorded only when the file's
times are older, by more than a tick, than the process that records it
(`_settled`); a file this run wrote is read next time, and recorded then.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache
from itertools import chain
from pathlib import Path, PurePosixPath

import orjson

from flowgen_design.codegen import ondisk, writer
from flowgen_design.codegen.cache import file_identity, store
from flowgen_design.codegen.files import LineNote, UserMerge
from flowgen_design.codegen.fragments import Hole, Listing
from flowgen_design.codegen.incremental import Previous
from flowgen_design.dsl.cache import cache_dir
from flowgen_design.dsl.loader import MAX_FILE_BYTES

# The packages whose code decides what is generated.
_PACKAGES = ("flowgen_design.grammar", "flowgen_design.dsl", "flowgen_design.codegen")


@cache
def code_digest() -> str:
    """A digest of flowgen's own files (code, grammar, templates), as installed or checked out."""
    digest = hashlib.sha256()
    for package in _PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"flowgen's own package {package} was not found: the code digest would miss it")
        for folder in spec.submodule_search_locations:
            for parts, path in _package_files(folder):
                digest.update(f"{package}/{'/'.join(parts)}\0".encode())
                with open(path, "rb") as handle:
                    digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()


def _package_files(folder: str) -> list[tuple[tuple[str, ...], str]]:
    """The files below `folder` (a link to a file followed, a link to a folder not), bytecode left
    out, each as its path's parts from `folder` and its full path, in the order of the parts.
    Walked with `os.walk` and plain text: every run of `generate` digests flowgen's ~150 files,
    and `Path.rglob` and sorting paths cost three times the reading and hashing."""
    found: list[tuple[tuple[str, ...], str]] = []
    for root, folders, names in os.walk(folder):
        folders[:] = [name for name in folders if name != "__pycache__"]
        below = os.path.relpath(root, folder)
        parts = () if below == os.curdir else tuple(below.split(os.sep))
        for name in names:
            path = os.path.join(root, name)
            if name != "__pycache__" and os.path.splitext(name)[1] != ".pyc" and os.path.isfile(path):
                found.append(((*parts, name), path))
    found.sort()
    return found


def _tools() -> list[str]:
    black = importlib.util.find_spec("black")
    return [
        f"python {sys.version}",
        f"black {file_identity(black.origin if black else None)}",
        f"dot {file_identity(shutil.which('dot'))}",
    ]


def run_base(project_path: str, targets: Iterable[str], out_dir: Path, codes: str = "") -> str:
    """What a flow's generation depends on besides its spec: where the spec sits in the
    project, the targets, the output folder, the diagnostic codes chosen (the review page
    lists the warnings), flowgen's code and the tools. Part of every key of
    `codegen.incremental`: another base means a full run."""
    digest = hashlib.sha256()
    parts = [
        f"flowgen {code_digest()}",
        *_tools(),
        f"project path {project_path}",
        f"targets {','.join(targets)}",
        f"out {out_dir.resolve()}",
        f"codes {codes}",
    ]
    for part in parts:
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    return digest.hexdigest()


def inputs_stamp(
    sources: Mapping[str, str], project_path: str, targets: Iterable[str], out_dir: Path, codes: str = ""
) -> str:
    """The stamp of one flow's generation: its spec texts (by path) and its `run_base`."""
    digest = hashlib.sha256(run_base(project_path, targets, out_dir, codes).encode("ascii"))
    for path, text in sorted(sources.items()):
        digest.update(f"source {path}\0".encode("utf-8", "surrogateescape"))
        digest.update(hashlib.sha256(text.encode("utf-8", "surrogateescape")).digest())
    return digest.hexdigest()


def _record_path(out_dir: Path, flow: str) -> Path | None:
    folder = cache_dir("stamps")
    if folder is None:
        return None
    key = hashlib.sha256(f"{out_dir.resolve()}\0{flow}".encode("utf-8", "surrogateescape")).hexdigest()
    return folder / key[:2] / key[2:]


def _file_digest(out_dir: Path, rel: str) -> str | None:
    """The digest of a file below `out_dir`, None if it is missing, unreadable or reached
    through a symbolic link."""
    data = _file_bytes(out_dir, rel)
    return hashlib.sha256(data).hexdigest() if data is not None else None


def _file_bytes(out_dir: Path, rel: str, plain_folders: set[str] | None = None) -> bytes | None:
    """The bytes of a file below `out_dir`, as `_file_digest` reads them. `plain_folders` (the
    folders already seen to be plain, as `_status` keeps them) spares the same checks for every
    file of a folder when many files are read at once."""
    try:
        path = PurePosixPath(rel)
        writer.check_relative(path)  # only read, never written: no need to resolve symlinks
        folder = rel[: rel.rfind("/") + 1]
        if plain_folders is None or folder not in plain_folders:
            if writer.link_below(out_dir, path) is not None:  # the writer never writes through a link
                return None
            if plain_folders is not None:
                plain_folders.add(folder)
        elif out_dir.joinpath(*path.parts).is_symlink():
            return None
        return ondisk.read_regular(out_dir.joinpath(*path.parts))
    except (OSError, writer.UnsafePathError):
        return None


# When this process started: a file whose times are later may have been written after its status
# was taken, by this process or another, within one tick of the clock (see `_settled`).
_STARTED_NS = time.time_ns()
_FINE_TICK_NS = 50_000_000  # file systems with nanosecond times: the kernel's coarse clock, a jiffy at most
_COARSE_TICK_NS = 2_000_000_000  # times in whole seconds (FAT keeps 2 s): assume the coarsest


def _status(out_dir: Path, rel: str, plain_folders: set[str]) -> ondisk.Status | None:
    """A regular file's status (`ondisk.status`), None if it is missing, not a plain file, or
    reached through a symbolic link (the folder checks of `_file_digest`).

    `plain_folders` holds the folders (as the text before a path's last slash) of paths already
    found plainly relative and with no link on the way: a path in one of them needs only its
    name checked, which spares a path object per file (thousands of files, on every run)."""
    cut = rel.rfind("/") + 1
    folder, name = rel[:cut], rel[cut:]
    if folder in plain_folders:
        if name in ("", ".", "..") or "\\" in name or "\0" in name:
            return None
        return ondisk.status(os.path.join(out_dir, rel))
    try:
        path = PurePosixPath(rel)
        writer.check_relative(path)
        if writer.link_below(out_dir, path.parent) is not None:
            return None
    except writer.UnsafePathError:
        return None
    plain_folders.add(folder)
    return ondisk.status(os.path.join(out_dir, rel))


def _settled(status: ondisk.Status) -> bool:
    """Whether a later write of the file must show in its times: they are older than this process
    by more than a tick of the file system's clock (times that are whole seconds mean a coarse one)."""
    _, mtime, ctime, _, _ = status
    tick = _COARSE_TICK_NS if mtime % 1_000_000_000 == 0 and ctime % 1_000_000_000 == 0 else _FINE_TICK_NS
    return max(mtime, ctime) < _STARTED_NS - tick


class _Statuses:
    """Which recorded files are as the record left them: by status where it was recorded and is
    unchanged, by digest otherwise; `found` collects the settled statuses of the files read."""

    def __init__(self, out_dir: Path, recorded: object) -> None:
        self.out_dir = out_dir
        self.recorded = _statuses(recorded)
        self.found: dict[str, ondisk.Status] = {}
        self.folders: set[str] = set()  # folders seen plain, with no link on the way (`_status`)

    def same(self, rel: str, digest: str) -> bool:
        status = _status(self.out_dir, rel, self.folders)
        if status is not None and status == self.recorded.get(rel):
            self.found[rel] = status
            ondisk.note(status, digest)
            return True
        early = ondisk.kept(status) if status is not None else None
        if status is not None and early is not None:  # read ahead, with this status: as if read here
            bytes_read, digest_read = early
            if (digest_read or hashlib.sha256(bytes_read).hexdigest()) != digest:
                return False
            ondisk.note(status, digest, bytes_read)
            if _settled(status):
                self.found[rel] = status
            return True
        data = _file_bytes(self.out_dir, rel, self.folders)
        if data is None or hashlib.sha256(data).hexdigest() != digest:
            return False
        if status is not None and _status(self.out_dir, rel, self.folders) == status:
            ondisk.note(status, digest, data)  # read whole, and not written meanwhile: kept for a later read
            if _settled(status):
                self.found[rel] = status
        return True


def _statuses(value: object) -> dict[str, ondisk.Status]:
    """The record's statuses (`_status`), only the well-formed ones (a bad one: the file is read)."""
    if not isinstance(value, dict):
        return {}
    found: dict[str, ondisk.Status] = {}
    for rel, entry in value.items():  # a thousand entries on every run: checked without a call each
        if type(entry) is list and len(entry) == 5:
            size, mtime, ctime, inode, device = entry
            if type(size) is type(mtime) is type(ctime) is type(inode) is type(device) is int and min(entry) >= 0:
                found[rel] = (size, mtime, ctime, inode, device)
    return found


def record(p: writer.WritePlan) -> None:
    """After `p` was written: remember its stamp and the digest of every file it left."""
    path = _record_path(p.out_dir, p.flow)
    if p.stamp is None or path is None or p.skipped:  # a skipped run found the record as it would write it
        return
    files: dict[str, str | None] = {}
    for rel, digest in p.manifest.items():
        if digest != writer.USER_OWNED:
            files[rel] = digest
        else:  # a user's file another target made (a run of some targets only) is read as it is now
            files[rel] = p.user_digests.get(rel) or _file_digest(p.out_dir, rel)
    files[str(writer.manifest_relpath(p.flow))] = _file_digest(p.out_dir, str(writer.manifest_relpath(p.flow)))
    if any(d is None for d in files.values()):
        return
    user = sorted(rel for rel, digest in p.manifest.items() if digest == writer.USER_OWNED)
    plain: set[str] = set()
    # A file this run did not write keeps the status it was found with (`previous_run`): had it
    # changed since, the next run finds another status and reads it.
    written = {str(rel) for rel in p.contents} | {str(writer.manifest_relpath(p.flow))}
    statuses = {
        rel: status
        for rel in files
        if (status := (p.statuses.get(rel) if rel not in written else None) or _status(p.out_dir, rel, plain))
        and _settled(status)
    }
    data: dict[str, object] = {
        "inputs": p.stamp,
        "files": files,
        "base": p.base,
        "keys": p.keys,
        "user": user,
        "parts": p.parts,
        "sources": p.sources,
        "statuses": statuses,
        "views": p.views,
        "merges": {
            rel: [m.content is None, list(m.messages), [[n.line, n.message, n.repeats] for n in m.notes]]
            for rel, m in p.merges.items()
        },
    }
    if p.fragments:  # beside the record, which a run with nothing to do reads whole: named by its digest
        side = _dumps({rel: _columns(listing) for rel, listing in p.fragments.items()})
        data["fragments"] = hashlib.sha256(side).hexdigest()
        data["documents"] = sorted(p.fragments)  # what the next run reads whole (`read_ahead`)
        store(_fragments_path(path), side)
    store(path, _dumps(data))


def _columns(listing: Listing) -> dict[str, object]:
    """A document's fragments as the record's side file keeps them (`_fragments` reads them)."""
    holes = [[at, [list(hole) for hole in found]] for at, found in listing.holes.items()]
    return {"keys": listing.keys, "offsets": listing.offsets, "lengths": listing.lengths, "holes": holes}


def _dumps(data: object) -> bytes:
    """A record as JSON: orjson's compact form (a fraction of `json`'s time), or `json`'s
    where orjson refuses (text that is not UTF-8, such as a path with a lone surrogate)."""
    try:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return json.dumps(data, sort_keys=True).encode("utf-8", "surrogatepass")


def read_ahead(out_dir: Path, specs: Sequence[Path]) -> None:
    """While the specs are checked, read the large files the last clean run of their flows into
    `out_dir` left (`ondisk.read_ahead`): the documents the run reads, hashed too when their
    status was not recorded (written by that run: `previous_run` must read them whole anyway). A
    flow counts when a spec declares it (`flow <name>`) and `out_dir` holds its manifest; a guess
    that misses costs a read in another thread, nothing else. Not with FLOWGEN_JOBS=1 (one core).

    The list is made here, from the record's statuses (a file's size without asking the disk):
    the thread then does little but wait for the disk and hash, without the interpreter's lock,
    and takes it back a few times per file, not once per file of the output (each time it waits
    for a switch from this thread, which checks the spec meanwhile)."""
    from flowgen_design.codegen.fanout import jobs

    if jobs() > 1:
        # Only time is at stake: a record or folder it cannot make sense of is left to `previous_run`.
        with contextlib.suppress(Exception):
            listed = list(_ahead_of(out_dir, specs))
            if listed:
                ondisk.read_ahead(listed)


def _ahead_of(out_dir: Path, specs: Sequence[Path]) -> Iterator[tuple[str, bool]]:
    """The files `read_ahead` reads, and whether to digest each: of the large ones the record lists,
    those written by the last run (read whole and digested by `previous_run`) and those the run
    reads whole (the documents of fragments, the files of parts: `fragments.start_run`,
    `incremental.load_parts`); not the ones it takes back unread."""
    texts = [_head(spec) for spec in specs]
    for name in sorted(os.listdir(out_dir / writer.MANIFEST_DIR)):
        flow = name.removesuffix(".json")
        declared = rb"(?m)^[ \t]*flow[ \t]+" + re.escape(flow.encode("utf-8", "surrogateescape")) + rb"(?![A-Za-z0-9_])"
        path = _record_path(out_dir, flow) if name.endswith(".json") else None
        if path is None or not any(re.search(declared, text) for text in texts):
            continue
        recorded = orjson.loads(ondisk.read_regular(path))
        files, statuses = recorded.get("files"), _statuses(recorded.get("statuses"))
        if not isinstance(files, dict):
            continue
        user = set(recorded.get("user") or ())
        # The documents are read whole by a run with something to do, not by one with nothing (the
        # specs as that run read them): those that run wrote are read in any case, to be digested.
        edited = not _as_read(recorded.get("sources"))
        read = {*recorded.get("documents", ()), *recorded.get("parts", ())} if edited else set()
        for rel in files:
            if rel in user or (rel in statuses and rel not in read):
                continue
            writer.check_relative(PurePosixPath(rel))
            file = os.path.join(out_dir, rel)
            was = statuses.get(rel)  # None: written by that run, so its size is asked, and it is hashed
            size = was[0] if was is not None else (now[0] if (now := ondisk.status(file)) is not None else 0)
            if size >= ondisk.KEPT_FROM:
                yield file, was is None


def source_digests(sources: Mapping[str, str]) -> dict[str, str]:
    """The digest of each spec text a run read, by path as it read it (`read_ahead` compares)."""
    return {path: hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest() for path, text in sources.items()}


def _as_read(sources: object) -> bool:
    """Whether every spec file the record names holds the text it records (a plain file of at
    most the size a spec may have: anything else is taken as changed)."""
    if not isinstance(sources, dict) or not sources:
        return False
    try:
        for path, digest in sources.items():
            data = ondisk.read_regular(path, MAX_FILE_BYTES + 1) if isinstance(path, str) else b""
            if not data or len(data) > MAX_FILE_BYTES or hashlib.sha256(data).hexdigest() != digest:
                return False
    except OSError:  # gone, or no longer a plain file
        return False
    return True


def _head(spec: Path) -> bytes:
    """The start of a spec, where it declares its flow (nothing of a file that is not a plain one:
    the check that follows says what is wrong with it)."""
    try:
        return ondisk.read_regular(spec, 1 << 16)
    except OSError:
        return b""


def previous_run(out_dir: Path, flow: str, base: str) -> Previous | None:
    """What the last clean run of `flow` into `out_dir` left, when it may be reused
    (`codegen.incremental`): None when there is no readable record, when it was made with
    another base (flowgen, black, `dot`, targets, ...), or when any file it left other than
    the user's own has changed since. A user's file that changed is left out (merged again).
    What it finds on disk is noted in `ondisk` for the run (forgotten at the next run's start; the
    bytes kept are let go when the plan is made)."""
    path = _record_path(out_dir, flow)
    try:
        recorded = orjson.loads(ondisk.read_regular(path)) if path is not None else None
    except (OSError, ValueError):
        return None
    if not isinstance(recorded, dict) or recorded.get("base") != base:
        return None
    files, keys, user = recorded.get("files"), recorded.get("keys"), recorded.get("user")
    if not (isinstance(files, dict) and isinstance(keys, dict) and isinstance(user, list)):
        return None
    if not all(isinstance(v, str) for v in [*files.values(), *keys.values(), *user]):
        return None
    parts = _parts(recorded.get("parts"))
    if parts is None:
        return None
    # Fragments missing or damaged: the documents are built whole, nothing else is in doubt.
    fragments = _fragments(_read_fragments(path, recorded.get("fragments"))) or {}
    user_owned = frozenset(user)
    kept: dict[str, str] = {}
    statuses = _Statuses(out_dir, recorded.get("statuses"))
    for rel, digest in sorted(files.items()):
        if statuses.same(rel, digest):
            kept[rel] = digest
        elif rel not in user_owned:
            return None
    merges = {rel: m for rel, m in _merges(recorded.get("merges")).items() if rel in kept and rel in user_owned}
    return Previous(
        keys=dict(keys),
        files=kept,
        user_owned=user_owned,
        parts=parts,
        fragments=fragments,
        merges=merges,
        statuses=statuses.found,
        views=_views(recorded.get("views")),
    )


def _views(value: object) -> dict[str, str]:
    """The record's digests of saga views by fingerprint (`codegen.diagrams.saga_digests`), only the
    well-formed ones: each a digest (64 hexadecimal digits) by one; any other is built again."""
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if _is_digest(k) and _is_digest(v)}


def _is_digest(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and not value.strip("0123456789abcdef")


def _merges(value: object) -> dict[str, UserMerge]:
    """The record's merge findings (`writer.WritePlan.merges`), only the well-formed ones."""
    found: dict[str, UserMerge] = {}
    for rel, entry in value.items() if isinstance(value, dict) else ():
        if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], bool)):
            continue
        untouched, messages, notes = entry
        if not (isinstance(messages, list) and all(isinstance(m, str) for m in messages) and isinstance(notes, list)):
            continue
        if not all(
            isinstance(n, list) and len(n) == 3 and _count(n[0]) and isinstance(n[1], str) and isinstance(n[2], bool)
            for n in notes
        ):
            continue
        lines = tuple(LineNote(n[0], n[1], n[2]) for n in notes)
        found[rel] = UserMerge(None if untouched else "", tuple(messages), lines)
    return found


def _parts(value: object) -> dict[str, list[tuple[str, int]]] | None:
    """The record's parts of files (`codegen.incremental.composed`), None when malformed."""
    if not isinstance(value, dict):
        return None
    parts: dict[str, list[tuple[str, int]]] = {}
    for rel, listed in value.items():
        if not isinstance(listed, list):
            return None
        for entry in listed:
            if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
                return None
            if not isinstance(entry[1], int) or isinstance(entry[1], bool) or entry[1] < 0:
                return None
        parts[str(rel)] = [(digest, length) for digest, length in listed]
    return parts


def _fragments_path(record: Path) -> Path:
    return record.with_name(record.name + ".fragments")


def _read_fragments(record: Path | None, digest: object) -> object:
    """The fragments the record names by digest (`record`), {} when it names none; None when
    they are missing or not the ones named (a record of another run)."""
    if digest is None:
        return {}
    try:
        data = ondisk.read_regular(_fragments_path(record)) if record is not None else b""
    except OSError:
        return None
    if not isinstance(digest, str) or hashlib.sha256(data).hexdigest() != digest:
        return None
    try:
        return orjson.loads(data)
    except ValueError:  # written by `json` (a lone surrogate in a path), or damaged
        try:
            return json.loads(data)
        except ValueError:
            return None


def _fragments(value: object) -> dict[str, Listing] | None:
    """The record's fragments of documents (`codegen.fragments.finish_run`), None when malformed.

    Some fifteen thousand entries on a large spec, read on every edit: kept as columns (keys,
    offsets, lengths; the holes of the few fragments that have any by their place), each checked
    whole (`_naturals`), with no object made per fragment (`fragments.Listing`)."""
    if not isinstance(value, dict):
        return None
    found: dict[str, Listing] = {}
    for rel, columns in value.items():
        if type(columns) is not dict or set(columns) != {"keys", "offsets", "lengths", "holes"}:
            return None
        keys, offsets, lengths, holes = columns["keys"], columns["offsets"], columns["lengths"], columns["holes"]
        if not (type(keys) is list and type(offsets) is list and type(lengths) is list and type(holes) is list):
            return None
        if not len(keys) == len(offsets) == len(lengths) or not set(map(type, keys)) <= {str}:
            return None
        if not _naturals(offsets) or not _naturals(lengths) or not _rows(holes, 2):
            return None
        by_place: dict[int, list[Hole]] = {}
        for at, listed in holes:
            if not (_count(at) and at < len(keys) and type(listed) is list and listed and _rows(listed, 3)):
                return None
            starts, ends, slots = zip(*listed, strict=True)
            if not _naturals([*starts, *ends]) or not _rows(slots, None) or min(map(len, slots)) == 0:
                return None
            if not _naturals(list(chain.from_iterable(slots))):
                return None
            by_place[at] = [(start, end, hole_slots) for start, end, hole_slots in listed]
        found[str(rel)] = Listing(keys, offsets, lengths, by_place)
    return found


def _rows(values: Sequence[object], width: int | None) -> bool:
    """Every value is a JSON array (of `width` items, if given)."""
    return set(map(type, values)) <= {list} and (width is None or set(map(len, values)) <= {width})  # type: ignore[arg-type]


def _naturals(values: list[object]) -> bool:
    """Every value is a whole number, not negative (a JSON `true` is no number)."""
    return not values or (set(map(type, values)) <= {int} and min(values) >= 0)  # type: ignore[type-var, operator]


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def unchanged_plan(out_dir: Path, flow: str, stamp: str) -> writer.WritePlan | None:
    """The plan of a run with nothing to do, built without running any target, when the
    last recorded run had this stamp and every file it left is exactly as it left it;
    None otherwise (then the targets must run)."""
    path = _record_path(out_dir, flow)
    try:
        recorded = orjson.loads(ondisk.read_regular(path)) if path is not None else None
    except (OSError, ValueError):
        return None
    if not isinstance(recorded, dict) or recorded.get("inputs") != stamp or not isinstance(recorded.get("files"), dict):
        return None
    statuses = _Statuses(out_dir, recorded.get("statuses"))
    if not all(statuses.same(rel, digest) for rel, digest in sorted(recorded["files"].items())):
        return None
    if writer.leftover_temps(out_dir, [str(rel) for rel in recorded["files"]], flow):
        return None
    if statuses.found != statuses.recorded and path is not None:  # files read whole: next time by status
        store(path, _dumps({**recorded, "statuses": statuses.found}))
    manifest, owners = writer.read_manifest(out_dir, flow)
    result = writer.WritePlan(flow=flow, out_dir=out_dir, manifest=manifest, owners=owners, stamp=stamp, skipped=True)
    for rel, digest in sorted(manifest.items()):
        action: writer.Action = "keep-user" if digest == writer.USER_OWNED else "unchanged"
        result.changes.append(writer.Change(PurePosixPath(rel), action))
    return result
