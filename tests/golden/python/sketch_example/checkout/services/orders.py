"""The `Orders` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from collections.abc import Sequence

from typing_extensions import override

from checkout import models
from checkout.handlers.orders import OrdersHandlers


def build() -> OrdersService:
    """Build the `Orders` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `OrdersService`; tests build `OrdersService` themselves with fakes.
    Handlers read the message's ids, attempt, deadline and logger with
    `checkout.context.current_context()`.
    """
    return OrdersService()


class OrdersService(OrdersHandlers):
    """Implements the handlers of `Orders`."""

    @override
    def cancel_order(
        self, event: models.PaymentFailed
    ) -> Sequence[models.OrderConfirmed | models.OrderCancelled]:
        raise NotImplementedError("Orders.cancel_order: implement this handler")
