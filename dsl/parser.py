"""Text -> syntax AST: the only module that imports lark.

The LALR parser builds AST nodes directly while it reduces (an inline
transformer), so no lark parse tree is ever materialised. It runs on
lark-cython where a wheel is installed (lark's own grammar and tables, with
the lexer and LALR loop compiled: about 1.4x faster on a large spec), on plain
lark elsewhere. lark-cython's errors are not usable as they are, so an input
that fails there is parsed again by plain lark, whose error is the one
reported: the diagnostics are plain lark's on every platform.
Comments never reach the grammar; the lexer hands them to a collector, which
attaches `///` blocks to the node that starts on the next line and keeps every
comment for `fmt`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace as _Children
from typing import Any

import lark
from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.grammar import Rule
from lark.lexer import TerminalDef

try:
    import lark_cython
except ImportError:  # no wheel for this platform or Python: plain lark parses alone
    lark_cython = None

from flowgen_design.dsl import ast, codes
from flowgen_design.dsl.diagnostics import Reporter
from flowgen_design.dsl.frozen import frozen
from flowgen_design.dsl.source import Span
from flowgen_design.grammar import grammar_text, tables_path, tables_text

MAX_TYPE_DEPTH = 32
MAX_INTEGER = 2**63 - 1
# Words that start a clause among fields. The grammar already rejects them as a
# field name wherever a clause could follow; rejecting the rest keeps the rule simple.
_CLAUSE_KEYWORDS = ("key", "ordered")
_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


@frozen(kw_only=False, slots=False)
class _Replies:
    """A command's `-> A | B retryable`, on its way from `replies` to `command_decl`."""

    names: tuple[ast.Name, ...]
    retryable: tuple[ast.Name, ...]
    end: Span | None


@dataclass
class _ParseState:
    path: str
    text: str
    reporter: Reporter
    comments: list[ast.Comment] = field(default_factory=list)
    doc_blocks: dict[int, tuple[int, list[str], Span]] = field(default_factory=dict)
    last_doc_line: int = -10
    last_doc_start: int = -10
    too_deep: set[Span] = field(default_factory=set)


# `Span(...)` runs the named tuple's `__new__`, a Python function; the parser makes one span per token
# it keeps (about 40,000 on the benchmark spec), so it builds the same tuple with the C constructor.
_new_span: Callable[[tuple[str, int, int, int, int]], Span] = functools.partial(tuple.__new__, Span)


def _token_span(state: _ParseState, tok: Token) -> Span:
    # lark sets every position attribute on the tokens its lexer makes.
    return _new_span((state.path, tok.line, tok.column, tok.end_line, tok.end_column))  # type: ignore[arg-type]


