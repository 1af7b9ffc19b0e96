"""Durations as people read them: 90000 -> `1m30s`."""

from __future__ import annotations

_UNITS = (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1))


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
