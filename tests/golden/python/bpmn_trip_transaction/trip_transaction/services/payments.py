"""The `Payments` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from typing_extensions import override

from trip_transaction import models
from trip_transaction.handlers.payments import PaymentsHandlers


def build() -> PaymentsService:
    """Build the `Payments` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `PaymentsService`; tests build `PaymentsService` themselves with
    fakes. Handlers read the message's ids, attempt, deadline and logger with
    `trip_transaction.context.current_context()`.
    """
    return PaymentsService()


class PaymentsService(PaymentsHandlers):
    """Implements the handlers of `Payments`."""

    @override
    def charge_card(
        self, command: models.ChargeCard
    ) -> models.CardCharged | models.CardDeclined:
        raise NotImplementedError("Payments.charge_card: implement this handler")
