"""Name conversions shared by the checker and every generator.

The rules that reject names a target cannot take (dsl.rules.names) and the
generators that emit those names must agree, so both use these functions.
"""

from __future__ import annotations

import keyword
import re

_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")

PYTHON_RESERVED = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | {"None", "True", "False"}
PYTHON_SHADOWED = frozenset({"int", "str", "float", "bool", "list", "dict", "set", "bytes", "type", "object", "BaseModel", "Field", "Enum"})


def snake_case(name: str) -> str:
    """`ReserveStock` -> `reserve_stock`; `HTTPServer` -> `http_server`."""
    return _WORD_BOUNDARY.sub("_", name).lower()


def pascal_case(name: str) -> str:
    """`cancel_order` -> `CancelOrder`; already-Pascal names are kept."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def logical_id(*parts: str) -> str:
    """A CloudFormation logical ID: alphanumeric, PascalCase parts joined."""
    return "".join(re.sub(r"[^A-Za-z0-9]", "", pascal_case(p)) for p in parts)


def python_field_name(name: str) -> str:
    """A field name usable as a Python attribute; keywords get a trailing underscore."""
    return name + "_" if name in PYTHON_RESERVED else name


# ---- CloudFormation logical IDs ----------------------------------------------------
# `codegen.names` builds every logical ID from these bases and suffixes, and the
# clash check (dsl.rules.names) predicts the same IDs, so a spec that would make
# two resources share an ID, or an ID longer than CloudFormation allows, is an
# error in `check`. A test holds the generated templates to these lists.

STACK_RESOURCE_IDS = ("EventBus", "IdempotencyTable", "HttpApi", "HttpApiStage")
HANDLER_RESOURCE_SUFFIXES = ("Queue", "DeadLetterQueue", "QueuePolicy", "Rule", "Function", "Role", "LogGroup", "EventSourceMapping")
SAGA_RESOURCE_SUFFIXES = ("StateMachine", "StateMachineRole", "TriggerRule", "TriggerRole")
API_RESOURCE_SUFFIXES = ("Route", "Integration", "Role")


def handler_resource_base(service: str, handler: str) -> str:
    return logical_id(service, handler)


def saga_resource_base(saga: str) -> str:
    return logical_id(saga, "Saga")


def api_resource_base(method: str, path: str) -> str:
    """`POST /orders/{order_id}` -> `ApiPostOrdersOrderId`; `GET /` -> `ApiGetRoot`."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", path) if w] or ["root"]
    return logical_id("Api", method.lower(), *words)
