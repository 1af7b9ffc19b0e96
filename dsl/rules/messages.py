"""Message rules: headers that something can fill, channel addresses that AsyncAPI can take.

A header travels in the envelope, and only code sets an envelope's headers: a
handler returning the event. An `api` entry point and a saga's outcome put an
event on the bus without user code, so a required header there is never set.
"""

from __future__ import annotations

import re

from flowgen_design.dsl import codes
from flowgen_design.dsl.graph import event_graph
from flowgen_design.dsl.model import ApiEndpoint, Saga, type_text
from flowgen_design.dsl.rules import RuleContext

MAX_CHANNEL_LENGTH = 255
_CHANNEL_TEXT = re.compile(r"[^\s{}]+")


def check_headers_filled(ctx: RuleContext) -> None:
    graph = event_graph(ctx.flow)
    for event in ctx.flow.events:
        required = [h for h in event.headers if not h.optional]
        if not required:
            continue
        for arc in graph.publishers(event.name):
            who = _publisher(arc.source)
            if who is None:
                continue
            names = ", ".join(f"`{h.name}`" for h in required)
            ctx.report.add(
                codes.HEADER_NEVER_FILLED,
                f"{who} publishes `{event.name}`, but nothing there sets its required header {names}",
                required[0].span,
                f"make the header optional (`header {required[0].name}: {type_text(required[0].type)}?`), or publish "
                f"`{event.name}` from a handler that sets it",
            )
            break


def _publisher(source: object) -> str | None:
    if isinstance(source, ApiEndpoint):
        return f"`{source.route}` of `{source.service}`"
    if isinstance(source, Saga):
        return f"saga `{source.name}`"
    return None


def check_channels(ctx: RuleContext) -> None:
    """Each event's channel address is one AsyncAPI address, and no two events share one."""
    seen: dict[str, str] = {}
    for event in ctx.flow.events:
        address = event.address
        if event.channel is not None and not _valid(address):
            ctx.report.add(
                codes.INVALID_CHANNEL,
                f"channel `{address}` of `{event.name}` is not an address AsyncAPI can take",
                event.channel_span or event.name_span,
                f"use letters, digits and separators such as `.`, `/`, `-` (at most {MAX_CHANNEL_LENGTH}), "
                "e.g. `orders.placed`",
            )
            continue
        first = seen.setdefault(address, event.name)
        if first != event.name:
            ctx.report.add(
                codes.DUPLICATE_CHANNEL,
                f"`{event.name}` and `{first}` share the channel `{address}`",
                event.channel_span or event.name_span,
                f'give `{event.name}` its own address with `channel "..."`',
            )


def _valid(address: str) -> bool:
    return bool(_CHANNEL_TEXT.fullmatch(address)) and len(address) <= MAX_CHANNEL_LENGTH
