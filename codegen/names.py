"""Identifiers shared across targets, so the code, the infrastructure and the
diagrams agree on where each handler lives."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from dsl.model import ApiEndpoint, Flow, Handler, Saga
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


# ---- CloudFormation logical IDs ------------------------------------------------------
#
# One scheme for every target that names a resource: the CloudFormation template
# defines them, `flowgen trace` and the review page point at them.
# Every event handler is fed by a rule on the bus that sends to its queue, which a
# mapping feeds to its function; a handler with `dlq` also has a dead-letter queue.
# Command handlers are invoked by their saga's state machine: function and role only.

EVENT_BUS_LOGICAL_ID = "EventBus"
HTTP_API_LOGICAL_ID = "HttpApi"


def function_logical_id(handler: Handler) -> str:
    return handler_logical_id(handler, "Function")


def role_logical_id(handler: Handler) -> str:
    return handler_logical_id(handler, "Role")


def queue_logical_id(handler: Handler) -> str:
    return handler_logical_id(handler, "Queue")


def dlq_logical_id(handler: Handler) -> str:
    return handler_logical_id(handler, "DeadLetterQueue")


def rule_logical_id(handler: Handler) -> str:
    """The bus rule that routes a handler's event to its queue."""
    return handler_logical_id(handler, "Rule")


def event_source_mapping_logical_id(handler: Handler) -> str:
    return handler_logical_id(handler, "EventSourceMapping")


def saga_logical_id(saga: Saga, suffix: str = "") -> str:
    return logical_id(saga.name, "Saga") + suffix


def state_machine_logical_id(saga: Saga) -> str:
    return saga_logical_id(saga, "StateMachine")


def state_machine_role_logical_id(saga: Saga) -> str:
    return saga_logical_id(saga, "StateMachineRole")


def saga_trigger_rule_logical_id(saga: Saga) -> str:
    """The bus rule that starts the saga's state machine on its trigger event."""
    return saga_logical_id(saga, "TriggerRule")


def api_route_logical_id(endpoint: ApiEndpoint) -> str:
    """`POST /orders/{order_id}` -> `ApiPostOrdersOrderIdRoute`."""
    return logical_id("Api", endpoint.method.lower(), *_path_words(endpoint.path)) + "Route"


def api_integration_logical_id(endpoint: ApiEndpoint) -> str:
    """The integration that puts the endpoint's event on the bus."""
    return logical_id("Api", endpoint.method.lower(), *_path_words(endpoint.path)) + "Integration"


def _path_words(path: str) -> list[str]:
    return [w for w in re.split(r"[^A-Za-z0-9]+", path) if w] or ["root"]


@dataclass(frozen=True)
class Resource:
    """A CloudFormation resource that a spec element becomes."""

    logical_id: str
    type: str


def handler_resources(handler: Handler) -> tuple[Resource, ...]:
    """The resources of one handler, in the order a request passes through them."""
    found: list[Resource] = []
    if handler.trigger == "event":
        found.append(Resource(rule_logical_id(handler), "AWS::Events::Rule"))
        found.append(Resource(queue_logical_id(handler), "AWS::SQS::Queue"))
        found.append(Resource(event_source_mapping_logical_id(handler), "AWS::Lambda::EventSourceMapping"))
    found.append(Resource(function_logical_id(handler), "AWS::Lambda::Function"))
    found.append(Resource(role_logical_id(handler), "AWS::IAM::Role"))
    if handler.policy.dlq:
        found.append(Resource(dlq_logical_id(handler), "AWS::SQS::Queue"))
    return tuple(found)


def saga_resources(saga: Saga) -> tuple[Resource, ...]:
    return (
        Resource(saga_trigger_rule_logical_id(saga), "AWS::Events::Rule"),
        Resource(state_machine_logical_id(saga), "AWS::StepFunctions::StateMachine"),
        Resource(state_machine_role_logical_id(saga), "AWS::IAM::Role"),
    )


def api_resources(endpoint: ApiEndpoint) -> tuple[Resource, ...]:
    return (
        Resource(HTTP_API_LOGICAL_ID, "AWS::ApiGatewayV2::Api"),
        Resource(api_route_logical_id(endpoint), "AWS::ApiGatewayV2::Route"),
        Resource(api_integration_logical_id(endpoint), "AWS::ApiGatewayV2::Integration"),
    )


def event_bus_resource() -> Resource:
    return Resource(EVENT_BUS_LOGICAL_ID, "AWS::Events::EventBus")
