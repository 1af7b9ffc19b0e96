"""Timing arithmetic takes constant time whatever the retry count (issue 11: `retry` near 2^63 hung `check`).

The closed form is compared with the walk it replaced for ordinary values, and
huge counts are checked end to end through `check_file`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowgen_design.codegen.checks import check_spec as check_file
from flowgen_design.dsl.durations import backoff_delay_ms, backoff_total_ms

MAX = 2**63 - 1


def _walk(strategy: str, initial: int, maximum: int, retries: int) -> int:
    """The arithmetic as it was: one step per retry."""
    if strategy == "fixed":
        return initial * retries
    return sum(min(initial * 2 ** (i - 1), maximum) for i in range(1, retries + 1))


@given(
    st.sampled_from(["fixed", "exponential"]),
    st.integers(0, 10**7),
    st.integers(0, 10**8),
    st.integers(0, 300),
)
def test_closed_form_equals_the_walk(strategy: str, initial: int, maximum: int, retries: int) -> None:
    assert backoff_total_ms(strategy, initial, maximum, retries) == _walk(strategy, initial, maximum, retries)
    for retry in range(1, min(retries, 80) + 1):
        assert backoff_delay_ms(strategy, initial, maximum, retry) == _walk(strategy, initial, maximum, retry) - _walk(
            strategy, initial, maximum, retry - 1
        )


@pytest.mark.parametrize(
    ("retries", "expected"),
    [
        (0, 0),
        (1, 200),
        (5, 200 + 400 + 800 + 1600 + 3200),
        (10_000_000, 200 + 400 + 800 + 1600 + 3200 + 6400 + 12800 + 25600 + (10_000_000 - 8) * 30_000),
        (MAX, 200 + 400 + 800 + 1600 + 3200 + 6400 + 12800 + 25600 + (MAX - 8) * 30_000),
    ],
)
def test_exponential_totals(retries: int, expected: int) -> None:
    assert backoff_total_ms("exponential", 200, 30_000, retries) == expected


def test_huge_delay_index_is_capped_not_computed() -> None:
    assert backoff_delay_ms("exponential", 1, MAX, MAX) == MAX


@pytest.mark.parametrize(
    "retry",
    [
        "retry 10000000",
        "retry 200000 backoff exponential 200ms..30s",
        "retry 9223372036854775807 backoff exponential 1ms..9223372036854775807ms",
        "retry 9223372036854775806 backoff fixed 1s",
    ],
)
def test_huge_retry_counts_check_at_once(tmp_path: Path, retry: str) -> None:
    spec = tmp_path / "huge.flow"
    spec.write_text(
        "flow huge version 1.0.0\n"
        "command Go { id: uuid } -> Done\n"
        "event Done { id: uuid }\n"
        f"service S {{\n  publishes Done\n  handles Go {{\n    {retry}\n    idempotent by id within 1d\n  }}\n}}\n"
        "service T { on Done -> seen }\n",
        encoding="utf-8",
    )
    result = check_file(spec)
    assert result.flow is not None
    codes = {d.code for d in result.diagnostics}
    assert {"FLOW503", "FLOW303"} <= codes, [d.message for d in result.diagnostics]
