"""Name conversions shared by the checker and every generator.

The rules that reject names a target cannot take (dsl.rules.names) and the
generators that emit those names must agree, so both use these functions.
"""

from __future__ import annotations

import keyword
import re
import sys
from collections.abc import Collection

from pydantic import BaseModel

_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")

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
    | {name for name in dir(BaseModel) if not name.startswith("_")}
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


def snake_case(name: str) -> str:
    """`ReserveStock` -> `reserve_stock`; `HTTPServer` -> `http_server`."""
    return _WORD_BOUNDARY.sub("_", name).lower()


def pascal_case(name: str) -> str:
    """`cancel_order` -> `CancelOrder`; already-Pascal names are kept."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def logical_id(*parts: str) -> str:
    """A CloudFormation logical ID: alphanumeric, PascalCase parts joined."""
    return "".join(re.sub(r"[^A-Za-z0-9]", "", pascal_case(p)) for p in parts)


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


# ---- CloudFormation logical IDs ----------------------------------------------------
# `codegen.names` builds every logical ID from these bases and suffixes, and the
# clash check (dsl.rules.names) predicts the same IDs, so a spec that would make
# two resources share an ID, or an ID longer than CloudFormation allows, is an
# error in `check`. A test holds the generated templates to these lists.

STACK_RESOURCE_IDS = ("EventBus", "IdempotencyTable", "HttpApi", "HttpApiStage")
HANDLER_RESOURCE_SUFFIXES = (
    "Queue",
    "DeadLetterQueue",
    "QueuePolicy",
    "Rule",
    "Function",
    "Role",
    "LogGroup",
    "EventSourceMapping",
)
SAGA_RESOURCE_SUFFIXES = (
    "StateMachine",
    "StateMachineRole",
    "TriggerRule",
    "StarterQueue",
    "StarterDeadLetterQueue",
    "StarterQueuePolicy",
    "StarterLogGroup",
    "StarterRole",
    "StarterFunction",
    "StarterEventSourceMapping",
    "FailedAlarm",
    "TimedOutAlarm",
)
API_RESOURCE_SUFFIXES = ("Route", "Integration", "Role")


def handler_resource_base(service: str, handler: str) -> str:
    return logical_id(service, handler)


def saga_resource_base(saga: str) -> str:
    return logical_id(saga, "Saga")


def api_resource_base(method: str, path: str) -> str:
    """`POST /orders/{order_id}` -> `ApiPostOrdersOrderId`; `GET /` -> `ApiGetRoot`."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", path) if w] or ["root"]
    return logical_id("Api", method.lower(), *words)
