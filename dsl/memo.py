"""`per_flow`: compute a derived view of a resolved flow once, however many passes ask for it.

The rules, the targets, `trace` and the review page all read the same event graph
and deployment plan of one flow; each is built on first use and kept for the few
flows last asked about (generation handles one flow at a time). The cache is keyed
by identity: a resolved flow is immutable, and a copy (a changed `path`) is a new
flow whose views are built again.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flowgen_design.dsl.model import Flow

T = TypeVar("T")

KEPT = 4


def per_flow(build: Callable[[Flow], T]) -> Callable[[Flow], T]:
    """Wrap `build(flow)` so each flow's result is built once (for the last `KEPT` flows)."""
    kept: list[tuple[Flow, T]] = []

    @wraps(build)
    def cached(flow: Flow) -> T:
        for seen, value in kept:
            if seen is flow:
                return value
        value = build(flow)
        kept.insert(0, (flow, value))
        del kept[KEPT:]
        return value

    return cached
