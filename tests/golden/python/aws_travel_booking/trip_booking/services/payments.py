"""The `Payments` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from typing_extensions import override

from trip_booking import models
from trip_booking.handlers.payments import PaymentsHandlers


def build() -> PaymentsService:
    """Build the `Payments` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `PaymentsService`; tests build `PaymentsService` themselves with
    fakes. Handlers read the message's ids, attempt, deadline and logger with
    `trip_booking.context.current_context()`.
    """
    return PaymentsService()


class PaymentsService(PaymentsHandlers):
    """Implements the handlers of `Payments`."""

    @override
    def process_payment(
        self, command: models.ProcessPayment
    ) -> models.PaymentProcessed:
        raise NotImplementedError("Payments.process_payment: implement this handler")

    @override
    def refund_payment(self, command: models.RefundPayment) -> models.PaymentRefunded:
        raise NotImplementedError("Payments.refund_payment: implement this handler")
