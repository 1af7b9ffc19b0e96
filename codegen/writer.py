"""The one writer: every target's files go to disk through here.

Guarantees, in order of importance:
- user-owned files are never overwritten: created once, then only extended by
  their target's merge function, and only when that merge is purely additive;
- nothing is written outside the output folder (no absolute paths, no `..`,
  no symlink that leads out), and nothing is written through a symbolic link
  below it at all: a generated path that is a link (to a user's file, say) is a
  conflict, left as it is;
- a file that changed on disk after this run read it (an edit saved while
  `generate` ran) is never replaced or deleted: the run leaves it and says so;
- all-or-nothing: every new content is first written to a temporary file next
  to its destination, and only when all of them are written are they moved
  into place (`os.replace`, atomic per file);
- files whose content is unchanged are not touched, so their mtimes stay;
- generated files that the spec no longer produces are removed, unless someone
  edited them since (a per-flow manifest remembers what flowgen wrote, which
  target wrote it, so `--target python` never removes the other targets' files,
  and which spec it came from, so renaming a flow removes the old name's files);
  they are removed before the manifest is replaced, so a run killed in between
  leaves a manifest that still lists them and the next run finishes the job;
- temporary files of a killed run are removed by the next one (and `--check`
  lists them);
- a run that changes nothing is cheap: after a clean run `codegen.stamp` records
  what went in and a digest of every file left behind, and a later run with the
  same inputs and the same files builds nothing at all;
- new files get the usual permissions (0666 less the umask); replaced files keep theirs;
- files are read and written as exact bytes (UTF-8, no newline translation), so a
  merge into a user's file keeps every byte the user wrote.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Literal

from flowgen_design.codegen import ondisk
from flowgen_design.codegen.fanout import jobs
from flowgen_design.codegen.files import EncodedFile, GeneratedFile, KnownFile, LineNote, UserMerge
from flowgen_design.dsl.frozen import frozen

if TYPE_CHECKING:
    from flowgen_design.codegen.fragments import Listing

Action = Literal["create", "update", "delete", "merge", "keep-user", "conflict", "unchanged", "orphan"]
MANIFEST_DIR = ".flowgen"
# The manifest entry of a user-owned file: never deleted, but reported once the spec drops it.
USER_OWNED = "user"


class UnsafePathError(ValueError):
    """A target produced a path outside the output folder: a bug, or a hostile spec name."""


@frozen(kw_only=False)
class Change:
    path: PurePosixPath
    action: Action
    detail: str = ""
    notes: tuple[LineNote, ...] = ()


@dataclass
class WritePlan:
    flow: str
    out_dir: Path
    changes: list[Change] = field(default_factory=list)
    contents: dict[PurePosixPath, str] = field(default_factory=dict)
    manifest: dict[str, str] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    stamp: str | None = None
    """This run's inputs stamp (`codegen.stamp`), or None when the next run must not be skipped."""
    user_digests: dict[str, str] = field(default_factory=dict)
    """Digests of the user-owned files as this run leaves them."""
    statuses: dict[str, ondisk.Status] = field(default_factory=dict)
    """The settled status of each file as the run found it, before writing (`codegen.stamp`)."""
    merges: dict[str, UserMerge] = field(default_factory=dict)
    """What merging each user's file found when it left the file as it is (`content` None, or
    the file's own text as `""`): said again by the next run while neither side changed
    (`codegen.incremental`)."""
    spec: str | None = None
    """The spec the flow comes from (its path in the project), recorded in the manifest."""
    seen: dict[PurePosixPath, str | None] = field(default_factory=dict)
    """The digest of each file this plan will replace or delete, as the plan read it (None:
    absent). `apply` re-reads it just before; a file changed since is left alone."""
    refused: list[Change] = field(default_factory=list)
    """What `apply` left alone because it changed on disk after the plan read it."""
    base: str | None = None
    """The run's base (`codegen.stamp.run_base`), recorded with `keys`."""
    sources: dict[str, str] = field(default_factory=dict)
    """The digest of each spec text the run read, by path (`codegen.stamp.source_digests`)."""
    keys: dict[str, str] = field(default_factory=dict)
    """The key of each lazily built file (`codegen.incremental`), recorded after a clean run."""
    parts: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    """Files formatted in parts (`codegen.incremental.composed`), recorded after a clean run."""
    fragments: dict[str, Listing] = field(default_factory=dict)
    """Documents made of fragments (`codegen.fragments.finish_run`), recorded after a clean run."""
    views: dict[str, str] = field(default_factory=dict)
    """The digest of each saga view keyed, by its saga's fingerprint (`codegen.diagrams.saga_digests`)."""
    skipped: bool = False
    """A run with nothing to do (`codegen.stamp.unchanged_plan`): the record it was found in stays as it is."""
    encoded: dict[PurePosixPath, bytes] = field(default_factory=dict, repr=False, compare=False)
    """The bytes of the generated files in `contents`, encoded once to be digested and kept to be
    written: a whole-flow document is megabytes."""

    @property
    def stale(self) -> list[Change]:
        """What `generate --check` reports: anything writing would change, and user
        files that lack what the spec asks for but cannot be merged automatically."""
        return [c for c in self.changes if c.action in ("create", "update", "delete", "merge", "conflict")]

    @property
    def notices(self) -> list[Change]:
        return [c for c in self.changes if (c.action in ("conflict", "orphan", "keep-user") and c.detail) or c.notes]

    @property
    def repeated_notices(self) -> list[Change]:
        """The notices that must be said again next run, so that run is never skipped."""
        return [
            c
            for c in self.changes
            if (c.action in ("conflict", "orphan", "keep-user") and c.detail) or any(n.repeats for n in c.notes)
        ]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


