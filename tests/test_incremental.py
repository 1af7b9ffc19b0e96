"""Incremental generation (issue 16): after any edit, reusing what the last clean run left
gives exactly the bytes of a full run into an empty folder; and any doubt means the full run.

The property test edits a synthetic spec (`benchmarks/specgen.py`) a few times at random
(fields, handlers, steps, events, services: added, removed, renamed) and after each edit
compares the incremental output, byte for byte, with a full run into a new folder. A few
examples run in the fast loop; `FLOWGEN_FUZZ=long` runs many more, with every target.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import itertools
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.specgen import spec
from flowgen_design.cli import main
from flowgen_design.codegen import fragments, incremental, stamp
from flowgen_design.codegen.diagrams import view_file_stem
from flowgen_design.codegen.diagrams.model import Diagram
from flowgen_design.codegen.files import GeneratedFile
from flowgen_design.codegen.targets import APART
from flowgen_design.dsl.cache import cache_dir
from flowgen_design.dsl.source import Span

LONG = os.environ.get("FLOWGEN_FUZZ") == "long"
# The long run covers every target; the fast loop the two with lazy files, and one whole-flow document.
TARGETS = () if LONG else ("python", "lambda", "asyncapi")
# The documents built of fragments (`codegen.fragments`).
DOCUMENTS = ("asyncapi", "diagrams", "review")


def _word(old: str, new: str) -> Callable[[str], str]:
    return lambda text: re.sub(rf"\b{old}\b", new, text)


def _insert_after(anchor: str, line: str) -> Callable[[str], str]:
    return lambda text: text.replace(anchor, anchor + line, 1)


def _drop(part: str) -> Callable[[str], str]:
    return lambda text: text.replace(part, "", 1)


EDITS: dict[str, Callable[[str], str]] = {
    "add a record field": _insert_after("type OrdersAddress {\n", "  region: string?\n"),
    "add an event field": _insert_after("event BillingRequested {\n", "  channel: string?\n"),
    "add a field to a one-line event": lambda t: t.replace(
        "event OrdersReleased { request_id: uuid", "event OrdersReleased { request_id: uuid  note: string?", 1
    ),
    "remove a record field": _drop("  note: string?\n"),
    "remove an event field": _drop("  attributes: map<string, string>\n"),
    "rename a field": _word("postcode", "zip_code"),
    "rename a command field": _word("reservation_id", "hold_id"),
    "add a handler": _insert_after(
        "service BillingNotifications {\n", "  on BillingRefunded -> notify_refunded {\n    use billing_standard\n  }\n"
    ),
    "remove a handler": lambda t: re.sub(
        r"  on OrdersCompleted -> follow_orders \{.*?\n  \}\n", "", t, count=1, flags=re.S
    ),
    "rename a handler": _word("notify_cancelled", "tell_cancelled"),
    "change an event's publisher": lambda t: t.replace(
        "publishes OrdersRequested, OrdersCompleted, OrdersCancelled", "publishes OrdersRequested, OrdersCompleted", 1
    ).replace("service OrdersStock {\n", "service OrdersStock {\n  publishes OrdersCancelled\n", 1),
    "change a policy": lambda t: t.replace("retry 3 backoff fixed 1s", "retry 4 backoff fixed 2s", 1),
    "remove a step": _drop("  step charge: OrdersPayments.OrdersCharge compensate OrdersPayments.OrdersRefund\n"),
    "rename a step": _word("reserve", "hold"),
    "add an event": lambda t: t + "\nevent AuditNoted { audit_id: uuid  key audit_id }\n",
    "rename an event": _word("BillingRefunded", "BillingRepaid"),
    "rename a service": _word("OrdersFulfilment", "OrdersShipping"),
    "edit a doc comment": lambda t: t.replace("/// Submit a request.", "/// Submit a new request.", 1),
    "add a comment line": lambda t: t + "// a comment\n",
    # Positions move: the fragments of whole-flow documents that print `file:line` are reused
    # with their positions filled again (`codegen.fragments`), or rendered when that is unsafe.
    "add a line at the top": lambda t: t.replace("flow bench version 1.0.0\n", "flow bench version 1.0.0\n\n", 1),
    "split a one-line event": lambda t: t.replace(
        "event OrdersCancelled { request_id: uuid  reason: string  key request_id }",
        "event OrdersCancelled {\n  request_id: uuid\n  reason: string\n  key request_id\n}",
        1,
    ),
    "quote a position in a doc comment": lambda t: t.replace(  # the tests run in the spec's folder
        "/// A customer asked Orders to do something.", f"/// Asked of Orders (see {Path.cwd() / 'bench.flow'}:30).", 1
    ),
    # What the CloudFormation template's groups read (`codegen.targets.cloudformation.parts`).
    "change a timeout": lambda t: t.replace("    timeout 20s\n", "    timeout 25s\n", 1),
    "change a saga timeout": lambda t: t.replace("  timeout 1h\n", "  timeout 2h\n", 1),
    "drop a dead-letter queue": _drop("  dlq\n"),
    "add a route": _insert_after(
        "  api POST /orders/requests -> OrdersRequested\n", "  api POST /orders/cancellations -> OrdersCancelled\n"
    ),
    "remove a route": _drop("  api POST /billing/requests -> BillingRequested\n"),
    "change a route": _word("POST /orders/requests", "PUT /orders/requests"),
    "move a declaration": lambda t: t.replace(
        "event OrdersReleased { request_id: uuid  key request_id }\n", "", 1
    ).replace(
        "flow bench version 1.0.0\n",
        "flow bench version 1.0.0\nevent OrdersReleased { request_id: uuid  key request_id }\n",
        1,
    ),
}


def _generate(spec_file: Path, out: Path, targets: tuple[str, ...] | None = None) -> int:
    args = ["generate", str(spec_file), "--out", str(out)]
    for target in TARGETS if targets is None else targets:
        args += ["--target", target]
    return main(args)


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _saying(run: Callable[[], int], folder: Path) -> tuple[int, list[str]]:
    """A run's exit code and what it printed (sorted lines, its output folder's path left out)."""
    said = io.StringIO()
    with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
        code = run()
    return code, sorted(line.replace(str(folder), "OUT") for line in said.getvalue().splitlines())


def _same_as_full_run(
    spec_file: Path,
    out: Path,
    scratch: Path,
    before: Path | None = None,
    targets: tuple[str, ...] | None = None,
    said: list[str] | None = None,
    quiet: bool = False,
) -> None:
    """`out` holds what a full run would have written: every flowgen-owned file as a full run
    into an empty folder writes it, and (given `before`, a copy of `out` as it was before the
    run) every file, the user's own and the manifest too, as a full run over that copy left it,
    which said what the run said (`said`: the changes, the notes on the user's files), or, if
    `quiet` (the spec as the last run had it), said nothing but what it did."""
    full = scratch / "full"
    shutil.rmtree(full, ignore_errors=True)
    assert _generate(spec_file, full, targets) == 0
    mine, theirs = _tree(out), _tree(full)
    users = {rel for rel, digest in json.loads(theirs[".flowgen/bench.json"])["files"].items() if digest == "user"}
    owned = {rel for rel in theirs if not rel.startswith(".flowgen/") and rel not in users}
    assert owned <= set(mine)
    assert [rel for rel in sorted(owned) if mine[rel] != theirs[rel]] == []
    if before is not None:
        code, full_said = _saying(lambda: _generate(spec_file, before, targets), before)
        assert code == 0  # another folder: no record, a full run
        assert _tree(before) == mine
        skipped = quiet and said is not None and all(line.startswith("done: ") for line in said)
        assert said is None or said == full_said or skipped


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The lazy files rendered while the test runs (in this process: FLOWGEN_JOBS=1)."""
    monkeypatch.setenv("FLOWGEN_JOBS", "1")
    rendered: list[str] = []
    real = incremental._render

    def counted(f: incremental.LazyFile) -> str:
        rendered.append(str(f.path))
        return real(f)

    monkeypatch.setattr(incremental, "_render", counted)
    yield rendered


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache folder for the module: black's and dot's results are shared between tests
    (each test has its own output folders, and so its own records)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_cache: Path) -> Path:
    monkeypatch.setenv("FLOWGEN_CACHE_DIR", str(shared_cache))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bench.flow").write_text(spec(2), encoding="utf-8")
    return tmp_path


