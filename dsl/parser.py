"""Text -> syntax AST. The only module that imports lark.

The LALR parser builds AST nodes directly while it reduces (an inline
transformer), so no lark parse tree is ever materialised: parsing a large spec
costs little more than lark's own parse. Comments never reach the grammar; the
lexer hands them to a collector, which attaches `///` blocks to the node that
starts on the next line and keeps every comment for `fmt`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from dsl import ast
from dsl.diagnostics import Reporter
from dsl.source import Span
from dsl.syntax_errors import describe_unexpected
from grammar import grammar_text

MAX_TYPE_DEPTH = 32
_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


@dataclass
class _ParseState:
    path: str
    text: str
    reporter: Reporter
    comments: list[ast.Comment] = field(default_factory=list)
    doc_blocks: dict[int, tuple[int, list[str], Span]] = field(default_factory=dict)
    last_doc_line: int = -10
    last_doc_start: int = -10


def _token_span(state: _ParseState, tok: Token) -> Span:
    return Span(
        file=state.path,
        line=tok.line or 1,
        column=tok.column or 1,
        end_line=tok.end_line or tok.line or 1,
        end_column=tok.end_column or tok.column or 1,
    )


class _Builder(Transformer[Token, Any]):
    """Reduction callbacks: each builds one AST node from its children."""

    state: _ParseState

    # -- helpers
    def _span(self, tok: Token) -> Span:
        return _token_span(self.state, tok)

    def _name(self, tok: Token) -> ast.Name:
        return ast.Name(text=str(tok), span=self._span(tok))

    def _doc(self, first: Token) -> str | None:
        """The `///` block right above `first`, if `first` begins its line."""
        blocks = self.state.doc_blocks
        if first.line not in blocks or not _starts_line(self.state.text, first.start_pos or 0):
            return None
        return "\n".join(blocks.pop(first.line)[1])

    def _duration(self, tok: Token) -> ast.Duration:
        text = str(tok)
        unit = text.lstrip("0123456789")
        value = int(text[: len(text) - len(unit)])
        return ast.Duration(millis=value * _UNITS_MS[unit], text=text, span=self._span(tok))

    # -- module
    def module(self, children: list[Any]) -> ast.Module:
        header = children[0]
        imports = tuple(c for c in children[1:] if isinstance(c, ast.ImportDecl))
        decls = tuple(c for c in children[1:] if not isinstance(c, ast.ImportDecl))
        end = decls[-1].end if decls and hasattr(decls[-1], "end") else header.span
        return ast.Module(
            span=header.span.to(end),
            path=self.state.path,
            header=header,
            imports=imports,
            declarations=decls,
            comments=tuple(self.state.comments),
        )

    def header(self, c: list[Token]) -> ast.Header:
        kw, name, _version_kw, version = c
        span = self._span(kw)
        return ast.Header(
            span=span.to(self._span(version)),
            name=self._name(name),
            version=str(version),
            version_span=self._span(version),
            doc=self._doc(kw),
        )

    def import_stmt(self, c: list[Token]) -> ast.ImportDecl:
        kw, path = c
        return ast.ImportDecl(
            span=self._span(kw).to(self._span(path)), path=_unquote(str(path)), path_span=self._span(path)
        )

    # -- payloads
    def type_decl(self, c: list[Any]) -> ast.TypeDecl:
        kw, name, *fields, rbrace = c
        span = self._span(kw)
        return ast.TypeDecl(
            span=span.to(self._span(rbrace)),
            name=self._name(name),
            fields=tuple(fields),
            doc=self._doc(kw),
            end=self._span(rbrace),
        )

    def enum_decl(self, c: list[Any]) -> ast.EnumDecl:
        kw, name, *members, rbrace = c
        span = self._span(kw)
        return ast.EnumDecl(
            span=span.to(self._span(rbrace)),
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
        span = self._span(kw)
        return ast.EventDecl(
            span=span.to(self._span(rbrace)),
            name=self._name(name),
            members=tuple(members),
            doc=self._doc(kw),
            end=self._span(rbrace),
        )

    def command_decl(self, c: list[Any]) -> ast.CommandDecl:
        kw, name, *rest = c
        replies: tuple[ast.Name, ...] = ()
        if rest and isinstance(rest[-1], tuple):
            replies = rest.pop()
        rbrace = rest.pop()
        span = self._span(kw)
        end = replies[-1].span if replies else self._span(rbrace)
        return ast.CommandDecl(
            span=span.to(end),
            name=self._name(name),
            members=tuple(rest),
            replies=replies,
            doc=self._doc(kw),
            end=self._span(rbrace),
        )

    def replies(self, c: list[Token]) -> tuple[ast.Name, ...]:
        return tuple(self._name(t) for t in c)

    def key_clause(self, c: list[Token]) -> ast.KeyClause:
        return ast.KeyClause(span=self._span(c[0]).to(self._span(c[1])), field=self._name(c[1]))

    def ordered_clause(self, c: list[Token]) -> ast.OrderedClause:
        return ast.OrderedClause(span=self._span(c[0]).to(self._span(c[-1])), field=self._name(c[-1]))

    def field(self, c: list[Any]) -> ast.Field:
        name = self._name(c[0])
        type_expr = c[1]
        constraints: tuple[ast.Constraint, ...] = tuple(c[2]) if len(c) > 2 else ()
        end = constraints[-1].span if constraints else type_expr.span
        return ast.Field(
            span=name.span.to(end),
            name=name,
            type=type_expr,
            constraints=constraints,
            doc=self._doc(c[0]),
        )

    def constraints(self, c: list[ast.Constraint]) -> list[ast.Constraint]:
        return c

    def constraint(self, c: list[Token]) -> ast.Constraint:
        name, value = c
        literal: int | float | str
        if value.type == "STRING":
            literal = _unquote(str(value))
        elif "." in value:
            literal = float(value)
        else:
            literal = int(value)
        return ast.Constraint(span=self._span(name).to(self._span(value)), name=self._name(name), value=literal)

    def named_type(self, c: list[Token]) -> ast.NamedType:
        name = self._name(c[0])
        return ast.NamedType(span=name.span, name=name)

    def list_type(self, c: list[Any]) -> ast.TypeExpr:
        span = self._span(c[0]).to(c[1].span)
        return self._nested(ast.ListType(span=span, item=c[1]))

    def map_type(self, c: list[Any]) -> ast.TypeExpr:
        span = self._span(c[0]).to(c[2].span)
        return self._nested(ast.MapType(span=span, key=c[1], value=c[2]))

    def optional_type(self, c: list[Any]) -> ast.TypeExpr:
        return ast.OptionalType(span=c[0].span.to(self._span(c[1])), inner=c[0])

    def _nested(self, node: ast.TypeExpr) -> ast.TypeExpr:
        depth, probe = 0, node
        while isinstance(probe, (ast.ListType, ast.MapType, ast.OptionalType)) and depth <= MAX_TYPE_DEPTH:
            probe = probe.value if isinstance(probe, ast.MapType) else getattr(probe, "item", None) or probe.inner  # type: ignore[union-attr]
            depth += 1
        if depth > MAX_TYPE_DEPTH:
            self.state.reporter.add(
                "nesting-too-deep",
                f"this type nests more than {MAX_TYPE_DEPTH} levels deep",
                node.span,
                "declare a named `type` for the inner structure",
            )
            return ast.NamedType(span=node.span, name=ast.Name(text="string", span=node.span))
        return node

    # -- options
    def retry_opt(self, c: list[Any]) -> ast.RetryOption:
        kw, attempts = c[0], c[1]
        backoff = c[2] if len(c) > 2 else None
        end = backoff.span if backoff else self._span(attempts)
        return ast.RetryOption(span=self._span(kw).to(end), attempts=int(attempts), backoff=backoff)

    def backoff(self, c: list[Token]) -> ast.Backoff:
        _backoff_kw, kind, *rest = c
        jitter = bool(rest) and rest[-1].type == "JITTER"
        durations = [self._duration(t) for t in rest if t.type == "DURATION"]
        return ast.Backoff(
            span=self._span(kind).to(self._span(rest[-1])),
            kind=self._name(kind),
            initial=durations[0],
            maximum=durations[1] if len(durations) > 1 else None,
            jitter=jitter,
        )

    def timeout_opt(self, c: list[Token]) -> ast.TimeoutOption:
        return ast.TimeoutOption(span=self._span(c[0]).to(self._span(c[1])), duration=self._duration(c[1]))

    def dlq_opt(self, c: list[Token]) -> ast.DlqOption:
        return ast.DlqOption(span=self._span(c[0]))

    def idempotent_opt(self, c: list[Token]) -> ast.IdempotentOption:
        within = self._duration(c[4]) if len(c) > 4 else None
        return ast.IdempotentOption(
            span=self._span(c[0]).to(self._span(c[-1])), field=self._name(c[2]), within=within
        )

    def use_opt(self, c: list[Token]) -> ast.UseOption:
        return ast.UseOption(span=self._span(c[0]).to(self._span(c[1])), policy=self._name(c[1]))

    def emits_opt(self, c: list[Token]) -> ast.EmitsOption:
        names = tuple(self._name(t) for t in c[1:])
        return ast.EmitsOption(span=self._span(c[0]).to(names[-1].span), events=names)

    def policy_decl(self, c: list[Any]) -> ast.PolicyDecl:
        kw, name, *options, rbrace = c
        span = self._span(kw)
        return ast.PolicyDecl(
            span=span.to(self._span(rbrace)),
            name=self._name(name),
            options=tuple(options),
            doc=self._doc(kw),
            end=self._span(rbrace),
        )

    def defaults_decl(self, c: list[Any]) -> ast.DefaultsDecl:
        kw, *options, rbrace = c
        span = self._span(kw)
        return ast.DefaultsDecl(
            span=span.to(self._span(rbrace)), options=tuple(options), doc=self._doc(kw), end=self._span(rbrace)
        )

    # -- services
    def service_decl(self, c: list[Any]) -> ast.ServiceDecl:
        kw, name, *members, rbrace = c
        span = self._span(kw)
        return ast.ServiceDecl(
            span=span.to(self._span(rbrace)),
            name=self._name(name),
            members=tuple(members),
            doc=self._doc(kw),
            end=self._span(rbrace),
        )

    def api_decl(self, c: list[Token]) -> ast.ApiDecl:
        kw, method, path, event = c
        span = self._span(kw)
        return ast.ApiDecl(
            span=span.to(self._span(event)),
            method=str(method),
            path=str(path),
            path_span=self._span(method).to(self._span(path)),
            event=self._name(event),
            doc=self._doc(kw),
        )

    def publishes_decl(self, c: list[Token]) -> ast.PublishesDecl:
        names = tuple(self._name(t) for t in c[1:])
        return ast.PublishesDecl(span=self._span(c[0]).to(names[-1].span), events=names)

    def consumes_decl(self, c: list[Token]) -> ast.ConsumesDecl:
        names = tuple(self._name(t) for t in c[1:])
        return ast.ConsumesDecl(span=self._span(c[0]).to(names[-1].span), events=names)

    def handler_body(self, c: list[Any]) -> ast.HandlerBody:
        *options, rbrace = c
        first = options[0].span if options else self._span(rbrace)
        return ast.HandlerBody(span=first.to(self._span(rbrace)), options=tuple(options), end=self._span(rbrace))

    def handles_decl(self, c: list[Any]) -> ast.HandlesDecl:
        kw, command = c[0], c[1]
        body = c[2] if len(c) > 2 else None
        span = self._span(kw)
        return ast.HandlesDecl(
            span=span.to(body.end if body else self._span(command)),
            command=self._name(command),
            body=body,
            doc=self._doc(kw),
        )

    def on_decl(self, c: list[Any]) -> ast.OnDecl:
        kw, event, handler = c[0], c[1], c[2]
        body = c[3] if len(c) > 3 else None
        span = self._span(kw)
        return ast.OnDecl(
            span=span.to(body.end if body else self._span(handler)),
            event=self._name(event),
            handler=self._name(handler),
            body=body,
            doc=self._doc(kw),
        )

    # -- sagas
    def saga_decl(self, c: list[Any]) -> ast.SagaDecl:
        kw, name, *members, rbrace = c
        span = self._span(kw)
        return ast.SagaDecl(
            span=span.to(self._span(rbrace)),
            name=self._name(name),
            members=tuple(members),
            doc=self._doc(kw),
            end=self._span(rbrace),
        )

    def trigger_decl(self, c: list[Token]) -> ast.TriggerDecl:
        return ast.TriggerDecl(span=self._span(c[0]).to(self._span(c[1])), event=self._name(c[1]))

    def qualified_name(self, c: list[Token]) -> ast.QualifiedName:
        service, command = self._name(c[0]), self._name(c[1])
        return ast.QualifiedName(span=service.span.to(command.span), service=service, command=command)

    def compensate(self, c: list[Any]) -> ast.QualifiedName:
        target: ast.QualifiedName = c[1]
        return target

    def readonly(self, c: list[Token]) -> Span:
        return self._span(c[0])

    def step_decl(self, c: list[Any]) -> ast.StepDecl:
        pivot = isinstance(c[0], Token) and c[0].type == "PIVOT"
        rest = c[1:] if pivot else c
        kw, name, target, *tails = rest
        body = tails.pop() if tails and isinstance(tails[-1], ast.HandlerBody) else None
        start = self._span(c[0])
        last = body.end if body else (tails[-1].span if tails and isinstance(tails[-1], ast.Node) else tails[-1] if tails else target.span)
        return ast.StepDecl(
            span=start.to(last),
            name=self._name(name),
            target=target,
            pivot=pivot,
            compensate=tuple(t for t in tails if isinstance(t, ast.QualifiedName)),
            readonly=tuple(t for t in tails if isinstance(t, Span)),
            body=body,
            doc=self._doc(c[0]),
        )

    def saga_timeout(self, c: list[Token]) -> ast.SagaTimeout:
        return ast.SagaTimeout(span=self._span(c[0]).to(self._span(c[1])), duration=self._duration(c[1]))

    def outcome_decl(self, c: list[Token]) -> ast.OutcomeDecl:
        return ast.OutcomeDecl(
            span=self._span(c[0]).to(self._span(c[3])), outcome=self._name(c[1]), event=self._name(c[3])
        )

    def external_decl(self, c: list[Any]) -> ast.ExternalDecl:
        kw, name, *members, rbrace = c
        span = self._span(kw)
        return ast.ExternalDecl(
            span=span.to(self._span(rbrace)),
            name=self._name(name),
            members=tuple(members),
            doc=self._doc(kw),
            end=self._span(rbrace),
        )


def _starts_line(text: str, pos: int) -> bool:
    line_start = text.rfind("\n", 0, pos) + 1
    return text[line_start:pos].strip() == ""


def _unquote(text: str) -> str:
    body = text[1:-1]
    return body.replace('\\"', '"').replace("\\\\", "\\") if "\\" in body else body


_builder = _Builder()
_lock = threading.Lock()
_parser: Lark | None = None


def _on_comment(tok: Token) -> None:
    state = _builder.state
    span = _token_span(state, tok)
    state.comments.append(ast.Comment(span=span, text=str(tok)))


def _on_doc_comment(tok: Token) -> None:
    _on_comment(tok)
    state = _builder.state
    line = tok.line or 1
    text = str(tok)[3:]
    text = text[1:] if text.startswith(" ") else text
    block = state.doc_blocks.pop(state.last_doc_line + 1, None) if line == state.last_doc_line + 1 else None
    if block is None:
        block = (line, [], _token_span(state, tok))
    block[1].append(text.rstrip())
    state.doc_blocks[line + 1] = block
    state.last_doc_line = line


def _get_parser() -> Lark:
    global _parser
    if _parser is None:
        _parser = Lark(
            grammar_text(),
            start="module",
            parser="lalr",
            lexer="contextual",
            transformer=_builder,
            lexer_callbacks={"COMMENT": _on_comment, "DOC_COMMENT": _on_doc_comment},
            maybe_placeholders=False,
            cache=False,
        )
    return _parser


def parse(text: str, path: str, reporter: Reporter) -> ast.Module | None:
    """Parse one file. Syntax errors become diagnostics and the result is None."""
    with _lock:
        parser = _get_parser()
        _builder.state = state = _ParseState(path=path, text=text, reporter=reporter)
        try:
            module: ast.Module = parser.parse(text)  # type: ignore[assignment]  # the transformer builds a Module
        except UnexpectedInput as err:
            message, hint, span = describe_unexpected(err, text, path)
            reporter.add("syntax-error", message, span, hint)
            return None
        for _first_line, _lines, span in state.doc_blocks.values():
            reporter.add(
                "dangling-doc-comment",
                "this doc comment is not directly above a declaration, field or handler",
                span,
                "put it on the line right above what it documents, or use `//` for a plain comment",
            )
        return module


__all__ = ["parse", "UnexpectedCharacters", "UnexpectedEOF", "UnexpectedToken"]
