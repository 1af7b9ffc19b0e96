"""The one writer: path guard, atomic all-or-nothing writes, user ownership, exact bytes."""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath

import pytest

from flowgen_design.codegen import writer
from flowgen_design.codegen.files import GeneratedFile, LineNote, UserMerge
from tests.conftest import SKETCH, Runner


def gen(path: str, content: str, **kw: object) -> GeneratedFile:
    return GeneratedFile(PurePosixPath(path), content, **kw)  # type: ignore[arg-type]


def write(out: Path, files: list[GeneratedFile], flow: str = "f") -> writer.WritePlan:
    plan = writer.plan(flow, out, files)
    writer.apply(plan)
    return plan


def actions(plan: writer.WritePlan) -> dict[str, str]:
    return {str(c.path): c.action for c in plan.changes}


def files_below(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_create_then_unchanged_without_touching_mtimes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    files = [gen("a/b.py", "x = 1\n"), gen("c.txt", "hello\n")]
    assert actions(write(out, files)) == {"a/b.py": "create", "c.txt": "create"}
    stamps = {p: (out / p).stat().st_mtime_ns for p in files_below(out)}
    again = writer.plan("f", out, files)
    assert (
        actions(again) == {"a/b.py": "unchanged", "c.txt": "unchanged"}
        and again.stale == []
        and writer.manifest_unchanged(again)
    )
    os.utime(out / "c.txt", ns=(1, 1))  # prove that apply really leaves the file alone
    writer.apply(again)
    assert (out / "c.txt").stat().st_mtime_ns == 1
    assert {p: (out / p).stat().st_mtime_ns for p in files_below(out) if p != "c.txt"} == {
        p: t for p, t in stamps.items() if p != "c.txt"
    }


@pytest.mark.parametrize("bad", ["/etc/passwd", "../escape.txt", "a/../../escape.txt", ".", "a\\b.txt", "nul\0.txt"])
def test_paths_outside_the_folder_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(writer.UnsafePathError):
        writer.plan("f", tmp_path / "out", [gen(bad, "x")])
    assert not (tmp_path / "escape.txt").exists()


def test_symlinked_folder_inside_pointing_outside_is_refused(tmp_path: Path) -> None:
    outside, out = tmp_path / "outside", tmp_path / "out"
    outside.mkdir()
    out.mkdir()
    (out / "python").symlink_to(outside, target_is_directory=True)
    with pytest.raises(writer.UnsafePathError, match="leads outside"):
        writer.plan("f", out, [gen("python/pkg/models.py", "x = 1\n")])
    assert files_below(outside) == []


def test_symlinked_file_inside_pointing_outside_is_refused(tmp_path: Path) -> None:
    outside, out = tmp_path / "secret.txt", tmp_path / "out"
    outside.write_text("keep me")
    out.mkdir()
    (out / "models.py").symlink_to(outside)
    with pytest.raises(writer.UnsafePathError):
        writer.plan("f", out, [gen("models.py", "x = 1\n")])
    assert outside.read_text() == "keep me"


def test_symlinked_manifest_folder_pointing_outside_is_refused(tmp_path: Path) -> None:
    outside, out = tmp_path / "outside", tmp_path / "out"
    outside.mkdir()
    out.mkdir()
    (out / writer.MANIFEST_DIR).symlink_to(outside, target_is_directory=True)
    plan = writer.plan("f", out, [gen("a.txt", "a")])
    with pytest.raises(writer.UnsafePathError):
        writer.apply(plan)
    assert files_below(outside) == [] and not (out / "a.txt").exists()


def test_symlink_that_stays_inside_is_never_written_through(tmp_path: Path) -> None:
    """Once followed; now a conflict: a folder link (`handlers` -> `services`) could turn a
    generated file into the user's own (issue 11)."""
    out = tmp_path / "out"
    (out / "real").mkdir(parents=True)
    (out / "alias").symlink_to(out / "real", target_is_directory=True)
    plan = write(out, [gen("alias/x.txt", "inside")])
    assert actions(plan) == {"alias/x.txt": "conflict"} and "alias is a symbolic link" in plan.stale[0].detail
    assert not (out / "real" / "x.txt").exists()


def test_out_folder_that_is_itself_a_symlink_works(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "out").symlink_to(real, target_is_directory=True)
    write(tmp_path / "out", [gen("x.txt", "x")])
    assert (real / "x.txt").read_text() == "x"


def test_all_or_nothing_when_a_file_cannot_be_staged(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out, [gen("a.txt", "old a\n")])
    (out / "blocked").write_text("a file where a folder is needed")
    plan = writer.plan("f", out, [gen("a.txt", "new a\n"), gen("blocked/b.txt", "b\n")])
    with pytest.raises(OSError):
        writer.apply(plan)
    assert (out / "a.txt").read_text() == "old a\n"
    assert [p for p in files_below(out) if "flowgen-tmp" in p] == []


def test_all_or_nothing_across_flows(tmp_path: Path) -> None:
    """One flow's write failing leaves the other flows of the same run unwritten too."""
    out = tmp_path / "out"
    write(out, [gen("a/one.txt", "old\n")], flow="a")
    (out / "blocked").write_text("a file where a folder is needed")
    plans = [
        writer.plan("a", out, [gen("a/one.txt", "new\n"), gen("a/two.txt", "two\n")]),
        writer.plan("b", out, [gen("blocked/b.txt", "b\n")]),
    ]
    with pytest.raises(OSError):
        writer.apply_all(plans)
    assert (out / "a" / "one.txt").read_text() == "old\n"
    assert not (out / "a" / "two.txt").exists() and not (out / ".flowgen" / "b.json").exists()
    assert [p for p in files_below(out) if "flowgen-tmp" in p] == []
    (out / "blocked").unlink()
    writer.apply_all(plans)
    assert (out / "a" / "two.txt").read_text() == "two\n" and (out / "blocked" / "b.txt").read_text() == "b\n"


def test_folder_in_the_way_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "out" / "models.py").mkdir(parents=True)
    with pytest.raises(writer.UnsafePathError, match="a folder of that name is in the way"):
        writer.plan("f", tmp_path / "out", [gen("models.py", "x")])


