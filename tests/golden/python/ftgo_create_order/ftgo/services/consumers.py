"""The `Consumers` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from typing_extensions import override

from ftgo import models
from ftgo.handlers.consumers import ConsumersHandlers


def build() -> ConsumersService:
    """Build the `Consumers` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `ConsumersService`; tests build `ConsumersService` themselves with
    fakes. Handlers read the message's ids, attempt, deadline and logger with
    `ftgo.context.current_context()`.
    """
    return ConsumersService()


class ConsumersService(ConsumersHandlers):
    """Implements the handlers of `Consumers`."""

    @override
    def validate_order_by_consumer(
        self, command: models.ValidateOrderByConsumer
    ) -> models.ConsumerVerified | models.ConsumerVerificationFailed:
        raise NotImplementedError(
            "Consumers.validate_order_by_consumer: implement this handler"
        )
