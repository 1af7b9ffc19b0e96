"""Per-item work spread over the machine's cores.

Generating a large flow formats hundreds of modules with black, one per
service and kind, and each is independent of the others. `fan_out` runs such
work in forked worker processes, which inherit the flow and everything already
imported, so nothing is pickled on the way in; results come back in order.

Fewer items than `minimum`, one core, `FLOWGEN_JOBS=1`, a platform without
`fork`, or one where a process pool cannot be made mean the work runs here, in order, exactly as it would in a worker: the
output never depends on how it was computed.

`aside` does one piece of work in a forked process of its own while this one goes on, and
pickles its result back: `generate` builds two whole-flow documents so after an edit.

While the workers work, this process would only wait: `meanwhile` gives it other work
for that time (`generate` builds the targets that have no lazy files, one at a time while
any pool works). The workers run a little below this process's priority
(`WORKER_NICENESS`): what the run waits for is this process and the `dot` it started.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# The work of the pool being run: set before forking, read by the workers.
_WORK: tuple[Callable[[Any], Any], Sequence[Any]] | None = None


def jobs() -> int:
    """How many processes may work at once: $FLOWGEN_JOBS, else the cores this process may use."""
    configured = os.environ.get("FLOWGEN_JOBS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Meanwhile:
    """Work for this process to do while `fan_out`'s workers work (`meanwhile`): jobs done in
    order, each once, while a pool is busy; what is left at the end of the block is done then."""

    def __init__(self, work: Sequence[Callable[[], Any]]) -> None:
        self._work: list[Callable[[], Any]] = list(work)
        self._results: list[Any] = []
        self._error: BaseException | None = None
        self._quiet: set[int] = set()  # jobs put `first`, whose results are their own

    def run(self, busy: Callable[[], bool] | None = None) -> None:
        """Do the jobs not done yet, in order; with `busy`, only while it says so (asked before
        each job). The first exception is kept for `results`, and no job runs after it."""
        while self._work and self._error is None and (busy is None or busy()):
            work = self._work.pop(0)
            try:
                result = work()
            except BaseException as err:  # raised again by `results`, in the caller's place
                self._error = err
                continue
            if id(work) not in self._quiet:
                self._results.append(result)

    def first(self, work: Callable[[], Any]) -> Callable[[], None]:
        """`work` done before the other jobs not done yet, its result not among `results`.
        Returns what does it now unless a pool's time already did."""
        done: list[bool] = []

        def job() -> None:
            work()
            done.append(True)

        self._work.insert(0, job)
        self._quiet.add(id(job))

        def now() -> None:
            if not done:
                if job in self._work:
                    self._work.remove(job)
                job()  # or again, after it failed in a pool's time: its error is raised here

        return now

    def results(self) -> list[Any]:
        """Each job's result, in order (doing what is left first)."""
        self.run()
        if self._error is not None:
            raise self._error
        return self._results

    def result(self) -> Any:
        """The result of the only job."""
        (result,) = self.results()
        return result


_MEANWHILE: Meanwhile | None = None


@contextmanager
def meanwhile(*work: Callable[[], T]) -> Iterator[Meanwhile]:
    """Each of `work`, done here while the workers of the `fan_out`s inside the block work (the
    forked workers leave this process idle): in order, a job at a time while a pool is busy,
    the rest at the end of the block. Results (or the first exception) come from the yielded
    object's `results()` (`result()` for one job)."""
    global _MEANWHILE
    job = _MEANWHILE = Meanwhile(work)
    try:
        yield job
    finally:
        _MEANWHILE = None
    job.run()


@contextmanager
def ahead(work: Callable[[], Any]) -> Iterator[None]:
    """`work()` done here while the workers of the next `fan_out` in the block work, before
    the current `meanwhile`'s own jobs; at the end of the block if no pool did it."""
    if _MEANWHILE is None:
        with meanwhile(work) as job:
            yield
        job.results()
        return
    now = _MEANWHILE.first(work)
    yield
    now()


@contextmanager
def aside(work: Callable[[], T]) -> Iterator[Callable[[], T]]:
    """`work()` done in a forked process while the block goes on. The yielded function returns
    its result, pickled back; when no process could be had (one core, `FLOWGEN_JOBS=1`, no
    `fork`, a limit on processes), or the process failed in any way (an exception, a result
    that does not pickle, a kill), it does `work()` here instead, so a mistake `work` finds is
    raised here as it would be without a process, and the result never depends on where it was
    computed. The process inherits everything, so nothing is pickled on the way in; it must not
    change what this process reads after it (its own changes stay its own). Its process is gone
    when the block ends: killed if its result was not asked for."""
    # `os.fork` itself, not multiprocessing's start methods: importing multiprocessing to ask
    # costs 5 ms of every edit, and nothing here uses it.
    forking = jobs() > 1 and _WORK is None and hasattr(os, "fork")
    if forking:
        gc.freeze()  # the process's collections, if any, leave the inherited objects alone: fewer pages copied
    forked = _fork(work) if forking else None
    collected: list[bool] = []

    def result() -> T:
        if forked is not None and not collected:
            collected.append(True)
            got = _collect(*forked)
            if got is not None:
                return got[0]  # type: ignore[no-any-return]
        return work()

    try:
        yield result
    finally:
        if forking:
            gc.unfreeze()
        if forked is not None and not collected:
            pid, fd = forked
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)
            os.close(fd)


def _fork(work: Callable[[], Any]) -> tuple[int, int] | None:
    """A process doing `work()` and writing its pickled result to a file of its own (`_sink`):
    its pid and that file; None when none could be made."""
    try:
        sink = _sink()
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        os.close(sink)
        return None
    if pid == 0:  # the process aside: its result or nothing, then gone without tearing anything down
        code = 1
        try:
            data = memoryview(pickle.dumps(work(), protocol=pickle.HIGHEST_PROTOCOL))
            while data:
                data = data[os.write(sink, data) :]
            code = 0
        finally:
            os._exit(code)
    return pid, sink