def test_two_files_with_one_path_are_refused(tmp_path: Path) -> None:
    with pytest.raises(writer.UnsafePathError, match="two targets produced"):
        writer.plan("f", tmp_path, [gen("a.txt", "1"), gen("a.txt", "2")])


def test_bytes_are_exact_no_newline_translation(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out, [gen("a.txt", "one\r\ntwo\n")])
    assert (out / "a.txt").read_bytes() == b"one\r\ntwo\n"
    (out / "a.txt").write_bytes(b"one\ntwo\n")
    assert actions(writer.plan("f", out, [gen("a.txt", "one\r\ntwo\n")])) == {"a.txt": "update"}


# ---- user-owned files ------------------------------------------------------------------------------


def test_user_file_is_created_once_and_never_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out, [gen("svc.py", "stub\n", ownership="user"), gen("gen.py", "g\n")])
    (out / "svc.py").write_bytes(b"mine\r\n")
    plan = write(out, [gen("svc.py", "new stub\n", ownership="user"), gen("gen.py", "g\n")])
    assert actions(plan) == {"svc.py": "keep-user", "gen.py": "unchanged"} and plan.stale == []
    assert (out / "svc.py").read_bytes() == b"mine\r\n"
    assert json.loads((out / writer.MANIFEST_DIR / "f.json").read_text())["files"]["svc.py"] == writer.USER_OWNED


def test_user_file_merge_conflict_and_notes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out, [gen("svc.py", "stub\n", ownership="user")])
    note = LineNote(1, "old method")
    adds = gen("svc.py", "", ownership="user", merge=lambda text: UserMerge(text + "added\n", ("added it",), (note,)))
    plan = write(out, [adds])
    (change,) = plan.changes
    assert (change.action, change.detail, change.notes) == ("merge", "added it", (note,))
    assert (out / "svc.py").read_text() == "stub\nadded\n"
    refuses = gen("svc.py", "", ownership="user", merge=lambda text: UserMerge(None, ("add `x` by hand",)))
    plan = write(out, [refuses])
    assert [(c.action, c.detail) for c in plan.stale] == [("conflict", "add `x` by hand")]
    assert (out / "svc.py").read_text() == "stub\nadded\n"
    quiet = gen("svc.py", "", ownership="user", merge=lambda text: UserMerge(text, (), (note,)))
    plan = writer.plan("f", out, [quiet])
    assert plan.stale == [] and [c.notes for c in plan.notices] == [(note,)]


