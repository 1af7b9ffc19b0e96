"""The `Accounting` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from typing_extensions import override

from ftgo import models
from ftgo.handlers.accounting import AccountingHandlers


def build() -> AccountingService:
    """Build the `Accounting` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `AccountingService`; tests build `AccountingService` themselves with
    fakes. Handlers read the message's ids, attempt, deadline and logger with
    `ftgo.context.current_context()`.
    """
    return AccountingService()


class AccountingService(AccountingHandlers):
    """Implements the handlers of `Accounting`."""

    @override
    def authorize_card(
        self, command: models.AuthorizeCard
    ) -> models.CardAuthorized | models.CardAuthorizationFailed:
        raise NotImplementedError("Accounting.authorize_card: implement this handler")
