"""`<package>/models.py`: pydantic v2 models for every record, enum, event and command.

Classes carry the spec's names exactly. Field attributes go through
`naming.python_field_name` (the rule that rejects clashes uses the same
function), and a field whose attribute differs from its spec name keeps the spec
name on the wire as its alias. Annotations are written so that mypy without the
pydantic plugin still sees the attribute names as constructor arguments.
"""

from __future__ import annotations

from collections.abc import Iterator

from flowgen_design.codegen.header import comment_header
from flowgen_design.codegen.targets.python.naming import python_field_name, python_member_name
from flowgen_design.codegen.targets.python.source import (
    Imports,
    docstring,
    format_blocks,
    indented,
    literal,
    paragraphs,
)
from flowgen_design.dsl.model import (
    Command,
    Constraints,
    EnumRef,
    EnumType,
    Event,
    Field,
    Flow,
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

# scalar -> (annotation, import group, module, name to import)
_SCALARS: dict[Scalar, tuple[str, tuple[str, str, str | None] | None]] = {
    Scalar.STRING: ("str", None),
    Scalar.INT: ("int", None),
    Scalar.FLOAT: ("float", None),
    Scalar.DECIMAL: ("Decimal", ("stdlib", "decimal", "Decimal")),
    Scalar.BOOL: ("bool", None),
    Scalar.UUID: ("UUID", ("stdlib", "uuid", "UUID")),
    Scalar.TIMESTAMP: ("AwareDatetime", ("thirdparty", "pydantic", "AwareDatetime")),
    Scalar.DATE: ("datetime.date", ("stdlib", "datetime", None)),
    Scalar.DURATION: ("datetime.timedelta", ("stdlib", "datetime", None)),
    Scalar.BYTES: ("bytes", None),
}

# The configuration every model shares (see `_Model` in the generated module).
MODEL_CONFIG: dict[str, str | bool] = {
    "frozen": True,
    "extra": "forbid",
    "populate_by_name": True,
    "serialize_by_alias": True,
    "ser_json_bytes": "base64",
    "val_json_bytes": "base64",
    "regex_engine": "python-re",
}

_BASE = [
    "class _Model(BaseModel):",
    *indented(
        docstring(
            "Configuration shared by every model of this flow.\n\n"
            "Immutable, unknown fields rejected, spec field names kept on the wire\n"
            "(`model_dump_json()` writes them), bytes as base64 in JSON."
        )
    ),
    "",
    "    model_config = ConfigDict("
    + ", ".join(f"{key}={literal(value)}" for key, value in MODEL_CONFIG.items())
    + ")",
]


class ModelWriter:
    """Renders the models module of one flow."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.imports = Imports()
        declarations: list[Record | EnumType | Message] = [*flow.records, *flow.enums, *flow.events, *flow.commands]
        self.declared = frozenset(d.name for d in declarations)
        self.needs_key_text = False

    def module(self) -> str:
        blocks = list(self._classes())
        if self.needs_key_text:
            blocks.append(_KEY_TEXT)
        self.imports.add("future", "__future__", "annotations")
        self.imports.add("thirdparty", "pydantic", "BaseModel")
        self.imports.add("thirdparty", "pydantic", "ConfigDict")
        head = comment_header(self.flow, "#").splitlines()
        intro = paragraphs(
            f"Payload models of the `{self.flow.name}` flow, version {self.flow.version}.",
            self.flow.doc,
            "Records, enums, events and commands, named as in the spec.",
        )
        return format_blocks([*head, *docstring(intro), "", *self.imports.lines(), "", *_BASE], blocks)

    def _classes(self) -> Iterator[list[str]]:
        for enum in self.flow.enums:
            yield self.enum(enum)
        for record in _dependency_order(self.flow.records):
            yield self.record(record)
        for event in self.flow.events:
            if event.headers:
                yield self.headers(event)
            yield self.message(event, "Event")
        for command in self.flow.commands:
            yield self.message(command, "Command")

    # ---- declarations ------------------------------------------------------------

    def enum(self, enum: EnumType) -> list[str]:
        self.imports.add("stdlib", "enum", "Enum")
        lines = [*docstring(paragraphs(enum.doc, f"Enum `{enum.name}`: its members travel as their names."))]
        for member in enum.members:
            lines += ["", f"{python_member_name(member.name)} = {literal(member.name)}"]
            if member.doc:
                lines += docstring(member.doc)
        return [f"class {enum.name}(str, Enum):", *indented(lines)]

    def record(self, record: Record) -> list[str]:
        lines = [*docstring(paragraphs(record.doc, f"Record `{record.name}`."))]
        fields = self.fields(record.fields)
        return [f"class {record.name}(_Model):", *indented(lines + ([""] + fields if fields else []))]

    def message(self, message: Event | Command, kind: str) -> list[str]:
        self.imports.add("stdlib", "typing", "ClassVar")
        lines = [*docstring(paragraphs(message.doc, _message_summary(message, kind))), ""]
        lines += [
            f"IDEMPOTENCY_KEY_FIELD: ClassVar[str | None] = {literal(message.key.name if message.key else None)}",
            f"ORDERING_KEY_FIELD: ClassVar[str | None] = {literal(message.ordered_by.name if message.ordered_by else None)}",
        ]
        if isinstance(message, Event) and message.headers:
            lines.append(f"HEADERS_MODEL: ClassVar[type[_Model]] = {headers_class(message)}")
        fields = self.fields(message.fields)
        if isinstance(message, Event) and message.headers:
            fields.append(self.headers_attribute(message))
        lines += [""] + fields if fields else []
        lines += ["", *self.key_method("idempotency_key", message.key, _IDEMPOTENCY_DOC)]
        lines += ["", *self.key_method("ordering_key", message.ordered_by, _ORDERING_DOC)]
        return [f"class {message.name}(_Model):", *indented(lines)]

    # ---- headers ---------------------------------------------------------------------

    def headers(self, event: Event) -> list[str]:
        """`<Event>Headers`: the event's `header` fields, which travel in the envelope."""
        summary = f"Headers of `{event.name}`: carried in the message's envelope, never in its payload."
        lines = [*docstring(summary), "", *self.fields(event.headers)]
        return [f"class {headers_class(event)}(_Model):", *indented(lines)]

    def headers_attribute(self, event: Event) -> str:
        """The event model's `headers`: validated with it, left out of its payload (`exclude=True`)."""
        self.imports.add("thirdparty", "pydantic", "Field")
        name = headers_class(event)
        required = any(not h.optional for h in event.headers)
        default = "" if required else f"default_factory={name}, "
        return f'headers: {name} = Field({default}exclude=True, description="Travels in the envelope.")'

    # ---- fields ----------------------------------------------------------------------

    def fields(self, fields: tuple[Field, ...]) -> list[str]:
        return [self.field(f) for f in fields]

    def field(self, f: Field) -> str:
        attribute = python_field_name(f.name, self.declared)
        arguments = self.field_arguments(f, attribute)
        annotation = self.annotation(f.type)
        if not arguments:
            return f"{attribute}: {annotation}"
        if list(arguments) == ["default"]:
            return f"{attribute}: {annotation} = None"
        self.imports.add("thirdparty", "pydantic", "Field")
        return f"{attribute}: {annotation} = Field({', '.join(f'{k}={v}' for k, v in arguments.items())})"

    def field_arguments(self, f: Field, attribute: str) -> dict[str, str]:
        args: dict[str, str] = {}
        if f.optional:
            args["default"] = "None"
        if attribute != f.name:
            args["validation_alias"] = args["serialization_alias"] = literal(f.name)
        args.update(_constraint_arguments(f.constraints))
        if f.doc:
            args["description"] = literal(f.doc)
        return args

    def annotation(self, t: TypeRef) -> str:
        if isinstance(t, ScalarRef):
            text, need = _SCALARS[t.scalar]
            if need:
                self.imports.add(*need)
            return text
        if isinstance(t, ListRef):
            return f"list[{self.annotation(t.item)}]"
        if isinstance(t, MapRef):
            return f"dict[str, {self.annotation(t.value)}]"
        if isinstance(t, OptionalRef):
            return f"{self.annotation(t.inner)} | None"
        if isinstance(t, RecordRef):
            return t.record.name
        assert isinstance(t, EnumRef)
        return t.enum.name

    # ---- keys ------------------------------------------------------------------------

    def key_method(self, name: str, key: Field | None, doc: tuple[str, str]) -> list[str]:
        if key is None:
            body = [*docstring(f"None: the spec declares no {doc[0]} for this message."), "return None"]
        else:
            body = [*docstring(f"The {doc[0]}: `{key.name}` as text ({doc[1]})."), f"return {self.key_text(key)}"]
        return [f"def {name}(self) -> str | None:", *indented(body)]

    def key_text(self, key: Field) -> str:
        """The key's wire value as a string: `str()` where that agrees with JSON, else JSON."""
        value = f"self.{python_field_name(key.name, self.declared)}"
        if isinstance(key.type, EnumRef):
            return f"{value}.value"
        scalar = key.type.scalar if isinstance(key.type, ScalarRef) else None
        if scalar is Scalar.STRING:
            return value
        if scalar in (Scalar.INT, Scalar.UUID, Scalar.DECIMAL):
            return f"str({value})"
        self.needs_key_text = True
        self.imports.add("stdlib", "json")
        self.imports.add("thirdparty", "pydantic_core", "to_jsonable_python")
        return f"_key_text({value})"


_IDEMPOTENCY_DOC = ("idempotency key", "a duplicate carries the same value")
_ORDERING_DOC = ("ordering key", "messages with the same value are delivered in order")

_KEY_TEXT = [
    "def _key_text(value: object) -> str:",
    *indented(
        [
            *docstring("A key's value as it travels in JSON: strings as they are, anything else as JSON text."),
            "wire = to_jsonable_python(value)",
            "return wire if isinstance(wire, str) else json.dumps(wire)",
        ]
    ),
]


def _message_summary(message: Message, kind: str) -> str:
    facts = [f"{kind} `{message.name}`."]
    if message.key:
        facts.append(f"Idempotency key: `{message.key.name}`.")
    if message.ordered_by:
        facts.append(f"Ordered by: `{message.ordered_by.name}`.")
    if isinstance(message, Event) and message.headers:
        facts.append("Headers (in `headers`): " + ", ".join(f"`{h.name}`" for h in message.headers) + ".")
    if isinstance(message, Command) and message.replies:
        facts.append("Replies: " + " | ".join(f"`{r.name}`" for r in message.replies) + ".")
    return " ".join(facts)


def _constraint_arguments(c: Constraints) -> dict[str, str]:
    pairs = {
        "ge": c.minimum,
        "le": c.maximum,
        "min_length": c.min_length,
        "max_length": c.max_length,
        "pattern": c.pattern,
    }
    return {key: literal(value) for key, value in pairs.items() if value is not None}


def _dependency_order(records: tuple[Record, ...]) -> list[Record]:
    """Records after the records they contain (declaration order otherwise)."""
    by_name = {r.name: r for r in records}
    seen: set[str] = set()
    order: list[Record] = []

    def visit(record: Record) -> None:
        if record.name in seen:
            return  # done, or a recursive type (the checker rejects those): never loop
        seen.add(record.name)
        for f in record.fields:
            for name in _records_in(f.type):
                if name in by_name:
                    visit(by_name[name])
        order.append(record)

    for record in records:
        visit(record)
    return order


def _records_in(t: TypeRef) -> Iterator[str]:
    if isinstance(t, RecordRef):
        yield t.record.name
    elif isinstance(t, ListRef):
        yield from _records_in(t.item)
    elif isinstance(t, MapRef):
        yield from _records_in(t.value)
    elif isinstance(t, OptionalRef):
        yield from _records_in(t.inner)


def headers_class(event: Event) -> str:
    """The model of an event's headers: `OrderPlaced` -> `OrderPlacedHeaders`."""
    return f"{event.name}Headers"


def models_module(flow: Flow) -> str:
    return ModelWriter(flow).module()
