"""Text -> syntax AST. With `dsl.fastlark`, the only module that imports lark.

The LALR parser builds AST nodes directly while it reduces (an inline
transformer), so no lark parse tree is ever materialised, and it runs with
`dsl.fastlark`'s tighter lexer and parser loops (lark's tables, lark's errors). Comments never reach the grammar; the
lexer hands them to a collector, which attaches `///` blocks to the node that
starts on the next line and keeps every comment for `fmt`.
"""

from __future__ import annotations

import hashlib
import math
import re
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

from lark import Lark, Token, Transformer
from lark import __version__ as lark_version
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from flowgen_design.dsl import ast
from flowgen_design.dsl.cache import cache_dir
from flowgen_design.dsl.diagnostics import Reporter
from flowgen_design.dsl.fastlark import PLUGINS as FAST_LARK
from flowgen_design.dsl.source import Span
from flowgen_design.dsl.syntax_errors import describe_unexpected, keyword_as_field
from flowgen_design.dsl.trusted import trusted
from flowgen_design.grammar import grammar_text

MAX_TYPE_DEPTH = 32
MAX_INTEGER = 2**63 - 1
# Words that start a clause among fields. The grammar already rejects them as a
# field name wherever a clause could follow; rejecting the rest keeps the rule simple.
_CLAUSE_KEYWORDS = ("key", "ordered")
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
    too_deep: set[Span] = field(default_factory=set)


def _token_span(state: _ParseState, tok: Token) -> Span:
    # lark sets every position attribute on the tokens its lexer makes.
    return Span(state.path, tok.line, tok.column, tok.end_line, tok.end_column)  # type: ignore[arg-type]


