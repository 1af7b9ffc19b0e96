"""A run with nothing to do builds nothing; any change of input or output makes it do the full work."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flowgen_design.cli import main
from flowgen_design.codegen import stamp as stamps
from flowgen_design.codegen import targets
from flowgen_design.codegen.targets import Target, all_targets
from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # generates every target (black, dot) several times

CHECKOUT = ROOT / "specs" / "checkout.flow"
MONEY = ROOT / "specs" / "shared" / "money.flow"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FLOWGEN_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "shared").mkdir()
    shutil.copy(CHECKOUT, tmp_path / "checkout.flow")
    shutil.copy(MONEY, tmp_path / "shared" / "money.flow")
    return tmp_path


@pytest.fixture(autouse=True)
def _process_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stamps, "_STARTED_NS", stamps._STARTED_NS)  # restored after the test


def generate(project: Path, *extra: str) -> int:
    """`flowgen generate` as a new process would run it: started now (the status check's clock)."""
    stamps._STARTED_NS = time.time_ns()
    return main(["generate", str(project / "checkout.flow"), "-o", str(project / "out"), *extra])


def _record(project: Path) -> dict[str, object]:
    (path,) = [p for p in (project / "cache" / "stamps").rglob("*") if p.is_file() and "." not in p.name]
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the targets built while the test runs (each still builds for real), all in this
    process, where they are counted (none `APART`, in a process of its own)."""
    monkeypatch.setattr(targets, "APART", ())
    built: list[str] = []
    for name, target in all_targets().items():

        def build(flow: object, options: object, _target: Target = target) -> object:
            built.append(_target.name)
            return _target.build(flow, options)  # type: ignore[arg-type]

        monkeypatch.setitem(targets._REGISTRY, name, Target(target.name, target.description, build))  # type: ignore[arg-type]
    yield built


def outputs(project: Path) -> dict[str, tuple[bytes, int]]:
    out = project / "out"
    return {
        str(p.relative_to(out)): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(out.rglob("*")) if p.is_file()
    }


def test_an_unchanged_spec_builds_nothing_and_touches_nothing(
    project: Path, builds: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert generate(project) == 0
    assert builds == list(all_targets())
    first = capsys.readouterr().out
    before = outputs(project)
    builds.clear()
    assert generate(project) == 0
    assert builds == []
    assert outputs(project) == before
    done = capsys.readouterr().out.strip()
    assert done.startswith("done:") and "keep-user" in done and "unchanged" in done
    assert generate(project, "--check") == 0 and builds == []
    assert capsys.readouterr().out.strip() == "generated files are up to date"
    assert "create" in first


@pytest.mark.parametrize(
    "change",
    [
        "a comment in the spec",
        "an imported spec",
        "a generated file edited",
        "a generated file deleted",
        "a user file edited",
        "the manifest edited",
        "the record lost",
        "the record damaged",
    ],
)
def test_any_change_means_a_full_run_and_then_a_skip_again(project: Path, builds: list[str], change: str) -> None:
    assert generate(project) == 0
    out = project / "out"
    generated = out / "asyncapi" / "checkout.asyncapi.yaml"
    (user_file,) = [p for p in (out / "python").rglob("services/*.py") if p.name.startswith("orders")]
    if change == "a comment in the spec":
        with (project / "checkout.flow").open("a") as spec:
            spec.write("// a new comment\n")
    elif change == "an imported spec":
        with (project / "shared" / "money.flow").open("a") as spec:
            spec.write("// a new comment\n")
    elif change == "a generated file edited":
        generated.write_text(generated.read_text() + "# edited\n")
    elif change == "a generated file deleted":
        generated.unlink()
    elif change == "a user file edited":
        user_file.write_text(user_file.read_text() + "\n\nHELPER = 1\n")
    elif change == "the manifest edited":
        manifest = out / ".flowgen" / "checkout.json"
        manifest.write_text(manifest.read_text().replace('"flow": "checkout"', '"flow": "checkout" '))
    elif change == "the record lost":
        shutil.rmtree(project / "cache" / "stamps")
    else:
        for record in (p for p in (project / "cache" / "stamps").rglob("*") if p.is_file()):
            record.write_text(record.read_text()[:-10])
    user_text = user_file.read_text()
    builds.clear()
    assert generate(project) == 0
    assert builds == list(all_targets()), "the change must be noticed"
    assert "# edited" not in generated.read_text() and generated.exists()
    assert user_file.read_text() == user_text, "user code is never touched"
    builds.clear()
    assert generate(project) == 0
    assert builds == [], "the full run recorded the new state"


def test_settled_files_are_checked_by_their_status_and_not_read(
    project: Path, builds: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files this run wrote are read by the next run (written within a clock tick of the status it
    would record), which then records their status; the run after reads none of them."""
    assert generate(project) == 0
    files = _record(project)["files"]
    assert isinstance(files, dict) and len(files) > 20
    assert _record(project)["statuses"] == {}, "every file was just written: nothing settled yet"
    time.sleep(0.06)  # more than a tick of a nanosecond clock
    builds.clear()
    assert generate(project) == 0 and builds == []
    statuses = _record(project)["statuses"]
    assert isinstance(statuses, dict) and set(statuses) == set(files)
    read: list[str] = []
    real = stamps._file_digest

    def reading(out: Path, rel: str, *more: Any) -> str | None:
        read.append(rel)
        return real(out, rel, *more)

    monkeypatch.setattr(stamps, "_file_digest", reading)
    assert generate(project) == 0 and builds == []
    assert read == []


@pytest.mark.parametrize("ahead", [False, True])
def test_an_edit_run_reads_each_settled_document_once(
    project: Path, builds: list[str], monkeypatch: pytest.MonkeyPatch, ahead: bool
) -> None:
    """The record's check, the fragments, the lazy files, the writer's plan and its last look
    before replacing a file share what the run found on disk (`codegen.ondisk`); read ahead
    while the spec is checked (two cores, a document counted as large) or when first needed."""
    from flowgen_design.codegen import ondisk

    monkeypatch.setenv("FLOWGEN_JOBS", "2" if ahead else "1")
    if ahead:
        monkeypatch.setattr(ondisk, "KEPT_FROM", 1024)
    assert generate(project) == 0
    time.sleep(0.06)
    assert generate(project) == 0  # records the statuses
    with (project / "checkout.flow").open("a") as spec:
        spec.write("// a new comment\n")
    document = project / "out" / "asyncapi" / "checkout.asyncapi.yaml"
    reads: list[str] = []
    real, real_ahead = ondisk.read_regular, ondisk._read_plain

    def reading(path: Path | str, limit: int | None = None) -> bytes:
        if Path(path).name == document.name:
            reads.append(str(path))
        return real(path, limit)

    def reading_ahead(path: str) -> tuple[ondisk.Status, bytes] | None:
        if Path(path).name == document.name:
            reads.append("ahead")
        return real_ahead(path)

    monkeypatch.setattr(ondisk, "read_regular", reading)  # every read of the output folder's files
    monkeypatch.setattr(ondisk, "_read_plain", reading_ahead)  # and the reads ahead (`read_ahead`)
    builds.clear()
    assert generate(project) == 0 and builds
    assert len(reads) == 1, "read once, for its fragments; its digest is known to every other step"
    assert (reads == ["ahead"]) is ahead


@pytest.mark.parametrize("change", ["same size and times", "a link to a copy", "removed and written again"])
def test_a_settled_file_changed_behind_its_status_is_noticed(project: Path, builds: list[str], change: str) -> None:
    assert generate(project) == 0
    time.sleep(0.06)
    assert generate(project) == 0  # records the statuses
    generated = project / "out" / "asyncapi" / "checkout.asyncapi.yaml"
    original = generated.read_text()
    before = generated.stat()
    if change == "same size and times":  # one character changed, the times put back: only ctime tells
        generated.write_text(original.replace("asyncapi: 3.0.0", "asyncapi: 3.0.9"))
        os.utime(generated, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert generated.stat().st_size == before.st_size
    elif change == "a link to a copy":
        copy = project / "copy.yaml"
        copy.write_text(original)
        generated.unlink()
        generated.symlink_to(copy)
    else:
        generated.unlink()
        generated.write_text(original.replace("asyncapi: 3.0.0", "asyncapi: 3.0.9"))
    builds.clear()
    if change == "a link to a copy":  # noticed, and refused as ever: the writer never writes through a link
        assert generate(project) != 0 and builds == list(all_targets())
        return
    assert generate(project) == 0
    assert builds == list(all_targets()), "the change must be noticed"
    assert generated.read_text() == original


def test_a_file_changed_while_a_run_runs_is_noticed_by_the_next(
    project: Path, builds: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file the run does not write keeps the status it was found with; one changed after that
    (by someone else, while the run ran) has another status next time, so it is read."""
    from flowgen_design.codegen import writer

    assert generate(project) == 0
    time.sleep(0.06)
    assert generate(project) == 0  # records the statuses
    generated = project / "out" / "asyncapi" / "checkout.asyncapi.yaml"
    original = generated.read_text()
    real = writer.apply_all

    def meanwhile(plans: Any) -> None:
        real(plans)
        generated.write_text(original.replace("asyncapi: 3.0.0", "asyncapi: 3.0.9"))

    monkeypatch.setattr(writer, "apply_all", meanwhile)
    spec = project / "checkout.flow"
    spec.write_text(spec.read_text() + "// an edit\n")  # not a run with nothing to do
    time.sleep(0.06)
    assert generate(project) == 0
    monkeypatch.setattr(writer, "apply_all", real)
    statuses = _record(project)["statuses"]
    assert isinstance(statuses, dict) and "asyncapi/checkout.asyncapi.yaml" in statuses  # as found, before the change
    builds.clear()
    spec.write_text(spec.read_text() + "// another\n")
    assert generate(project) == 0
    assert builds == list(all_targets()), "the change must be noticed"
    assert generated.read_text() == original


def test_a_status_is_recorded_only_when_a_later_write_must_show() -> None:
    now = stamps._STARTED_NS
    fine, whole = 123_456_789, 1_000_000_000
    assert stamps._settled((1, now - 10**9 + fine, now - 10**9 + fine, 1, 1))
    assert not stamps._settled((1, now - 10_000_000, now - 10_000_000, 1, 1))  # within a tick of a fine clock
    old_whole = (now // whole - 1) * whole  # whole seconds: a clock that may tick once in two seconds
    assert not stamps._settled((1, old_whole, old_whole, 1, 1))
    assert stamps._settled((1, old_whole - 2 * whole, old_whole - 2 * whole, 1, 1))
    assert not stamps._settled((1, now - 10**10, now, 1, 1)), "the later of the two times decides"


def test_check_mode_reports_an_edited_file_as_stale(project: Path, builds: list[str]) -> None:
    assert generate(project) == 0
    generated = project / "out" / "asyncapi" / "checkout.asyncapi.yaml"
    generated.write_text("edited\n")
    builds.clear()
    assert generate(project, "--check") == 1
    assert builds
    assert generated.read_text() == "edited\n", "--check writes nothing"


def test_other_targets_are_a_different_stamp(project: Path, builds: list[str]) -> None:
    assert generate(project) == 0
    builds.clear()
    assert generate(project, "--target", "python") == 0
    assert builds == ["python"]
    builds.clear()
    assert generate(project, "--target", "python") == 0
    assert builds == []


def test_a_run_with_something_to_say_is_never_skipped(
    project: Path, builds: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Warnings (here an orphaned handler in the user's file) repeat on every run until someone acts."""
    assert generate(project) == 0
    user_file = project / "out" / "python" / "checkout" / "services" / "shipping.py"
    user_file.write_text(
        user_file.read_text() + "\n    @override\n    def cancel_shipment(self) -> None:\n        pass\n"
    )
    capsys.readouterr()
    for _ in range(3):
        builds.clear()
        assert generate(project) == 0
        assert builds, "a run that warns must run again next time"
        assert "`cancel_shipment` is no longer a handler of `Shipping`" in capsys.readouterr().err
    user_file.write_text(user_file.read_text().split("\n    @override\n    def cancel_shipment")[0] + "\n")
    assert generate(project) == 0
    builds.clear()
    assert generate(project) == 0
    assert builds == [], "once the warning is dealt with, runs are skipped again"


def test_the_stamp_covers_every_input(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    base = dict(
        sources={"a.flow": "flow a version 1.0.0\n"}, project_path="a.flow", targets=["python"], out_dir=tmp_path
    )
    first = stamps.inputs_stamp(**base)  # type: ignore[arg-type]
    assert stamps.inputs_stamp(**base) == first  # type: ignore[arg-type]
    variants = [
        {"sources": {"a.flow": "flow a version 1.0.1\n"}},
        {"sources": {"b.flow": "flow a version 1.0.0\n"}},
        {"sources": {"a.flow": "flow a version 1.0.0\n", "m.flow": ""}},
        {"project_path": "specs/a.flow"},
        {"targets": ["python", "asyncapi"]},
        {"out_dir": tmp_path / "other"},
    ]
    for variant in variants:
        assert stamps.inputs_stamp(**{**base, **variant}) != first, variant  # type: ignore[arg-type, dict-item]
    monkeypatch.setattr(stamps, "code_digest", lambda: "another flowgen")
    assert stamps.inputs_stamp(**base) != first  # type: ignore[arg-type]
    monkeypatch.undo()
    monkeypatch.setattr(stamps, "file_identity", lambda path: f"another tool at {path}")
    assert stamps.inputs_stamp(**base) != first  # type: ignore[arg-type]


def test_the_code_digest_follows_every_file_of_the_packages_but_not_bytecode(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    package = tmp_path / "fakeflowgen"
    (package / "templates").mkdir(parents=True)
    (package / "__init__.py").write_text("X = 1\n")
    (package / "templates" / "page.html").write_text("<p>\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(stamps, "_PACKAGES", ("fakeflowgen",))
    digests = []
    for change in (None, "bytecode", "template", "code"):
        if change == "bytecode":
            (package / "__pycache__").mkdir()
            (package / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"\0")
        elif change == "template":
            (package / "templates" / "page.html").write_text("<p>changed\n")
        elif change == "code":
            (package / "__init__.py").write_text("X = 2\n")
        stamps.code_digest.cache_clear()
        digests.append(stamps.code_digest())
    stamps.code_digest.cache_clear()
    assert digests[0] == digests[1], "bytecode is not code"
    assert len(set(digests[1:])) == 3, "every edit of a file changes the digest"


def test_the_code_digest_reads_nested_folders_and_linked_files_but_no_linked_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    package, elsewhere = tmp_path / "fakeflowgen", tmp_path / "elsewhere"
    (package / "a" / "b").mkdir(parents=True)
    elsewhere.mkdir()
    (package / "__init__.py").write_text("X = 1\n")
    (package / "a" / "b" / "deep.lark").write_text("start: x\n")
    (elsewhere / "linked.txt").write_text("one\n")
    (elsewhere / "inside.txt").write_text("one\n")
    (package / "linked.txt").symlink_to(elsewhere / "linked.txt")
    (package / "folder").symlink_to(elsewhere, target_is_directory=True)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(stamps, "_PACKAGES", ("fakeflowgen",))

    def digest() -> str:
        stamps.code_digest.cache_clear()
        try:
            return stamps.code_digest()
        finally:
            stamps.code_digest.cache_clear()

    first = digest()
    (elsewhere / "inside.txt").write_text("two\n")
    assert digest() == first, "a linked folder is not walked (it could lead anywhere, or in circles)"
    (elsewhere / "linked.txt").write_text("two\n")
    second = digest()
    assert second != first, "a linked file is read"
    (package / "a" / "b" / "deep.lark").write_text("start: y\n")
    assert digest() != second, "a file deep in the package counts"
    found = [parts for parts, _ in stamps._package_files(str(package))]
    assert found == [("__init__.py",), ("a", "b", "deep.lark"), ("linked.txt",)]


GOOD_FRAGMENTS = {
    "review/bench.html": {
        "keys": ["k1", "k2"],
        "offsets": [0, 10],
        "lengths": [10, 5],
        "holes": [[1, [[1, 3, [0, 2]], [4, 2, [1]]]]],
    },
    "asyncapi/bench.asyncapi.yaml": {"keys": [], "offsets": [], "lengths": [], "holes": []},
}


def _spoilt(path: tuple[object, ...], value: object) -> dict[str, Any]:
    spoilt: Any = json.loads(json.dumps(GOOD_FRAGMENTS))
    *inner, last = path
    target = spoilt
    for step in inner:
        target = target[step]
    if value is _GONE:
        del target[last]
    else:
        target[last] = value
    return dict(spoilt)


_GONE = object()


def _entries(listing: Any) -> list[Any]:
    return [listing.entry(at) for at in range(len(listing.keys))]


def test_the_records_fragments_are_read_as_they_were_written() -> None:
    found = stamps._fragments(json.loads(json.dumps(GOOD_FRAGMENTS)))
    assert found is not None
    assert {rel: _entries(listing) for rel, listing in found.items()} == {
        "review/bench.html": [("k1", 0, 10, []), ("k2", 10, 5, [(1, 3, [0, 2]), (4, 2, [1])])],
        "asyncapi/bench.asyncapi.yaml": [],
    }
    assert found["review/bench.html"].entry(1).holes[0] == (1, 3, [0, 2])


def test_the_fragments_written_are_the_fragments_read() -> None:
    """What `record` writes of a document's fragments (`_columns`) reads back as they were."""
    from flowgen_design.codegen.fragments import Listing, Recorded

    listed = [Recorded("a", 0, 4, []), Recorded("b", 4, 9, [(2, 3, [1]), (6, 1, [0, 3])]), Recorded("a", 13, 2, [])]
    written = json.loads(json.dumps({"review/x.html": stamps._columns(Listing.of(listed))}))
    found = stamps._fragments(written)
    assert found is not None and _entries(found["review/x.html"]) == listed


def test_a_fragment_past_the_end_of_its_document_is_not_indexed() -> None:
    """A listing names a fragment by key; one whose text would run past the document is left out,
    and a key listed twice names the later fragment."""
    from flowgen_design.codegen.fragments import Index, Listing, Recorded

    listing = Listing.of([Recorded("a", 0, 4, []), Recorded("b", 4, 9, [(2, 3, [1])]), Recorded("a", 13, 2, [])])
    index = Index(listing, 15)
    assert sorted(index) == ["a", "b"] and index["a"] == ("a", 13, 2, []) and index.get("b") == listing.entry(1)
    short = Index(listing, 12)  # the second fragment ends at 13, the third at 15
    assert sorted(short) == ["a"] and len(short) == 1 and "b" not in short and short.get("b") is None
    assert short["a"] == ("a", 0, 4, [])


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("review/bench.html",), ["k1", 0, 10, []]),  # the old form: rows, not columns
        (("review/bench.html", "keys"), _GONE),  # a column missing
        (("review/bench.html", "lengths"), [10]),  # columns of different lengths
        (("review/bench.html", "keys", 0), 7),  # a key that is no text
        (("review/bench.html", "offsets", 1), -1),  # a negative offset
        (("review/bench.html", "lengths", 0), True),  # a length that is no number
        (("review/bench.html", "holes"), None),  # holes that are no list
        (("review/bench.html", "holes", 0, 0), 2),  # holes of a fragment not listed
        (("review/bench.html", "holes", 0, 1), []),  # a fragment listed with holes but none
        (("review/bench.html", "holes", 0, 1, 0), [1, 3]),  # a hole too short
        (("review/bench.html", "holes", 0, 1, 0, 1), "3"),
        (("review/bench.html", "holes", 0, 1, 1, 2), []),  # a hole filled from no slot
        (("review/bench.html", "holes", 0, 1, 1, 2, 0), False),
        (("review/bench.html", "holes", 0, 1, 1, 2, 0), -2),
    ],
)
def test_a_malformed_fragment_entry_means_no_fragments(path: tuple[object, ...], value: object) -> None:
    assert stamps._fragments(_spoilt(path, value)) is None


def test_only_well_formed_saga_view_digests_are_read_from_a_record() -> None:
    """The record's saga view digests (`diagrams.saga_digests`): each a digest by a digest, 64
    lowercase hexadecimal digits; anything else is left out (that view is built again)."""
    good, other = "a" * 64, "0123456789abcdef" * 4
    assert stamps._views({good: other}) == {good: other}
    assert stamps._views([good, other]) == {} and stamps._views(None) == {}
    spoilt = {
        "A" * 64: other,  # not lowercase
        good[:-1]: other,  # too short
        good + "0": other,  # too long
        "g" * 64: other,  # not hexadecimal
        good: 7,  # no text
        other: "b" * 63,
        " " * 64: other,
    }
    assert stamps._views({**spoilt, "c" * 64: good}) == {"c" * 64: good}


@pytest.mark.parametrize("writer", ["orjson", "json"])
def test_the_fragments_file_is_read_however_it_was_written(tmp_path: Path, writer: str) -> None:
    """`_dumps` writes with orjson, and with `json` what orjson refuses (a lone surrogate); both read back."""
    import hashlib

    import orjson

    columns = {"keys": ["k" * 64], "offsets": [0], "lengths": [5], "holes": [[0, [[1, 2, [0]]]]]}
    value = {"review/x\ud800.html" if writer == "json" else "review/x.html": columns}
    data = json.dumps(value).encode() if writer == "json" else orjson.dumps(value)
    record = tmp_path / "record"
    stamps._fragments_path(record).write_bytes(data)
    assert stamps._read_fragments(record, hashlib.sha256(data).hexdigest()) == value
    assert stamps._read_fragments(record, "0" * 64) is None  # not the file the record names


def test_a_path_in_a_folder_seen_plain_still_has_its_name_checked(tmp_path: Path) -> None:
    """`_status` checks a folder once (plainly relative, no link on the way) and then only the
    names of the paths in it: a name that leaves the folder, or none, gets no status."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b.txt").write_text("b")
    (tmp_path / "a" / "c.txt").write_text("c")
    (tmp_path / "top.txt").write_text("t")
    folders: set[str] = set()
    assert stamps._status(tmp_path, "a/b.txt", folders) is not None and folders == {"a/"}
    assert stamps._status(tmp_path, "a/c.txt", folders) is not None
    for bad in ("a/..", "a/.", "a/", "a/b.txt\0", "a\\b.txt", "/top.txt", "../top.txt"):
        assert stamps._status(tmp_path, bad, folders) is None, bad
    assert stamps._status(tmp_path, "top.txt", folders) is not None and "" in folders
    assert stamps._status(tmp_path, "/top.txt", folders) is None  # "" is a plain folder, "/" is not
    (tmp_path / "link").symlink_to(tmp_path / "a")
    assert stamps._status(tmp_path, "link/b.txt", folders) is None and "link/" not in folders


def test_a_file_read_in_a_folder_seen_plain_is_still_refused_when_it_is_a_link(tmp_path: Path) -> None:
    """`_file_bytes` shares `_status`'s folders: in a folder seen plain, only the file itself is
    looked at, and a link is still never read through."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b.txt").write_text("b")
    (tmp_path / "elsewhere.txt").write_text("theirs")
    (tmp_path / "a" / "c.txt").symlink_to(tmp_path / "elsewhere.txt")
    folders: set[str] = set()
    assert stamps._status(tmp_path, "a/b.txt", folders) is not None and folders == {"a/"}
    assert stamps._file_bytes(tmp_path, "a/b.txt", folders) == b"b"
    assert stamps._file_bytes(tmp_path, "a/c.txt", folders) is None
    assert stamps._file_bytes(tmp_path, "a/../elsewhere.txt", folders) is None
    fresh: set[str] = set()
    assert stamps._file_bytes(tmp_path, "a/c.txt", fresh) is None and fresh == set()
    assert stamps._file_bytes(tmp_path, "a/b.txt", fresh) == b"b" and fresh == {"a/"}


def test_a_file_read_ahead_is_the_last_runs_only_if_its_digest_is(tmp_path: Path) -> None:
    """`_Statuses.same` takes the digest the read-ahead thread took of a file written by the last run
    (no status recorded) as it would take its own: the file is the last run's only if they match."""
    from flowgen_design.codegen import ondisk

    ondisk.forget()
    (tmp_path / "doc").mkdir()
    path = tmp_path / "doc" / "page.html"
    path.write_text("<p>as flowgen wrote it</p>\n", encoding="utf-8")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    for expected, same in ((digest, True), ("0" * 64, False)):
        ondisk.read_ahead([(str(path), True)])
        ondisk.wait_ahead()
        assert ondisk._read, "read ahead"
        statuses = stamps._Statuses(tmp_path, {})
        assert statuses.same("doc/page.html", expected) is same
        assert ondisk._read == {}, "taken, not read again"
    ondisk.forget()


def test_only_a_run_with_something_to_do_reads_the_documents_ahead(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`read_ahead` reads the documents whole only when a spec differs from what the last run read
    (a run with nothing to do trusts their status), and always what the last run wrote (to digest)."""
    from flowgen_design.codegen import ondisk

    monkeypatch.setenv("FLOWGEN_JOBS", "2")
    monkeypatch.setattr(ondisk, "KEPT_FROM", 1024)
    out, spec = project / "out", project / "checkout.flow"
    documents = {"review/checkout.html", "asyncapi/checkout.asyncapi.yaml", "diagrams/checkout/README.md"}

    def listed() -> dict[str, bool]:
        return {os.path.relpath(path, out): digest for path, digest in stamps._ahead_of(out, [spec])}

    assert generate(project) == 0
    time.sleep(0.06)
    with spec.open("a") as handle:
        handle.write("// a comment\n")
    assert generate(project) == 0  # records every file's status
    assert not documents & set(listed()), "the specs as the last run read them: nothing is read whole"
    with spec.open("a") as handle:
        handle.write("// another\n")
    assert documents <= {rel for rel, digest in listed().items() if not digest}
    (out / "review" / "checkout.html").unlink()
    assert generate(project) == 0  # writes the page again: its status is too fresh to record
    assert listed().get("review/checkout.html") is True


def test_without_a_thread_to_be_had_nothing_is_read_ahead(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from flowgen_design.codegen import ondisk

    monkeypatch.setenv("FLOWGEN_JOBS", "2")
    monkeypatch.setattr(ondisk, "KEPT_FROM", 1024)
    assert generate(project) == 0
    with (project / "checkout.flow").open("a") as handle:
        handle.write("// an edit\n")
    assert list(stamps._ahead_of(project / "out", [project / "checkout.flow"])), "something to read ahead"

    def refused(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refused)
    stamps.read_ahead(project / "out", [project / "checkout.flow"])
    assert ondisk._reading == [] and ondisk._read == {}  # the writer's threads, refused: test_writer