TEMP_SUFFIX = ".flowgen-tmp"


def check_relative(rel: PurePosixPath) -> None:
    """Refuse a path that is not plainly relative and downward (`..`, absolute, empty, odd characters)."""
    text = str(rel)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts or text in (".", "") or "\\" in text or "\0" in text:
        raise UnsafePathError(f"refusing to write {text!r}: not a path inside the output folder")


def safe_destination(out_dir: Path, rel: PurePosixPath) -> Path:
    """The absolute destination of `rel`, refusing anything that escapes `out_dir`.

    The check runs on the resolved path, so a symlink inside `out_dir` (a folder
    or the file itself) that points outside is refused too.
    """
    check_relative(rel)
    try:
        root = _resolved(out_dir)
        folder = _resolved(out_dir.joinpath(*rel.parts[:-1]))
        dest = folder / rel.parts[-1]
        if dest.is_symlink():
            dest = dest.resolve()
    except (OSError, RuntimeError) as err:  # RuntimeError: Python 3.11's report of a loop of links
        why = err.strerror if isinstance(err, OSError) and err.strerror else "a loop of symbolic links"
        raise UnsafePathError(f"cannot write {rel!s} in {out_dir}: {why}") from None
    if dest != root and root not in dest.parents:
        raise UnsafePathError(f"refusing to write {rel!s}: it leads outside {out_dir}")
    return dest


# What one `plan` or one `apply_all` learnt about the output folder's folders, so that a
# thousand files in a dozen folders cost a dozen folder look-ups, not a thousand (`_looking`):
# each folder resolved, where its first symbolic link is, which folders this run made.
_memo: _Memo | None = None


@dataclass
class _Memo:
    resolved: dict[Path, Path] = field(default_factory=dict)
    links: dict[tuple[Path, tuple[str, ...]], tuple[bool, PurePosixPath | None]] = field(default_factory=dict)
    made: set[Path] = field(default_factory=set)
    umask: int | None = None


@contextmanager
def _looking() -> Iterator[_Memo]:
    """Folders are looked up once while the block runs (one `plan` or `apply_all`: this run
    itself only adds plain folders, and a folder that changes meanwhile is found by the
    per-file checks that stay: each file's own link, its digest just before it is replaced)."""
    global _memo
    outer = _memo
    memo = _memo = outer if outer is not None else _Memo()
    try:
        yield memo
    finally:
        _memo = outer


def _resolved(folder: Path) -> Path:
    memo = _memo
    if memo is None:
        return folder.resolve()
    found = memo.resolved.get(folder)
    if found is None:
        found = memo.resolved[folder] = folder.resolve()
    return found


