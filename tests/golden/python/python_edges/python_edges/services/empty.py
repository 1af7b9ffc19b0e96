"""The `Empty` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from python_edges.handlers.empty import EmptyHandlers


def build() -> EmptyService:
    """Build the `Empty` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `EmptyService`; tests build `EmptyService` themselves with fakes.
    Handlers read the message's ids, attempt, deadline and logger with
    `python_edges.context.current_context()`.
    """
    return EmptyService()


class EmptyService(EmptyHandlers):
    """Implements the handlers of `Empty`."""
