"""Resolving payload schemas: records, enums, events and commands."""

from __future__ import annotations

from flowgen_design.dsl import ast, codes
from flowgen_design.dsl.model import (
    Command,
    Constraints,
    EnumMember,
    EnumRef,
    EnumType,
    Event,
    Field,
    ListRef,
    MapRef,
    OptionalRef,
    Record,
    RecordRef,
    Scalar,
    ScalarRef,
    TypeRef,
    type_text,
)
from flowgen_design.dsl.resolve.keys import key_field
from flowgen_design.dsl.resolve.symbols import SCALARS, Symbols, did_you_mean, where

_NUMERIC = {Scalar.INT, Scalar.FLOAT, Scalar.DECIMAL}
_SIZED = {Scalar.STRING, Scalar.BYTES}
# Records, lists, maps and optionals inside one another; deeper payloads are
# refused before they can exhaust the stack here or in a generator.
MAX_PAYLOAD_DEPTH = 64
KNOWN_CONSTRAINTS = ("min", "max", "min_length", "max_length", "pattern")
# Frozen, so one instance per scalar (and one empty constraint set) serves every field.
_SCALAR_REFS = {s.value: ScalarRef(scalar=s) for s in Scalar}
_NO_CONSTRAINTS = Constraints()


class TypeResolver:
    """Resolves type declarations on demand, in dependency order, refusing recursion."""

    def __init__(self, symbols: Symbols) -> None:
        self.symbols = symbols
        self.report = symbols.reporter
        self.records: dict[str, Record | None] = {}
        self.enums: dict[str, EnumType] = {}
        self._in_progress: list[str] = []
        self._depth = 0

    def record(self, decl: ast.TypeDecl, used_at: ast.Name | None = None) -> Record | None:
        """The record of `decl`; `used_at` is the reference being resolved, where a cycle is reported."""
        name = decl.name.text
        if name in self.records:
            return self.records[name]
        if name in self._in_progress:
            chain = " -> ".join(self._in_progress[self._in_progress.index(name) :] + [name])
            self.report.add(
                codes.RECURSIVE_TYPE,
                f"type `{name}` contains itself ({chain})",
                (used_at or decl.name).span,
                "payloads are finite trees: refer to the inner item by its id instead",
            )
            return None
        if self._depth >= MAX_PAYLOAD_DEPTH:
            self.report.add(
                codes.NESTING_TOO_DEEP,
                f"payloads that contain `{name}` nest more than {MAX_PAYLOAD_DEPTH} levels deep ({self._in_progress[0]} -> ... -> {name})",
                (used_at or decl.name).span,
                "flatten the payload: refer to inner items by id",
            )
            return None
        self._in_progress.append(name)
        self._depth += 1
        fields = self.fields(decl.fields)
        self._depth -= 1
        self._in_progress.pop()
        record = Record(name=name, fields=fields, doc=decl.doc, span=decl.span, name_span=decl.name.span)
        self.records[name] = record
        return record

    def enum(self, decl: ast.EnumDecl) -> EnumType:
        name = decl.name.text
        if name not in self.enums:
            members = self._enum_members(decl)
            self.enums[name] = EnumType(
                name=name, members=members, doc=decl.doc, span=decl.span, name_span=decl.name.span
            )
        return self.enums[name]

    def _enum_members(self, decl: ast.EnumDecl) -> tuple[EnumMember, ...]:
        if not decl.members:
            self.report.add(
                codes.EMPTY_ENUM,
                f"enum `{decl.name.text}` has no members",
                decl.name.span,
                "list its values: `enum Status { pending shipped }`",
            )
        seen: dict[str, ast.EnumMember] = {}
        for m in decl.members:
            if m.name.text in seen:
                self.report.add(
                    codes.DUPLICATE_NAME,
                    f"enum member `{m.name.text}` is listed twice",
                    m.name.span,
                    f"first listed at {where(seen[m.name.text].span)}",
                )
            seen.setdefault(m.name.text, m)
        return tuple(EnumMember(name=m.name.text, doc=m.doc, span=m.span) for m in seen.values())

    def fields(self, fields: tuple[ast.Field, ...]) -> tuple[Field, ...]:
        out: dict[str, Field] = {}
        for f in fields:
            if f.name.text in out:
                self.report.add(
                    codes.DUPLICATE_NAME,
                    f"field `{f.name.text}` is declared twice",
                    f.name.span,
                    f"first declared at {where(out[f.name.text].span)}",
                )
                continue
            resolved = self.type_ref(f.type)
            if resolved is None:
                continue
            constraints = self.constraints(f, resolved)
            out[f.name.text] = Field(name=f.name.text, type=resolved, constraints=constraints, doc=f.doc, span=f.span)
        return tuple(out.values())

    def type_ref(self, expr: ast.TypeExpr) -> TypeRef | None:
        if isinstance(expr, ast.NamedType):
            return self._named(expr.name)
        self._depth += 1
        try:
            return self._container(expr)
        finally:
            self._depth -= 1

    def _container(self, expr: ast.ListType | ast.MapType | ast.OptionalType) -> TypeRef | None:
        if isinstance(expr, ast.OptionalType):
            inner = self.type_ref(expr.inner)
            if isinstance(inner, OptionalRef):
                self.report.add(codes.SYNTAX_ERROR, "a type is optional once: `T?`, not `T??`", expr.span)
                return inner
            return OptionalRef(inner=inner) if inner else None
        if isinstance(expr, ast.ListType):
            item = self.type_ref(expr.item)
            return ListRef(item=item) if item else None
        return self._map(expr)

    def _map(self, expr: ast.MapType) -> TypeRef | None:
        key = self.type_ref(expr.key)
        if key is not None and key != _SCALAR_REFS["string"]:
            self.report.add(
                codes.INVALID_MAP_KEY,
                f"map keys must be `string`, not `{type_text(key)}`",
                expr.key.span,
                "JSON object keys are strings",
            )
        value = self.type_ref(expr.value)
        return MapRef(value=value) if value else None

    def _named(self, name: ast.Name) -> TypeRef | None:
        if name.text in SCALARS:
            return _SCALAR_REFS[name.text]
        decl = self.symbols.decls.get(name.text)
        if decl is None:
            hint = did_you_mean(name.text, [*SCALARS, *self.symbols.names_of(("type", "enum"))])
            self.report.add(
                codes.UNDEFINED_NAME,
                f"undefined type `{name.text}`",
                name.span,
                hint or f"declare `type {name.text} {{ ... }}` or use a built-in type",
            )
            return None
        if isinstance(decl, ast.TypeDecl):
            record = self.record(decl, name)
            return RecordRef(record=record) if record else None
        if isinstance(decl, ast.EnumDecl):
            return EnumRef(enum=self.enum(decl))
        self.symbols.lookup(name, "type", "enum")
        return None

    def constraints(self, f: ast.Field, t: TypeRef) -> Constraints:
        if not f.constraints:
            return _NO_CONSTRAINTS
        base = t.inner if isinstance(t, OptionalRef) else t
        values: dict[str, int | float | str] = {}
        written: dict[str, ast.Constraint] = {}
        for c in f.constraints:
            if c.name.text in written:
                continue
            written[c.name.text] = c
            if self._constraint_fits(c, base):
                values[c.name.text] = c.value
        self._check_ranges(written, values)
        return Constraints(
            minimum=_num(values.get("min")),
            maximum=_num(values.get("max")),
            min_length=_int(values.get("min_length")),
            max_length=_int(values.get("max_length")),
            pattern=_str(values.get("pattern")),
        )

    def _check_ranges(self, written: dict[str, ast.Constraint], values: dict[str, int | float | str]) -> None:
        """Bounds that no value can meet (patterns are compiled by `rules.literals.check_patterns`)."""
        for low, high in (("min", "max"), ("min_length", "max_length")):
            lo, hi = values.get(low), values.get(high)
            if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and lo > hi:
                span = written[low].span.to(written[high].span)
                self.report.add(
                    codes.CONSTRAINT_MISMATCH,
                    f"`{low} {lo}` is above `{high} {hi}`: no value fits",
                    span,
                    "swap the bounds",
                )

    def _constraint_fits(self, c: ast.Constraint, t: TypeRef) -> bool:
        name = c.name.text
        if name not in KNOWN_CONSTRAINTS:
            hint = did_you_mean(name, KNOWN_CONSTRAINTS) or "known constraints: " + ", ".join(KNOWN_CONSTRAINTS)
            self.report.add(codes.UNKNOWN_CONSTRAINT, f"unknown constraint `{name}`", c.name.span, hint)
            return False
        scalar = t.scalar if isinstance(t, ScalarRef) else None
        if name in ("min", "max"):
            ok, need = scalar in _NUMERIC and not isinstance(c.value, str), "a number on an int, float or decimal field"
        elif name == "pattern":
            ok, need = (
                scalar is Scalar.STRING and isinstance(c.value, str),
                "a quoted regular expression on a string field",
            )
        else:
            sized = scalar in _SIZED or isinstance(t, (ListRef, MapRef))
            ok, need = (
                sized and isinstance(c.value, int) and c.value >= 0,
                "a whole number on a string, bytes, list or map field",
            )
        if not ok:
            self.report.add(
                codes.CONSTRAINT_MISMATCH, f"`{name}` does not fit this field", c.span, f"`{name}` takes {need}"
            )
        return ok

    def message_fields(
        self, decl: ast.EventDecl | ast.CommandDecl
    ) -> tuple[tuple[Field, ...], Field | None, Field | None]:
        """Fields, key field and ordering field of an event or command."""
        fields = self.fields(tuple(m for m in decl.members if isinstance(m, ast.Field)))
        key = self._clause_field(decl, ast.KeyClause, "key", fields)
        ordered = self._clause_field(decl, ast.OrderedClause, "ordered by", fields)
        return fields, key, ordered

    def _clause_field(
        self,
        decl: ast.EventDecl | ast.CommandDecl,
        kind: type[ast.KeyClause] | type[ast.OrderedClause],
        label: str,
        fields: tuple[Field, ...],
    ) -> Field | None:
        first = next((m for m in decl.members if isinstance(m, kind)), None)
        return None if first is None else key_field(self.report, first.field, fields, label, decl.name.text)

    def event(self, decl: ast.EventDecl) -> Event:
        fields, key, ordered = self.message_fields(decl)
        channel = next((m for m in decl.members if isinstance(m, ast.ChannelClause)), None)
        return Event(
            name=decl.name.text,
            fields=fields,
            key=key,
            ordered_by=ordered,
            headers=self.headers(decl, fields),
            channel=channel.address if channel else None,
            channel_span=channel.address_span if channel else None,
            doc=decl.doc,
            span=decl.span,
            name_span=decl.name.span,
        )

    def headers(self, decl: ast.EventDecl, fields: tuple[Field, ...]) -> tuple[Field, ...]:
        """An event's `header` fields: each a scalar or an enum (optional or not), named unlike any
        payload field (they share one generated model)."""
        declared = tuple(m.field for m in decl.members if isinstance(m, ast.HeaderClause))
        if not declared:
            return ()
        payload = {f.name: f for f in fields}
        if "headers" in payload:
            self.report.add(
                codes.HEADER_NAMED_LIKE_FIELD,
                f"`{decl.name.text}` declares headers, so its payload cannot have a field `headers`",
                payload["headers"].span,
                "rename the field: the event's headers are its `headers` in the generated code",
            )
        clashes = {h.name.text for h in declared if h.name.text in payload}
        for h in declared:
            if h.name.text in clashes:
                self.report.add(
                    codes.HEADER_NAMED_LIKE_FIELD,
                    f"header `{h.name.text}` of `{decl.name.text}` has the name of a payload field",
                    h.name.span,
                    f"rename one: the field is declared at {where(payload[h.name.text].span)}",
                )
        out = []
        for header in self.fields(tuple(h for h in declared if h.name.text not in clashes)):
            base = header.type.inner if isinstance(header.type, OptionalRef) else header.type
            if isinstance(base, ScalarRef | EnumRef) and not (
                isinstance(base, ScalarRef) and base.scalar is Scalar.BYTES
            ):
                out.append(header)
                continue
            self.report.add(
                codes.HEADER_NOT_SCALAR,
                f"header `{header.name}` of `{decl.name.text}` is `{type_text(header.type)}`: a header is one value",
                header.span,
                "use a scalar (`string`, `uuid`, `int`, ...) or an enum; put structured data in the payload",
            )
        return tuple(out)

    def command(self, decl: ast.CommandDecl, events: dict[str, Event]) -> Command:
        fields, key, ordered = self.message_fields(decl)
        replies = []
        for reply in decl.replies:
            target = self.symbols.lookup(reply, "event")
            if target is not None and reply.text in events:
                replies.append(events[reply.text])
        marked = {r.text for r in decl.retryable}
        return Command(
            name=decl.name.text,
            fields=fields,
            key=key,
            ordered_by=ordered,
            replies=tuple(replies),
            retryable=tuple(r for r in replies[1:] if r.name in marked),
            doc=decl.doc,
            span=decl.span,
            name_span=decl.name.span,
        )


def _num(v: int | float | str | None) -> int | float | None:
    return v if isinstance(v, (int, float)) else None


def _int(v: int | float | str | None) -> int | None:
    return v if isinstance(v, int) else None


def _str(v: int | float | str | None) -> str | None:
    return v if isinstance(v, str) else None
