"""JSON Schema (the AsyncAPI Schema Object) for the spec's payload types.

The schemas describe the JSON that travels, which is what the generated
pydantic models dump with `model_dump(mode="json", by_alias=True)`: uuids,
timestamps, dates and durations are strings in their standard formats, decimals
are strings (exact, never a binary float), bytes are base64 strings, and an
optional field may be absent or null. Records and enums are shared schemas under
`components/schemas`; everything else is inlined where it is used.
"""

from __future__ import annotations

from typing import Any

from flowgen_design.dsl.model import (
    Constraints,
    EnumRef,
    EnumType,
    Field,
    ListRef,
    MapRef,
    Message,
    OptionalRef,
    Record,
    RecordRef,
    Scalar,
    ScalarRef,
    TypeRef,
)

Schema = dict[str, Any]

SCHEMAS_REF = "#/components/schemas/"
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"

_SCALARS: dict[Scalar, Schema] = {
    Scalar.STRING: {"type": "string"},
    Scalar.INT: {"type": "integer"},
    Scalar.FLOAT: {"type": "number"},
    Scalar.DECIMAL: {"type": "string", "format": "decimal", "pattern": DECIMAL_PATTERN},
    Scalar.BOOL: {"type": "boolean"},
    Scalar.UUID: {"type": "string", "format": "uuid"},
    Scalar.TIMESTAMP: {"type": "string", "format": "date-time"},
    Scalar.DATE: {"type": "string", "format": "date"},
    Scalar.DURATION: {"type": "string", "format": "duration"},
    Scalar.BYTES: {"type": "string", "contentEncoding": "base64"},
}


def type_schema(t: TypeRef) -> Schema:
    """The schema of a value of type `t` (optional types also accept null)."""
    if isinstance(t, ScalarRef):
        return dict(_SCALARS[t.scalar])
    if isinstance(t, ListRef):
        return {"type": "array", "items": type_schema(t.item)}
    if isinstance(t, MapRef):
        return {"type": "object", "additionalProperties": type_schema(t.value)}
    if isinstance(t, RecordRef):
        return {"$ref": SCHEMAS_REF + t.record.name}
    if isinstance(t, EnumRef):
        return {"$ref": SCHEMAS_REF + t.enum.name}
    return _nullable(type_schema(t.inner))


def _nullable(schema: Schema) -> Schema:
    """Also accept null: pydantic dumps an unset optional field as `null`."""
    if isinstance(schema.get("type"), str) and "$ref" not in schema:
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def _base(t: TypeRef) -> TypeRef:
    return t.inner if isinstance(t, OptionalRef) else t


def constraint_keywords(t: TypeRef, c: Constraints) -> Schema:
    """JSON Schema keywords for a field's constraints, chosen by the field's type.

    Where JSON Schema cannot say it exactly (a bound on a decimal string, a
    length in bytes of base64 text), the constraint is kept as an `x-flowgen-`
    keyword so no fact of the spec is lost.
    """
    base = _base(t)
    scalar = base.scalar if isinstance(base, ScalarRef) else None
    out: Schema = {}
    bounds = {"minimum": c.minimum, "maximum": c.maximum}
    lengths = {"min": c.min_length, "max": c.max_length}
    if scalar in (Scalar.INT, Scalar.FLOAT):
        out.update({k: v for k, v in bounds.items() if v is not None})
    elif scalar is Scalar.DECIMAL:
        out.update({f"x-flowgen-{k}": v for k, v in bounds.items() if v is not None})
    if scalar is Scalar.STRING:
        out.update({f"{k}Length": v for k, v in lengths.items() if v is not None})
    elif scalar is Scalar.BYTES:
        out.update({f"x-flowgen-{k}-bytes": v for k, v in lengths.items() if v is not None})
    elif isinstance(base, ListRef):
        out.update({f"{k}Items": v for k, v in lengths.items() if v is not None})
    elif isinstance(base, MapRef):
        out.update({f"{k}Properties": v for k, v in lengths.items() if v is not None})
    if c.pattern is not None:
        out["pattern"] = c.pattern
    return out


def field_schema(f: Field) -> Schema:
    """A property: its type, its constraints, null if optional, and its doc comment."""
    schema = _with(type_schema(_base(f.type)), constraint_keywords(f.type, f.constraints))
    if f.optional:
        schema = _nullable(schema)
    return _with(schema, {"description": f.doc} if f.doc else {})


def _with(schema: Schema, keywords: Schema) -> Schema:
    if not keywords:
        return schema
    if "$ref" in schema:
        # JSON Schema draft 7 ignores keywords next to `$ref`: wrap it instead.
        return {"allOf": [schema], **keywords}
    return {**schema, **keywords}


def object_schema(fields: tuple[Field, ...], doc: str | None = None) -> Schema:
    """A closed object: exactly the declared fields, the non-optional ones required."""
    schema: Schema = {"type": "object"}
    if doc:
        schema["description"] = doc
    schema["properties"] = {f.name: field_schema(f) for f in fields}
    required = [f.name for f in fields if not f.optional]
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    return schema


def record_schema(record: Record) -> Schema:
    return object_schema(record.fields, record.doc)


def enum_schema(enum: EnumType) -> Schema:
    schema: Schema = {"type": "string"}
    if enum.doc:
        schema["description"] = enum.doc
    schema["enum"] = [m.name for m in enum.members]
    docs = {m.name: m.doc for m in enum.members if m.doc}
    if docs:
        schema["x-flowgen-member-docs"] = docs
    return schema


def payload_schema(message: Message) -> Schema:
    """The payload of an event or command; its doc belongs to the message, not here."""
    return object_schema(message.fields)


DRAFT_04 = "http://json-schema.org/draft-04/schema#"


def standalone_schema(message: Message, title: str) -> Schema:
    """`payload_schema` as one self-contained JSON Schema draft 4 document (what an API Gateway
    request model takes): the records and enums it refers to become `definitions`, and the
    `x-flowgen-` facts JSON Schema cannot check are left out (a validator ignores them anyway)."""
    definitions: dict[str, Schema] = {}
    for t in _referenced(message.fields):
        named = record_schema(t.record) if isinstance(t, RecordRef) else enum_schema(t.enum)
        definitions[t.record.name if isinstance(t, RecordRef) else t.enum.name] = named
    schema: Schema = {"$schema": DRAFT_04, "title": title, **payload_schema(message)}
    if definitions:
        schema["definitions"] = dict(sorted(definitions.items()))
    standalone: Schema = _local_refs(schema)
    return standalone


def _referenced(fields: tuple[Field, ...]) -> list[RecordRef | EnumRef]:
    """Every record and enum the fields reach, each once."""
    found: dict[str, RecordRef | EnumRef] = {}
    todo: list[TypeRef] = [f.type for f in fields]
    while todo:
        t = todo.pop()
        if isinstance(t, ListRef | OptionalRef):
            todo.append(t.item if isinstance(t, ListRef) else t.inner)
        elif isinstance(t, MapRef):
            todo.append(t.value)
        elif isinstance(t, RecordRef) and t.record.name not in found:
            found[t.record.name] = t
            todo += [f.type for f in t.record.fields]
        elif isinstance(t, EnumRef):
            found.setdefault(t.enum.name, t)
    return list(found.values())


def _local_refs(value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: _local_refs(v) for k, v in value.items() if not k.startswith("x-flowgen-")}
        if isinstance(out.get("$ref"), str):
            out["$ref"] = out["$ref"].replace(SCHEMAS_REF, "#/definitions/")
        return out
    if isinstance(value, list):
        return [_local_refs(v) for v in value]
    return value
