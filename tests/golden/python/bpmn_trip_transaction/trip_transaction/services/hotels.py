"""The `Hotels` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from typing_extensions import override

from trip_transaction import models
from trip_transaction.handlers.hotels import HotelsHandlers


def build() -> HotelsService:
    """Build the `Hotels` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `HotelsService`; tests build `HotelsService` themselves with fakes.
    Handlers read the message's ids, attempt, deadline and logger with
    `trip_transaction.context.current_context()`.
    """
    return HotelsService()


class HotelsService(HotelsHandlers):
    """Implements the handlers of `Hotels`."""

    @override
    def book_hotel(
        self, command: models.BookHotel
    ) -> models.HotelBooked | models.HotelUnavailable:
        raise NotImplementedError("Hotels.book_hotel: implement this handler")

    @override
    def cancel_hotel(self, command: models.CancelHotel) -> models.HotelCancelled:
        raise NotImplementedError("Hotels.cancel_hotel: implement this handler")
