"""The `Quiet` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from typing_extensions import override

from python_edges import models
from python_edges.handlers.quiet import QuietHandlers


def build() -> QuietService:
    """Build the `Quiet` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `QuietService`; tests build `QuietService` themselves with fakes.
    Handlers read the message's ids, attempt, deadline and logger with
    `python_edges.context.current_context()`.
    """
    return QuietService()


class QuietService(QuietHandlers):
    """Implements the handlers of `Quiet`."""

    @override
    def observe(self, event: models.Flagged) -> None:
        raise NotImplementedError("Quiet.observe: implement this handler")
