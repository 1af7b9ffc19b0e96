"""Durations as people read them: 90000 -> `1m30s`."""

from __future__ import annotations

DAY_MS = 86_400_000
_UNITS = (("d", DAY_MS), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1))


def format_ms(ms: int) -> str:
    if ms == 0:
        return "0s"
    parts = []
    for unit, size in _UNITS:
        if ms >= size:
            parts.append(f"{ms // size}{unit}")
            ms %= size
    return "".join(parts)


def seconds_ceil(ms: int) -> int:
    """Whole seconds, rounded up: what AWS settings that count in seconds need."""
    return -(-ms // 1000)


def backoff_delay_ms(strategy: str, initial_ms: int, max_ms: int, retry: int) -> int:
    """The wait before retry number `retry` (1-based), without jitter.

    An exponential delay doubles from `initial_ms` up to `max_ms`. The exponent is
    capped: past 64 doublings any positive start has passed every 64-bit maximum,
    so `retry 9223372036854775807` costs no more than `retry 5`.
    """
    if strategy == "fixed":
        return initial_ms
    delay: int = initial_ms * 2 ** min(max(retry - 1, 0), 64)
    return min(delay, max_ms)


def backoff_total_ms(strategy: str, initial_ms: int, max_ms: int, retries: int) -> int:
    """The sum of the waits before retries 1..`retries`, in closed form.

    Equal to `sum(backoff_delay_ms(..., i) for i in range(1, retries + 1))`, but
    it takes at most 65 steps whatever the count: the delays double until they
    reach `max_ms` (at most 64 doublings) and stay there.
    """
    if retries <= 0:
        return 0
    if strategy == "fixed":
        return retries * initial_ms
    if initial_ms <= 0:  # durations are never negative: a zero start never grows
        return retries * min(initial_ms, max_ms)
    total, retry = 0, 1
    while retry <= retries:
        delay = backoff_delay_ms(strategy, initial_ms, max_ms, retry)
        if delay >= max_ms:
            return total + (retries - retry + 1) * max_ms
        total += delay
        retry += 1
    return total
