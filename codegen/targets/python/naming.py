"""Names in generated Python: what a spec name may not be, and what it becomes.

The Python target's checks (`checks.py`) reject names it could not generate, and
its generators (`models.py`) map the names they can; both use these functions,
so a name the check lets through is a name the generator can write.
"""

from __future__ import annotations

import keyword
import sys
from collections.abc import Collection

PYTHON_KEYWORDS = frozenset(keyword.kwlist)
PYTHON_RESERVED = PYTHON_KEYWORDS | frozenset(keyword.softkwlist) | {"None", "True", "False"}
# Builtin types, and every name the generated `models.py` binds at module level:
# a declaration with one of these names would replace it.
PYTHON_SHADOWED = frozenset(
    {"int", "str", "float", "bool", "list", "dict", "set", "bytes", "type", "object"}
    | {
        "BaseModel",
        "Field",
        "Enum",
        "ConfigDict",
        "AwareDatetime",
        "ClassVar",
        "Decimal",
        "UUID",
        "datetime",
        "json",
        "to_jsonable_python",
    }
)
# pydantic.BaseModel's public attributes, written out so that `flowgen check` need not import
# pydantic (a tenth of a second); tests/test_python_names.py keeps it equal to the installed one's.
PYDANTIC_MODEL_ATTRIBUTES = frozenset(
    {
        "construct",
        "copy",
        "dict",
        "from_orm",
        "json",
        "model_computed_fields",
        "model_config",
        "model_construct",
        "model_copy",
        "model_dump",
        "model_dump_json",
        "model_extra",
        "model_fields",
        "model_fields_set",
        "model_json_schema",
        "model_parametrized_name",
        "model_post_init",
        "model_rebuild",
        "model_validate",
        "model_validate_json",
        "model_validate_strings",
        "parse_file",
        "parse_obj",
        "parse_raw",
        "schema",
        "schema_json",
        "update_forward_refs",
        "validate",
    }
)
# Names a generated model's class body must see unshadowed: the types its annotations
# use, BaseModel's own attributes and the key methods flowgen adds to every message.
PYTHON_MODEL_ATTRIBUTES = (
    frozenset(
        {
            "str",
            "int",
            "float",
            "bool",
            "bytes",
            "list",
            "dict",
            "datetime",
            "Decimal",
            "UUID",
            "AwareDatetime",
            "ClassVar",
            "Field",
        }
    )
    | PYDANTIC_MODEL_ATTRIBUTES
    | {"idempotency_key", "ordering_key", "IDEMPOTENCY_KEY_FIELD", "ORDERING_KEY_FIELD"}
)
# Names the generated handler classes use in their method signatures (`models.X`,
# `Sequence[...]`, `@abc.abstractmethod`, `@override`): a method cannot take them.
PYTHON_HANDLER_CLASS_NAMES = frozenset({"abc", "models", "override", "Sequence"})
# Names an enum member cannot take: Enum's own attributes and, for a `str` enum, str's.
PYTHON_ENUM_ATTRIBUTES = frozenset({"mro", "name", "value"} | {name for name in dir(str) if not name.startswith("_")})
# Top-level modules a generated package must not hide: the standard library and
# what the generated code imports at run time.
PYTHON_TOP_LEVEL_MODULES = frozenset(sys.stdlib_module_names) | {
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "typing_extensions",
    "boto3",
    "botocore",
    "aws_lambda_powertools",
}


def python_field_name(name: str, declared: Collection[str] = ()) -> str:
    """The attribute of a field in a generated pydantic model; the wire name stays as its alias.

    Keywords, names the class body needs (`PYTHON_MODEL_ATTRIBUTES`) and the flow's
    `declared` type names get a trailing underscore (`from` -> `from_`). Leading
    underscores, which make a pydantic attribute private, move to the end (`_id` -> `id_`).
    """
    base = name.lstrip("_") or "field"
    if base != name or base in PYTHON_KEYWORDS or base in PYTHON_MODEL_ATTRIBUTES or base in declared:
        return base + "_"
    return base


def python_member_name(name: str) -> str:
    """The attribute of an enum member in a generated `str` Enum; its value stays the spec name."""
    base = name.lstrip("_") or "member"
    if base != name or base in PYTHON_KEYWORDS or base in PYTHON_ENUM_ATTRIBUTES:
        return base + "_"
    return base
