"""Literal sanity: attempts, durations and backoff ranges, checked where they are written."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator

from flowgen_design.dsl import ast, codes
from flowgen_design.dsl.model import Command, Event, Record
from flowgen_design.dsl.rules import RuleContext


def option_blocks(module: ast.Module) -> Iterator[tuple[ast.Option, ...]]:
    """The options of each `{ ... }` block that holds them: policies, defaults, handlers, steps."""
    for decl in module.declarations:
        if isinstance(decl, (ast.PolicyDecl, ast.DefaultsDecl)):
            yield decl.options
        elif isinstance(decl, ast.ServiceDecl):
            for m in decl.members:
                if isinstance(m, (ast.HandlesDecl, ast.OnDecl)) and m.body:
                    yield m.body.options
        elif isinstance(decl, ast.SagaDecl):
            for s in decl.steps:
                if s.body:
                    yield s.body.options


def _options(module: ast.Module) -> Iterator[ast.Option]:
    for block in option_blocks(module):
        yield from block


def _durations(module: ast.Module) -> Iterator[ast.Duration]:
    for option in _options(module):
        if isinstance(option, ast.TimeoutOption):
            yield option.duration
        elif isinstance(option, ast.IdempotentOption) and option.within:
            yield option.within
        elif isinstance(option, ast.RetryOption) and option.backoff:
            yield option.backoff.initial
            if option.backoff.maximum:
                yield option.backoff.maximum
    for decl in module.declarations:
        if isinstance(decl, ast.SagaDecl):
            yield from (m.duration for m in decl.members if isinstance(m, ast.SagaTimeout))
            yield from (d.duration for s in decl.steps for d in s.delays)
            yield from (h.duration for s in decl.steps for h in s.heartbeats)


# Semantic Versioning 2.0.0 without build metadata (the grammar has no `+`).
_NUMERIC_ID = r"(?:0|[1-9][0-9]*)"
_PRERELEASE_ID = rf"(?:{_NUMERIC_ID}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
SEMVER = re.compile(rf"{_NUMERIC_ID}\.{_NUMERIC_ID}\.{_NUMERIC_ID}(?:-{_PRERELEASE_ID}(?:\.{_PRERELEASE_ID})*)?")


def check_literals(ctx: RuleContext) -> None:
    for module in ctx.modules:
        _check_version(ctx, module.header)
        for option in _options(module):
            if isinstance(option, ast.RetryOption):
                _check_retry(ctx, option)
        for duration in _durations(module):
            if duration.millis == 0:
                ctx.report.add(
                    codes.NON_POSITIVE_DURATION,
                    f"duration `{duration.text}` is zero",
                    duration.span,
                    "durations must be positive",
                )


def _check_version(ctx: RuleContext, header: ast.Header) -> None:
    if not SEMVER.fullmatch(header.version):
        ctx.report.add(
            codes.INVALID_LITERAL,
            f"`{header.version}` is not a semantic version",
            header.version_span,
            "write MAJOR.MINOR.PATCH without leading zeros, e.g. `1.2.0` or `2.0.0-rc.1`",
        )


def _check_retry(ctx: RuleContext, option: ast.RetryOption) -> None:
    if option.attempts < 1:
        ctx.report.add(
            codes.ATTEMPTS_BELOW_ONE,
            f"`retry {option.attempts}` allows no attempt at all",
            option.span,
            "`retry N` counts every try including the first; use `retry 1` for no retries",
        )
    b = option.backoff
    if b and b.maximum and b.maximum.millis < b.initial.millis:
        ctx.report.add(
            codes.BACKOFF_RANGE_REVERSED,
            f"backoff range `{b.initial.text}..{b.maximum.text}` starts above its end",
            b.initial.span.to(b.maximum.span),
            f"write `{b.maximum.text}..{b.initial.text}`",
        )
    if b and b.maximum and b.kind.text == "fixed":
        ctx.report.add(
            codes.UNKNOWN_BACKOFF,
            "a fixed backoff waits one duration, not a range",
            b.span,
            f"write `backoff fixed {b.initial.text}` or `backoff exponential {b.initial.text}..{b.maximum.text}`",
        )


def check_patterns(ctx: RuleContext) -> None:
    """A `pattern` constraint must compile: generated models would fail on import otherwise."""
    flow = ctx.flow
    payloads: list[Record | Event | Command] = [*flow.records, *flow.events, *flow.commands]
    for decl in payloads:
        for f in decl.fields:
            pattern = f.constraints.pattern
            if pattern is None:
                continue
            try:
                with warnings.catch_warnings():  # Python's FutureWarnings about a pattern are not ours to print
                    warnings.simplefilter("ignore")
                    re.compile(pattern)
            except (re.error, OverflowError, RecursionError) as err:
                ctx.report.add(
                    codes.CONSTRAINT_MISMATCH,
                    f"`pattern` of `{decl.name}.{f.name}` is not a valid regular expression: {err}",
                    f.span,
                    'write a Python/ECMAScript regular expression, e.g. "^[A-Z]{3}$"',
                )