# ---- removals ---------------------------------------------------------------------------------------


def test_files_the_spec_no_longer_produces_are_removed_with_their_empty_folders(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out, [gen("pkg/handlers/old.py", "old\n"), gen("pkg/models.py", "m\n")])
    plan = write(out, [gen("pkg/models.py", "m\n")])
    assert actions(plan) == {"pkg/handlers/old.py": "delete", "pkg/models.py": "unchanged"}
    assert files_below(out) == [".flowgen/f.json", "pkg/models.py"] and not (out / "pkg/handlers").exists()


def test_removed_file_edited_since_is_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out, [gen("old.py", "old\n")])
    (out / "old.py").write_text("edited\n")
    for _ in range(2):
        plan = write(out, [])
        assert actions(plan) == {"old.py": "orphan"} and (out / "old.py").read_text() == "edited\n"


def test_user_file_the_spec_drops_is_kept_and_reported_until_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out, [gen("services/old.py", "mine\n", ownership="user"), gen("keep.py", "k\n")])
    for _ in range(2):  # reported on every run while the file is there
        plan = write(out, [gen("keep.py", "k\n")])
        assert actions(plan) == {"services/old.py": "orphan", "keep.py": "unchanged"} and plan.stale == []
        assert "it is yours, so it was left in place" in plan.notices[0].detail
        assert (out / "services/old.py").read_text() == "mine\n"
    (out / "services/old.py").unlink()
    assert actions(write(out, [gen("keep.py", "k\n")])) == {"keep.py": "unchanged"}


def test_tampered_manifest_cannot_delete_outside(tmp_path: Path) -> None:
    out, victim = tmp_path / "out", tmp_path / "victim.txt"
    victim.write_text("v")
    write(out, [gen("a.txt", "a")])
    (out / writer.MANIFEST_DIR / "f.json").write_text(json.dumps({"files": {"../victim.txt": writer._digest("v")}}))
    write(out, [gen("a.txt", "a")])
    assert victim.read_text() == "v"


def test_flows_keep_separate_manifests(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out, [gen("shared.toml", "same\n"), gen("a/x.py", "a\n")], flow="a")
    write(out, [gen("shared.toml", "same\n"), gen("b/x.py", "b\n")], flow="b")
    plan = write(out, [gen("shared.toml", "same\n"), gen("a/x.py", "a\n")], flow="a")
    assert set(actions(plan).values()) == {"unchanged"} and (out / "b/x.py").exists()


def test_generating_one_target_keeps_the_other_targets_files(flowgen: Runner, tmp_path: Path) -> None:
    """`--target python` after a full generate must not delete the infrastructure or diagrams."""
    out = tmp_path / "out"
    assert (
        flowgen("generate", str(SKETCH), "--out", str(out), "--target", "python", "--target", "diagrams").returncode
        == 0
    )
    before = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file() and ".flowgen" not in p.parts)
    result = flowgen("generate", str(SKETCH), "--out", str(out), "--target", "python")
    assert result.returncode == 0, result.stderr
    assert "delete" not in result.stdout
    after = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file() and ".flowgen" not in p.parts)
    assert after == before
    assert any(p.parts[0] == "diagrams" for p in after)
    assert flowgen("generate", str(SKETCH), "--out", str(out), "--check").returncode == 1  # other targets never ran
    assert flowgen("generate", str(SKETCH), "--out", str(out), "--target", "python", "--check").returncode == 0


