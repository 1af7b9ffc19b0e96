"""`flowgen fmt`: one canonical layout for .flow files.

The printer walks the syntax AST in source order and never reorders anything;
comments are not part of the AST, so they are put back by position: a comment
alone on its line is printed before the first construct that starts after it,
a comment after code stays at the end of the output line of the construct it
followed. Single blank lines between members are kept, so a doc comment that
was not attached (a blank line below it) stays unattached: formatting never
changes meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flowgen_design.dsl import ast
from flowgen_design.dsl.source import Span, source_lines

INDENT = "  "
WIDTH = 88
"""A block whose members fit on one line of this width, with no comment inside it, is printed on
that line (`event E { id: uuid  key id }`), the way black keeps a short call on one line."""
MEMBER_GAP = "  "

Pos = tuple[int, int]


@dataclass
class _Line:
    text: str
    indent: int
    start: Pos | None
    end: Pos | None
    trailing: str = ""
    detached: bool = False
    """A trailing `///` that had to go on a line of its own: a blank line must follow it, or
    it would document whatever comes next (after code, it documented nothing)."""


@dataclass
class _Printer:
    source_lines: list[str]
    comments: list[ast.Comment]
    documented: set[int] = field(default_factory=set)
    """The lines on which a node that carries a doc comment starts."""
    lines: list[_Line | None] = field(default_factory=list)
    indent: int = 0
    _next_comment: int = 0
    _last_end_line: int = 0

    def _dangling(self, c: ast.Comment) -> bool:
        """An own-line `///` that ends a block documenting nothing: it must stay that way, so
        a blank line follows it wherever the layout puts it (inside a type that spans lines,
        say, it would otherwise land right above the next field)."""
        if not c.text.startswith("///"):
            return False
        below = c.span.line + 1
        continues = any(
            o.span.line == below and o.text.startswith("///") and not self._is_trailing(o) for o in self.comments
        )
        return not continues and below not in self.documented

    def blank(self) -> None:
        if self.lines and self.lines[-1] is not None:
            self.lines.append(None)

    def _is_trailing(self, c: ast.Comment) -> bool:
        text = self.source_lines[c.span.line - 1] if c.span.line <= len(self.source_lines) else ""
        return text[: c.span.column - 1].strip() != ""

    def flush_before(self, pos: Pos | None) -> None:
        """Print own-line comments that come before `pos` in the source (all, if None)."""
        while self._next_comment < len(self.comments):
            c = self.comments[self._next_comment]
            if pos is not None and (c.span.line, c.span.column) >= pos:
                return
            self._next_comment += 1
            if self._is_trailing(c):
                self._attach_trailing(c)
                continue
            if (self._last_end_line and c.span.line > self._last_end_line + 1) or self.after_detached():
                self.blank()
            self.lines.append(
                _Line(
                    c.text.rstrip(),
                    self.indent,
                    (c.span.line, c.span.column),
                    (c.span.line, c.span.end_column),
                    detached=self._dangling(c),
                )
            )
            self._last_end_line = c.span.line

    def _attach_trailing(self, c: ast.Comment) -> None:
        pos = (c.span.line, c.span.column)
        best: _Line | None = None
        for line in reversed(self.lines):
            if line is None or line.start is None or line.end is None:
                continue
            if line.start <= pos and (line.end[0] == c.span.line or line.start[0] == c.span.line):
                best = line
                break
            if line.end[0] < c.span.line:
                break
        if best is None or best.trailing:
            if self.after_detached():
                self.blank()
            self.lines.append(_Line(c.text.rstrip(), self.indent, pos, pos, detached=c.text.startswith("///")))
        else:
            best.trailing = c.text.rstrip()

    def emit(self, text: str, start: Span, end: Span, keep_gap: bool = True) -> None:
        begin = (start.line, start.column)
        self.flush_before(begin)
        if (keep_gap and self._last_end_line and start.line > self._last_end_line + 1) or (
            keep_gap and self.after_detached()
        ):
            self.blank()
        self.lines.append(_Line(text, self.indent, begin, (end.end_line, end.end_column)))
        self._last_end_line = max(self._last_end_line, end.end_line)

    def after_detached(self) -> bool:
        last = self.lines[-1] if self.lines else None
        return last is not None and last.detached

    def render(self) -> str:
        out: list[str] = []
        for line in self.lines:
            if line is None:
                out.append("")
                continue
            text = INDENT * line.indent + line.text
            if line.trailing:
                text += "  " + line.trailing
            out.append(text.rstrip())
        while out and out[-1] == "":
            out.pop()
        return "\n".join(out) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _type(t: ast.TypeExpr) -> str:
    if isinstance(t, ast.NamedType):
        return t.name.text
    if isinstance(t, ast.ListType):
        return f"list<{_type(t.item)}>"
    if isinstance(t, ast.MapType):
        return f"map<{_type(t.key)}, {_type(t.value)}>"
    return f"{_type(t.inner)}?"


def _verbatim(lines: list[str], after: Span, end: Span) -> str:
    """The source text of a one-line token that ends at `end` and comes after `after`.

    Literals are printed as written, never from their value: `repr` of a float
    can be `1e+16` (which the grammar does not accept) or lose digits, and a
    string's escapes have more than one spelling. Between `after` and the token
    there is only whitespace and comments, and a comment runs to the end of its
    line, so the token is what is left of its line after leading whitespace.
    """
    line = lines[end.end_line - 1] if 0 < end.end_line <= len(lines) else ""
    start = after.end_column - 1 if after.end_line == end.end_line else 0
    return line[start : end.end_column - 1].lstrip(" \t\f\r")


def _field(f: ast.Field, lines: list[str]) -> str:
    text = f"{f.name.text}: {_type(f.type)}"
    if f.constraints:
        text += " (" + ", ".join(f"{c.name.text} {_verbatim(lines, c.name.span, c.span)}" for c in f.constraints) + ")"
    return text


def _reply(reply: ast.Name, command: ast.CommandDecl) -> str:
    return f"{reply.text} retryable" if reply in command.retryable else reply.text


def _names(names: tuple[ast.Name, ...]) -> str:
    return ", ".join(n.text for n in names)


def _option(o: ast.Option) -> str:
    if isinstance(o, ast.RetryOption):
        text = f"retry {o.attempts}"
        if o.backoff:
            b = o.backoff
            text += f" backoff {b.kind.text} {b.initial.text}" + (f"..{b.maximum.text}" if b.maximum else "")
            text += " jitter" if b.jitter else ""
        return text
    if isinstance(o, ast.TimeoutOption):
        return f"timeout {o.duration.text}"
    if isinstance(o, ast.DlqOption):
        return "dlq"
    if isinstance(o, ast.IdempotentOption):
        return f"idempotent by {_names(o.fields)}" + (f" within {o.within.text}" if o.within else "")
    if isinstance(o, ast.UseOption):
        return f"use {o.policy.text}"
    if isinstance(o, ast.RaisesOption):
        return f"raises {_names(o.errors)}"
    return f"emits {_names(o.events)}" if o.events else "emits none"


def _member(m: ast.Node, lines: list[str]) -> str:
    if isinstance(m, ast.Field):
        return _field(m, lines)
    if isinstance(m, ast.KeyClause):
        return f"key {m.field.text}"
    if isinstance(m, ast.HeaderClause):
        return f"header {_field(m.field, lines)}"
    if isinstance(m, ast.ChannelClause):
        return f"channel {_quote(m.address)}"
    if isinstance(m, ast.OrderedClause):
        return f"ordered by {m.field.text}"
    if isinstance(m, ast.EnumMember):
        return m.name.text
    if isinstance(m, ast.ApiDecl):
        return f"api {m.method} {m.path} -> {m.event.text}" + (f" {_auth(m.auth)}" if m.auth else "")
    if isinstance(m, ast.PublishesDecl):
        return f"publishes {_names(m.events)}"
    if isinstance(m, ast.ConsumesDecl):
        return f"consumes {_names(m.events)}"
    if isinstance(m, ast.TriggerDecl):
        return f"trigger {m.event.text}" + (f" compensate {_qualified(m.compensate)}" if m.compensate else "")
    if isinstance(m, ast.Branch):
        return f"on {m.reply.text} -> {m.target.text}"
    if isinstance(m, ast.StepDelay):
        return f"after {m.duration.text}"
    if isinstance(m, ast.StepHeartbeat):
        return f"heartbeat {m.duration.text}"
    if isinstance(m, ast.Fill):
        return _fill(m, lines)
    if isinstance(m, ast.SagaTimeout):
        return f"timeout {m.duration.text}"
    if isinstance(m, ast.OutcomeDecl):
        return f"on {m.outcome.text} emit {m.event.text}"
    if isinstance(m, ast.SagaInvariant):
        return f"invariant every {m.event.text} is followed by " + " or ".join(n.text for n in m.followers)
    return _option(m)  # type: ignore[arg-type]


def _auth(a: ast.AuthClause) -> str:
    if a.kind != "jwt" or a.issuer is None:
        return f"auth {a.kind}"
    audiences = ", ".join(_quote(t.value) for t in a.audiences)
    return f"auth jwt issuer {_quote(a.issuer.value)} audience {audiences}"


def _fill(f: ast.Fill, lines: list[str]) -> str:
    return f"{f.field.text} = " + " or ".join(_source(s, lines) for s in f.sources)


def _source(s: ast.FillSource, lines: list[str]) -> str:
    if s.root is not None and s.field is not None:
        return f"{s.root.text}.{s.field.text}"
    line = lines[s.span.line - 1] if 0 < s.span.line <= len(lines) else ""
    return line[s.span.column - 1 : s.span.end_column - 1]  # a constant, printed as written


def _qualified(q: ast.QualifiedName) -> str:
    return f"{q.service.text}.{q.command.text}"


def _action(target: ast.QualifiedName | ast.AwaitClause) -> str:
    """What a step does: `Service.Command`, or `await E | F by field`."""
    if isinstance(target, ast.QualifiedName):
        return _qualified(target)
    return "await " + " | ".join(n.text for n in target.events) + (f" by {target.by.text}" if target.by else "")


class _Formatter:
    def __init__(self, module: ast.Module, text: str) -> None:
        self.p = _Printer(
            source_lines=source_lines(text),
            comments=sorted(module.comments, key=lambda c: (c.span.line, c.span.column)),
            documented=_documented_lines(module),
        )
        self.module = module

    def run(self) -> str:
        h = self.module.header
        self.p.emit(f"flow {h.name.text} version {h.version}", h.span, h.span)
        if self.module.imports:
            self.p.blank()
        for imp in self.module.imports:
            span = imp.path_span
            line = self.p.source_lines[span.line - 1] if 0 < span.line <= len(self.p.source_lines) else ""
            path = line[span.column - 1 : span.end_column - 1] or _quote(imp.path)
            self.p.emit(f"import {path}", imp.span, imp.span, keep_gap=False)
        for decl in self.module.declarations:
            self._declaration_gap(decl.span)
            self._declaration(decl)
        self.p.flush_before(None)
        return self.p.render()

    def _declaration_gap(self, start: Span) -> None:
        """One blank line before every declaration (and before the comments above it)."""
        self.p.flush_before((start.line, start.column))
        last = next((line for line in reversed(self.p.lines) if line is not None), None)
        attached = (
            last is not None
            and last.start is not None
            and last.text.startswith("//")
            and last.start[0] == start.line - 1
            and not last.detached
        )
        if not attached:
            self.p.blank()
        else:
            self._blank_above_comment_block()

    def _blank_above_comment_block(self) -> None:
        lines = self.p.lines
        i = len(lines) - 1
        while i >= 0 and lines[i] is not None and lines[i].text.startswith("//") and lines[i].indent == 0:  # type: ignore[union-attr]
            i -= 1
        if i >= 0 and lines[i] is not None:
            lines.insert(i + 1, None)

    def _block(
        self,
        head: str,
        start: Span,
        name_end: Span,
        members: tuple[ast.Node, ...],
        end: Span,
        tail: str = "",
        inline: bool = True,
    ) -> None:
        if not members and not self._comments_inside(start, end):
            self.p.emit(f"{head} {{}}{tail}", start, end, keep_gap=False)
            return
        gap = ", " if members and isinstance(members[0], ast.EnumMember) else MEMBER_GAP
        texts = [_member(m, self.p.source_lines) for m in members] if inline else []
        if inline and self._fits_one_line(head, texts, gap, tail, start, end, keep_gap=False):
            return
        self.p.emit(f"{head} {{", start, name_end, keep_gap=False)
        self.p.indent += 1
        for m in members:
            self._member(m)
        self.p.flush_before((end.line, end.column))
        self.p.indent -= 1
        self.p.emit(f"}}{tail}", end, end, keep_gap=False)

    def _fits_one_line(
        self, head: str, members: list[str], gap: str, tail: str, start: Span, end: Span, keep_gap: bool
    ) -> bool:
        """Print `head { a  b }tail` on one line if it fits and no comment is inside; say whether it did."""
        text = f"{head} {{ {gap.join(members)} }}{tail}"
        if len(INDENT * self.p.indent + text) > WIDTH or self._comments_inside(start, end):
            return False
        self.p.emit(text, start, end, keep_gap=keep_gap)
        return True

    def _comments_inside(self, start: Span, end: Span) -> bool:
        return any(
            (start.line, start.column) < (c.span.line, c.span.column) < (end.line, end.column) for c in self.p.comments
        )

    def _member(self, m: ast.Node) -> None:
        if isinstance(m, (ast.HandlesDecl, ast.OnDecl)):
            head = (
                f"handles {m.command.text}"
                if isinstance(m, ast.HandlesDecl)
                else f"on {m.event.text} -> {m.handler.text}"
            )
            self._with_body(head, m.span, m.body)
        elif isinstance(m, ast.StepDecl):
            self._step(m)
        elif isinstance(m, ast.ParallelDecl):
            self._parallel(m)
        elif isinstance(m, ast.OutcomeDecl) and m.end is not None:
            self._outcome(m, m.end)
        else:
            self.p.emit(_member(m, self.p.source_lines), m.span, m.span)

    def _with_body(self, head: str, span: Span, body: ast.HandlerBody | None, extra: tuple[ast.Node, ...] = ()) -> None:
        """`head`, or `head { members }` on one line when it fits, else one member a line.

        `extra`: a step's branches and fills, printed among its options in the order written."""
        members: list[ast.Node] = sorted(
            [*(body.options if body else ()), *extra], key=lambda m: (m.span.line, m.span.column)
        )
        if body is None or (not members and not self._comments_inside(span, body.end)):
            self.p.emit(head, span, body.end if body else span)
            return
        texts = [_member(m, self.p.source_lines) for m in members]
        if self._fits_one_line(head, texts, MEMBER_GAP, "", span, body.end, True):
            return
        self.p.emit(head + " {", span, span)
        self.p.indent += 1
        for m, text in zip(members, texts, strict=True):
            self.p.emit(text, m.span, m.span)
        self.p.flush_before((body.end.line, body.end.column))
        self.p.indent -= 1
        self.p.emit("}", body.end, body.end, keep_gap=False)

    def _outcome(self, o: ast.OutcomeDecl, end: Span) -> None:
        head = _member(o, self.p.source_lines)
        if not o.fills and not self._comments_inside(o.span, end):
            self.p.emit(head, o.span, end)
            return
        self.p.emit(head + " {", o.span, o.event.span)
        self.p.indent += 1
        for f in o.fills:
            self.p.emit(_fill(f, self.p.source_lines), f.span, f.span)
        self.p.flush_before((end.line, end.column))
        self.p.indent -= 1
        self.p.emit("}", end, end, keep_gap=False)

    def _parallel(self, m: ast.ParallelDecl) -> None:
        """A block lists its steps one a line, as a saga does; as a member it keeps the blank line
        before it (and after a detached doc comment), like a step."""
        head = f"parallel {m.name.text}"
        if not m.members and not self._comments_inside(m.span, m.end):
            self.p.emit(head + " {}", m.span, m.end)
            return
        self.p.emit(head + " {", m.span, m.name.span)
        self.p.indent += 1
        for member in m.members:
            self._member(member)
        self.p.flush_before((m.end.line, m.end.column))
        self.p.indent -= 1
        self.p.emit("}", m.end, m.end, keep_gap=False)

    def _step(self, s: ast.StepDecl) -> None:
        head = ("pivot " if s.pivot else "") + f"step {s.name.text}: {_action(s.target)}"
        head += "".join(f" compensate {_qualified(q)}" for q in s.compensate)
        head += " readonly" * len(s.readonly)
        self._with_body(head, s.span, s.body, (*s.branches, *s.fills, *s.delays, *s.heartbeats))

    def _declaration(self, d: ast.Declaration) -> None:
        if isinstance(d, ast.TypeDecl):
            self._block(f"type {d.name.text}", d.span, d.name.span, d.fields, d.end)
        elif isinstance(d, ast.EnumDecl):
            self._block(f"enum {d.name.text}", d.span, d.name.span, d.members, d.end)
        elif isinstance(d, ast.EventDecl):
            self._block(f"event {d.name.text}", d.span, d.name.span, d.members, d.end)
        elif isinstance(d, ast.CommandDecl):
            tail = " -> " + " | ".join(_reply(r, d) for r in d.replies) if d.replies else ""
            self._block(f"command {d.name.text}", d.span, d.name.span, d.members, d.end, tail)
        elif isinstance(d, ast.PolicyDecl):
            self._block(f"policy {d.name.text}", d.span, d.name.span, d.options, d.end)
        elif isinstance(d, ast.DefaultsDecl):
            self._block("defaults", d.span, d.span, d.options, d.end)
        elif isinstance(d, ast.ServiceDecl):
            self._block(f"service {d.name.text}", d.span, d.name.span, d.members, d.end, inline=False)
        elif isinstance(d, ast.SagaDecl):
            self._block(f"saga {d.name.text}", d.span, d.name.span, d.members, d.end, inline=False)
        elif isinstance(d, ast.ArchiveDecl):
            self.p.emit(f"archive {d.retention.text}", d.span, d.span, keep_gap=False)
        else:
            self._block(f"external {d.name.text}", d.span, d.name.span, d.members, d.end)


def _documented_lines(module: ast.Module) -> set[int]:
    nodes: list[ast.Node] = [module.header, *module.declarations]
    for d in module.declarations:
        nodes.extend(getattr(d, "fields", ()))
        nodes.extend(getattr(d, "members", ()))
        nodes.extend(_parallel_members(d))
        nodes.extend(m.field for m in getattr(d, "members", ()) if isinstance(m, ast.HeaderClause))
    return {n.span.line for n in nodes if getattr(n, "doc", None) is not None}


def _parallel_members(d: ast.Declaration) -> list[ast.Node]:
    """The members of a saga's parallel blocks, nested ones too."""
    todo = [m for m in d.members if isinstance(m, ast.ParallelDecl)] if isinstance(d, ast.SagaDecl) else []
    found: list[ast.Node] = []
    while todo:
        block = todo.pop()
        found += block.members
        todo += [m for m in block.members if isinstance(m, ast.ParallelDecl)]
    return found


def format_module(module: ast.Module, text: str) -> str:
    """The canonical text of a parsed module; `text` is the source it was parsed from."""
    return _Formatter(module, text).run()
