"""The `Inventory` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from typing_extensions import override

from checkout import models
from checkout.handlers.inventory import InventoryHandlers


def build() -> InventoryService:
    """Build the `Inventory` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `InventoryService`; tests build `InventoryService` themselves with
    fakes. Handlers read the message's ids, attempt, deadline and logger with
    `checkout.context.current_context()`.
    """
    return InventoryService()


class InventoryService(InventoryHandlers):
    """Implements the handlers of `Inventory`."""

    @override
    def reserve_stock(
        self, command: models.ReserveStock
    ) -> models.StockReserved | models.OutOfStock:
        raise NotImplementedError("Inventory.reserve_stock: implement this handler")

    @override
    def release_stock(self, command: models.ReleaseStock) -> models.StockReleased:
        raise NotImplementedError("Inventory.release_stock: implement this handler")
