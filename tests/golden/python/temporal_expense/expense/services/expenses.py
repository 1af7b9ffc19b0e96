"""The `Expenses` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from typing_extensions import override

from expense import models
from expense.handlers.expenses import ExpensesHandlers


def build() -> ExpensesService:
    """Build the `Expenses` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `ExpensesService`; tests build `ExpensesService` themselves with
    fakes. Handlers read the message's ids, attempt, deadline and logger with
    `expense.context.current_context()`.
    """
    return ExpensesService()


class ExpensesService(ExpensesHandlers):
    """Implements the handlers of `Expenses`."""

    @override
    def create_expense(self, command: models.CreateExpense) -> models.ExpenseCreated:
        raise NotImplementedError("Expenses.create_expense: implement this handler")

    @override
    def make_payment(self, command: models.MakePayment) -> models.PaymentMade:
        raise NotImplementedError("Expenses.make_payment: implement this handler")
