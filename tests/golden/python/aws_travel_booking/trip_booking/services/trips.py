"""The `Trips` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from trip_booking.handlers.trips import TripsHandlers


def build() -> TripsService:
    """Build the `Trips` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `TripsService`; tests build `TripsService` themselves with fakes.
    Handlers read the message's ids, attempt, deadline and logger with
    `trip_booking.context.current_context()`.
    """
    return TripsService()


class TripsService(TripsHandlers):
    """Implements the handlers of `Trips`."""
