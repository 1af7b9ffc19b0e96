"""The `Flights` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from typing_extensions import override

from trip_transaction import models
from trip_transaction.handlers.flights import FlightsHandlers


def build() -> FlightsService:
    """Build the `Flights` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `FlightsService`; tests build `FlightsService` themselves with
    fakes. Handlers read the message's ids, attempt, deadline and logger with
    `trip_transaction.context.current_context()`.
    """
    return FlightsService()


class FlightsService(FlightsHandlers):
    """Implements the handlers of `Flights`."""

    @override
    def book_flight(
        self, command: models.BookFlight
    ) -> models.FlightBooked | models.FlightUnavailable:
        raise NotImplementedError("Flights.book_flight: implement this handler")

    @override
    def cancel_flight(self, command: models.CancelFlight) -> models.FlightCancelled:
        raise NotImplementedError("Flights.cancel_flight: implement this handler")
