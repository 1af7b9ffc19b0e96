"""The `Customers` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from typing_extensions import override

from trip_transaction import models
from trip_transaction.handlers.customers import CustomersHandlers


def build() -> CustomersService:
    """Build the `Customers` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `CustomersService`; tests build `CustomersService` themselves with
    fakes. Handlers read the message's ids, attempt, deadline and logger with
    `trip_transaction.context.current_context()`.
    """
    return CustomersService()


class CustomersService(CustomersHandlers):
    """Implements the handlers of `Customers`."""

    @override
    def ask_customer(
        self, command: models.AskCustomer
    ) -> models.TripConfirmed | models.TripDeclined:
        raise NotImplementedError("Customers.ask_customer: implement this handler")
