"""Message rules: headers that something can fill, channel addresses that AsyncAPI can take.

A header travels in the envelope, and only code sets an envelope's headers: a
handler returning the event. An `api` entry point and a saga's outcome put an
event on the bus without user code, so a required header there is never set.
"""

from __future__ import annotations

import re

from flowgen_design.dsl import ast, codes
from flowgen_design.dsl.graph import event_graph
from flowgen_design.dsl.model import ApiEndpoint, Command, Saga, type_text
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
    seen: dict[str, str] = {c.name: f"command {c.name}" for c in ctx.flow.commands}
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
                f"`{event.name}` and `{first}` share the channel `{address}`".replace("`command ", "command `"),
                event.channel_span or event.name_span,
                f'give `{event.name}` its own address with `channel "..."`',
            )


def _valid(address: str) -> bool:
    return bool(_CHANNEL_TEXT.fullmatch(address)) and len(address) <= MAX_CHANNEL_LENGTH


# ---- error kinds: `retryable` replies and `raises` errors ----------------------------------------

RUNTIME_ERRORS = ("InvalidMessage", "AttemptsExhausted", "FinalError")
"""Errors the generated adapters report (and the base class of declared errors): a declared error
with one of these names would be mistaken for them."""


def check_retryable_replies(ctx: RuleContext) -> None:
    """A success cannot be retried; a retryable reply needs a handler that makes more than one attempt."""
    for decl in (d for m in ctx.modules for d in m.declarations if isinstance(d, ast.CommandDecl)):
        if decl.replies and decl.replies[0] in decl.retryable:
            ctx.report.add(
                codes.RETRYABLE_SUCCESS,
                f"`{decl.replies[0].text}` is the success reply of `{decl.name.text}`: it cannot be `retryable`",
                decl.replies[0].span,
                "mark a failure reply (one after the first) `retryable`, or reorder the replies",
            )
    resent = {s.action.command.name for saga in ctx.flow.sagas for s in saga.steps if s.policy.retried}
    for service in ctx.flow.services:
        for handler in service.handlers:
            command = handler.input
            if not isinstance(command, Command) or handler.policy.retried or not command.retryable:
                continue
            if command.name in resent:
                continue
            names = ", ".join(f"`{e.name}`" for e in command.retryable)
            ctx.report.add(
                codes.RETRYABLE_NOT_RETRIED,
                f"`{service.name}.{handler.name}` makes one attempt and no saga step resends `{command.name}`, "
                f"so its `retryable` reply {names} is never retried",
                handler.span,
                "give the handler `retry N` (N counts every attempt) or the step `{ retry N }`, or drop `retryable`",
            )


def check_error_names(ctx: RuleContext) -> None:
    """A declared error must not pass for a reply of the same command, or for flowgen's own errors."""
    commands = {c.name: c for c in ctx.flow.commands}
    for module in ctx.modules:
        for decl in module.declarations:
            members = decl.members if isinstance(decl, ast.ServiceDecl) else ()
            for member in members:
                body = member.body if isinstance(member, ast.HandlesDecl | ast.OnDecl) else None
                command = commands.get(member.command.text) if isinstance(member, ast.HandlesDecl) else None
                replies = {r.name for r in command.replies} if command else set()
                for option in body.options if body else ():
                    if isinstance(option, ast.RaisesOption):
                        _error_names(ctx, option, replies)
            if isinstance(decl, ast.PolicyDecl | ast.DefaultsDecl):
                for option in decl.options:
                    if isinstance(option, ast.RaisesOption):
                        _error_names(ctx, option, set())


def _error_names(ctx: RuleContext, option: ast.RaisesOption, replies: set[str]) -> None:
    for name in option.errors:
        if name.text in replies:
            message = f"error `{name.text}` has the name of a reply of this handler's command"
            hint = "a saga would take it for that reply: give the error its own name, or return the reply"
        elif name.text in RUNTIME_ERRORS:
            message = f"error `{name.text}` has the name of an error flowgen reports itself"
            hint = f"give the error its own name (flowgen uses {', '.join(RUNTIME_ERRORS)})"
        else:
            continue
        ctx.report.add(codes.ERROR_NAME_TAKEN, message, name.span, hint)
