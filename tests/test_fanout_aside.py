"""`fanout.aside`: work done in a forked process gives what doing it here gives, or is done here."""

from __future__ import annotations

import hashlib
import os
import signal
import time
from pathlib import Path

import pytest

from flowgen_design.codegen import fanout


@pytest.fixture(autouse=True)
def _two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWGEN_JOBS", "2")


def test_the_work_is_done_in_another_process_and_its_result_comes_back() -> None:
    big = os.urandom(1 << 16) * 300  # ~20 MB: more than a pipe holds, many times over
    with fanout.aside(lambda: (os.getpid(), big, {"nested": [1, 2.5, None]})) as result:
        pid, data, rest = result()
    assert pid != os.getpid()
    assert hashlib.sha256(data).digest() == hashlib.sha256(big).digest() and rest == {"nested": [1, 2.5, None]}


def test_what_the_process_changes_stays_its_own() -> None:
    seen: list[int] = []

    def work() -> int:
        seen.append(os.getpid())
        return len(seen)

    with fanout.aside(work) as result:
        assert result() == 1
    assert seen == [], "the process aside changed this one's list"


def test_with_one_core_the_work_is_done_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWGEN_JOBS", "1")
    with fanout.aside(os.getpid) as result:
        assert result() == os.getpid()


def test_a_refused_fork_means_the_work_is_done_here(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", refused)
    with fanout.aside(os.getpid) as result:
        assert result() == os.getpid()


def test_without_fork_on_this_platform_the_work_is_done_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "fork")
    with fanout.aside(os.getpid) as result:
        assert result() == os.getpid()


def test_an_exception_in_the_process_is_raised_here_by_doing_the_work_here() -> None:
    here = os.getpid()
    tries: list[int] = []

    def work() -> int:
        tries.append(os.getpid())
        raise ValueError(f"no good in {'this process' if os.getpid() == here else 'the other'}")

    with fanout.aside(work) as result, pytest.raises(ValueError, match="no good in this process"):
        result()
    assert tries == [here]


@pytest.mark.parametrize("failure", ["a result that does not pickle", "killed", "exits at once"])
def test_a_process_that_ends_badly_means_the_work_is_done_here(failure: str) -> None:
    here = os.getpid()

    def work() -> tuple[int, object]:
        if os.getpid() != here:
            if failure == "killed":
                os.kill(os.getpid(), signal.SIGKILL)
            if failure == "exits at once":
                os._exit(0)  # nothing written: no result
        return os.getpid(), (lambda: "not picklable") if failure == "a result that does not pickle" else None

    with fanout.aside(work) as result:
        pid, _ = result()
    assert pid == here


def test_a_result_not_asked_for_leaves_no_process_behind(tmp_path: Path) -> None:
    note = tmp_path / "pid"

    def work() -> None:
        note.write_text(str(os.getpid()))
        time.sleep(60)

    started = time.monotonic()
    with fanout.aside(work):
        for _ in range(500):
            if note.exists() and note.read_text():
                break
            time.sleep(0.01)
    assert time.monotonic() - started < 30, "the block waited for the work instead of ending it"
    pid = int(note.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped: not even a zombie


def test_a_process_that_takes_too_long_is_ended_and_the_work_done_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process aside that is not done `ASIDE_PATIENCE` seconds after its result is asked for
    (hung, by whatever cause) is killed, and the work is done here: the run does not hang."""
    monkeypatch.setattr(fanout, "ASIDE_PATIENCE", 0.5)
    here, note = os.getpid(), tmp_path / "pid"

    def work() -> int:
        if os.getpid() != here:
            note.write_text(str(os.getpid()))
            time.sleep(60)
        return os.getpid()

    started = time.monotonic()
    with fanout.aside(work) as result:
        assert result() == here
    assert time.monotonic() - started < 30
    with pytest.raises(ProcessLookupError):
        os.kill(int(note.read_text()), 0)