def _sink() -> int:
    """A file in memory, without a name, for a result (megabytes: through a pipe, they took as
    long as the work, the two processes taking turns at every 64 KB); an unnamed temporary file
    where there is none."""
    make = getattr(os, "memfd_create", None)
    if make is not None:
        with contextlib.suppress(OSError):
            return int(make("flowgen-aside", getattr(os, "MFD_CLOEXEC", 0)))
    import tempfile

    with tempfile.TemporaryFile() as handle:
        return os.dup(handle.fileno())


def _collect(pid: int, fd: int) -> tuple[Any] | None:
    """The result of the process `_fork` made (in a 1-tuple), None when it did not end well."""
    import mmap

    try:
        status = _ended(pid, ASIDE_PATIENCE)
        if status is None or not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            return None
        size = os.fstat(fd).st_size
        if size == 0:
            return None
        with mmap.mmap(fd, size, access=mmap.ACCESS_READ) as written:
            return (pickle.loads(written),)
    except Exception:  # any doubt (a result that does not load, no memory): the work is done here
        return None
    finally:
        os.close(fd)


ASIDE_PATIENCE = 60.0
"""Seconds a process aside may still take once its result is asked for (it has had all the time
this process took for its own work); one that takes longer is killed and its work done here."""


def _ended(pid: int, patience: float) -> int | None:
    """The wait status of the process `pid` once it ends, within `patience` seconds of now (then
    it is killed and None); None too when someone else reaped it. Without `pidfd_open` (not
    Linux, or before 5.3) it is waited for as long as it takes."""
    import select

    try:
        watch = os.pidfd_open(pid)  # Linux 5.3: readable once the process ends
    except (AttributeError, OSError):
        watch = None
    try:
        if watch is not None and not select.select([watch], [], [], patience)[0]:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:  # reaped by someone else: its end is unknown
        return None
    finally:
        if watch is not None:
            os.close(watch)


def _run(index: int) -> Any:
    assert _WORK is not None, "fan_out's workers are forked with their work"
    fn, items = _WORK
    return fn(items[index])


def forks(items: Sequence[object], minimum: int = 16) -> bool:
    """Whether `fan_out(fn, items, minimum)` runs its work in forked workers."""
    return min(jobs(), len(items)) >= 2 and len(items) >= minimum and _WORK is None and "fork" in _start_methods()


def fan_out(
    fn: Callable[[T], R], items: Sequence[T], minimum: int = 16, first: Callable[[T], bool] | None = None
) -> list[R]:
    """`[fn(item) for item in items]`, over several processes when there is enough work.

    The workers take items from the front of the list, one at a time; this process does its
    `meanwhile` jobs, then takes items from the back until none is left, so that neither waits
    for the other at the end. Items `first` says are long work (a whole test kit among a
    thousand small modules) go to the front, so that no one starts one when the rest is done."""
    global _WORK, _CLAIMS
    workers = min(jobs(), len(items))
    if not forks(items, minimum):
        return [fn(item) for item in items]
    order = list(range(len(items)))
    if first is not None:
        order.sort(key=lambda i: not first(items[i]))
    _WORK = (fn, items)
    gc.freeze()  # the workers' collections leave the inherited objects alone: fewer pages copied
    try:
        try:
            import multiprocessing  # only where work is forked

            context = multiprocessing.get_context("fork")
            _CLAIMS = (order, context.RawArray("l", [0, len(items)]), context.Lock())
            pool = context.Pool(workers, initializer=_yield_to_this_process)
        except OSError:  # no semaphores here (a sandbox without /dev/shm): work in order
            return [fn(item) for item in items]
        with pool:
            pending = pool.map_async(_work_from_the_front, range(workers), chunksize=1)
            if _MEANWHILE is not None:  # after forking: the workers have none to do
                _MEANWHILE.run(busy=lambda: not pending.ready())
            done: dict[int, Any] = {}
            while (index := _claim(front=False)) is not None:
                done[index] = fn(items[index])
            for part in pending.get():
                done.update(part)
            return [done[i] for i in range(len(items))]
    finally:
        gc.unfreeze()
        _WORK = _CLAIMS = None


# The items' order, the two ends not yet taken (the front's next index, the back's end), and
# the lock that guards them: made before forking, shared by the workers and this process.
_CLAIMS: tuple[list[int], Any, Any] | None = None


def _claim(front: bool) -> int | None:
    """The next item not yet taken, from the front (workers) or the back (this process)."""
    assert _CLAIMS is not None, "fan_out's workers are forked with their work"
    order, ends, lock = _CLAIMS
    with lock:
        if ends[0] >= ends[1]:
            return None
        if front:
            ends[0] += 1
            at: int = ends[0] - 1
        else:
            ends[1] -= 1
            at = ends[1]
    return order[at]


def _work_from_the_front(_: int) -> list[tuple[int, Any]]:
    done = []
    while (index := _claim(front=True)) is not None:
        done.append((index, _run(index)))
    return done


WORKER_NICENESS = 3
"""How much the workers yield to this process and to what it started (`dot`): while both
cores are busy, the run waits for this process (it builds the other targets, then the review
page, which waits for `dot`'s largest drawing), and the workers' work can wait a little."""


def _yield_to_this_process() -> None:
    with contextlib.suppress(OSError):  # not allowed here: work at the same priority
        os.nice(WORKER_NICENESS)


def _start_methods() -> list[str]:
    import multiprocessing

    return multiprocessing.get_all_start_methods()