def test_new_files_get_ordinary_permissions(flowgen: Runner, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert flowgen("generate", str(SKETCH), "--out", str(out), "--target", "python").returncode == 0
    umask = os.umask(0)
    os.umask(umask)
    modes = {p.stat().st_mode & 0o777 for p in out.rglob("*.py")}
    assert modes == {0o666 & ~umask}


# ---- losing nothing (issue 11) -----------------------------------------------------------------------


def test_a_generated_path_that_links_to_a_user_file_is_a_conflict(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out, [gen("services/orders.py", "mine\n", ownership="user"), gen("handlers/orders.py", "gen\n")])
    (out / "handlers/orders.py").unlink()
    (out / "handlers/orders.py").symlink_to(out / "services/orders.py")
    for ownership in ("generated", "user"):
        mine = gen("services/orders.py", "stub\n", ownership="user")
        plan = write(out, [mine, gen("handlers/orders.py", "gen v2\n", ownership=ownership)])
        assert actions(plan) == {"handlers/orders.py": "conflict", "services/orders.py": "keep-user"}, ownership
        assert "symbolic link" in plan.stale[0].detail
        assert (out / "services/orders.py").read_text() == "mine\n"
        assert (out / "handlers/orders.py").is_symlink()


def test_an_edit_saved_while_generate_runs_is_never_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out, [gen("svc.py", "class S:\n    pass\n", ownership="user")])
    adds = gen("svc.py", "", ownership="user", merge=lambda text: UserMerge(text + "    def new(self): ...\n"))
    plan = writer.plan("f", out, [adds, gen("gen.py", "g\n")])
    assert actions(plan)["svc.py"] == "merge"
    (out / "svc.py").write_text("class S:\n    def mine(self): ...\n")  # saved after the merge was computed
    writer.apply(plan)
    assert (out / "svc.py").read_text() == "class S:\n    def mine(self): ...\n"
    assert [(str(c.path), c.action) for c in plan.refused] == [("svc.py", "conflict")]
    assert plan.stamp is None and (out / "gen.py").read_text() == "g\n"
    assert [p.name for p in out.iterdir() if p.name.endswith(writer.TEMP_SUFFIX)] == []


def test_a_user_file_created_while_generate_runs_is_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    plan = writer.plan("f", out, [gen("svc.py", "stub\n", ownership="user")])
    out.mkdir(parents=True, exist_ok=True)
    (out / "svc.py").write_text("mine\n")
    writer.apply(plan)
    assert (out / "svc.py").read_text() == "mine\n" and len(plan.refused) == 1


def test_a_stale_file_edited_while_generate_runs_is_not_deleted(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out, [gen("old.py", "old\n")])
    plan = writer.plan("f", out, [])
    (out / "old.py").write_text("edited\n")
    writer.apply(plan)
    assert (out / "old.py").read_text() == "edited\n"


# ---- leftovers and renames (issue 11) -------------------------------------------------------------------


def test_temporary_files_of_a_killed_run_are_listed_then_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out, [gen("pkg/a.py", "a\n")])
    leftovers = [out / "pkg/.a.py.k1l2d3x4.flowgen-tmp", out / ".flowgen/.f.json.abcd1234.flowgen-tmp"]
    for tmp in leftovers:
        tmp.write_text("half")
    (out / "pkg/.other.py.k1l2d3x4.flowgen-tmp").write_text("not ours")
    plan = writer.plan("f", out, [gen("pkg/a.py", "a\n")])
    assert sorted(str(c.path) for c in plan.stale) == [
        ".flowgen/.f.json.abcd1234.flowgen-tmp",
        "pkg/.a.py.k1l2d3x4.flowgen-tmp",
    ]
    writer.apply(plan)
    assert not any(tmp.exists() for tmp in leftovers) and (out / "pkg/.other.py.k1l2d3x4.flowgen-tmp").exists()


def test_stale_files_go_before_the_manifest_is_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    write(out, [gen("old.py", "old\n"), gen("new.py", "n\n")])
    plan = writer.plan("f", out, [gen("new.py", "n2\n")])
    order: list[str] = []
    real_replace, real_unlink = os.replace, Path.unlink
    monkeypatch.setattr(os, "replace", lambda a, b: (order.append(f"replace {Path(b).name}"), real_replace(a, b))[1])  # type: ignore[func-returns-value]
    monkeypatch.setattr(
        Path,
        "unlink",
        lambda self, missing_ok=False: (order.append(f"unlink {self.name}"), real_unlink(self, missing_ok))[1],  # type: ignore[func-returns-value]
    )
    writer.apply(plan)
    assert [o for o in order if "flowgen-tmp" not in o] == ["replace new.py", "unlink old.py", "replace f.json"]


