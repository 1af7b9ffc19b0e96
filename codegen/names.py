"""Python names shared across targets, so the generated package, its Lambda adapters and
the infrastructure agree on where each handler's code lives.

(AWS resource names live in the deployment plan, `codegen.aws.plan`.)"""

from __future__ import annotations

from pathlib import PurePosixPath

from flowgen_design.dsl.model import Flow, Handler
from flowgen_design.dsl.naming import pascal_case, snake_case


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


STARTER_MODULE = "saga_starter"


def starter_handler(flow: Flow) -> str:
    """The `Handler` setting of every saga starter function of `flow`."""
    return f"{python_package(flow)}.adapters.{STARTER_MODULE}.handler"


# ---- generated Python files (relative to the output folder) ----------------------


def handler_interface_path(flow: Flow, service: str) -> PurePosixPath:
    """The generated, flowgen-owned handler interface of a service."""
    return PurePosixPath("python", python_package(flow), "handlers", f"{service_module(service)}.py")


def service_impl_path(flow: Flow, service: str) -> PurePosixPath:
    """The user-owned implementation of a service's handlers (created once)."""
    return PurePosixPath("python", python_package(flow), "services", f"{service_module(service)}.py")


def adapter_path(flow: Flow, service: str) -> PurePosixPath:
    """The generated Lambda adapter module of a service."""
    return PurePosixPath("python", python_package(flow), "adapters", f"{service_module(service)}.py")
