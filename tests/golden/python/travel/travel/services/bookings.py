"""The `Bookings` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from collections.abc import Sequence

from typing_extensions import override

from travel import models
from travel.handlers.bookings import BookingsHandlers


def build() -> BookingsService:
    """Build the `Bookings` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `BookingsService`; tests build `BookingsService` themselves with
    fakes. Handlers read the message's ids, attempt, deadline and logger with
    `travel.context.current_context()`.
    """
    return BookingsService()


class BookingsService(BookingsHandlers):
    """Implements the handlers of `Bookings`."""

    @override
    def alert_travellers(
        self, event: models.FareChanged
    ) -> Sequence[models.TravellerAlerted]:
        raise NotImplementedError("Bookings.alert_travellers: implement this handler")