def test_renaming_a_flow_removes_the_old_names_outputs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = writer.plan(
        "orders",
        out,
        [gen("py/orders/m.py", "m\n"), gen("py/orders/svc.py", "mine\n", ownership="user")],
        spec="specs/o.flow",
    )
    writer.apply(first)
    renamed = writer.plan("ordering", out, [gen("py/ordering/m.py", "m\n")], spec="specs/o.flow")
    writer.apply(renamed)
    assert files_below(out) == [".flowgen/ordering.json", "py/ordering/m.py", "py/orders/svc.py"]
    assert [c.action for c in renamed.changes if str(c.path) == "py/orders/svc.py"] == ["orphan"]
    manifest = json.loads((out / ".flowgen/ordering.json").read_text())
    assert manifest["spec"] == "specs/o.flow" and manifest["files"]["py/orders/svc.py"] == writer.USER_OWNED


def test_an_output_folder_that_is_a_loop_of_links_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.symlink_to(out)
    with pytest.raises(writer.UnsafePathError, match="cannot write"):
        writer.plan("f", out, [gen("a.py", "a\n")])


def test_two_specs_that_swap_flow_names_keep_each_others_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    writer.apply_all(
        [
            writer.plan("a", out, [gen("a/x.py", "from spec 1\n")], spec="one.flow"),
            writer.plan("b", out, [gen("b/x.py", "from spec 2\n")], spec="two.flow"),
        ]
    )
    swapped = [
        writer.plan("b", out, [gen("b/x.py", "from spec 1\n")], spec="one.flow"),
        writer.plan("a", out, [gen("a/x.py", "from spec 2\n")], spec="two.flow"),
    ]
    writer.apply_all(swapped)
    assert (out / "a/x.py").read_text() == "from spec 2\n" and (out / "b/x.py").read_text() == "from spec 1\n"
    assert sorted(p.name for p in (out / ".flowgen").iterdir()) == ["a.json", "b.json"]
    assert [p.refused for p in swapped] == [[], []]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_large_files_are_planned_alike_whether_hashed_aside_or_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: str
) -> None:
    """Documents of a quarter of a megabyte and more are digested in threads while the plan goes on
    (`writer._hashing`), unless FLOWGEN_JOBS=1: the plan is the same, the digests are the bytes',
    and no thread outlives it."""
    import hashlib
    import threading

    monkeypatch.setenv("FLOWGEN_JOBS", jobs)
    out = tmp_path / "out"
    big = "é" + "x" * writer._ASIDE  # not ASCII: the digest is of the encoded bytes
    files = [gen("doc/one.html", big), gen("doc/two.json", big + "2"), gen("small.txt", "s\n")]
    first = write(out, files)
    assert actions(first) == {"doc/one.html": "create", "doc/two.json": "create", "small.txt": "create"}
    assert first.manifest["doc/two.json"] == hashlib.sha256((big + "2").encode("utf-8")).hexdigest()
    assert (out / "doc/one.html").read_bytes() == big.encode("utf-8")
    edited = [gen("doc/one.html", big), gen("doc/two.json", big + "3"), gen("small.txt", "s\n")]
    again = writer.plan("f", out, edited)
    assert actions(again) == {"doc/one.html": "unchanged", "doc/two.json": "update", "small.txt": "unchanged"}
    assert again.manifest["doc/one.html"] == first.manifest["doc/one.html"]
    assert again.encoded[PurePosixPath("doc/two.json")] == (big + "3").encode("utf-8")
    assert not [t for t in threading.enumerate() if t.name == "flowgen-digest"]


def test_without_a_thread_to_be_had_the_plan_hashes_in_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A limit on processes can refuse a thread: the plan is the same, hashed in the plan's thread."""
    import hashlib
    import threading

    monkeypatch.setenv("FLOWGEN_JOBS", "2")

    def refused(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refused)
    big = "x" * writer._ASIDE
    plan = writer.plan("f", tmp_path / "out", [gen("a.html", big), gen("b.html", big + "b")])
    assert actions(plan) == {"a.html": "create", "b.html": "create"}
    assert plan.manifest["b.html"] == hashlib.sha256((big + "b").encode()).hexdigest()