def link_below(out_dir: Path, rel: PurePosixPath) -> PurePosixPath | None:
    """The first part of `rel` (a folder or the file itself) that is a symbolic link, if any.

    The output folder itself may be a link (the user chose it); nothing below it may.
    """
    return _link_below(out_dir, rel.parts)[1]


def _link_below(out_dir: Path, parts: tuple[str, ...]) -> tuple[bool, PurePosixPath | None]:
    """(whether the walk goes on below `parts`, the first link found)."""
    if not parts:
        return True, None
    memo = _memo
    key = (out_dir, parts)
    if memo is not None and key in memo.links:
        return memo.links[key]
    go_on, link = _link_below(out_dir, parts[:-1]) if len(parts) > 1 else (True, None)
    if go_on and link is None:
        path = out_dir.joinpath(*parts)
        if path.is_symlink():
            go_on, link = False, PurePosixPath(*parts)
        elif not path.exists():
            go_on = False
    if memo is not None:
        memo.links[key] = (go_on, link)
    return go_on, link


def manifest_relpath(flow: str) -> PurePosixPath:
    return PurePosixPath(MANIFEST_DIR) / f"{flow}.json"


def _read_manifest_data(out_dir: Path, flow: str) -> dict[str, object]:
    try:
        data = json.loads(ondisk.read_regular(safe_destination(out_dir, manifest_relpath(flow))).decode("utf-8"))
    except (OSError, ValueError, UnsafePathError):
        return {}
    return data if isinstance(data, dict) else {}


def _strings(value: object) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _manifests_of_spec(out_dir: Path, spec: str, flow: str) -> list[str]:
    """The other flows whose manifest names `spec`: the same spec under an older flow name."""
    try:
        names = sorted(p.stem for p in (out_dir / MANIFEST_DIR).glob("*.json"))
    except OSError:
        return []
    return [n for n in names if n != flow and _read_manifest_data(out_dir, n).get("spec") == spec]


def read_manifest(out_dir: Path, flow: str) -> tuple[dict[str, str], dict[str, str]]:
    """The manifest's files (path -> digest, or `USER_OWNED`) and which target wrote each
    (empty for manifests of older flowgens); both empty when there is no readable manifest."""
    data = _read_manifest_data(out_dir, flow)
    return _strings(data.get("files")), _strings(data.get("targets"))


def _read(path: Path) -> str | None:
    """The exact text of a file (no newline translation), or None if it cannot be read as UTF-8."""
    try:
        return ondisk.read_regular(path).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def plan(
    flow: str,
    out_dir: Path,
    files: list[GeneratedFile],
    ran: Collection[str] | None = None,
    stamp: str | None = None,
    spec: str | None = None,
    known: Mapping[str, str] | None = None,
) -> WritePlan:
    """Decide what writing `files` would do, without touching the disk.

    `ran` names the targets that produced `files`; files that other targets wrote
    earlier are left alone. None means `files` is everything the flow produces.
    `stamp` is the inputs stamp of this run, recorded unless the run has something
    to tell the user (a conflict, an orphan, a note), which every run must repeat.
    `known` maps files whose content this run has just read from their plain file below
    `out_dir` (`codegen.incremental.resolve`) to its digest: flowgen's own are unchanged, and
    the user's are merged as they were read; neither is read again.
    """
    with _looking():
        return _plan(flow, out_dir, files, ran, stamp, spec, known)


def _plan(
    flow: str,
    out_dir: Path,
    files: list[GeneratedFile],
    ran: Collection[str] | None,
    stamp: str | None,
    spec: str | None,
    known: Mapping[str, str] | None,
) -> WritePlan:
    result = WritePlan(flow=flow, out_dir=out_dir, spec=spec)
    seen: set[PurePosixPath] = set()
    ordered = sorted(files, key=lambda f: str(f.path))
    with _hashing([f for f in ordered if _hashed_aside(f, known)]) as digests:
        for f in ordered:
            _plan_file(result, f, out_dir, known, seen, digests)
    _plan_removals(result, seen, ran)
    _plan_leftovers(result, seen)
    if stamp is not None and not result.repeated_notices:
        result.stamp = stamp
    return result


