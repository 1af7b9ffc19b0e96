"""The `Ordering` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from ordering.handlers.ordering import OrderingHandlers


def build() -> OrderingService:
    """Build the `Ordering` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `OrderingService`; tests build `OrderingService` themselves with
    fakes. Handlers read the message's ids, attempt, deadline and logger with
    `ordering.context.current_context()`.
    """
    return OrderingService()


class OrderingService(OrderingHandlers):
    """Implements the handlers of `Ordering`."""
