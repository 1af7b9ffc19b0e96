"""Names that must be unique in the spec itself: API routes."""

from __future__ import annotations

from flowgen_design.dsl import codes
from flowgen_design.dsl.rules import RuleContext
from flowgen_design.dsl.source import Span


def check_duplicate_routes(ctx: RuleContext) -> None:
    seen: dict[str, Span] = {}
    for service in ctx.flow.services:
        for api in service.apis:
            first = seen.get(api.route)
            if first:
                ctx.report.add(
                    codes.DUPLICATE_NAME,
                    f"`{api.route}` is declared twice",
                    api.span,
                    f"first declared at {first.file}:{first.line}:{first.column}",
                )
            seen.setdefault(api.route, api.span)
