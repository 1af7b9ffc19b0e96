"""The `Busy` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from collections.abc import Sequence

from typing_extensions import override

from python_edges import models
from python_edges.handlers.busy import BusyHandlers


def build() -> BusyService:
    """Build the `Busy` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `BusyService`; tests build `BusyService` themselves with fakes.
    Handlers read the message's ids, attempt, deadline and logger with
    `python_edges.context.current_context()`.
    """
    return BusyService()


class BusyService(BusyHandlers):
    """Implements the handlers of `Busy`."""

    @override
    def ping(self, command: models.Ping) -> Sequence[models.Shipped]:
        raise NotImplementedError("Busy.ping: implement this handler")

    @override
    def send(
        self, command: models.Send
    ) -> tuple[models.Sent | models.Bounced, Sequence[models.Noted]]:
        raise NotImplementedError("Busy.send: implement this handler")

    @override
    def on_dated(self, event: models.Dated) -> Sequence[models.Shipped]:
        raise NotImplementedError("Busy.on_dated: implement this handler")

    @override
    def on_ticked(
        self, event: models.Ticked
    ) -> Sequence[models.Shipped | models.Noted]:
        raise NotImplementedError("Busy.on_ticked: implement this handler")
