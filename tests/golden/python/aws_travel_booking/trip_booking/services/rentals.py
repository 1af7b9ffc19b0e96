"""The `Rentals` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from typing_extensions import override

from trip_booking import models
from trip_booking.handlers.rentals import RentalsHandlers


def build() -> RentalsService:
    """Build the `Rentals` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `RentalsService`; tests build `RentalsService` themselves with
    fakes. Handlers read the message's ids, attempt, deadline and logger with
    `trip_booking.context.current_context()`.
    """
    return RentalsService()


class RentalsService(RentalsHandlers):
    """Implements the handlers of `Rentals`."""

    @override
    def reserve_car_rental(
        self, command: models.ReserveCarRental
    ) -> models.CarRentalReserved:
        raise NotImplementedError("Rentals.reserve_car_rental: implement this handler")

    @override
    def confirm_car_rental(
        self, command: models.ConfirmCarRental
    ) -> models.CarRentalConfirmed:
        raise NotImplementedError("Rentals.confirm_car_rental: implement this handler")

    @override
    def cancel_rental(self, command: models.CancelRental) -> models.RentalCancelled:
        raise NotImplementedError("Rentals.cancel_rental: implement this handler")
