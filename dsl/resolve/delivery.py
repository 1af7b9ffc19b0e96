"""Resolving delivery options: `defaults`, named policies, `use`, and inline options.

Options are applied in order, later ones overriding earlier ones: `defaults`,
then a handler's options as written (a `use` applies that policy's options at
its place). Idempotency names a field, so it is resolved against each handler's
input message, not once per policy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from flowgen_design.dsl import ast, codes
from flowgen_design.dsl.model import DEFAULT_TIMEOUT_MS, Backoff, DeliveryPolicy, Field, Idempotency, Policy
from flowgen_design.dsl.resolve.keys import key_field
from flowgen_design.dsl.resolve.symbols import Symbols, did_you_mean
from flowgen_design.dsl.source import Span

_STRATEGIES = ("fixed", "exponential")
MAX_USE_DEPTH = 32


@dataclass
class Layer:
    """The delivery settings that some options set, with where each was set."""

    values: dict[str, Any] = field(default_factory=dict)
    idempotent: ast.IdempotentOption | None = None
    emits: ast.EmitsOption | None = None
    used: tuple[str, ...] = ()
    raises: tuple[ast.Name, ...] = ()
    """`raises` adds up: every error named on the way (defaults, policies, the handler)."""

    def over(self, base: Layer) -> Layer:
        return Layer(
            values={**base.values, **self.values},
            idempotent=self.idempotent or base.idempotent,
            emits=self.emits or base.emits,
            used=base.used + self.used,
            raises=base.raises + self.raises,
        )


class DeliveryResolver:
    def __init__(self, symbols: Symbols) -> None:
        self.symbols = symbols
        self.report = symbols.reporter
        self.layers: dict[str, Layer] = {}
        self._in_progress: list[str] = []
        self.defaults = Layer()

    def load_defaults(self, modules: list[ast.Module]) -> None:
        blocks = [d for m in modules for d in m.declarations if isinstance(d, ast.DefaultsDecl)]
        if blocks:
            self.defaults = self.layer(blocks[0].options)

    def policy_layer(self, decl: ast.PolicyDecl) -> Layer:
        name = decl.name.text
        if name in self.layers:
            return self.layers[name]
        if name in self._in_progress:
            chain = " -> ".join(self._in_progress[self._in_progress.index(name) :] + [name])
            self.report.add(
                codes.POLICY_CYCLE,
                f"policy `{name}` uses itself ({chain})",
                decl.name.span,
                "remove one of the `use` lines",
            )
            return Layer()
        if len(self._in_progress) >= MAX_USE_DEPTH:
            chain = f"{self._in_progress[0]} -> ... -> {name}"
            self.report.add(
                codes.NESTING_TOO_DEEP,
                f"policies `use` each other more than {MAX_USE_DEPTH} deep ({chain})",
                decl.name.span,
                "let policies build on one or two others, not on long chains",
            )
            return Layer()
        self._in_progress.append(name)
        layer = self.layer(decl.options)
        self._in_progress.pop()
        self.layers[name] = layer
        return layer

    def policy(self, decl: ast.PolicyDecl) -> Policy:
        layer = self.policy_layer(decl)
        return Policy(
            name=decl.name.text,
            delivery=self.delivery(layer, None),
            doc=decl.doc,
            span=decl.span,
            name_span=decl.name.span,
        )

    def layer(self, options: tuple[ast.Option, ...]) -> Layer:
        result = Layer()
        for option in options:
            result = self._option_layer(option).over(result)
        return result

    def _option_layer(self, option: ast.Option) -> Layer:
        if isinstance(option, ast.UseOption):
            decl = self.symbols.lookup(option.policy, "policy")
            if not isinstance(decl, ast.PolicyDecl):
                return Layer()
            used = self.policy_layer(decl)
            return Layer(
                values=used.values,
                idempotent=used.idempotent,
                emits=used.emits,
                used=(decl.name.text, *used.used),
                raises=used.raises,
            )
        if isinstance(option, ast.RetryOption):
            return Layer(
                values={"attempts": (option.attempts, option.span), "backoff": (self._backoff(option), option.span)}
            )
        if isinstance(option, ast.TimeoutOption):
            return Layer(values={"timeout_ms": (option.duration.millis, option.span)})
        if isinstance(option, ast.DlqOption):
            return Layer(values={"dlq": (True, option.span)})
        if isinstance(option, ast.IdempotentOption):
            return Layer(idempotent=option)
        if isinstance(option, ast.RaisesOption):
            return Layer(raises=option.errors)
        return Layer(emits=option)

    def _backoff(self, retry: ast.RetryOption) -> Backoff | None:
        b = retry.backoff
        if b is None:
            return None
        if b.kind.text not in _STRATEGIES:
            hint = (
                did_you_mean(b.kind.text, _STRATEGIES) or "use `backoff fixed 1s` or `backoff exponential 200ms..30s`"
            )
            self.report.add(codes.UNKNOWN_BACKOFF, f"unknown backoff `{b.kind.text}`", b.kind.span, hint)
            return None
        maximum = b.maximum.millis if b.maximum else b.initial.millis
        strategy: Literal["fixed", "exponential"] = "fixed" if b.kind.text == "fixed" else "exponential"
        return Backoff(
            strategy=strategy, initial_ms=b.initial.millis, max_ms=max(maximum, b.initial.millis), jitter=b.jitter
        )

    def delivery(self, layer: Layer, key_fields: tuple[Field, ...] | None, owner: str = "") -> DeliveryPolicy:
        """Settings of `layer` over `defaults`; idempotency is resolved against `key_fields`."""
        merged = layer.over(self.defaults) if key_fields is not None else layer
        v = merged.values
        kwargs: dict[str, Any] = {"policies": merged.used}
        for name in ("attempts", "timeout_ms", "dlq"):
            if name in v:
                kwargs[name] = v[name][0]
        if "attempts" in v:
            kwargs["backoff"] = v["backoff"][0]
            kwargs["retry_span"] = v["attempts"][1]
        if "timeout_ms" in v:
            kwargs["timeout_span"] = v["timeout_ms"][1]
        if "dlq" in v:
            kwargs["dlq_span"] = v["dlq"][1]
        kwargs["attempts"] = max(1, kwargs.get("attempts", 1))
        kwargs["timeout_ms"] = max(1, kwargs.get("timeout_ms", DEFAULT_TIMEOUT_MS))
        if merged.idempotent is not None and key_fields is not None:
            kwargs["idempotency"] = self._idempotency(merged.idempotent, key_fields, owner)
        return DeliveryPolicy(**kwargs)

    def _idempotency(self, opt: ast.IdempotentOption, fields: tuple[Field, ...], owner: str) -> Idempotency | None:
        """Every named field must be a scalar field of the input; together they are the key."""
        found = [key_field(self.report, name, fields, "idempotent by", owner) for name in opt.fields]
        keys = tuple(f for f in found if f is not None)
        if len(keys) != len(found):
            return None
        return Idempotency(fields=keys, within_ms=opt.within.millis if opt.within else None, span=opt.span)


def option_span(options: tuple[ast.Option, ...], kind: type) -> Span | None:
    return next((o.span for o in options if isinstance(o, kind)), None)