_ASIDE = 1 << 18  # characters: the documents of a large flow (megabytes), not its modules


def _hashed_aside(f: GeneratedFile, known: Mapping[str, str] | None) -> bool:
    """Whether `f` is one of the large generated files whose digest `_plan_generated` will take."""
    if f.is_user_owned or isinstance(f, KnownFile | EncodedFile) or (known is not None and str(f.path) in known):
        return False
    return len(f.content) >= _ASIDE


class _Digest:
    """A content's bytes and, once its thread is done, their digest (sha256, hex)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.digest: str | None = None
        self.thread = threading.Thread(target=self._run, name="flowgen-digest", daemon=True)

    def _run(self) -> None:
        self.digest = hashlib.sha256(self.data).hexdigest()

    def result(self) -> tuple[bytes, str]:
        self.thread.join()
        return self.data, self.digest if self.digest is not None else hashlib.sha256(self.data).hexdigest()


@contextmanager
def _hashing(large: Sequence[GeneratedFile]) -> Iterator[dict[PurePosixPath, _Digest]]:
    """The large files' bytes, each digested in a thread of its own while the plan goes on.

    Hashing lets go of the interpreter's lock, so the digest of one document (megabytes, ~10 ms)
    is taken on another core while this thread encodes the next and plans the thousand other
    files. Every thread is joined before the block ends: none outlives the plan (no fork finds one).
    With FLOWGEN_JOBS=1 nothing is hashed aside: `_plan_generated` hashes each file itself."""
    digests: dict[PurePosixPath, _Digest] = {}
    try:
        for f in large if jobs() > 1 else ():  # FLOWGEN_JOBS=1: one core's work, all in this thread
            if f.path in digests:  # two files of one path: `_plan_file` refuses them
                continue
            digest = _Digest(f.content.encode("utf-8"))
            try:
                digest.thread.start()
            except RuntimeError:  # no thread to be had (a limit on processes): hashed in this one
                break
            digests[f.path] = digest
        yield digests
    finally:
        for digest in digests.values():
            digest.thread.join()


def _plan_file(
    result: WritePlan,
    f: GeneratedFile,
    out_dir: Path,
    known: Mapping[str, str] | None,
    seen: set[PurePosixPath],
    digests: Mapping[PurePosixPath, _Digest],
) -> None:
    """One file of `_plan`."""
    if f.path in seen:
        raise UnsafePathError(f"two targets produced {f.path}")
    seen.add(f.path)
    if f.target:
        result.owners[str(f.path)] = f.target
    digest = known.get(str(f.path)) if known and not f.is_user_owned else None
    if digest is not None:
        result.manifest[str(f.path)] = digest
        result.changes.append(Change(f.path, "unchanged"))
        return
    if isinstance(f, KnownFile):  # its content was never read: it must never be written
        raise RuntimeError(f"flowgen bug: {f.path} was taken back unread, but its digest is not known")
    read = known.get(str(f.path)) if known and f.is_user_owned else None
    if read is not None:  # the user's file as this run read it, a plain file as the record left it
        _plan_user(result, f, f.content, True, read)
        if f.path in result.contents:
            result.seen[f.path] = read
        return
    dest = safe_destination(out_dir, f.path)
    link = link_below(out_dir, f.path)
    if link is not None:
        _plan_link(result, f, link)
        return
    on_disk = ondisk.known_digest(dest) if not f.is_user_owned else None  # found unchanged at the start
    if on_disk is None and dest.is_dir():
        raise UnsafePathError(f"refusing to write {f.path}: a folder of that name is in the way")
    if not f.is_user_owned:
        aside = digests.get(f.path)
        taken = (f.data, f.digest) if isinstance(f, EncodedFile) else aside.result() if aside else None
        _plan_generated(result, f, on_disk or _digest_of(dest), taken)
        return
    existing = _read(dest) if dest.exists() else None
    _plan_user(result, f, existing, dest.exists())
    if f.path in result.contents:  # what the merge was computed from
        result.seen[f.path] = _digest(existing) if existing is not None else _digest_of(dest)


def _digest_of(path: Path) -> str | None:
    """The digest of a file's exact bytes, None if absent or unreadable."""
    try:
        return hashlib.sha256(ondisk.read_regular(path)).hexdigest()
    except OSError:
        return None


