"""Work spread over processes gives exactly what working in order gives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks.specgen import write_spec
from flowgen_design.codegen.fanout import fan_out, jobs
from flowgen_design.codegen.targets.python.models import ModelWriter
from flowgen_design.codegen.targets.python.source import format_blocks, format_module
from flowgen_design.dsl.compiler import check_file
from tests.conftest import SKETCH, example_specs

pytestmark = pytest.mark.slow  # forks worker processes


def _pid_and_square(n: int) -> tuple[int, int]:
    return os.getpid(), n * n


def _slow_square(n: int) -> tuple[int, int]:
    import time

    time.sleep(0.002)
    return os.getpid(), n * n


def test_results_come_back_in_order_from_several_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWGEN_JOBS", "2")
    results = fan_out(_slow_square, list(range(200)), minimum=1)
    assert [square for _, square in results] == [n * n for n in range(200)]
    assert {pid for pid, _ in results} - {os.getpid()}, "the work ran in worker processes too"


def _started(n: int) -> tuple[int, float]:
    import time

    began = time.monotonic()
    time.sleep(0.002)  # the other worker cannot run ahead by much
    return n, began


def test_long_work_is_handed_out_first_and_results_still_come_back_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWGEN_JOBS", "2")
    results = fan_out(_started, list(range(200)), minimum=1, first=lambda n: n in (150, 199))
    assert [n for n, _ in results] == list(range(200))
    began = {n: at for n, at in results}
    assert max(began[150], began[199]) <= min(began[n] for n in range(100, 150)), "the long ones went first"


def _niceness(_: int) -> tuple[int, int]:
    import time

    time.sleep(0.002)
    return os.getpid(), os.nice(0)


def test_workers_yield_to_the_process_that_forked_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from flowgen_design.codegen.fanout import WORKER_NICENESS

    monkeypatch.setenv("FLOWGEN_JOBS", "2")
    here = os.nice(0)
    found = dict(fan_out(_niceness, list(range(40)), minimum=1))
    assert {n for pid, n in found.items() if pid != os.getpid()} == {min(19, here + WORKER_NICENESS)}
    assert os.nice(0) == here


def test_this_process_takes_items_from_the_back_when_it_has_nothing_else_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLOWGEN_JOBS", "2")
    results = fan_out(_slow_square, list(range(300)), minimum=1)
    assert [square for _, square in results] == [n * n for n in range(300)]
    here = [n for n, (pid, _) in enumerate(results) if pid == os.getpid()]
    assert here and here == list(range(300 - len(here), 300)), "the last items, here"


def test_little_work_or_one_job_runs_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWGEN_JOBS", "2")
    assert {pid for pid, _ in fan_out(_pid_and_square, [1, 2, 3])} == {os.getpid()}
    monkeypatch.setenv("FLOWGEN_JOBS", "1")
    assert jobs() == 1
    assert {pid for pid, _ in fan_out(_pid_and_square, list(range(100)), minimum=1)} == {os.getpid()}


def _fail_on_seven(n: int) -> int:
    if n == 7:
        raise ValueError("seven")
    return n


def test_a_worker_error_is_raised_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWGEN_JOBS", "2")
    with pytest.raises(ValueError, match="seven"):
        fan_out(_fail_on_seven, list(range(50)), minimum=1)


@pytest.mark.parametrize("jobs_", ["1", "2"])
def test_models_formatted_block_by_block_equal_the_whole_module_formatted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, jobs_: str
) -> None:
    monkeypatch.setenv("FLOWGEN_JOBS", jobs_)
    monkeypatch.setenv("FLOWGEN_CACHE_DIR", str(tmp_path / "cache"))
    for spec in [SKETCH, *example_specs(), write_spec(tmp_path, 14)]:
        flow = check_file(spec).flow
        assert flow is not None
        writer = ModelWriter(flow)
        blocks = list(writer._classes())
        head = ["from __future__ import annotations", "", "from pydantic import BaseModel"]
        whole = format_module([*head, *(line for block in blocks for line in ["", "", *block])])
        assert format_blocks(head, blocks) == whole, spec


def test_no_process_pool_means_working_here(monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing.context

    def refuse(*_: object, **__: object) -> None:
        raise OSError(38, "Function not implemented")

    monkeypatch.setenv("FLOWGEN_JOBS", "2")
    monkeypatch.setattr(multiprocessing.context.ForkContext, "Pool", refuse)
    results = fan_out(_pid_and_square, list(range(40)), minimum=1)
    assert results == [(os.getpid(), n * n) for n in range(40)]


def test_meanwhile_work_runs_once_here_while_the_workers_work(monkeypatch: pytest.MonkeyPatch) -> None:
    from flowgen_design.codegen.fanout import meanwhile

    monkeypatch.setenv("FLOWGEN_JOBS", "2")
    ran: list[int] = []

    def build() -> str:
        ran.append(os.getpid())
        return "built"

    with meanwhile(build) as job:
        results = fan_out(_slow_square, list(range(50)), minimum=1)
        assert ran == [os.getpid()], "done here, during the fan-out"
        fan_out(_pid_and_square, list(range(50)), minimum=1)
    assert ran == [os.getpid()] and job.result() == "built"
    assert {pid for pid, _ in results} - {os.getpid()}


def test_meanwhile_work_without_a_fan_out_runs_at_the_end_and_its_error_is_raised_by_result() -> None:
    from flowgen_design.codegen.fanout import meanwhile

    def fail() -> None:
        raise ValueError("late")

    with meanwhile(fail) as job:
        pass
    with pytest.raises(ValueError, match="late"):
        job.result()


def test_meanwhile_jobs_are_done_one_at_a_time_while_pools_work_and_the_rest_at_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flowgen_design.codegen.fanout import meanwhile

    monkeypatch.setenv("FLOWGEN_JOBS", "2")
    ran: list[str] = []

    def job(name: str) -> str:
        ran.append(name)
        return name.upper()

    with meanwhile(*(lambda name=name: job(name) for name in "abc")) as jobs_:
        assert fan_out(_pid_and_square, [1], minimum=1)[0][1] == 1  # no pool: no job done
        assert ran == []
        fan_out(_pid_and_square, list(range(50)), minimum=1)
        assert ran[:1] == ["a"], "the first job ran while the workers worked"
    assert ran == ["a", "b", "c"] and jobs_.results() == ["A", "B", "C"]


def test_after_a_failed_meanwhile_job_no_other_runs() -> None:
    from flowgen_design.codegen.fanout import meanwhile

    ran: list[str] = []

    def fail() -> None:
        ran.append("fail")
        raise ValueError("first")

    with meanwhile(fail, lambda: ran.append("next")) as jobs_:
        pass
    with pytest.raises(ValueError, match="first"):
        jobs_.results()
    assert ran == ["fail"]


def test_work_ahead_is_done_while_the_workers_work_before_the_meanwhile_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    from flowgen_design.codegen.fanout import ahead, meanwhile

    monkeypatch.setenv("FLOWGEN_JOBS", "2")
    ran: list[str] = []

    def job() -> str:
        ran.append("job")
        return "job"

    with meanwhile(job) as jobs_:
        with ahead(lambda: ran.append("ahead")):
            fan_out(_pid_and_square, list(range(50)), minimum=1)
        assert ran[:1] == ["ahead"]
        with ahead(lambda: ran.append("no pool")):
            pass
        assert "no pool" in ran, "done at the end of its block"
    assert jobs_.results() == ["job"]
    with ahead(lambda: ran.append("alone")):
        pass
    assert ran[-1] == "alone"


def test_work_ahead_that_fails_raises_at_the_end_of_its_block(monkeypatch: pytest.MonkeyPatch) -> None:
    from flowgen_design.codegen.fanout import ahead, meanwhile

    monkeypatch.setenv("FLOWGEN_JOBS", "2")

    def fail() -> None:
        raise ValueError("keys")

    with meanwhile(lambda: None), pytest.raises(ValueError, match="keys"), ahead(fail):
        fan_out(_pid_and_square, list(range(50)), minimum=1)
    with pytest.raises(ValueError, match="keys"), ahead(fail):
        pass