_FRESH = itertools.count()


@pytest.mark.slow  # hypothesis: random edits, each compared with a full run
@settings(
    max_examples=60 if LONG else 2,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(edits=st.lists(st.sampled_from(sorted(EDITS)), min_size=1, max_size=6 if LONG else 3))
@pytest.mark.parametrize("threads", [False, True])
def test_after_every_edit_the_output_is_a_full_runs(project: Path, edits: list[str], threads: bool) -> None:
    """With `threads` (two cores), every document counts as large: the last run's are read ahead
    while the spec is checked, and the writer digests them in threads (`stamp.read_ahead`,
    `writer._hashing`); and every edit builds the targets `APART` in a process of their own
    (`fanout.aside`, when TARGETS names them). Without, all of it in one process and one thread."""
    from flowgen_design.codegen import ondisk, writer

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FLOWGEN_JOBS", "2" if threads else "1")
        if threads:
            mp.setattr(ondisk, "KEPT_FROM", 1024)
            mp.setattr(writer, "_ASIDE", 1024)
        _edit_and_compare(project, edits)


def _edit_and_compare(project: Path, edits: list[str]) -> None:
    spec_file, out = project / "bench.flow", project / f"out-{abs(hash(tuple(edits)))}"
    spec_file.write_text(spec(2), encoding="utf-8")
    shutil.rmtree(out, ignore_errors=True)
    targets = () if LONG else (*TARGETS, *DOCUMENTS[1:])
    assert _generate(spec_file, out, targets) == 0
    for name in edits:
        before = spec_file.read_text(encoding="utf-8")
        # A folder no run has written to, so that the run over it is a full one: a folder used
        # before has a record, and a copy whose files are all as that record says is taken back.
        copy = project / f"copy-{next(_FRESH)}"
        shutil.copytree(out, copy)
        edited = EDITS[name](before)
        spec_file.write_text(edited, encoding="utf-8")
        code, said = _saying(lambda: _generate(spec_file, out, targets), out)
        if code != 0:  # the edit broke the spec (an earlier edit removed what it needs)
            spec_file.write_text(before, encoding="utf-8")
            continue
        # An edit that leaves the spec as it was (a move undone) may make a run with nothing to do,
        # which does not say again the reminders that do not repeat (a handler not implemented yet).
        _same_as_full_run(spec_file, out, project, copy, targets, said, quiet=edited == before)
        shutil.rmtree(copy)


def test_an_edit_renders_only_what_it_reaches(project: Path, renders: list[str]) -> None:
    spec_file, out = project / "bench.flow", project / "out"
    assert _generate(spec_file, out) == 0
    assert len(renders) > 20
    renders.clear()
    spec_file.write_text(EDITS["rename a handler"](spec_file.read_text(encoding="utf-8")), encoding="utf-8")
    assert _generate(spec_file, out) == 0
    assert sorted(renders) == [
        "python/bench/adapters/billing_notifications.py",
        "python/bench/adapters/orders_notifications.py",
        "python/bench/handlers/billing_notifications.py",
        "python/bench/handlers/orders_notifications.py",
        "python/bench/services/billing_notifications.py",
        "python/bench/services/orders_notifications.py",
        "python/bench/testing.py",
    ]
    _same_as_full_run(spec_file, out, project)


def _edited_run(project: Path, renders: list[str], doubt: Callable[[Path], None]) -> list[str]:
    """Generate, cast a doubt, make a small edit, generate again: what the second run rendered."""
    spec_file, out = project / "bench.flow", project / "out"
    assert _generate(spec_file, out) == 0
    doubt(out)
    spec_file.write_text(EDITS["add a comment line"](spec_file.read_text(encoding="utf-8")), encoding="utf-8")
    renders.clear()
    _generate(spec_file, out)
    return list(renders)


def test_an_edit_nothing_reaches_renders_nothing(project: Path, renders: list[str]) -> None:
    assert _edited_run(project, renders, lambda out: None) == []


def test_a_run_with_nothing_to_do_keeps_the_record_for_the_next_edit(project: Path, renders: list[str]) -> None:
    """A no-op run (an editor's save without a change) found the record as it would write it,
    and left it: it once rewrote it without the files' keys, so the next edit was a full run."""

    def run_with_nothing_to_do(out: Path) -> None:
        assert _generate(project / "bench.flow", out) == 0

    assert _edited_run(project, renders, run_with_nothing_to_do) == []


def _damage_record(out: Path) -> None:
    for entry in (cache_dir("stamps") or Path("/nonexistent")).rglob("*"):
        if entry.is_file():
            entry.write_bytes(entry.read_bytes()[:-20])  # every record: each test has its own folders


def _other_flowgen(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], None]:
    return lambda out: monkeypatch.setattr(stamp, "code_digest", lambda: "another flowgen")


def _other_tools(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], None]:
    return lambda out: monkeypatch.setattr(stamp, "_tools", lambda: ["black 0.0", "dot 0.0"])