def _plan_link(result: WritePlan, f: GeneratedFile, link: PurePosixPath) -> None:
    """A path through a symbolic link is never written: writing would replace whatever it points at."""
    if f.is_user_owned:
        result.manifest[str(f.path)] = USER_OWNED
    detail = (
        f"{link} is a symbolic link: flowgen never writes through one, so this file was not written; "
        "replace the link with a plain file or folder (or delete it) and run `flowgen generate` again"
    )
    result.changes.append(Change(f.path, "conflict", detail))


def _plan_generated(
    result: WritePlan, f: GeneratedFile, on_disk: str | None, encoded: tuple[bytes, str] | None = None
) -> None:
    """One of flowgen's files, whose bytes on disk have the digest `on_disk` (None: there is none);
    `encoded`: its bytes and their digest, when `_hashing` took them already."""
    if encoded is None:
        data = f.content.encode("utf-8")
        encoded = data, hashlib.sha256(data).hexdigest()
    data, digest = encoded
    result.manifest[str(f.path)] = digest
    if digest == on_disk:
        result.changes.append(Change(f.path, "unchanged"))
        return
    result.changes.append(Change(f.path, "create" if on_disk is None else "update"))
    result.contents[f.path] = f.content
    result.encoded[f.path] = data
    result.seen[f.path] = on_disk  # what the update was computed from


def _plan_user(
    result: WritePlan, f: GeneratedFile, existing: str | None, exists: bool, digest: str | None = None
) -> None:
    """One of the user's files, `existing` as it is on disk (None: unreadable as UTF-8), whose
    digest is `digest` when already known."""
    key = str(f.path)
    result.manifest[key] = USER_OWNED
    if not exists:
        merged = f.merge(f.content) if f.merge is not None else None
        notes = merged.notes if merged is not None else ()
        result.changes.append(Change(f.path, "create", "user-owned: yours to edit", notes))
        if merged is not None and merged.content in (None, f.content):  # what the next run's merge finds
            result.merges[key] = _found(merged)
        result.contents[f.path] = f.content
        result.user_digests[key] = _digest(f.content)
        return
    if existing is None:  # unreadable as UTF-8: left alone, and never skipped
        result.changes.append(Change(f.path, "keep-user"))
        return
    result.user_digests[key] = digest or _digest(existing)
    if f.merge is None:
        result.changes.append(Change(f.path, "keep-user"))
        return
    merged = f.merge(existing)
    detail = "; ".join(merged.messages)
    if merged.content is None or merged.content == existing:
        action: Action = "conflict" if merged.content is None and detail else "keep-user"
        result.changes.append(Change(f.path, action, detail, merged.notes))
        result.merges[key] = _found(merged)
        return
    result.changes.append(Change(f.path, "merge", detail, merged.notes))
    result.contents[f.path] = merged.content
    result.user_digests[key] = _digest(merged.content)


def _found(merged: UserMerge) -> UserMerge:
    """A merge that left the file as it is, kept for the next run to say again (`WritePlan.merges`)."""
    return UserMerge(None if merged.content is None else "", merged.messages, merged.notes)