class _Builder(Transformer[Token, Any]):
    """Reduction callbacks: each builds one AST node from its children.

    Nodes are plain frozen dataclasses (the grammar fixes every value's
    type), and each span is made once, straight from the first and last
    token, because spans are the most numerous objects in the AST.
    """

    state: _ParseState

    # -- helpers
    def _span(self, tok: Token) -> Span:
        return _token_span(self.state, tok)

    def _between(self, first: Token | Span, last: Token | Span) -> Span:
        """The span from the start of `first` to the end of `last` (tokens or spans)."""
        return _new_span((self.state.path, first.line, first.column, last.end_line, last.end_column))  # type: ignore[arg-type]

    def _name(self, tok: Token) -> ast.Name:
        return ast.Name(
            span=_new_span((self.state.path, tok.line, tok.column, tok.end_line, tok.end_column)),  # type: ignore[arg-type]
            text=str(tok),
        )

    def _doc(self, first: Token) -> str | None:
        """The `///` block right above `first`, if `first` begins its line."""
        blocks = self.state.doc_blocks
        if first.line not in blocks or not _starts_line(self.state.text, first.start_pos or 0):
            return None
        return "\n".join(blocks.pop(first.line)[1])

    def _duration(self, tok: Token) -> ast.Duration:
        text = str(tok)
        unit = text.lstrip("0123456789")
        value = self._integer(tok, text[: len(text) - len(unit)], "duration")
        millis = value * _UNITS_MS[unit]
        if millis > MAX_INTEGER and value < MAX_INTEGER:
            self._too_large(tok, "duration")
        return ast.Duration(span=self._span(tok), millis=min(millis, MAX_INTEGER), text=text)

    def _integer(self, tok: Token, digits: str, what: str) -> int:
        """A whole number that fits 64 bits; a larger one is reported and capped."""
        sign = -1 if digits.startswith("-") else 1
        digits = digits.lstrip("-").lstrip("0") or "0"
        if len(digits) > len(str(MAX_INTEGER)) or int(digits) > MAX_INTEGER:
            self._too_large(tok, what)
            return sign * MAX_INTEGER
        return sign * int(digits)

    def _too_large(self, tok: Token, what: str) -> None:
        text = str(tok)
        shown = text if len(text) <= 24 else text[:20] + "..."
        self.state.reporter.add(
            codes.INVALID_LITERAL,
            f"{what} `{shown}` is too large",
            self._span(tok),
            f"flowgen's numbers fit in 64 bits: at most {MAX_INTEGER}",
        )

    def __default__(self, data: str, children: list[Any], meta: Any) -> Any:
        """A rule without a callback: lark's helpers for `x*` and `_inlined` rules, whose children
        the parent takes over at once. Holding them costs less than lark's `Tree` (no Python `__init__`)."""
        return _Children(children=children)

    # -- module
    def module(self, children: list[Any]) -> ast.Module:
        header = children[0]
        imports = tuple(c for c in children[1:] if isinstance(c, ast.ImportDecl))
        decls = tuple(c for c in children[1:] if not isinstance(c, ast.ImportDecl))
        end = decls[-1].end if decls and hasattr(decls[-1], "end") else header.span
        return ast.Module(
            span=self._between(header.span, end),
            path=self.state.path,
            header=header,
            imports=imports,
            declarations=decls,
            comments=tuple(self.state.comments),
        )

    def header(self, c: list[Token]) -> ast.Header:
        kw, name, _version_kw, version = c
        return ast.Header(
            span=self._between(kw, version),
            name=self._name(name),
            version=str(version),
            version_span=self._span(version),
            doc=self._doc(kw),
        )

    def import_stmt(self, c: list[Token]) -> ast.ImportDecl:
        kw, path = c
        return ast.ImportDecl(span=self._between(kw, path), path=_unquote(str(path)), path_span=self._span(path))

    # -- payloads
    def type_decl(self, c: list[Any]) -> ast.TypeDecl:
        kw, name, *fields, rbrace = c
        return ast.TypeDecl(
            span=self._between(kw, rbrace),
            name=self._name(name),
            fields=tuple(fields),
            doc=self._doc(kw),
            end=self._span(rbrace),
        )

    def enum_decl(self, c: list[Any]) -> ast.EnumDecl:
        kw, name, *members, rbrace = c
        return ast.EnumDecl(
            span=self._between(kw, rbrace),
            name=self._name(name),
            members=tuple(members),
            doc=self._doc(kw),
            end=self._span(rbrace),
        )

    def enum_member(self, c: list[Token]) -> ast.EnumMember:
        name = self._name(c[0])
        return ast.EnumMember(span=name.span, name=name, doc=self._doc(c[0]))

    def event_decl(self, c: list[Any]) -> ast.EventDecl:
        kw, name, *members, rbrace = c
        return ast.EventDecl(
            span=self._between(kw, rbrace),
            name=self._name(name),
            members=tuple(members),
            doc=self._doc(kw),
            end=self._span(rbrace),
        )

    def command_decl(self, c: list[Any]) -> ast.CommandDecl:
        kw, name, *rest = c
        replies = rest.pop() if rest and isinstance(rest[-1], _Replies) else _Replies((), (), None)
        rbrace = rest.pop()
        return ast.CommandDecl(
            span=self._between(kw, replies.end or rbrace),
            name=self._name(name),
            members=tuple(rest),
            replies=replies.names,
            retryable=replies.retryable,
            doc=self._doc(kw),
            end=self._span(rbrace),
        )

    def replies(self, c: list[Token]) -> _Replies:
        names: list[ast.Name] = []
        retryable: list[ast.Name] = []
        for t in c:
            if t.type == "RETRYABLE":
                retryable.append(names[-1])
            else:
                names.append(self._name(t))
        return _Replies(tuple(names), tuple(retryable), self._span(c[-1]))

    def key_clause(self, c: list[Token]) -> ast.KeyClause:
        return ast.KeyClause(span=self._between(c[0], c[1]), field=self._name(c[1]))

    def ordered_clause(self, c: list[Token]) -> ast.OrderedClause:
        return ast.OrderedClause(span=self._between(c[0], c[-1]), field=self._name(c[-1]))

    def header_clause(self, c: list[Any]) -> ast.HeaderClause:
        field = dataclasses.replace(c[1], doc=self._doc(c[0]))  # a `///` above `header` documents it
        return ast.HeaderClause(span=self._between(c[0], c[1].span), field=field)

    def channel_clause(self, c: list[Token]) -> ast.ChannelClause:
        return ast.ChannelClause(
            span=self._between(c[0], c[1]), address=_unquote(str(c[1])), address_span=self._span(c[1])
        )

    def field(self, c: list[Any]) -> ast.Field:
        name = self._name(c[0])
        type_expr = c[1]
        constraints: tuple[ast.Constraint, ...] = tuple(c[2]) if len(c) > 2 else ()
        end = constraints[-1].span if constraints else type_expr.span
        if name.text in _CLAUSE_KEYWORDS:
            from flowgen_design.dsl.syntax_errors import keyword_as_field  # only on this mistake

            message, hint = keyword_as_field(name.text)
            self.state.reporter.add(codes.SYNTAX_ERROR, message, name.span, hint)
        return ast.Field(
            span=self._between(name.span, end),
            name=name,
            type=type_expr,
            constraints=constraints,
            doc=self._doc(c[0]),
        )

    def constraints(self, c: list[ast.Constraint]) -> list[ast.Constraint]:
        return c

    def constraint(self, c: list[Token]) -> ast.Constraint:
        # Tokens are lark's (a `str`) or lark-cython's (not one): text goes through str().
        name, value = c
        return ast.Constraint(span=self._between(name, value), name=self._name(name), value=self._literal_value(value))

    def _literal_value(self, value: Token) -> int | float | str:
        literal: int | float | str
        if value.type == "STRING":
            literal = _unquote(str(value))
        elif "." in str(value):
            literal = float(str(value))
            if not math.isfinite(literal):
                self._too_large(value, "number")
                literal = math.copysign(float(MAX_INTEGER), literal)
        else:
            literal = self._integer(value, str(value), "number")
        return literal

    def named_type(self, c: list[Token]) -> ast.NamedType:
        name = self._name(c[0])
        return ast.NamedType(span=name.span, name=name)

    def list_type(self, c: list[Any]) -> ast.TypeExpr:
        span = self._between(c[0], c[1].span)
        return self._nested(ast.ListType(span=span, item=c[1]))

    def map_type(self, c: list[Any]) -> ast.TypeExpr:
        span = self._between(c[0], c[2].span)
        return self._nested(ast.MapType(span=span, key=c[1], value=c[2]))

    def optional_type(self, c: list[Any]) -> ast.TypeExpr:
        return ast.OptionalType(span=self._between(c[0].span, c[1]), inner=c[0])

    def _nested(self, node: ast.TypeExpr) -> ast.TypeExpr:
        """`node`, or a placeholder once nesting passes MAX_TYPE_DEPTH (reported once per type)."""
        depth, probe = 0, node
        while isinstance(probe, (ast.ListType, ast.MapType, ast.OptionalType)) and depth <= MAX_TYPE_DEPTH:
            probe = probe.value if isinstance(probe, ast.MapType) else getattr(probe, "item", None) or probe.inner  # type: ignore[union-attr]
            depth += 1
        if isinstance(probe, ast.NamedType) and probe.span in self.state.too_deep:
            return self._too_deep(node)
        if depth > MAX_TYPE_DEPTH:
            self.state.reporter.add(
                codes.NESTING_TOO_DEEP,
                f"this type nests more than {MAX_TYPE_DEPTH} levels deep",
                node.span,
                "declare a named `type` for the inner structure",
            )
            return self._too_deep(node)
        return node

    def _too_deep(self, node: ast.TypeExpr) -> ast.TypeExpr:
        placeholder = ast.NamedType(span=node.span, name=ast.Name(span=node.span, text="string"))
        self.state.too_deep.add(node.span)
        return placeholder

    # -- options
    def retry_opt(self, c: list[Any]) -> ast.RetryOption:
        kw, attempts = c[0], c[1]
        backoff = c[2] if len(c) > 2 else None
        end = backoff.span if backoff else attempts
        count = self._integer(attempts, str(attempts), "retry count")
        return ast.RetryOption(span=self._between(kw, end), attempts=count, backoff=backoff)

    def backoff(self, c: list[Token]) -> ast.Backoff:
        _backoff_kw, kind, *rest = c
        jitter = bool(rest) and rest[-1].type == "JITTER"
        durations = [self._duration(t) for t in rest if t.type == "DURATION"]
        return ast.Backoff(
            span=self._between(kind, rest[-1]),
            kind=self._name(kind),
            initial=durations[0],
            maximum=durations[1] if len(durations) > 1 else None,
            jitter=jitter,
        )

    def timeout_opt(self, c: list[Token]) -> ast.TimeoutOption:
        return ast.TimeoutOption(span=self._between(c[0], c[1]), duration=self._duration(c[1]))

    def dlq_opt(self, c: list[Token]) -> ast.DlqOption:
        return ast.DlqOption(span=self._span(c[0]))

    def idempotent_opt(self, c: list[Token]) -> ast.IdempotentOption:
        names = [t for t in c[2:] if t.type == "NAME"]
        within = self._duration(c[-1]) if c[-1].type == "DURATION" else None
        fields = tuple(self._name(t) for t in names)
        return ast.IdempotentOption(span=self._between(c[0], c[-1]), fields=fields, within=within)

    def use_opt(self, c: list[Token]) -> ast.UseOption:
        return ast.UseOption(span=self._between(c[0], c[1]), policy=self._name(c[1]))

    def emits_opt(self, c: list[Token]) -> ast.EmitsOption:
        names = tuple(self._name(t) for t in c[1:] if t.type == "NAME")
        return ast.EmitsOption(span=self._between(c[0], c[-1]), events=names)

    def raises_opt(self, c: list[Token]) -> ast.RaisesOption:
        names = tuple(self._name(t) for t in c[1:])
        return ast.RaisesOption(span=self._between(c[0], c[-1]), errors=names)

    def policy_decl(self, c: list[Any]) -> ast.PolicyDecl:
        kw, name, *options, rbrace = c
        return ast.PolicyDecl(
            span=self._between(kw, rbrace),
            name=self._name(name),
            options=tuple(options),
            doc=self._doc(kw),
            end=self._span(rbrace),
        )

    def defaults_decl(self, c: list[Any]) -> ast.DefaultsDecl:
        kw, *options, rbrace = c
        return ast.DefaultsDecl(
            span=self._between(kw, rbrace),
            options=tuple(options),
            doc=self._doc(kw),
            end=self._span(rbrace),
        )

    # -- services
    def service_decl(self, c: list[Any]) -> ast.ServiceDecl:
        kw, name, *members, rbrace = c
        return ast.ServiceDecl(
            span=self._between(kw, rbrace),
            name=self._name(name),
            members=tuple(members),
            doc=self._doc(kw),
            end=self._span(rbrace),
        )

    def api_decl(self, c: list[Any]) -> ast.ApiDecl:
        kw, method, path, event, *auth = c
        clause: ast.AuthClause | None = auth[0] if auth else None
        return ast.ApiDecl(
            span=self._between(kw, clause.span if clause else event),
            method=str(method),
            path=str(path),
            path_span=self._between(method, path),
            event=self._name(event),
            auth=clause,
            doc=self._doc(kw),
        )

    def auth_clause(self, c: list[Token]) -> ast.AuthClause:
        kw, kind, *rest = c
        texts = tuple(ast.Text(span=self._span(t), value=_unquote(str(t))) for t in rest if t.type == "STRING")
        span = self._between(kw, texts[-1].span if texts else kind)
        if kind.type == "JWT":
            return ast.AuthClause(span=span, kind="jwt", issuer=texts[0], audiences=texts[1:])
        return ast.AuthClause(span=span, kind="iam" if kind.type == "IAM" else "none")

    def publishes_decl(self, c: list[Token]) -> ast.PublishesDecl:
        names = tuple(self._name(t) for t in c[1:])
        return ast.PublishesDecl(span=self._between(c[0], names[-1].span), events=names)

    def consumes_decl(self, c: list[Token]) -> ast.ConsumesDecl:
        names = tuple(self._name(t) for t in c[1:])
        return ast.ConsumesDecl(span=self._between(c[0], names[-1].span), events=names)

    def handler_body(self, c: list[Any]) -> ast.HandlerBody:
        *options, rbrace = c
        end = self._span(rbrace)
        first = options[0].span if options else end
        return ast.HandlerBody(span=self._between(first, end), options=tuple(options), end=end)

    def handles_decl(self, c: list[Any]) -> ast.HandlesDecl:
        kw, command = c[0], c[1]
        body = c[2] if len(c) > 2 else None
        return ast.HandlesDecl(
            span=self._between(kw, body.end if body else command),
            command=self._name(command),
            body=body,
            doc=self._doc(kw),
        )

    def on_decl(self, c: list[Any]) -> ast.OnDecl:
        kw, event, handler = c[0], c[1], c[2]
        body = c[3] if len(c) > 3 else None
        return ast.OnDecl(
            span=self._between(kw, body.end if body else handler),
            event=self._name(event),
            handler=self._name(handler),
            body=body,
            doc=self._doc(kw),
        )

    # -- sagas
    def saga_decl(self, c: list[Any]) -> ast.SagaDecl:
        kw, name, *members, rbrace = c
        return ast.SagaDecl(
            span=self._between(kw, rbrace),
            name=self._name(name),
            members=tuple(members),
            doc=self._doc(kw),
            end=self._span(rbrace),
        )

    def parallel_decl(self, c: list[Any]) -> ast.ParallelDecl:
        kw, name, *members, rbrace = c
        return ast.ParallelDecl(
            span=self._between(kw, rbrace),
            name=self._name(name),
            members=tuple(members),
            doc=self._doc(kw),
            end=self._span(rbrace),
        )

    def trigger_decl(self, c: list[Any]) -> ast.TriggerDecl:
        undo: ast.QualifiedName | None = c[2] if len(c) > 2 else None
        return ast.TriggerDecl(
            span=self._between(c[0], undo.span if undo else c[1]), event=self._name(c[1]), compensate=undo
        )

    def step_delay(self, c: list[Token]) -> ast.StepDelay:
        return ast.StepDelay(span=self._between(c[0], c[1]), duration=self._duration(c[1]))

    def step_heartbeat(self, c: list[Token]) -> ast.StepHeartbeat:
        return ast.StepHeartbeat(span=self._between(c[0], c[1]), duration=self._duration(c[1]))

    def await_clause(self, c: list[Token]) -> ast.AwaitClause:
        names = [t for t in c if t.type == "NAME"]
        by = names.pop() if any(t.type == "BY" for t in c) else None
        return ast.AwaitClause(
            span=self._between(c[0], c[-1]),
            events=tuple(self._name(t) for t in names),
            by=self._name(by) if by is not None else None,
        )

    def branch(self, c: list[Token]) -> ast.Branch:
        return ast.Branch(span=self._between(c[0], c[2]), reply=self._name(c[1]), target=self._name(c[2]))

    def step_body(self, c: list[Any]) -> _StepBody:
        """The options as a handler body (what a step shares with a handler), its branches and fills."""
        options = [m for m in c[:-1] if not isinstance(m, (ast.Branch, ast.Fill, ast.StepDelay, ast.StepHeartbeat))]
        body = self.handler_body([*options, c[-1]])
        first = c[0].span if len(c) > 1 else body.end
        body = ast.HandlerBody(span=self._between(first, body.end), options=body.options, end=body.end)
        branches = tuple(m for m in c if isinstance(m, ast.Branch))
        fills = tuple(m for m in c if isinstance(m, ast.Fill))
        delays = tuple(m for m in c if isinstance(m, ast.StepDelay))
        return _StepBody(body, branches, fills, delays, tuple(m for m in c if isinstance(m, ast.StepHeartbeat)))

    def qualified_name(self, c: list[Token]) -> ast.QualifiedName:
        service, command = self._name(c[0]), self._name(c[1])
        return ast.QualifiedName(span=self._between(service.span, command.span), service=service, command=command)

    def compensate(self, c: list[Any]) -> ast.QualifiedName:
        target: ast.QualifiedName = c[1]
        return target

    def readonly(self, c: list[Token]) -> Span:
        return self._span(c[0])

    def step_decl(self, c: list[Any]) -> ast.StepDecl:
        pivot = c[0].type == "PIVOT"  # the first child is a keyword token: `pivot` or `step`
        rest = c[1:] if pivot else c
        _kw, name, target, *tails = rest
        parts = tails.pop() if tails and isinstance(tails[-1], _StepBody) else None
        body = parts.options if parts else None
        last = (
            body.end
            if body
            else (tails[-1].span if tails and isinstance(tails[-1], ast.Node) else tails[-1] if tails else target.span)
        )
        return ast.StepDecl(
            span=self._between(c[0], last),
            name=self._name(name),
            target=target,
            pivot=pivot,
            compensate=tuple(t for t in tails if isinstance(t, ast.QualifiedName)),
            readonly=tuple(t for t in tails if isinstance(t, Span)),
            body=body,
            branches=parts.branches if parts else (),
            fills=parts.fills if parts else (),
            delays=parts.delays if parts else (),
            heartbeats=parts.heartbeats if parts else (),
            doc=self._doc(c[0]),
        )

    def saga_timeout(self, c: list[Token]) -> ast.SagaTimeout:
        return ast.SagaTimeout(span=self._between(c[0], c[1]), duration=self._duration(c[1]))

    def saga_invariant(self, c: list[Token]) -> ast.SagaInvariant:
        names = [t for t in c if t.type == "NAME"]
        return ast.SagaInvariant(
            span=self._between(c[0], names[-1]),
            event=self._name(names[0]),
            followers=tuple(self._name(t) for t in names[1:]),
        )

    def outcome_decl(self, c: list[Any]) -> ast.OutcomeDecl:
        block: tuple[tuple[ast.Fill, ...], Token] | None = c[4] if len(c) > 4 else None
        end = self._span(block[1]) if block else None
        return ast.OutcomeDecl(
            span=self._between(c[0], end or c[3]),
            outcome=self._name(c[1]),
            event=self._name(c[3]),
            fills=block[0] if block else (),
            end=end,
        )

    def fill_block(self, c: list[Any]) -> tuple[tuple[ast.Fill, ...], Token]:
        *fills, rbrace = c
        return tuple(fills), rbrace

    def fill(self, c: list[Any]) -> ast.Fill:
        name, *rest = c
        sources = tuple(s for s in rest if isinstance(s, ast.FillSource))
        return ast.Fill(span=self._between(name, sources[-1].span), field=self._name(name), sources=sources)

    def fill_source(self, c: list[Token]) -> ast.FillSource:
        if len(c) == 2:
            root, field = self._name(c[0]), self._name(c[1])
            return ast.FillSource(span=self._between(c[0], c[1]), root=root, field=field, value=None)
        return ast.FillSource(span=self._span(c[0]), root=None, field=None, value=self._literal_value(c[0]))

    def external_decl(self, c: list[Any]) -> ast.ExternalDecl:
        kw, name, *members, rbrace = c
        return ast.ExternalDecl(
            span=self._between(kw, rbrace),
            name=self._name(name),
            members=tuple(members),
            doc=self._doc(kw),
            end=self._span(rbrace),
        )

    def archive_decl(self, c: list[Token]) -> ast.ArchiveDecl:
        return ast.ArchiveDecl(span=self._between(c[0], c[1]), retention=self._duration(c[1]), doc=self._doc(c[0]))