def _edit_generated(out: Path) -> None:
    path = out / "python" / "bench" / "handlers" / "orders_stock.py"
    path.write_text(path.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")


def _delete_generated(out: Path) -> None:
    (out / "python" / "bench" / "adapters" / "billing_stock.py").unlink()


@pytest.mark.parametrize(
    "doubt",
    ["damaged record", "other flowgen", "other black or dot", "edited output file", "deleted output file"],
)
def test_any_doubt_means_the_full_run(
    project: Path, renders: list[str], monkeypatch: pytest.MonkeyPatch, doubt: str
) -> None:
    casts: dict[str, Callable[[Path], None]] = {
        "damaged record": _damage_record,
        "other flowgen": _other_flowgen(monkeypatch),
        "other black or dot": _other_tools(monkeypatch),
        "edited output file": _edit_generated,
        "deleted output file": _delete_generated,
    }
    spec_file, out = project / "bench.flow", project / "out"
    assert _generate(spec_file, out) == 0
    everything = len(renders)
    casts[doubt](out)
    spec_file.write_text(EDITS["add a comment line"](spec_file.read_text(encoding="utf-8")), encoding="utf-8")
    renders.clear()
    _generate(spec_file, out)
    assert len(renders) == everything
    _same_as_full_run(spec_file, out, project)


def test_a_users_edited_file_is_merged_again_on_its_own(project: Path, renders: list[str]) -> None:
    spec_file, out = project / "bench.flow", project / "out"
    assert _generate(spec_file, out) == 0
    mine = out / "python" / "bench" / "services" / "orders_stock.py"
    text = mine.read_text(encoding="utf-8") + "\n# my own note\n"
    mine.write_text(text, encoding="utf-8")
    spec_file.write_text(EDITS["add a comment line"](spec_file.read_text(encoding="utf-8")), encoding="utf-8")
    renders.clear()
    assert _generate(spec_file, out) == 0
    assert renders == ["python/bench/services/orders_stock.py"]
    assert mine.read_text(encoding="utf-8") == text  # never overwritten


def test_an_edit_reads_none_of_flowgens_files_it_takes_back(
    project: Path, renders: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lazy file of flowgen's that kept its key is taken back by its digest alone: the run
    reads none of them (the user's files it still reads: their notes are said again)."""
    from flowgen_design.codegen import ondisk

    spec_file, out = project / "bench.flow", project / "out"
    assert _generate(spec_file, out) == 0
    read: list[str] = []
    real = ondisk.read_checked

    def counted(path: Path | str, digest: str) -> bytes | None:
        read.append(Path(path).relative_to(out).as_posix())
        return real(path, digest)

    monkeypatch.setattr(ondisk, "read_checked", counted)
    spec_file.write_text(EDITS["rename a handler"](spec_file.read_text(encoding="utf-8")), encoding="utf-8")
    renders.clear()
    assert _generate(spec_file, out) == 0
    lazy = {p.relative_to(out).as_posix() for p in out.rglob("*.py")} - {"python/bench/models.py"}
    generated = {rel for rel in lazy if "/services/" not in rel}
    assert len(generated) > 20
    assert not generated & set(read) - set(renders), sorted(generated & set(read))
    _same_as_full_run(spec_file, out, project)


def test_a_file_taken_back_unread_is_never_written() -> None:
    from flowgen_design.codegen import writer
    from flowgen_design.codegen.files import KnownFile

    unread = KnownFile(PurePosixPath("python/bench/adapters/x.py"), "")
    with pytest.raises(RuntimeError, match="taken back unread"):
        writer.plan("bench", Path("/nonexistent"), [unread], known={})


def _said(capsys: pytest.CaptureFixture[str], out: Path) -> list[str]:
    """What a run printed, with the output folder's path left out."""
    printed = capsys.readouterr()
    return sorted(line.replace(str(out), "OUT") for line in (printed.out + printed.err).splitlines())


@pytest.fixture
def merges(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The user's service files merged while the test runs (the merge parses the file)."""
    from flowgen_design.codegen.targets.python import package, services
    from flowgen_design.dsl.model import Flow, Service

    merged: list[str] = []
    real = services.merge_service

    def counted(existing: str, flow: Flow, service: Service) -> object:
        merged.append(service.name)
        return real(existing, flow, service)

    monkeypatch.setattr(package, "merge_service", counted)
    yield merged


def test_an_edit_says_again_what_each_users_file_lacks_without_merging_it(
    project: Path, capsys: pytest.CaptureFixture[str], merges: list[str]
) -> None:
    """Neither a user's file nor what it implements changed: the run says what the last run's
    merge found (the handlers not implemented yet), word for word as a full run says it."""
    spec_file, out, before = project / "bench.flow", project / "out", project / "before"
    assert _generate(spec_file, out) == 0
    shutil.copytree(out, before)
    spec_file.write_text(EDITS["add a record field"](spec_file.read_text(encoding="utf-8")), encoding="utf-8")
    capsys.readouterr()
    merges.clear()
    assert _generate(spec_file, out) == 0
    replayed, merged_then = _said(capsys, out), sorted(merges)
    merges.clear()
    assert _generate(spec_file, before) == 0  # another folder: no record, every file merged
    assert replayed == _said(capsys, before)
    assert sum("is not implemented yet" in line for line in replayed) > 10
    assert merged_then == ["OrdersFulfilment", "OrdersIntake"]  # the services whose messages hold the record
    assert len(merges) == 10


def test_a_users_file_implemented_since_is_merged_again(
    project: Path, capsys: pytest.CaptureFixture[str], merges: list[str]
) -> None:
    spec_file, out = project / "bench.flow", project / "out"
    assert _generate(spec_file, out) == 0
    mine = out / "python" / "bench" / "services" / "orders_stock.py"
    text = mine.read_text(encoding="utf-8")
    done = 'raise NotImplementedError("OrdersStock.orders_release: implement this handler")'
    assert done in text
    mine.write_text(text.replace(done, "return models.OrdersReleased(order_id=command.order_id)"), encoding="utf-8")
    spec_file.write_text(EDITS["add a comment line"](spec_file.read_text(encoding="utf-8")), encoding="utf-8")
    capsys.readouterr()
    merges.clear()
    assert _generate(spec_file, out) == 0
    said = _said(capsys, out)
    assert merges == ["OrdersStock"]
    assert not any("OrdersStock.orders_release" in line or "`OrdersStock.orders_release`" in line for line in said)
    assert any("`OrdersStock.orders_reserve` is not implemented yet" in line for line in said)


def test_a_damaged_merge_finding_in_the_record_means_merging_again(
    project: Path, capsys: pytest.CaptureFixture[str], merges: list[str], renders: list[str]
) -> None:
    spec_file, out = project / "bench.flow", project / "out"
    assert _generate(spec_file, out) == 0
    entry = stamp._record_path(out, "bench")
    assert entry is not None
    recorded = json.loads(entry.read_bytes())
    assert len(recorded["merges"]) == 10
    for rel in recorded["merges"]:
        recorded["merges"][rel] = [False, ["fine"], [[0, 7, True]]]  # a note's message is no text
    entry.write_text(json.dumps(recorded), encoding="utf-8")
    spec_file.write_text(EDITS["add a comment line"](spec_file.read_text(encoding="utf-8")), encoding="utf-8")
    merges.clear()
    renders.clear()
    assert _generate(spec_file, out) == 0
    assert renders == []  # the rest of the record was taken
    assert len(merges) == 10
    assert "fine" not in capsys.readouterr().err


def test_the_target_names_generate_knows_without_importing_are_the_registered_ones() -> None:
    from flowgen_design.codegen.targets import TARGET_NAMES, all_targets

    assert tuple(all_targets()) == TARGET_NAMES


# ---- fragments of whole-flow documents (`codegen.fragments`) ------------------------------------


@pytest.fixture
def pieces(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[str]]]:
    """The fragments taken back and made while the test runs, by kind: all in this process, where
    they are counted (no target `APART`, in a process of its own)."""
    from flowgen_design.codegen import targets

    monkeypatch.setattr(targets, "APART", ())
    counts: dict[str, list[str]] = {"reused": [], "made": []}
    real_piece, real_dumped, real_digested = (
        fragments.Fragments.piece,
        fragments.Fragments.dumped,
        fragments.Fragments.digested,
    )

    def piece(
        self: fragments.Fragments,
        kind: str,
        inputs: tuple[object, ...],
        render: Callable[[], str],
        positions: Sequence[object] | None = None,
    ) -> str:
        made: list[str] = []

        def counted() -> str:
            made.append(kind)
            return render()

        text = real_piece(self, kind, inputs, counted, positions)
        counts["made" if made else "reused"].append(kind)
        return text

    def dumped(self: fragments.Fragments, kind: str, value: object, dump: Callable[[], str]) -> str:
        made: list[str] = []

        def counted() -> str:
            made.append(kind)
            return dump()

        text = real_dumped(self, kind, value, counted)
        counts["made" if made else "reused"].append(kind)
        return text

    def digested(
        self: fragments.Fragments, kind: str, digest: bytes, slots: Sequence[object], render: Callable[[], str]
    ) -> str:
        made: list[str] = []

        def counted() -> str:
            made.append(kind)
            return render()

        text = real_digested(self, kind, digest, slots, counted)
        counts["made" if made else "reused"].append(kind)
        return text

    monkeypatch.setattr(fragments.Fragments, "piece", piece)
    monkeypatch.setattr(fragments.Fragments, "dumped", dumped)
    monkeypatch.setattr(fragments.Fragments, "digested", digested)
    yield counts


def _edited_run_saying(project: Path, edit: str, targets: tuple[str, ...]) -> tuple[Path, list[str]]:
    """A copy of the output folder as it is (`before`), then `edit` and a run that succeeds: the
    copy and what the run said (`_saying`)."""
    spec_file, out = project / "bench.flow", project / "out"
    before = project / "before"
    shutil.copytree(out, before)
    _edit(spec_file, edit)
    code, said = _saying(lambda: _generate(spec_file, out, targets), out)
    assert code == 0
    return before, said


def _edit(spec_file: Path, name: str) -> None:
    spec_file.write_text(EDITS[name](spec_file.read_text(encoding="utf-8")), encoding="utf-8")


def test_an_edit_that_moves_every_line_reuses_the_documents_fragments(
    project: Path, pieces: dict[str, list[str]]
) -> None:
    spec_file, out = project / "bench.flow", project / "out"
    assert _generate(spec_file, out, DOCUMENTS) == 0
    assert pieces["reused"] == []
    pieces["made"].clear()
    _edit(spec_file, "add a line at the top")  # every position the review page prints moves
    assert _generate(spec_file, out, DOCUMENTS) == 0
    assert pieces["made"] == []
    reused = {"event", "record", "service", "saga", "scenarios", "figure", "alarms", "trace", "section"}
    reused |= {"yaml@2", "yaml@4"}
    assert reused <= set(pieces["reused"])
    _same_as_full_run(spec_file, out, project, targets=DOCUMENTS)


@pytest.mark.slow  # (the fast loop keeps the one above that moves every line)
def test_an_edit_remakes_the_fragments_it_reaches(project: Path, pieces: dict[str, list[str]]) -> None:
    spec_file, out = project / "bench.flow", project / "out"
    assert _generate(spec_file, out, DOCUMENTS) == 0
    pieces["made"].clear()
    _edit(spec_file, "add a record field")  # OrdersAddress: one record, the events and sagas that carry it
    assert _generate(spec_file, out, DOCUMENTS) == 0
    assert "record" in pieces["made"] and "event" in pieces["made"]
    assert len(pieces["made"]) < len(pieces["reused"]) / 4
    _same_as_full_run(spec_file, out, project, targets=DOCUMENTS)


@pytest.mark.slow  # (the fast loop has the two above)
def test_a_fragment_whose_positions_no_longer_share_a_line_is_made_again(
    project: Path, pieces: dict[str, list[str]]
) -> None:
    """The one-line event's fields printed one position; split over lines, they print several."""
    spec_file, out = project / "bench.flow", project / "out"
    assert _generate(spec_file, out, DOCUMENTS) == 0
    pieces["made"].clear()
    _edit(spec_file, "split a one-line event")  # nothing but positions changes
    assert _generate(spec_file, out, DOCUMENTS) == 0
    assert pieces["made"] == ["event"]
    _same_as_full_run(spec_file, out, project, targets=DOCUMENTS)


@pytest.mark.slow
def test_a_fragment_quoting_a_position_is_never_taken_back(project: Path, pieces: dict[str, list[str]]) -> None:
    """A doc comment that quotes `file:line` puts a position in the event's article that no
    `where` printed: it could be a hole or text, so that article is always made again."""
    spec_file, out = project / "bench.flow", project / "out"
    _edit(spec_file, "quote a position in a doc comment")
    assert _generate(spec_file, out, DOCUMENTS) == 0
    pieces["made"].clear()
    _edit(spec_file, "add a line at the top")
    assert _generate(spec_file, out, DOCUMENTS) == 0
    assert pieces["made"] == ["event"]
    _same_as_full_run(spec_file, out, project, targets=DOCUMENTS)


@pytest.mark.slow  # every edit of EDITS once, with every target: compared with a full run
@pytest.mark.parametrize("edit", sorted(EDITS))
def test_each_edit_gives_a_full_runs_output(project: Path, edit: str) -> None:
    spec_file, out = project / "bench.flow", project / "out"
    assert _generate(spec_file, out, ()) == 0
    _edit(spec_file, edit)
    if main(["check", str(spec_file)]) != 0:  # on its own, this edit leaves an error (removing the charge step)
        return
    assert _generate(spec_file, out, ()) == 0
    _same_as_full_run(spec_file, out, project, targets=())


@pytest.mark.slow  # (the fast loop keeps the one above that moves every line)
def test_without_the_records_fragments_the_documents_are_made_whole(
    project: Path, pieces: dict[str, list[str]], renders: list[str]
) -> None:
    """The fragments are kept beside the record (a no-op reads the record whole); without them
    only the documents are built whole: the lazy files are still taken back."""
    spec_file, out = project / "bench.flow", project / "out"
    assert _generate(spec_file, out, DOCUMENTS) == 0
    for side in (cache_dir("stamps") or Path("/nonexistent")).rglob("*.fragments"):
        side.unlink()
    pieces["made"].clear()
    renders.clear()
    _edit(spec_file, "add a line at the top")
    assert _generate(spec_file, out, DOCUMENTS) == 0
    assert pieces["reused"] == [] and len(pieces["made"]) > 10
    assert renders == []
    _same_as_full_run(spec_file, out, project, targets=DOCUMENTS)


def test_a_fragment_whose_inputs_cannot_be_fingerprinted_is_made() -> None:
    """A model value of a type the fingerprints do not know (one a later change adds) costs
    reuse, never a crash."""

    class Opaque:
        pass

    pieces = fragments.Fragments(PurePosixPath("review/x.html"), ("x", "1.0.0", "x.flow"))
    assert not pieces.has("article", (Opaque(),))
    assert pieces.piece("article", (Opaque(),), lambda: "<article></article>") == "<article></article>"


_SLOTS = st.lists(
    st.one_of(
        st.builds(
            Span,
            st.sampled_from(["a.flow", "b.flow", "a.flow:1", "x:2:3"]),
            st.integers(min_value=0, max_value=3),
            st.just(1),
            st.just(1),
            st.just(2),
        ),
        st.none(),
        st.just(True),
        st.builds(Span, st.just("a.flow"), st.just(True), st.just(1), st.just(1), st.just(2)),
    ),
    max_size=6,
)


@settings(max_examples=500, deadline=None)
@given(slots=_SLOTS, where_slots=st.lists(st.integers(min_value=0, max_value=7), max_size=4))
def test_a_holes_position_is_agreed_as_its_slots_texts_agree(slots: list[object], where_slots: list[int]) -> None:
    """`_agreed` compares spans without writing their text: what comparing the texts finds."""
    expected = None
    if where_slots and all(i < len(slots) for i in where_slots):
        texts = {fragments._where_of(slots[i]) for i in where_slots}
        expected = texts.pop() if len(texts) == 1 else None
    assert fragments._agreed(slots, where_slots) == expected


# ---- the views: written and drawn only when what they draw changes ------------------------------------------

VIEWS = DOCUMENTS[1:]  # the diagrams target and the review page, which both write every view


def _slow(*values: object) -> object:
    return pytest.param(*values, marks=pytest.mark.slow)


@pytest.mark.parametrize(
    ("edit", "drawn"),
    [
        ("add a record field", set()),  # a record's fields are drawn nowhere (its name is, in an event's fields)
        ("change an event's publisher", {"system"}),  # the events view draws what makes an event, not who may
        _slow("add a line at the top", set()),
        _slow("add a comment line", set()),
        _slow("add an event field", {"events"}),  # the system view draws no fields
        _slow("add a handler", {"system", "events"}),
        _slow("rename an event", {"system", "events"}),
        _slow("rename a handler", {"system", "events"}),
        _slow("change a policy", {"system", "events"}),  # the delivery settings on a handler's arrow or box
        _slow("edit a doc comment", {"system", "events"}),  # an entry point's tooltip
    ],
)
def test_a_view_is_written_again_only_when_what_it_draws_changes(
    project: Path, renders: list[str], monkeypatch: pytest.MonkeyPatch, edit: str, drawn: set[str]
) -> None:
    """Each view is keyed by what it draws (`diagrams.view_key`): its DOT is written, its files
    rendered and its figure made again exactly when that changed, and the output is a full run's.
    A saga's view likewise: its DOT is written again exactly when its DOT text changes (compared
    here, outside flowgen), though its Mermaid file, a sequence diagram of the saga itself, is
    rendered again whenever the saga changes."""
    from flowgen_design.codegen.diagrams import dot

    spec_file, out = project / "bench.flow", project / "out"
    sagas_before = _saga_dots(spec_file)
    written: list[str] = []
    statements = dot._statements  # what `to_dot` and `to_dot_parts` (a view of several parts) write

    def counted(diagram: Diagram) -> list[str]:
        written.append(diagram.name)
        return statements(diagram)

    monkeypatch.setattr(dot, "_statements", counted)
    assert _generate(spec_file, out, VIEWS) == 0
    assert {"system", "events", *sagas_before} <= set(written)
    written.clear()
    renders.clear()
    _edit(spec_file, edit)
    assert _generate(spec_file, out, VIEWS) == 0
    views_written = set(written)
    sagas_after = _saga_dots(spec_file)
    changed = {v for v, text in sagas_after.items() if sagas_before.get(v) != text}
    assert views_written == drawn | changed
    assert {r for r in renders if "/saga-" not in r or r.endswith(".dot")} == {
        f"diagrams/bench/{v}.{x}" for v in drawn for x in ("dot", "mmd")
    } | {f"diagrams/bench/{view_file_stem(v)}.dot" for v in changed}
    _same_as_full_run(spec_file, out, project, targets=VIEWS)


def _saga_dots(spec_file: Path) -> dict[str, str]:
    """The DOT text of each saga's view (`dot.to_dot`, with no header), of the spec as it is now."""
    from flowgen_design.codegen.diagrams import build_view, view_names
    from flowgen_design.codegen.diagrams.dot import to_dot
    from flowgen_design.dsl.compiler import check_file

    flow = check_file(spec_file).flow
    assert flow is not None
    return {v: to_dot(build_view(flow, v)) for v in view_names(flow) if v.startswith("saga:")}


def test_a_sagas_view_is_drawn_again_when_only_what_it_draws_changes(
    project: Path, renders: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The oracle of the test above is not idle: renaming a command a saga sends changes that
    saga's picture (the command's box), and only that saga's DOT is written again."""
    spec_file, out = project / "bench.flow", project / "out"
    assert _generate(spec_file, out, VIEWS) == 0
    before = _saga_dots(spec_file)
    text = spec_file.read_text(encoding="utf-8")
    spec_file.write_text(re.sub(r"\bOrdersCharge\b", "OrdersChargeCard", text), encoding="utf-8")
    renders.clear()
    assert _generate(spec_file, out, VIEWS) == 0
    after = _saga_dots(spec_file)
    changed = {v for v, dot_text in after.items() if before.get(v) != dot_text}
    assert len(changed) == 1 and changed < set(after)
    saga_renders = {r for r in renders if "/saga-" in r and r.endswith(".dot")}
    assert saga_renders == {f"diagrams/bench/{view_file_stem(v)}.dot" for v in changed}
    _same_as_full_run(spec_file, out, project, targets=VIEWS)


def test_a_sagas_view_is_not_even_built_when_its_saga_is_the_last_runs(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A saga's view is a function of the saga: the record keeps each view's digest by its saga's
    fingerprint, and an edit builds the views of the sagas it changed only (their keys, their DOT
    and figures as a full run's). The other sagas' views are keyed by the record's digests."""
    from flowgen_design.codegen import diagrams
    from flowgen_design.codegen.incremental import Fingerprints
    from flowgen_design.dsl.compiler import check_file

    spec_file, out = project / "bench.flow", project / "out"
    built: list[str] = []
    real_build = diagrams._build_view

    def counted(flow: object, view: str) -> Diagram:
        built.append(view)
        return real_build(flow, view)  # type: ignore[arg-type]

    monkeypatch.setattr(diagrams, "_build_view", counted)

    def prints() -> dict[str, bytes]:
        flow = check_file(spec_file).flow
        assert flow is not None
        made = Fingerprints()
        return {f"saga:{saga.name}": made.of(saga) for saga in flow.sagas}

    assert _generate(spec_file, out, DOCUMENTS) == 0
    assert _generate(spec_file, out, DOCUMENTS) == 0
    before = prints()
    built.clear()
    _edit(spec_file, "add a record field")  # reaches the sagas whose events carry the record
    code, said = _saying(lambda: _generate(spec_file, out, DOCUMENTS), out)
    assert code == 0
    after = prints()
    changed = {view for view, made in after.items() if before.get(view) != made}
    assert changed and changed < set(after), "the edit should reach some sagas, not all"
    assert {view for view in built if view.startswith("saga:")} == changed
    _same_as_full_run(spec_file, out, project, targets=DOCUMENTS, said=said)


# ---- the CloudFormation template, built in parts (`codegen.targets.cloudformation.parts`) ------------

CLOUDFORMATION = ("cloudformation",)
TEMPLATE = "infra/bench/template.json"


@pytest.fixture
def groups_built(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The kinds of the template's groups built (not taken back) while the test runs, in this
    process, where they are counted (the template is not built `APART`)."""
    from flowgen_design.codegen import targets
    from flowgen_design.codegen.targets.cloudformation import parts

    monkeypatch.setattr(targets, "APART", ())
    built: list[str] = []
    real = parts._made

    def made(entries: object, key: str | None, part: object, resources: dict[str, object], alarms: object) -> None:
        if resources:  # the stack's shared entries (`head`) are built every time
            built.append(sorted(resources)[0])
        real(entries, key, part, resources, alarms)  # type: ignore[arg-type]

    monkeypatch.setattr(parts, "_made", made)
    yield built


def _plain_template(spec_file: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """The template of a full run on the plain road (`FLOWGEN_STRAIGHT=1`: built whole, `Template.render`)."""
    plain = scratch / "plain"
    shutil.rmtree(plain, ignore_errors=True)
    with monkeypatch.context() as m:
        m.setenv("FLOWGEN_STRAIGHT", "1")
        assert _generate(spec_file, plain, CLOUDFORMATION) == 0
    return (plain / TEMPLATE).read_bytes()


def _template_is_the_plain_roads(spec_file: Path, out: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert (out / TEMPLATE).read_bytes() == _plain_template(spec_file, scratch, monkeypatch)
    _same_as_full_run(spec_file, out, scratch, targets=CLOUDFORMATION)


def test_an_edit_that_moves_every_line_takes_back_every_group_of_the_template(
    project: Path, groups_built: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec_file, out = project / "bench.flow", project / "out"
    assert _generate(spec_file, out, CLOUDFORMATION) == 0
    assert len(groups_built) > 10  # every handler, saga and the API
    groups_built.clear()
    _edit(spec_file, "add a line at the top")
    assert _generate(spec_file, out, CLOUDFORMATION) == 0
    assert groups_built == []  # the positions are written anew in what is taken back
    _template_is_the_plain_roads(spec_file, out, project, monkeypatch)


def test_an_edit_builds_the_template_groups_it_reaches(
    project: Path, groups_built: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec_file, out = project / "bench.flow", project / "out"
    assert _generate(spec_file, out, CLOUDFORMATION) == 0
    groups_built.clear()
    _edit(spec_file, "change a timeout")  # one handler's function, queue and alarms; its saga's step
    assert _generate(spec_file, out, CLOUDFORMATION) == 0
    assert groups_built == ["OrdersPaymentsOrdersChargeErrorsAlarm", "OrdersProcessSagaFailedAlarm"]
    _template_is_the_plain_roads(spec_file, out, project, monkeypatch)
    groups_built.clear()
    _edit(spec_file, "remove a handler")  # its group is gone, the others refer to none of its names
    assert _generate(spec_file, out, CLOUDFORMATION) == 0
    assert groups_built == []
    _template_is_the_plain_roads(spec_file, out, project, monkeypatch)


@settings(max_examples=300, deadline=None)
@given(element=st.text(), file=st.text(), line=st.integers(min_value=0, max_value=10**12), why=st.text())
def test_a_taken_back_entrys_positions_are_written_as_the_template_writes_them(
    element: str, file: str, line: int, why: str
) -> None:
    """`parts` writes a resource's `Metadata` and an alarm's description itself (for every entry
    taken back): the bytes `prettyjson` writes of them, indented at the resource's depth."""
    from flowgen_design.codegen import prettyjson
    from flowgen_design.codegen.aws.plan import Alarm, Resource
    from flowgen_design.codegen.targets.cloudformation import parts
    from flowgen_design.codegen.targets.cloudformation.observability import alarm_description
    from flowgen_design.codegen.targets.cloudformation.template import provenance
    from flowgen_design.dsl.source import Span

    span = Span(file, line, 1, line, 2)
    resource = Resource("Queue", "AWS::SQS::Queue", span, element)
    expected = prettyjson.dumps(provenance(span, element)).replace("\n", "\n      ")
    assert parts._metadata_text(resource) == expected
    alarm = Alarm(resource, resource, "AWS/SQS", "Age", "QueueName", "Maximum", ">", 1, "Seconds", span, why)
    assert parts._description_text(alarm) == prettyjson.dumps(alarm_description(alarm))


@pytest.mark.parametrize(
    ("text", "mentioned"),
    [
        ('{"Ref": "OldQueue"}', True),
        ('{"Fn::GetAtt": ["OldQueue", "Arn"]}', True),
        ('{"DependsOn": ["OldQueue"]}', True),
        ('{"Fn::Sub": "arn:${OldQueue}"}', True),
        ('{"Fn::Sub": "${OldQueue.Arn}/x"}', True),
        ('{"Ref": "OldQueueDlq"}', False),  # a longer name
        ('{"Description": "queue OldQueue"}', False),  # the name inside other text
        ('{"Ref": "NewQueue"}', False),
    ],
)
def test_a_gone_name_is_mentioned_where_a_reference_writes_it(text: str, mentioned: bool) -> None:
    """A name a taken-back entry could still refer to sends the template to the whole check: as a
    `Ref`, `Fn::GetAtt` or `DependsOn` writes it (a JSON string) or an `Fn::Sub` (`${name`)."""
    from flowgen_design.codegen.targets.cloudformation import parts

    assert parts._mentioned({"Gone", "OldQueue"}, text) is mentioned
    assert parts._mentioned(set(), text) is False
    assert parts._mentioned({f"Name{i}" for i in range(parts._MOST_GONE + 1)}, text) is True


@pytest.mark.slow  # hypothesis: random edits, the template compared with the plain road's after each
@settings(
    max_examples=40 if LONG else 6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(edits=st.lists(st.sampled_from(sorted(EDITS)), min_size=1, max_size=6 if LONG else 4))
def test_after_every_edit_the_template_is_the_plain_roads(
    project: Path, monkeypatch: pytest.MonkeyPatch, edits: list[str]
) -> None:
    spec_file, out = project / "bench.flow", project / f"out-{abs(hash(tuple(edits)))}"
    spec_file.write_text(spec(2), encoding="utf-8")
    shutil.rmtree(out, ignore_errors=True)
    assert _generate(spec_file, out, CLOUDFORMATION) == 0
    for name in edits:
        before = spec_file.read_text(encoding="utf-8")
        spec_file.write_text(EDITS[name](before), encoding="utf-8")
        if _generate(spec_file, out, CLOUDFORMATION) != 0:  # an earlier edit removed what this one needs
            spec_file.write_text(before, encoding="utf-8")
            continue
        _template_is_the_plain_roads(spec_file, out, project, monkeypatch)


USER_EDITS: dict[str, tuple[str, str]] = {
    "deploy.toml: a handler's memory": ("deploy.toml", '[handlers."OrdersStock.orders_reserve"]\nmemory = 512\n'),
    "deploy.toml: every function's environment": ("deploy.toml", '[functions]\nenvironment = { TEAM = "orders" }\n'),
    "overrides.json: a resource of yours": (
        "overrides.json",
        '{"Resources": {"MyTable": {"Type": "AWS::DynamoDB::Table", "Properties": {"BillingMode": "PAY_PER_REQUEST"}}}}\n',
    ),
}


@pytest.mark.parametrize("edit", sorted(USER_EDITS))
def test_your_deployment_files_are_always_merged_into_the_template(
    project: Path, groups_built: list[str], monkeypatch: pytest.MonkeyPatch, edit: str
) -> None:
    """A template your deploy.toml or overrides.json add to is built whole and merged (the plain road),
    whatever the spec's edit; back to the files as created, the template is built in parts again."""
    spec_file, out = project / "bench.flow", project / "out"
    assert _generate(spec_file, out, CLOUDFORMATION) == 0
    name, text = USER_EDITS[edit]
    user_file = out / "infra" / "bench" / name
    starter = user_file.read_text(encoding="utf-8")
    user_file.write_text(text, encoding="utf-8")
    for spec_edit in ("add a record field", "add a line at the top"):
        _edit(spec_file, spec_edit)
        assert _generate(spec_file, out, CLOUDFORMATION) == 0
        assert (out / TEMPLATE).read_bytes() != _plain_template(spec_file, project, monkeypatch)  # merged
        mine = _tree(out)
        with monkeypatch.context() as m:
            m.setattr(stamp, "code_digest", lambda: "another flowgen")  # a full run, in the same folder
            assert _generate(spec_file, out, CLOUDFORMATION) == 0
        assert _tree(out) == mine
    user_file.write_text(starter, encoding="utf-8")
    _edit(spec_file, "change a timeout")
    groups_built.clear()
    assert _generate(spec_file, out, CLOUDFORMATION) == 0
    _template_is_the_plain_roads(spec_file, out, project, monkeypatch)


# ---- the last run's documents, read ahead while the spec is checked (`stamp.read_ahead`) ------------


def test_the_last_runs_documents_are_read_ahead_and_taken_after_an_edit(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With two cores, the documents the last run left are read in a thread while the spec is
    checked, those it wrote digested there too (their status was too fresh to record); the run
    takes them instead of reading them, writes what a full run writes, and leaves no thread."""
    import threading

    from flowgen_design.codegen import ondisk

    monkeypatch.setenv("FLOWGEN_JOBS", "2")
    monkeypatch.setattr(ondisk, "KEPT_FROM", 1024)  # the small spec's documents count as large
    read: list[tuple[str, bool]] = []
    taken: list[bytes] = []
    real_read, real_ahead = ondisk._read_ahead, ondisk.kept

    def reading(listed: Sequence[tuple[str, bool]]) -> None:
        read.extend((str(Path(path).relative_to(out)), digest) for path, digest in listed)
        real_read(listed)

    def given(found: ondisk.Status) -> tuple[bytes, str | None] | None:
        served = real_ahead(found)
        if served is not None:
            taken.append(served[0])
        return served

    monkeypatch.setattr(ondisk, "_read_ahead", reading)
    monkeypatch.setattr(ondisk, "kept", given)
    spec_file, out = project / "bench.flow", project / "out"
    assert _generate(spec_file, out, DOCUMENTS) == 0
    _edit(spec_file, "add a record field")
    assert _generate(spec_file, out, DOCUMENTS) == 0  # it rewrites the review page and the AsyncAPI document
    read.clear()
    before, said = _edited_run_saying(project, "add an event field", DOCUMENTS)
    assert ("review/bench.html", True) in read and ("asyncapi/bench.asyncapi.yaml", True) in read
    assert len(taken) >= 2
    assert not [t for t in threading.enumerate() if t.name == "flowgen-read-ahead"]
    _same_as_full_run(spec_file, out, project, before=before, targets=DOCUMENTS, said=said)


def test_the_writer_takes_the_files_it_replaces_by_their_status_and_not_by_reading_them(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before it replaces a file, the writer looks whether someone saved it since the plan read it.
    A file whose status is still the one its digest was found with at the run's start is taken by
    that digest: none of the documents an edit rewrites is read and hashed again (megabytes each)."""
    from flowgen_design.codegen import writer

    spec_file, out = project / "bench.flow", project / "out"
    assert _generate(spec_file, out, DOCUMENTS) == 0
    assert _generate(spec_file, out, DOCUMENTS) == 0  # the record now holds the documents' statuses
    hashed: list[str] = []
    real_digest_of = writer._digest_of

    def digest_of(path: Path) -> str | None:
        if Path(path).is_relative_to(out):  # not the full run's folder, made to compare with
            hashed.append(Path(path).relative_to(out).as_posix())
        return real_digest_of(path)

    real_apply = writer._apply_all

    def apply_all(plans: Sequence[writer.WritePlan]) -> None:
        monkeypatch.setattr(writer, "_digest_of", digest_of)
        try:
            real_apply(plans)
        finally:
            monkeypatch.setattr(writer, "_digest_of", real_digest_of)

    monkeypatch.setattr(writer, "_apply_all", apply_all)
    before = project / "before"
    shutil.copytree(out, before)
    _edit(spec_file, "add an event field")
    code, said = _saying(lambda: _generate(spec_file, out, DOCUMENTS), out)
    assert code == 0
    assert " update OUT/asyncapi/bench.asyncapi.yaml" in said, said
    assert hashed == [], "files the plan found unchanged were read and hashed again before being replaced"
    _same_as_full_run(spec_file, out, project, before=before, targets=DOCUMENTS, said=said)


def test_a_document_saved_between_the_plan_and_the_write_is_left_as_saved(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The digests found at the run's start stay known until the writer's last look, but only
    with the status they were found with: a document saved after the plan (same size, its times
    put back) is the user's, and the run says so instead of replacing it."""
    from flowgen_design.codegen import writer

    spec_file, out = project / "bench.flow", project / "out"
    assert _generate(spec_file, out, DOCUMENTS) == 0
    assert _generate(spec_file, out, DOCUMENTS) == 0
    page = out / "asyncapi/bench.asyncapi.yaml"
    real_stage = writer._stage

    def stage_and_save(out_dir: Path, rel: PurePosixPath, data: bytes) -> Path:
        if rel == PurePosixPath("asyncapi/bench.asyncapi.yaml") and not page.read_bytes().startswith(b"X"):
            before = page.stat()
            text = page.read_bytes()
            page.write_bytes(b"X" + text[1:])  # same size
            os.utime(page, ns=(before.st_atime_ns, before.st_mtime_ns))
        return real_stage(out_dir, rel, data)

    monkeypatch.setattr(writer, "_stage", stage_and_save)
    _edit(spec_file, "add an event field")
    code, said = _saying(lambda: _generate(spec_file, out, DOCUMENTS), out)
    assert code == 1
    assert page.read_bytes().startswith(b"X"), "the save made while flowgen ran was overwritten"
    assert any("asyncapi/bench.asyncapi.yaml: changed on disk while flowgen was running" in line for line in said), said


def _noting_builders(monkeypatch: pytest.MonkeyPatch, names: Sequence[str], folder: Path) -> Path:
    """`folder`, where each of the plain targets `names` notes `NAME-PID` when some process builds it
    (a file: what another process notes is seen here)."""
    from flowgen_design.codegen import targets
    from flowgen_design.codegen.targets import all_targets

    folder.mkdir()
    for name in names:
        target = all_targets()[name]

        def build(
            flow: object, options: object, _name: str = name, _build: Callable[..., object] = target.build
        ) -> object:
            (folder / f"{_name}-{os.getpid()}").touch()
            return _build(flow, options)

        monkeypatch.setitem(targets._REGISTRY, name, dataclasses.replace(target, build=build))  # type: ignore[arg-type]
    return folder


def test_after_an_edit_the_template_and_the_asyncapi_document_are_built_in_a_process_of_their_own(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    pieces: dict[str, list[str]],
    groups_built: list[str],
) -> None:
    """With two cores, an edit run builds the targets `APART` in a forked process while this one
    builds the others (`fanout.aside`): the files are a full run's, and the record keeps where their
    fragments are, so the next edit takes them back (counted here, where it builds them itself)."""
    from flowgen_design.codegen import targets

    monkeypatch.setenv("FLOWGEN_JOBS", "2")
    monkeypatch.setattr(targets, "APART", APART)  # the fixtures count in this process: none apart
    wanted = ("asyncapi", "cloudformation", "review")
    builders = _noting_builders(monkeypatch, targets.APART, tmp_path / "builders")
    spec_file, out = project / "bench.flow", project / "out"
    assert _generate(spec_file, out, wanted) == 0
    assert sorted(p.name for p in builders.iterdir()) == [f"{n}-{os.getpid()}" for n in sorted(targets.APART)]
    for p in builders.iterdir():
        p.unlink()
    before, said = _edited_run_saying(project, "add an event field", wanted)
    apart = {name.rpartition("-")[0]: int(name.rpartition("-")[2]) for name in (p.name for p in builders.iterdir())}
    assert set(apart) == set(targets.APART) and os.getpid() not in apart.values()
    assert len(set(apart.values())) == 1, "both in the one process aside"
    _same_as_full_run(spec_file, out, project, before=before, targets=wanted, said=said)
    # The next edit, everything built here and counted: what the process aside made is taken back.
    monkeypatch.setattr(targets, "APART", ())
    pieces["reused"].clear()
    groups_built.clear()
    _edit(spec_file, "add a record field")
    assert _generate(spec_file, out, wanted) == 0
    assert "yaml@2" in pieces["reused"] and "yaml@4" in pieces["reused"], "AsyncAPI entries made aside not taken back"
    edited = len(groups_built)
    groups_built.clear()
    assert _generate(spec_file, project / "fresh", wanted) == 0
    assert 0 < len(groups_built) and edited < len(groups_built) / 4, "template groups made aside not taken back"


def test_a_target_with_background_work_is_built_here_even_if_named_apart(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Only a plain target goes aside: the review page, whose drawings this process begins
    (`register_background`), is built here even when `APART` names it; the template still goes."""
    from flowgen_design.codegen import targets

    monkeypatch.setenv("FLOWGEN_JOBS", "2")
    monkeypatch.setattr(targets, "APART", ("cloudformation", "review"))
    wanted = ("cloudformation", "review")
    builders = _noting_builders(monkeypatch, wanted, tmp_path / "builders")
    spec_file, out = project / "bench.flow", project / "out"
    assert _generate(spec_file, out, wanted) == 0
    for p in builders.iterdir():
        p.unlink()
    before, said = _edited_run_saying(project, "add an event field", wanted)
    built = {name.rpartition("-")[0]: int(name.rpartition("-")[2]) for name in (p.name for p in builders.iterdir())}
    assert built["review"] == os.getpid() and built["cloudformation"] != os.getpid(), built
    _same_as_full_run(spec_file, out, project, before=before, targets=wanted, said=said)


@pytest.mark.parametrize("failure", ["no process to be had", "the process fails"])
def test_when_the_process_aside_fails_the_run_builds_those_targets_itself(
    project: Path, monkeypatch: pytest.MonkeyPatch, pieces: dict[str, list[str]], failure: str
) -> None:
    """No process aside (a refused fork), or one that fails: the targets `APART` are built in this
    process, as their files come back from one (`EncodedFile`), and the record still keeps where
    their fragments are (the next edit takes them back)."""
    from flowgen_design.codegen import fanout, targets

    monkeypatch.setenv("FLOWGEN_JOBS", "2")
    monkeypatch.setattr(targets, "APART", APART)  # `pieces` counts in this process: none apart
    if failure == "no process to be had":
        monkeypatch.setattr(fanout, "_fork", lambda work: None)
    else:
        here, real_fork = os.getpid(), fanout._fork

        def failing(work: Callable[[], object]) -> object:
            def fails() -> object:
                if os.getpid() != here:
                    raise MemoryError("the process aside ran out of memory")
                return work()

            return real_fork(fails)

        monkeypatch.setattr(fanout, "_fork", failing)
    wanted = ("asyncapi", "cloudformation", "review")
    spec_file, out = project / "bench.flow", project / "out"
    assert _generate(spec_file, out, wanted) == 0
    before, said = _edited_run_saying(project, "add an event field", wanted)
    _same_as_full_run(spec_file, out, project, before=before, targets=wanted, said=said)
    monkeypatch.setattr(targets, "APART", ())
    pieces["reused"].clear()
    _edit(spec_file, "add a record field")
    assert _generate(spec_file, out, wanted) == 0
    assert "yaml@2" in pieces["reused"] and "yaml@4" in pieces["reused"]
    _same_as_full_run(spec_file, out, project, targets=wanted)


def test_the_documents_built_aside_are_not_encoded_or_hashed_again_here(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The template and the AsyncAPI document come back from the process aside as their bytes and
    their digest: the writer here encodes and hashes neither (the review page it built, it does)."""
    from flowgen_design.codegen import writer

    monkeypatch.setenv("FLOWGEN_JOBS", "2")
    monkeypatch.setattr(writer, "_ASIDE", 1024)  # every document counts as large
    hashed: list[str] = []
    real_hashing = writer._hashing

    def hashing(large: Sequence[GeneratedFile]) -> object:
        hashed.extend(str(f.path) for f in large)
        return real_hashing(large)

    monkeypatch.setattr(writer, "_hashing", hashing)
    wanted = ("asyncapi", "cloudformation", "review")
    spec_file, out = project / "bench.flow", project / "out"
    assert _generate(spec_file, out, wanted) == 0
    assert {"infra/bench/template.json", "asyncapi/bench.asyncapi.yaml"} <= set(hashed)  # a first run: here
    hashed.clear()
    before, said = _edited_run_saying(project, "add an event field", wanted)
    assert "review/bench.html" in hashed
    assert not {"infra/bench/template.json", "asyncapi/bench.asyncapi.yaml"} & set(hashed)
    _same_as_full_run(spec_file, out, project, before=before, targets=wanted, said=said)


def test_the_last_runs_documents_are_read_only_by_the_process_that_builds_them(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last run's documents are read and decoded when first asked for: after an edit with two
    cores, this process reads the review page's, never the template's or the AsyncAPI document's
    (built, and read, in the process aside), and writes what a full run writes."""
    monkeypatch.setenv("FLOWGEN_JOBS", "2")
    wanted = ("asyncapi", "cloudformation", "review")
    read: list[str] = []
    real_document = fragments._document

    def document(path: Path, digest: str, listing: fragments.Listing) -> object:
        read.append(Path(path).relative_to(out).as_posix())
        return real_document(path, digest, listing)

    monkeypatch.setattr(fragments, "_document", document)
    spec_file, out = project / "bench.flow", project / "out"
    assert _generate(spec_file, out, wanted) == 0
    assert read == []  # a first run: no document to read
    _edit(spec_file, "add an event field")
    assert _generate(spec_file, out, wanted) == 0
    assert read == ["review/bench.html"]
    _same_as_full_run(spec_file, out, project, targets=wanted)


def test_a_record_naming_a_path_outside_the_output_folder_reads_nothing_ahead(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flowgen_design.codegen import ondisk

    monkeypatch.setenv("FLOWGEN_JOBS", "2")
    monkeypatch.setattr(ondisk, "KEPT_FROM", 1)
    spec_file, out = project / "bench.flow", project / "out"
    assert _generate(spec_file, out, DOCUMENTS) == 0
    record = stamp._record_path(out, "bench")
    assert record is not None
    recorded = json.loads(record.read_bytes())
    (project / "secret.txt").write_text("not flowgen's\n", encoding="utf-8")
    recorded["files"]["../secret.txt"] = "0" * 64
    record.write_text(json.dumps(recorded), encoding="utf-8")
    with pytest.raises(ValueError, match="not a path inside the output folder"):
        list(stamp._ahead_of(out, [spec_file]))
    stamp.read_ahead(out, [spec_file])
    assert ondisk._reading == [] and ondisk._read == {}
    for damaged in ({**recorded, "documents": 7}, {**recorded, "statuses": []}, [1, 2], {"files": {"a": 1}}):
        record.write_text(json.dumps(damaged), encoding="utf-8")
        stamp.read_ahead(out, [spec_file])  # nothing to read ahead, and no error
        assert ondisk._reading == [] and ondisk._read == {}