def _plan_removals(result: WritePlan, produced: set[PurePosixPath], ran: Collection[str] | None) -> None:
    old, old_owners = read_manifest(result.out_dir, result.flow)
    renamed = _manifests_of_spec(result.out_dir, result.spec, result.flow) if result.spec else []
    for former in renamed:
        files, owners = read_manifest(result.out_dir, former)
        for rel_text, digest in files.items():
            old.setdefault(rel_text, digest)
            if rel_text in owners:
                old_owners.setdefault(rel_text, owners[rel_text])
        rel = manifest_relpath(former)
        result.seen[rel] = _digest_of(result.out_dir / rel)
        result.changes.append(Change(rel, "delete", f"the spec's flow was renamed from `{former}`"))
    produced_text = set(map(str, produced))
    for rel_text, digest in sorted(old.items()):
        if rel_text in produced_text:
            continue
        rel = PurePosixPath(rel_text)
        if rel in produced:  # spelled otherwise in the manifest (`a//b`, by hand or an older flowgen)
            continue
        owner = old_owners.get(rel_text)
        if ran is not None and owner is not None and owner not in ran:
            result.manifest[rel_text] = digest
            result.owners[rel_text] = owner
            continue
        try:
            dest = safe_destination(result.out_dir, rel)
        except UnsafePathError:
            continue
        current = _read(dest)
        if current is None:
            continue
        if digest != USER_OWNED and _digest(current) == digest and link_below(result.out_dir, rel) is None:
            result.seen[rel] = _digest(current)
            result.changes.append(Change(rel, "delete", "no longer produced by the spec"))
            continue
        # Remembered while it exists, so the warning repeats until someone acts on it.
        result.manifest[rel_text] = digest
        if owner is not None:
            result.owners[rel_text] = owner
        if digest == USER_OWNED:
            detail = "the spec no longer has what this file implements; it is yours, so it was left in place: delete it when done"
        else:
            detail = "no longer produced by the spec, but edited since: left in place"
        result.changes.append(Change(rel, "orphan", detail))


def _plan_leftovers(result: WritePlan, produced: set[PurePosixPath]) -> None:
    """Temporary files that a killed run left next to this flow's files: deleted by this run."""
    for rel in leftover_temps(result.out_dir, {*map(str, produced), *result.manifest}, result.flow):
        result.seen[rel] = _digest_of(result.out_dir / rel)
        result.changes.append(Change(rel, "delete", "temporary file left by an interrupted run"))


def leftover_temps(out_dir: Path, owned: Collection[str], flow: str) -> list[PurePosixPath]:
    """The `.NAME.XXXXXXXX.flowgen-tmp` files next to the files `owned` (and the manifest)
    whose NAME is one of them: what `_stage` leaves behind when a run is killed. `owned` are
    relative paths as the manifest writes them (`str` of a `PurePosixPath`): thousands of them,
    looked at as text."""
    wanted = {*owned, str(manifest_relpath(flow))}
    found: list[PurePosixPath] = []
    for folder in {rel.rpartition("/")[0] for rel in wanted}:
        try:
            names = os.listdir(os.path.join(out_dir, folder))
        except OSError:
            continue
        for name in names:
            if name.startswith(".") and name.endswith(TEMP_SUFFIX):
                target = name[1 : -len(TEMP_SUFFIX)].rpartition(".")[0]
                if (f"{folder}/{target}" if folder else target) in wanted:
                    found.append(PurePosixPath(folder, name))
    return sorted(found)


def apply(p: WritePlan) -> None:
    """Write the plan: temporary files first, then move every one into place."""
    apply_all([p])


def apply_all(plans: Sequence[WritePlan]) -> None:
    """Write several plans (one per flow) as one: every temporary file of every flow is
    written first, and only then is each moved into place, so a failure leaves every
    flow's output as it was. Deletions come last."""
    with _looking():
        _apply_all(plans)


def _apply_all(plans: Sequence[WritePlan]) -> None:
    staged: list[tuple[WritePlan, PurePosixPath, Path, Path]] = []
    manifests: list[tuple[WritePlan, PurePosixPath, Path, Path]] = []
    try:
        for p in plans:
            for rel, content in sorted(p.contents.items(), key=lambda kv: str(kv[0])):
                data = p.encoded.get(rel)
                if data is None:
                    data = content.encode("utf-8")  # exact: no newline translation
                staged.append((p, rel, _stage(p.out_dir, rel, data), safe_destination(p.out_dir, rel)))
            if not manifest_unchanged(p):
                rel = manifest_relpath(p.flow)
                manifests.append((p, rel, _stage_manifest(p), safe_destination(p.out_dir, rel)))
        written: dict[Path, tuple[WritePlan, PurePosixPath]] = {}  # a file several flows share is written once per flow
        for p, rel, tmp, dest in staged:
            ours = written.get(dest)
            if _changed_since_planned(p, rel, dest, _written_digest(*ours) if ours is not None else None):
                continue
            os.replace(tmp, dest)
            written[dest] = (p, rel)
        _delete_stale(plans)
        for _, _, tmp, dest in manifests:
            os.replace(tmp, dest)
    finally:
        for _, _, tmp, _ in staged + manifests:
            tmp.unlink(missing_ok=True)


