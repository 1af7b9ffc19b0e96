"""The `Billing` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from typing_extensions import override

from travel import models
from travel.handlers.billing import BillingHandlers


def build() -> BillingService:
    """Build the `Billing` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `BillingService`; tests build `BillingService` themselves with
    fakes. Handlers read the message's ids, attempt, deadline and logger with
    `travel.context.current_context()`.
    """
    return BillingService()


class BillingService(BillingHandlers):
    """Implements the handlers of `Billing`."""

    @override
    def charge_trip(
        self, command: models.ChargeTrip
    ) -> models.TripPaid | models.TripPaymentDeclined:
        raise NotImplementedError("Billing.charge_trip: implement this handler")