@frozen(kw_only=False)
class _StepBody:
    """A step's `{ ... }` while its step is built: options, branches and fills."""

    options: ast.HandlerBody
    branches: tuple[ast.Branch, ...]
    fills: tuple[ast.Fill, ...]
    delays: tuple[ast.StepDelay, ...]
    heartbeats: tuple[ast.StepHeartbeat, ...]


def _starts_line(text: str, pos: int) -> bool:
    line_start = text.rfind("\n", 0, pos) + 1
    return text[line_start:pos].strip() == ""


def _unquote(text: str) -> str:
    body = text[1:-1]
    return body.replace('\\"', '"').replace("\\\\", "\\") if "\\" in body else body


_builder = _Builder()
_lock = threading.Lock()
_parsers: dict[bool, Lark] = {}


def _on_comment(tok: Token) -> None:
    state = _builder.state
    state.comments.append(ast.Comment(span=_comment_span(state, tok), text=str(tok)))


def _comment_span(state: _ParseState, tok: Token) -> Span:
    """A comment's span. A comment is one line (it stops before `\\n`), so its end is its
    start plus its length: what lark sets, and lark-cython leaves unset on ignored tokens."""
    line, column = tok.line or 1, tok.column or 1
    return Span(state.path, line, column, line, column + len(str(tok)))


