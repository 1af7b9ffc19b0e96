"""The `Flights` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from typing_extensions import override

from travel import models
from travel.handlers.flights import FlightsHandlers


def build() -> FlightsService:
    """Build the `Flights` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `FlightsService`; tests build `FlightsService` themselves with
    fakes. Handlers read the message's ids, attempt, deadline and logger with
    `travel.context.current_context()`.
    """
    return FlightsService()


class FlightsService(FlightsHandlers):
    """Implements the handlers of `Flights`."""

    @override
    def hold_flight(
        self, command: models.HoldFlight
    ) -> models.FlightHeld | models.FlightUnavailable:
        raise NotImplementedError("Flights.hold_flight: implement this handler")

    @override
    def release_flight(self, command: models.ReleaseFlight) -> models.FlightReleased:
        raise NotImplementedError("Flights.release_flight: implement this handler")

    @override
    def issue_tickets(self, command: models.IssueTickets) -> models.TicketsIssued:
        raise NotImplementedError("Flights.issue_tickets: implement this handler")
