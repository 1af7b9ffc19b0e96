"""The simulate benchmark (`benchmarks/simulate.py`) measures what it says and its report section renders."""

from __future__ import annotations

from benchmarks.report import simulate_section
from benchmarks.run import largest_example
from benchmarks.simulate import measure
from tests.conftest import ROOT


def test_the_simulate_benchmark_counts_every_saga_and_subscription() -> None:
    found = measure(ROOT / "specs" / "checkout.flow", repeats=1)
    assert (found["sagas"], found["subscriptions"], found["states"], found["schedules"]) == (1, 1, 114, 39)
    assert found["violations"] == 0 and found["cpu_s"] > 0  # type: ignore[operator]
    text = "\n".join(simulate_section([found]))
    assert "## `flowgen simulate`" in text and "| `checkout.flow` (129 lines) | 1 + 1 | 114 | 39 |" in text


def test_the_largest_example_is_the_longest_bundled_spec() -> None:
    assert largest_example() == ROOT / "specs" / "travel.flow"