def _on_doc_comment(tok: Token) -> None:
    _on_comment(tok)
    state = _builder.state
    line = tok.line or 1
    text = str(tok)[3:]
    text = text[1:] if text.startswith(" ") else text
    if not _starts_line(state.text, tok.start_pos or 0):
        # After code on its line, a `///` documents nothing (it is not above anything): kept
        # under a line number no node starts on, so it is reported as dangling.
        state.doc_blocks[-line] = (line, [text.rstrip()], _comment_span(state, tok))
        return
    block = state.doc_blocks.pop(state.last_doc_line + 1, None) if line == state.last_doc_line + 1 else None
    if block is None:
        block = (line, [], _comment_span(state, tok))
    block[1].append(text.rstrip())
    state.doc_blocks[line + 1] = block
    state.last_doc_line = line


_LARK_OPTIONS: dict[str, Any] = {
    "start": "module",
    "parser": "lalr",
    "lexer": "contextual",
    "maybe_placeholders": False,
}


def _get_parser(fast: bool = True) -> Lark:
    """The LALR parser, made once per process: on lark-cython if `fast` and installed, else plain lark.

    Its tables come from the grammar's shipped tables file when that was made from this
    grammar by this lark (about 10x faster than compiling the grammar, which `check` on a
    small spec would otherwise spend most of its time on); else the grammar is compiled.
    """
    fast = fast and lark_cython is not None
    parser = _parsers.get(fast)
    if parser is None:
        callbacks: dict[str, Any] = {
            "transformer": _builder,
            "lexer_callbacks": {"COMMENT": _on_comment, "DOC_COMMENT": _on_doc_comment},
            "_plugins": lark_cython.plugins if fast else {},
        }
        tables = shipped_tables()
        if tables is None:
            parser = Lark(grammar_text(), **_LARK_OPTIONS, **callbacks)
        else:
            parser = Lark._load_from_dict(tables["data"], tables["memo"], **callbacks)  # type: ignore[no-untyped-call]
        _parsers[fast] = parser
    return parser


