"""The `Catalog` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from typing_extensions import override

from ordering import models
from ordering.handlers.catalog import CatalogHandlers


def build() -> CatalogService:
    """Build the `Catalog` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `CatalogService`; tests build `CatalogService` themselves with
    fakes. Handlers read the message's ids, attempt, deadline and logger with
    `ordering.context.current_context()`.
    """
    return CatalogService()


class CatalogService(CatalogHandlers):
    """Implements the handlers of `Catalog`."""

    @override
    def confirm_stock(
        self, command: models.ConfirmStock
    ) -> models.StockConfirmed | models.StockRejected:
        raise NotImplementedError("Catalog.confirm_stock: implement this handler")

    @override
    def release_stock(self, command: models.ReleaseStock) -> models.StockReleased:
        raise NotImplementedError("Catalog.release_stock: implement this handler")
