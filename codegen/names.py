"""Identifiers shared across targets, so the code, the infrastructure and the
diagrams agree on where each handler lives."""

from __future__ import annotations

from dsl.model import Flow, Handler
from dsl.naming import logical_id, pascal_case, snake_case


def python_package(flow: Flow) -> str:
    """The generated Python package of a flow: `DIR/python/<package>/`."""
    return snake_case(flow.name)


def service_module(service: str) -> str:
    return snake_case(service)


def handlers_class(service: str) -> str:
    """The abstract interface in `<package>.handlers.<service_module>`, e.g. `InventoryHandlers`."""
    return f"{pascal_case(service)}Handlers"


def service_class(service: str) -> str:
    """The user's implementation in `<package>.services.<service_module>`, e.g. `InventoryService`."""
    return f"{pascal_case(service)}Service"


def adapter_module(flow: Flow, handler: Handler) -> str:
    """Dotted module of a handler's Lambda adapter."""
    return f"{python_package(flow)}.adapters.{service_module(handler.service)}"


def lambda_handler(flow: Flow, handler: Handler) -> str:
    """The `Handler` setting of the function: `<package>.adapters.<service>.<handler>`."""
    return f"{adapter_module(flow, handler)}.{handler.name}"


def handler_logical_id(handler: Handler, suffix: str = "") -> str:
    """CloudFormation logical ID of a handler's resources, e.g. `OrdersCancelOrderQueue`."""
    return logical_id(handler.service, handler.name) + suffix
