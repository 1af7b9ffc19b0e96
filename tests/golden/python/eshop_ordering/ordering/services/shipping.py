"""The `Shipping` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from typing_extensions import override

from ordering import models
from ordering.handlers.shipping import ShippingHandlers


def build() -> ShippingService:
    """Build the `Shipping` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `ShippingService`; tests build `ShippingService` themselves with
    fakes. Handlers read the message's ids, attempt, deadline and logger with
    `ordering.context.current_context()`.
    """
    return ShippingService()


class ShippingService(ShippingHandlers):
    """Implements the handlers of `Shipping`."""

    @override
    def ship(self, command: models.Ship) -> models.Shipped | models.Backordered:
        raise NotImplementedError("Shipping.ship: implement this handler")