class _Builder(Transformer[Token, Any]):
    """Reduction callbacks: each builds one AST node from its children.

    Nodes are built with `trusted` (no validation: the grammar fixes every
    value's type), and each span is made once, straight from the first and last
    token, because spans are the most numerous objects in the AST.
    """

    state: _ParseState

    # -- helpers
    def _span(self, tok: Token) -> Span:
        return _token_span(self.state, tok)

    def _between(self, first: Token | Span, last: Token | Span) -> Span:
        """The span from the start of `first` to the end of `last` (tokens or spans)."""
        return Span(self.state.path, first.line, first.column, last.end_line, last.end_column)  # type: ignore[arg-type]

    def _name(self, tok: Token) -> ast.Name:
        return trusted(ast.Name, span=_token_span(self.state, tok), text=str(tok))

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
        return trusted(ast.Duration, span=self._span(tok), millis=min(millis, MAX_INTEGER), text=text)

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
            "invalid-literal",
            f"{what} `{shown}` is too large",
            self._span(tok),
            f"flowgen's numbers fit in 64 bits: at most {MAX_INTEGER}",
        )

    # -- module
    def module(self, children: list[Any]) -> ast.Module:
        header = children[0]
        imports = tuple(c for c in children[1:] if isinstance(c, ast.ImportDecl))
        decls = tuple(c for c in children[1:] if not isinstance(c, ast.ImportDecl))
        end = decls[-1].end if decls and hasattr(decls[-1], "end") else header.span
        return trusted(
            ast.Module,
            span=self._between(header.span, end),
            path=self.state.path,
            header=header,
            imports=imports,
            declarations=decls,
            comments=tuple(self.state.comments),
        )

    def header(self, c: list[Token]) -> ast.Header:
        kw, name, _version_kw, version = c
        return trusted(
            ast.Header,
            span=self._between(kw, version),
            name=self._name(name),
            version=str(version),
            version_span=self._span(version),
            doc=self._doc(kw),
        )

    def import_stmt(self, c: list[Token]) -> ast.ImportDecl:
        kw, path = c
        return trusted(
            ast.ImportDecl, span=self._between(kw, path), path=_unquote(str(path)), path_span=self._span(path)
        )

    # -- payloads
    def type_decl(self, c: list[Any]) -> ast.TypeDecl:
        kw, name, *fields, rbrace = c
        return trusted(
            ast.TypeDecl,
            span=self._between(kw, rbrace),
            name=self._name(name),
            fields=tuple(fields),
            doc=self._doc(kw),
            end=self._span(rbrace),
        )

    def enum_decl(self, c: list[Any]) -> ast.EnumDecl:
        kw, name, *members, rbrace = c
        return trusted(
            ast.EnumDecl,
            span=self._between(kw, rbrace),
            name=self._name(name),
            members=tuple(members),
            doc=self._doc(kw),
            end=self._span(rbrace),
        )

    def enum_member(self, c: list[Token]) -> ast.EnumMember:
        name = self._name(c[0])
        return trusted(ast.EnumMember, span=name.span, name=name, doc=self._doc(c[0]))

    def event_decl(self, c: list[Any]) -> ast.EventDecl:
        kw, name, *members, rbrace = c
        return trusted(
            ast.EventDecl,
            span=self._between(kw, rbrace),
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
        return trusted(
            ast.CommandDecl,
            span=self._between(kw, replies[-1].span if replies else rbrace),
            name=self._name(name),
            members=tuple(rest),
            replies=replies,
            doc=self._doc(kw),
            end=self._span(rbrace),
        )

    def replies(self, c: list[Token]) -> tuple[ast.Name, ...]:
        return tuple(self._name(t) for t in c)

    def key_clause(self, c: list[Token]) -> ast.KeyClause:
        return trusted(ast.KeyClause, span=self._between(c[0], c[1]), field=self._name(c[1]))

    def ordered_clause(self, c: list[Token]) -> ast.OrderedClause:
        return trusted(ast.OrderedClause, span=self._between(c[0], c[-1]), field=self._name(c[-1]))

    def field(self, c: list[Any]) -> ast.Field:
        name = self._name(c[0])
        type_expr = c[1]
        constraints: tuple[ast.Constraint, ...] = tuple(c[2]) if len(c) > 2 else ()
        end = constraints[-1].span if constraints else type_expr.span
        if name.text in _CLAUSE_KEYWORDS:
            message, hint = keyword_as_field(name.text)
            self.state.reporter.add("syntax-error", message, name.span, hint)
        return trusted(
            ast.Field,
            span=self._between(name.span, end),
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
            if not math.isfinite(literal):
                self._too_large(value, "number")
                literal = math.copysign(float(MAX_INTEGER), literal)
        else:
            literal = self._integer(value, str(value), "number")
        return trusted(ast.Constraint, span=self._between(name, value), name=self._name(name), value=literal)

    def named_type(self, c: list[Token]) -> ast.NamedType:
        name = self._name(c[0])
        return trusted(ast.NamedType, span=name.span, name=name)

    def list_type(self, c: list[Any]) -> ast.TypeExpr:
        span = self._between(c[0], c[1].span)
        return self._nested(trusted(ast.ListType, span=span, item=c[1]))

    def map_type(self, c: list[Any]) -> ast.TypeExpr:
        span = self._between(c[0], c[2].span)
        return self._nested(trusted(ast.MapType, span=span, key=c[1], value=c[2]))

    def optional_type(self, c: list[Any]) -> ast.TypeExpr:
        return trusted(ast.OptionalType, span=self._between(c[0].span, c[1]), inner=c[0])

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
                "nesting-too-deep",
                f"this type nests more than {MAX_TYPE_DEPTH} levels deep",
                node.span,
                "declare a named `type` for the inner structure",
            )
            return self._too_deep(node)
        return node

    def _too_deep(self, node: ast.TypeExpr) -> ast.TypeExpr:
        placeholder = trusted(ast.NamedType, span=node.span, name=trusted(ast.Name, span=node.span, text="string"))
        self.state.too_deep.add(node.span)
        return placeholder

    # -- options
    def retry_opt(self, c: list[Any]) -> ast.RetryOption:
        kw, attempts = c[0], c[1]
        backoff = c[2] if len(c) > 2 else None
        end = backoff.span if backoff else attempts
        count = self._integer(attempts, str(attempts), "retry count")
        return trusted(ast.RetryOption, span=self._between(kw, end), attempts=count, backoff=backoff)

    def backoff(self, c: list[Token]) -> ast.Backoff:
        _backoff_kw, kind, *rest = c
        jitter = bool(rest) and rest[-1].type == "JITTER"
        durations = [self._duration(t) for t in rest if t.type == "DURATION"]
        return trusted(
            ast.Backoff,
            span=self._between(kind, rest[-1]),
            kind=self._name(kind),
            initial=durations[0],
            maximum=durations[1] if len(durations) > 1 else None,
            jitter=jitter,
        )

    def timeout_opt(self, c: list[Token]) -> ast.TimeoutOption:
        return trusted(ast.TimeoutOption, span=self._between(c[0], c[1]), duration=self._duration(c[1]))

    def dlq_opt(self, c: list[Token]) -> ast.DlqOption:
        return trusted(ast.DlqOption, span=self._span(c[0]))

    def idempotent_opt(self, c: list[Token]) -> ast.IdempotentOption:
        names = [t for t in c[2:] if t.type == "NAME"]
        within = self._duration(c[-1]) if c[-1].type == "DURATION" else None
        fields = tuple(self._name(t) for t in names)
        return trusted(ast.IdempotentOption, span=self._between(c[0], c[-1]), fields=fields, within=within)

    def use_opt(self, c: list[Token]) -> ast.UseOption:
        return trusted(ast.UseOption, span=self._between(c[0], c[1]), policy=self._name(c[1]))

    def emits_opt(self, c: list[Token]) -> ast.EmitsOption:
        names = tuple(self._name(t) for t in c[1:])
        return trusted(ast.EmitsOption, span=self._between(c[0], names[-1].span), events=names)

    def policy_decl(self, c: list[Any]) -> ast.PolicyDecl:
        kw, name, *options, rbrace = c
        return trusted(
            ast.PolicyDecl,
            span=self._between(kw, rbrace),
            name=self._name(name),
            options=tuple(options),
            doc=self._doc(kw),
            end=self._span(rbrace),
        )

    def defaults_decl(self, c: list[Any]) -> ast.DefaultsDecl:
        kw, *options, rbrace = c
        return trusted(
            ast.DefaultsDecl,
            span=self._between(kw, rbrace),
            options=tuple(options),
            doc=self._doc(kw),
            end=self._span(rbrace),
        )

    # -- services
    def service_decl(self, c: list[Any]) -> ast.ServiceDecl:
        kw, name, *members, rbrace = c
        return trusted(
            ast.ServiceDecl,
            span=self._between(kw, rbrace),
            name=self._name(name),
            members=tuple(members),
            doc=self._doc(kw),
            end=self._span(rbrace),
        )

    def api_decl(self, c: list[Token]) -> ast.ApiDecl:
        kw, method, path, event = c
        return trusted(
            ast.ApiDecl,
            span=self._between(kw, event),
            method=str(method),
            path=str(path),
            path_span=self._between(method, path),
            event=self._name(event),
            doc=self._doc(kw),
        )

    def publishes_decl(self, c: list[Token]) -> ast.PublishesDecl:
        names = tuple(self._name(t) for t in c[1:])
        return trusted(ast.PublishesDecl, span=self._between(c[0], names[-1].span), events=names)

    def consumes_decl(self, c: list[Token]) -> ast.ConsumesDecl:
        names = tuple(self._name(t) for t in c[1:])
        return trusted(ast.ConsumesDecl, span=self._between(c[0], names[-1].span), events=names)

    def handler_body(self, c: list[Any]) -> ast.HandlerBody:
        *options, rbrace = c
        end = self._span(rbrace)
        first = options[0].span if options else end
        return trusted(ast.HandlerBody, span=self._between(first, end), options=tuple(options), end=end)

    def handles_decl(self, c: list[Any]) -> ast.HandlesDecl:
        kw, command = c[0], c[1]
        body = c[2] if len(c) > 2 else None
        return trusted(
            ast.HandlesDecl,
            span=self._between(kw, body.end if body else command),
            command=self._name(command),
            body=body,
            doc=self._doc(kw),
        )

    def on_decl(self, c: list[Any]) -> ast.OnDecl:
        kw, event, handler = c[0], c[1], c[2]
        body = c[3] if len(c) > 3 else None
        return trusted(
            ast.OnDecl,
            span=self._between(kw, body.end if body else handler),
            event=self._name(event),
            handler=self._name(handler),
            body=body,
            doc=self._doc(kw),
        )

    # -- sagas
    def saga_decl(self, c: list[Any]) -> ast.SagaDecl:
        kw, name, *members, rbrace = c
        return trusted(
            ast.SagaDecl,
            span=self._between(kw, rbrace),
            name=self._name(name),
            members=tuple(members),
            doc=self._doc(kw),
            end=self._span(rbrace),
        )

    def trigger_decl(self, c: list[Token]) -> ast.TriggerDecl:
        return trusted(ast.TriggerDecl, span=self._between(c[0], c[1]), event=self._name(c[1]))

    def qualified_name(self, c: list[Token]) -> ast.QualifiedName:
        service, command = self._name(c[0]), self._name(c[1])
        return trusted(
            ast.QualifiedName, span=self._between(service.span, command.span), service=service, command=command
        )

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
        last = (
            body.end
            if body
            else (tails[-1].span if tails and isinstance(tails[-1], ast.Node) else tails[-1] if tails else target.span)
        )
        return trusted(
            ast.StepDecl,
            span=self._between(c[0], last),
            name=self._name(name),
            target=target,
            pivot=pivot,
            compensate=tuple(t for t in tails if isinstance(t, ast.QualifiedName)),
            readonly=tuple(t for t in tails if isinstance(t, Span)),
            body=body,
            doc=self._doc(c[0]),
        )

    def saga_timeout(self, c: list[Token]) -> ast.SagaTimeout:
        return trusted(ast.SagaTimeout, span=self._between(c[0], c[1]), duration=self._duration(c[1]))

    def outcome_decl(self, c: list[Token]) -> ast.OutcomeDecl:
        return trusted(
            ast.OutcomeDecl, span=self._between(c[0], c[3]), outcome=self._name(c[1]), event=self._name(c[3])
        )

    def external_decl(self, c: list[Any]) -> ast.ExternalDecl:
        kw, name, *members, rbrace = c
        return trusted(
            ast.ExternalDecl,
            span=self._between(kw, rbrace),
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
    state.comments.append(trusted(ast.Comment, span=span, text=str(tok)))


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


def _cache_file(grammar: str) -> str | bool:
    """Lark's `cache=` argument: a file named by the grammar, lark and Python versions, or False.

    Lark checks a hash of the same inputs inside the file and rebuilds on any
    mismatch or unreadable file, so a stale or corrupt cache costs one rebuild.
    The name keeps flowgen installs with different grammars from evicting each other.
    """
    folder = cache_dir()
    if folder is None:  # no usable cache folder: compile the grammar (~0.1s) every run
        return False
    key = hashlib.sha256(f"{grammar}\0{lark_version}\0{sys.version_info[:2]}".encode()).hexdigest()[:20]
    return str(folder / f"flow-grammar-{key}.lark")


def _get_parser() -> Lark:
    """The LALR parser, compiled once per process; across processes, loaded from the cache (~10x faster)."""
    global _parser
    if _parser is None:
        grammar = grammar_text()
        _parser = Lark(
            grammar,
            start="module",
            parser="lalr",
            lexer="contextual",
            transformer=_builder,
            lexer_callbacks={"COMMENT": _on_comment, "DOC_COMMENT": _on_doc_comment},
            maybe_placeholders=False,
            cache=_cache_file(grammar),
            _plugins=FAST_LARK,
        )
    return _parser


# A keyword is a whole word: `/key(?![A-Za-z0-9_])/` in the grammar.
_KEYWORD_PATTERN = re.compile(r"(\w+)\(\?!\[A-Za-z0-9_\]\)")


def _literals(parser: Lark) -> dict[str, str]:
    """Terminal name -> the fixed text it matches (RBRACE -> `}`), for error messages."""
    found = {}
    for t in parser.terminals:
        word = _KEYWORD_PATTERN.fullmatch(str(t.pattern.value)) if t.pattern.type == "re" else None
        if t.pattern.type == "str" or word:
            found[t.name] = word.group(1) if word else str(t.pattern.value)
    return found


def parse(text: str, path: str, reporter: Reporter) -> ast.Module | None:
    """Parse one file. Syntax errors become diagnostics and the result is None."""
    with _lock:
        parser = _get_parser()
        _builder.state = state = _ParseState(path=path, text=text, reporter=reporter)
        try:
            module: ast.Module = parser.parse(text)  # type: ignore[assignment]  # the transformer builds a Module
        except UnexpectedInput as err:
            message, hint, span = describe_unexpected(err, text, path, _literals(parser))
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
