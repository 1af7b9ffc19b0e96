"""The `Shipping` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from typing_extensions import override

from checkout import models
from checkout.handlers.shipping import ShippingHandlers


class ShippingService(ShippingHandlers):
    """Implements the handlers of `Shipping`."""

    @override
    def schedule_shipment(
        self, command: models.ScheduleShipment
    ) -> models.ShipmentScheduled:
        raise NotImplementedError("Shipping.schedule_shipment: implement this handler")
