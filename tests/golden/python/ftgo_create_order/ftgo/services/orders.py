"""The `Orders` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from typing_extensions import override

from ftgo import models
from ftgo.handlers.orders import OrdersHandlers


def build() -> OrdersService:
    """Build the `Orders` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `OrdersService`; tests build `OrdersService` themselves with fakes.
    Handlers read the message's ids, attempt, deadline and logger with
    `ftgo.context.current_context()`.
    """
    return OrdersService()


class OrdersService(OrdersHandlers):
    """Implements the handlers of `Orders`."""

    @override
    def approve_order(self, command: models.ApproveOrder) -> models.OrderApproved:
        raise NotImplementedError("Orders.approve_order: implement this handler")

    @override
    def reject_order(self, command: models.RejectOrder) -> models.OrderRejected:
        raise NotImplementedError("Orders.reject_order: implement this handler")