def _written_digest(p: WritePlan, rel: PurePosixPath) -> str:
    """The digest of what plan `p` wrote at `rel`, as the plan took it (`_plan_generated`, `_plan_user`)."""
    digest = p.manifest[str(rel)]
    return p.user_digests[str(rel)] if digest == USER_OWNED else digest


def _changed_since_planned(p: WritePlan, rel: PurePosixPath, dest: Path, ours: str | None = None) -> bool:
    """True (and the file recorded as refused) when `dest` is no longer what the plan read
    (nor `ours`, what this run itself wrote there): someone saved it while this run was
    computing, and their bytes win."""
    if rel not in p.seen:
        return False
    now = ondisk.known_digest(dest) or _digest_of(dest)
    if now == p.seen[rel] or (ours is not None and now == ours):
        return False
    detail = "changed on disk while flowgen was running, so it was left as it is now: run `flowgen generate` again"
    p.refused.append(Change(rel, "conflict", detail))
    p.stamp = None
    return True


def _delete_stale(plans: Sequence[WritePlan]) -> None:
    """Deletions, before any manifest is replaced: a kill here leaves a manifest that still lists them.

    Nothing that any plan of this run owns is deleted (two specs that swapped flow names
    would otherwise delete each other's new files).
    """
    if not any(change.action == "delete" for p in plans for change in p.changes):
        return
    roots = [p.out_dir.resolve() for p in plans]
    owned = {
        (root, rel)
        for p, root in zip(plans, roots, strict=True)
        for rel in [*p.manifest, str(manifest_relpath(p.flow))]
    }
    for p, root in zip(plans, roots, strict=True):
        for change in p.changes:
            if change.action != "delete" or (root, str(change.path)) in owned:
                continue
            dest = safe_destination(p.out_dir, change.path)
            if link_below(p.out_dir, change.path) is not None or _changed_since_planned(p, change.path, dest):
                continue
            dest.unlink(missing_ok=True)
            _remove_empty_folders(dest.parent, root)


def _remove_empty_folders(folder: Path, root: Path) -> None:
    """Remove folders left empty by deletions, up to (not including) the output folder."""
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def _stage(out_dir: Path, rel: PurePosixPath, data: bytes) -> Path:
    dest = safe_destination(out_dir, rel)
    memo = _memo
    if memo is None or dest.parent not in memo.made:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if memo is not None:
            memo.made.add(dest.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=TEMP_SUFFIX, dir=dest.parent)
    try:
        with open(fd, "wb") as handle:
            handle.write(data)
            os.fchmod(fd, _mode_for(dest))
    except BaseException:  # a full disk: the half-written temporary goes too
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def _mode_for(dest: Path) -> int:
    """The permissions of the file being replaced, or 0666 less the umask for a new one."""
    try:
        return dest.stat().st_mode & 0o777
    except OSError:
        memo = _memo
        umask = memo.umask if memo is not None else None
        if umask is None:
            umask = os.umask(0)
            os.umask(umask)
            if memo is not None:
                memo.umask = umask
        return 0o666 & ~umask


def _stage_manifest(p: WritePlan) -> Path:
    data: dict[str, object] = {
        "flow": p.flow,
        "files": dict(sorted(p.manifest.items())),
        "targets": dict(sorted(p.owners.items())),
    }
    if p.spec is not None:
        data["spec"] = p.spec
    body = json.dumps(data, indent=2) + "\n"
    return _stage(p.out_dir, manifest_relpath(p.flow), body.encode("utf-8"))


def manifest_unchanged(p: WritePlan) -> bool:
    data = _read_manifest_data(p.out_dir, p.flow)
    same_spec = p.spec is None or data.get("spec") == p.spec
    return same_spec and (_strings(data.get("files")), _strings(data.get("targets"))) == (p.manifest, p.owners)
