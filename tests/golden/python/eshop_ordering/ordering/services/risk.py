"""The `Risk` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from typing_extensions import override

from ordering import models
from ordering.handlers.risk import RiskHandlers


def build() -> RiskService:
    """Build the `Risk` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `RiskService`; tests build `RiskService` themselves with fakes.
    Handlers read the message's ids, attempt, deadline and logger with
    `ordering.context.current_context()`.
    """
    return RiskService()


class RiskService(RiskHandlers):
    """Implements the handlers of `Risk`."""

    @override
    def assess_risk(
        self, command: models.AssessRisk
    ) -> models.LowRisk | models.NeedsReview | models.Fraud:
        raise NotImplementedError("Risk.assess_risk: implement this handler")

    @override
    def review_order(
        self, command: models.ReviewOrder
    ) -> models.Approved | models.Declined:
        raise NotImplementedError("Risk.review_order: implement this handler")
