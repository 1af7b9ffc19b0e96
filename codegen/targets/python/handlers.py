"""`<package>/handlers/<service>.py`: the abstract interface of each service.

One `@abc.abstractmethod` per handler whose signature is the design: the exact
input model, and as return type exactly the events the spec lets it produce. A
user class that returns anything else fails `mypy --strict`.
"""

from __future__ import annotations

from flowgen_design.codegen.header import comment_header
from flowgen_design.codegen.names import handlers_class, python_package, service_class, service_module
from flowgen_design.codegen.targets.python.source import Imports, docstring, format_module, indented, paragraphs, prose
from flowgen_design.dsl.durations import format_ms
from flowgen_design.dsl.model import Command, DeliveryPolicy, Event, Flow, Handler, Service


def parameter(handler: Handler) -> str:
    """`command: models.ReserveStock` or `event: models.PaymentFailed`."""
    return f"{handler.trigger}: models.{handler.input.name}"


def _union(events: tuple[Event, ...]) -> str:
    return " | ".join(f"models.{e.name}" for e in events)


def _extras(handler: Handler) -> tuple[Event, ...]:
    """Events a command handler publishes besides its reply (`emits`)."""
    replies = handler.input.replies if isinstance(handler.input, Command) else ()
    return tuple(e for e in handler.outputs if e not in replies)


def return_type(handler: Handler) -> str:
    """What the handler returns, built from `handler.outputs` and nothing else.

    A command handler returns exactly one reply; if it also `emits` other events, it
    returns `(reply, events)`. An event handler returns the events it publishes, or
    None when it may publish none.
    """
    extras = _extras(handler)
    events = f"Sequence[{_union(extras)}]" if extras else None
    if isinstance(handler.input, Command) and handler.input.replies:
        reply = _union(handler.input.replies)
        return f"tuple[{reply}, {events}]" if events else reply
    return events or "None"


def uses_sequence(handler: Handler) -> bool:
    return bool(_extras(handler))


def signature(handler: Handler) -> str:
    return f"def {handler.name}(self, {parameter(handler)}) -> {return_type(handler)}:"


# ---- docstrings ---------------------------------------------------------------------------


def _names(events: tuple[Event, ...]) -> str:
    return ", ".join(f"`{e.name}`" for e in events)


def _outputs_text(handler: Handler) -> str:
    extras = _extras(handler)
    parts = []
    if isinstance(handler.input, Command) and handler.input.replies:
        first, *rest = handler.input.replies
        others = f", or a failure: {_names(tuple(rest))}" if rest else ""
        parts.append(f"Returns exactly one reply: `{first.name}` on success{others}.")
    if extras:
        verb = "Also returns" if parts else "Returns"
        parts.append(f"{verb} the events to publish, any of: {_names(extras)}.")
    if not parts:
        parts.append("Returns None: the spec lets it publish no event.")
    return " ".join(parts)


def delivery_text(policy: DeliveryPolicy, trigger: str = "event") -> str:
    """Retry, timeout, dead-letter and idempotency facts, as a reviewer reads them."""
    facts = [_attempts_text(policy)]
    default = "" if policy.timeout_span else " (flowgen's default)"
    facts.append(f"Timeout: {format_ms(policy.timeout_ms)} per attempt{default}.")
    if policy.dlq:
        facts.append("Messages that fail every attempt go to a dead-letter queue.")
    facts.append(_idempotency_text(policy, trigger))
    if policy.policies:
        facts.append("Policies: " + ", ".join(f"`{p}`" for p in policy.policies) + ".")
    return "\n".join(facts)


def _attempts_text(policy: DeliveryPolicy) -> str:
    if not policy.retried:
        return "Attempts: 1 (no retries)."
    text = f"Attempts: up to {policy.attempts}"
    b = policy.backoff
    if b is None:
        return text + ", retried without waiting."
    if b.strategy == "fixed":
        wait = f"fixed backoff {format_ms(b.initial_ms)}"
    else:
        wait = f"exponential backoff {format_ms(b.initial_ms)}..{format_ms(b.max_ms)}"
    return f"{text}, {wait}{' with jitter' if b.jitter else ''}."


def _idempotency_text(policy: DeliveryPolicy, trigger: str) -> str:
    i = policy.idempotency
    if trigger == "command":
        return "Deduplicated per saga instance and step: a redelivered command is answered without running it again."
    if i is None:
        return "Deduplicated by message id: a redelivered message is answered without running it again."
    window = f" within {format_ms(i.within_ms)}" if i.within_ms else ""
    fields = ", ".join(f"`{f.name}`" for f in i.fields)
    return f"Idempotent by {fields}{window}: a duplicate is answered without running it again."


def _error_kinds_text(handler: Handler) -> str | None:
    """What `retryable` replies and `raises` errors mean for this handler, when the spec has any."""
    facts = []
    retryable = handler.input.retryable if isinstance(handler.input, Command) else ()
    if retryable:
        facts.append(
            f"Retryable: {_names(retryable)}: returned before the last attempt, the attempt is retried "
            "like an exception; returned on the last, it is the failure reply."
        )
    if handler.raises:
        errors = ", ".join(f"`errors.{e}`" for e in handler.raises)
        facts.append(f"Raise {errors} to fail at once: never retried.")
    return " ".join(facts) or None


def handler_doc(handler: Handler) -> str:
    kind = "command" if handler.trigger == "command" else "event"
    kinds = _error_kinds_text(handler)
    return paragraphs(
        f"Handle the `{handler.input.name}` {kind}.",
        handler.doc,
        handler.input.doc,
        prose(_outputs_text(handler)),
        prose(kinds) if kinds else None,
        delivery_text(handler.policy, handler.trigger),
    )


# ---- the module ----------------------------------------------------------------------------


def handlers_module(flow: Flow, service: Service) -> str:
    package = python_package(flow)
    imports = Imports()
    imports.add("future", "__future__", "annotations")
    if service.handlers:  # a service with entry points only has nothing abstract: a plain class
        imports.add("stdlib", "abc")
        imports.add("local", package, "models")
    methods: list[str] = []
    for handler in service.handlers:
        if uses_sequence(handler):
            imports.add("stdlib", "collections.abc", "Sequence")
        methods += ["", "@abc.abstractmethod", signature(handler), *indented(docstring(handler_doc(handler)))]
    implementation = f"{package}.services.{service_module(service.name)}.{service_class(service.name)}"
    class_doc = paragraphs(
        f"The handlers of the `{service.name}` service, as the spec declares them.",
        service.doc,
        prose(
            f"Implement them in `{implementation}`: mypy --strict holds each method to the "
            "input, replies and events the spec allows. During a call, "
            f"`{package}.context.current_context()` gives the message's ids, attempt, deadline and logger."
        ),
    )
    intro = f"Handler interface of the `{service.name}` service (flow `{flow.name}` {flow.version})."
    return format_module(
        [
            *comment_header(flow, "#").splitlines(),
            *docstring(intro),
            "",
            *imports.lines(),
            "",
            f"class {handlers_class(service.name)}{'(abc.ABC)' if service.handlers else ''}:",
            *indented([*docstring(class_doc), *methods]),
        ]
    )
