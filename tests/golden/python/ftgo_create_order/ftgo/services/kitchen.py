"""The `Kitchen` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from typing_extensions import override

from ftgo import models
from ftgo.handlers.kitchen import KitchenHandlers


def build() -> KitchenService:
    """Build the `Kitchen` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `KitchenService`; tests build `KitchenService` themselves with
    fakes. Handlers read the message's ids, attempt, deadline and logger with
    `ftgo.context.current_context()`.
    """
    return KitchenService()


class KitchenService(KitchenHandlers):
    """Implements the handlers of `Kitchen`."""

    @override
    def create_ticket(
        self, command: models.CreateTicket
    ) -> models.TicketCreated | models.TicketRejected:
        raise NotImplementedError("Kitchen.create_ticket: implement this handler")

    @override
    def cancel_create_ticket(
        self, command: models.CancelCreateTicket
    ) -> models.TicketCancelled:
        raise NotImplementedError(
            "Kitchen.cancel_create_ticket: implement this handler"
        )

    @override
    def confirm_create_ticket(
        self, command: models.ConfirmCreateTicket
    ) -> models.TicketConfirmed:
        raise NotImplementedError(
            "Kitchen.confirm_create_ticket: implement this handler"
        )
