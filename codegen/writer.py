"""The one writer: every target's files go to disk through here.

Guarantees, in order of importance:
- user-owned files are never overwritten: created once, then only extended by
  their target's merge function, and only when that merge is purely additive;
- nothing is written outside the output folder (no absolute paths, no `..`,
  no symlink that leads out);
- all-or-nothing: every new content is first written to a temporary file next
  to its destination, and only when all of them are written are they moved
  into place (`os.replace`, atomic per file);
- files whose content is unchanged are not touched, so their mtimes stay;
- generated files that the spec no longer produces are removed, unless someone
  edited them since (a per-flow manifest remembers what flowgen wrote, and which
  target wrote it, so `--target python` never removes the other targets' files);
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
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from flowgen_design.codegen.files import GeneratedFile, LineNote

Action = Literal["create", "update", "delete", "merge", "keep-user", "conflict", "unchanged", "orphan"]
MANIFEST_DIR = ".flowgen"
# The manifest entry of a user-owned file: never deleted, but reported once the spec drops it.
USER_OWNED = "user"


class UnsafePathError(ValueError):
    """A target produced a path outside the output folder: a bug, or a hostile spec name."""


@dataclass(frozen=True)
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
    root = out_dir.resolve()
    dest = (root / Path(*rel.parts)).resolve()
    if dest != root and root not in dest.parents:
        raise UnsafePathError(f"refusing to write {rel!s}: it leads outside {out_dir}")
    return dest


def manifest_relpath(flow: str) -> PurePosixPath:
    return PurePosixPath(MANIFEST_DIR) / f"{flow}.json"


def _read_manifest_data(out_dir: Path, flow: str) -> dict[str, object]:
    try:
        data = json.loads(safe_destination(out_dir, manifest_relpath(flow)).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnsafePathError):
        return {}
    return data if isinstance(data, dict) else {}


def _strings(value: object) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def read_manifest(out_dir: Path, flow: str) -> tuple[dict[str, str], dict[str, str]]:
    """The manifest's files (path -> digest, or `USER_OWNED`) and which target wrote each
    (empty for manifests of older flowgens); both empty when there is no readable manifest."""
    data = _read_manifest_data(out_dir, flow)
    return _strings(data.get("files")), _strings(data.get("targets"))


def _read(path: Path) -> str | None:
    """The exact text of a file (no newline translation), or None if it cannot be read as UTF-8."""
    try:
        return path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def plan(
    flow: str,
    out_dir: Path,
    files: list[GeneratedFile],
    ran: Collection[str] | None = None,
    stamp: str | None = None,
) -> WritePlan:
    """Decide what writing `files` would do, without touching the disk.

    `ran` names the targets that produced `files`; files that other targets wrote
    earlier are left alone. None means `files` is everything the flow produces.
    `stamp` is the inputs stamp of this run, recorded unless the run has something
    to tell the user (a conflict, an orphan, a note), which every run must repeat.
    """
    result = WritePlan(flow=flow, out_dir=out_dir)
    seen: set[PurePosixPath] = set()
    for f in sorted(files, key=lambda f: str(f.path)):
        if f.path in seen:
            raise UnsafePathError(f"two targets produced {f.path}")
        seen.add(f.path)
        if f.target:
            result.owners[str(f.path)] = f.target
        dest = safe_destination(out_dir, f.path)
        if dest.is_dir():
            raise UnsafePathError(f"refusing to write {f.path}: a folder of that name is in the way")
        existing = _read(dest) if dest.exists() else None
        if f.is_user_owned:
            _plan_user(result, f, existing, dest.exists())
        else:
            _plan_generated(result, f, existing)
    _plan_removals(result, seen, ran)
    if stamp is not None and not result.repeated_notices:
        result.stamp = stamp
    return result


def _plan_generated(result: WritePlan, f: GeneratedFile, existing: str | None) -> None:
    result.manifest[str(f.path)] = _digest(f.content)
    if existing == f.content:
        result.changes.append(Change(f.path, "unchanged"))
        return
    result.changes.append(Change(f.path, "create" if existing is None else "update"))
    result.contents[f.path] = f.content


def _plan_user(result: WritePlan, f: GeneratedFile, existing: str | None, exists: bool) -> None:
    key = str(f.path)
    result.manifest[key] = USER_OWNED
    if not exists:
        notes = f.merge(f.content).notes if f.merge is not None else ()
        result.changes.append(Change(f.path, "create", "user-owned: yours to edit", notes))
        result.contents[f.path] = f.content
        result.user_digests[key] = _digest(f.content)
        return
    if existing is None:  # unreadable as UTF-8: left alone, and never skipped
        result.changes.append(Change(f.path, "keep-user"))
        return
    result.user_digests[key] = _digest(existing)
    if f.merge is None:
        result.changes.append(Change(f.path, "keep-user"))
        return
    merged = f.merge(existing)
    detail = "; ".join(merged.messages)
    if merged.content is None or merged.content == existing:
        action: Action = "conflict" if merged.content is None and detail else "keep-user"
        result.changes.append(Change(f.path, action, detail, merged.notes))
        return
    result.changes.append(Change(f.path, "merge", detail, merged.notes))
    result.contents[f.path] = merged.content
    result.user_digests[key] = _digest(merged.content)


def _plan_removals(result: WritePlan, produced: set[PurePosixPath], ran: Collection[str] | None) -> None:
    old, old_owners = read_manifest(result.out_dir, result.flow)
    for rel_text, digest in sorted(old.items()):
        rel = PurePosixPath(rel_text)
        if rel in produced:
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
        if digest != USER_OWNED and _digest(current) == digest:
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


def apply(p: WritePlan) -> None:
    """Write the plan: temporary files first, then move every one into place."""
    apply_all([p])


def apply_all(plans: Sequence[WritePlan]) -> None:
    """Write several plans (one per flow) as one: every temporary file of every flow is
    written first, and only then is each moved into place, so a failure leaves every
    flow's output as it was. Deletions come last."""
    staged: list[tuple[Path, Path]] = []
    moved = 0
    try:
        for p in plans:
            for rel, content in sorted(p.contents.items(), key=lambda kv: str(kv[0])):
                staged.append((_stage(p.out_dir, rel, content), safe_destination(p.out_dir, rel)))
            if not manifest_unchanged(p):
                staged.append((_stage_manifest(p), safe_destination(p.out_dir, manifest_relpath(p.flow))))
        for tmp, dest in staged:
            os.replace(tmp, dest)
            moved += 1
    finally:
        for tmp, _ in staged[moved:]:
            tmp.unlink(missing_ok=True)
    for p in plans:
        for change in p.changes:
            if change.action == "delete":
                dest = safe_destination(p.out_dir, change.path)
                dest.unlink(missing_ok=True)
                _remove_empty_folders(dest.parent, p.out_dir.resolve())


def _remove_empty_folders(folder: Path, root: Path) -> None:
    """Remove folders left empty by deletions, up to (not including) the output folder."""
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def _stage(out_dir: Path, rel: PurePosixPath, content: str) -> Path:
    dest = safe_destination(out_dir, rel)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".flowgen-tmp", dir=dest.parent)
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(content)
    os.chmod(tmp, _mode_for(dest))
    return Path(tmp)


def _mode_for(dest: Path) -> int:
    """The permissions of the file being replaced, or 0666 less the umask for a new one."""
    try:
        return dest.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _stage_manifest(p: WritePlan) -> Path:
    data = {"flow": p.flow, "files": dict(sorted(p.manifest.items())), "targets": dict(sorted(p.owners.items()))}
    body = json.dumps(data, indent=2) + "\n"
    return _stage(p.out_dir, manifest_relpath(p.flow), body)


def manifest_unchanged(p: WritePlan) -> bool:
    return read_manifest(p.out_dir, p.flow) == (p.manifest, p.owners)
