"""The `Banking` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from typing_extensions import override

from money_transfer import models
from money_transfer.handlers.banking import BankingHandlers


def build() -> BankingService:
    """Build the `Banking` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `BankingService`; tests build `BankingService` themselves with
    fakes. Handlers read the message's ids, attempt, deadline and logger with
    `money_transfer.context.current_context()`.
    """
    return BankingService()


class BankingService(BankingHandlers):
    """Implements the handlers of `Banking`."""

    @override
    def withdraw(
        self, command: models.Withdraw
    ) -> models.Withdrawn | models.InvalidAccount | models.InsufficientFunds:
        raise NotImplementedError("Banking.withdraw: implement this handler")

    @override
    def deposit(
        self, command: models.Deposit
    ) -> models.Deposited | models.InvalidAccount:
        raise NotImplementedError("Banking.deposit: implement this handler")

    @override
    def refund(self, command: models.Refund) -> models.Refunded | models.InvalidAccount:
        raise NotImplementedError("Banking.refund: implement this handler")
