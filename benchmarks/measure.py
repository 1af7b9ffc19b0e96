"""Running one command as its own process and measuring it: wall time, CPU time, peak memory.

Each command is measured whole (interpreter start-up, imports, work, exit), the
way an editor, a pre-commit hook or CI pays for it. CPU time (user + system) and
peak memory (maximum resident set size) are the child's, with the programs it
ran and waited for, from `wait4`; CPU time is the steadier figure on a busy
machine, where wall time also counts waiting.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    wall_s: float
    cpu_s: float
    peak_kb: int


@dataclass(frozen=True)
class Outcome:
    sample: Sample
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Series:
    """Repeated samples of one measurement; figures are medians."""

    samples: list[Sample] = field(default_factory=list)

    @property
    def wall_s(self) -> float:
        return statistics.median(s.wall_s for s in self.samples)

    @property
    def cpu_s(self) -> float:
        return statistics.median(s.cpu_s for s in self.samples)

    @property
    def peak_mb(self) -> float:
        return statistics.median(s.peak_kb for s in self.samples) / 1024


class CommandFailed(RuntimeError):
    """A measured command failed: its numbers would mean nothing."""


def spawn(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Outcome:
    """Run `cmd` to completion and measure it (POSIX: uses `os.wait4`)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    peak_kb = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
    cpu = usage.ru_utime + usage.ru_stime
    return Outcome(Sample(wall, cpu, peak_kb), proc.returncode, stdout, stderr)


def measured(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Sample:
    """The sample of a command that must succeed."""
    outcome = spawn(cmd, env, cwd)
    if outcome.returncode != 0:
        shown = " ".join(cmd)
        raise CommandFailed(f"`{shown}` exited {outcome.returncode}:\n{outcome.stdout}{outcome.stderr}")
    return outcome.sample