def _tables_stamp() -> str:
    """What the tables are valid for: this grammar's text, compiled by this lark."""
    return hashlib.sha256(f"{lark.__version__}\0{grammar_text()}".encode()).hexdigest()


def compile_tables() -> dict[str, Any]:
    """The grammar's LALR and lexer tables as JSON-ready data, stamped with `_tables_stamp`.

    Lark's own serialisation (what `Lark.save` pickles), written as JSON: data, never code,
    so a damaged or altered file can at worst fail to load and be ignored.
    """
    data, memo = Lark(grammar_text(), **_LARK_OPTIONS).memo_serialize([TerminalDef, Rule])
    return {"stamp": _tables_stamp(), "data": _json_keys(data), "memo": _json_keys(memo)}


def _json_keys(value: Any) -> Any:
    """Integer dict keys, which JSON cannot hold, as `#N` strings (`_int_keys` undoes it)."""
    if isinstance(value, dict):
        return {(f"#{k}" if isinstance(k, int) else k): _json_keys(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_keys(v) for v in value]
    return value


def _int_keys(obj: dict[str, Any]) -> dict[Any, Any]:
    """One JSON object with its `#N` keys made integers again (a `json.loads` object hook: the
    decoder walks the lists, which a second pass over the decoded tables took 5 ms to do)."""
    for key in obj:
        if key[:1] == "#":
            return {(int(k[1:]) if k[:1] == "#" else k): v for k, v in obj.items()}
    return obj


def shipped_tables() -> dict[str, Any] | None:
    """The shipped tables if they are this grammar's under this lark, else None (compile instead)."""
    try:
        raw = json.loads(tables_text(), object_hook=_int_keys)
        if raw.get("stamp") != _tables_stamp():
            return None
        return {"data": raw["data"], "memo": raw["memo"]}
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return None


def write_tables() -> Path:
    """Write the tables file next to the grammar (after a grammar change; a test says when)."""
    path = tables_path()
    path.write_text(json.dumps(compile_tables(), separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8")
    return path


# A keyword is a whole word: `/key(?![A-Za-z0-9_])/` in the grammar, or one that is a keyword only
# before what may follow it: `/header(?=...)/`.
_KEYWORD_PATTERN = re.compile(r"(\w+)\(\?(?:!\[A-Za-z0-9_\]|=.*)\)", re.DOTALL)


def _literals(parser: Lark) -> dict[str, str]:
    """Terminal name -> the fixed text it matches (RBRACE -> `}`), for error messages."""
    found = {}
    for t in parser.terminals:
        word = _KEYWORD_PATTERN.fullmatch(str(t.pattern.value)) if t.pattern.type == "re" else None
        if t.pattern.type == "str" or word:
            found[t.name] = word.group(1) if word else str(t.pattern.value)
    return found


def _parse_fast(text: str, path: str, reporter: Reporter) -> ast.Module | None:
    """The module, or None when the input does not parse (or when no lark-cython is installed).

    What the failed attempt reported (a literal too large, say) is withdrawn:
    plain lark's parse reports it again, in the same order, before its error.
    """
    if lark_cython is None:
        return None
    reported = len(reporter.items)
    _builder.state = _ParseState(path=path, text=text, reporter=reporter)
    try:
        module: ast.Module = _get_parser().parse(text)  # type: ignore[assignment]  # the transformer builds a Module
    except Exception:  # any failure at all: plain lark's outcome is the one that counts
        del reporter.items[reported:]
        return None
    return module


def parse(text: str, path: str, reporter: Reporter) -> ast.Module | None:
    """Parse one file. Syntax errors become diagnostics and the result is None."""
    with _lock:
        module = _parse_fast(text, path, reporter)
        if module is None:  # plain lark parses it again and reports its own error
            plain = _get_parser(fast=False)
            _builder.state = state = _ParseState(path=path, text=text, reporter=reporter)
            try:
                module = plain.parse(text)  # type: ignore[assignment]  # the transformer builds a Module
            except UnexpectedInput as err:
                from flowgen_design.dsl.syntax_errors import describe_unexpected  # only for a syntax error

                message, hint, span = describe_unexpected(err, text, path, _literals(plain))
                reporter.add(codes.SYNTAX_ERROR, message, span, hint)
                return None
        state = _builder.state
        for _first_line, _lines, span in state.doc_blocks.values():
            reporter.add(
                codes.DANGLING_DOC_COMMENT,
                "this doc comment is not directly above a declaration, field or handler",
                span,
                "put it on the line right above what it documents, or use `//` for a plain comment",
            )
        return module


__all__ = ["UnexpectedCharacters", "UnexpectedEOF", "UnexpectedToken", "parse"]


if __name__ == "__main__":
    print(f"wrote {write_tables()}")
