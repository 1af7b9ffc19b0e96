"""Identifiers shared across targets, so the code, the infrastructure and the
diagrams agree on where each handler lives."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from flowgen_design.dsl.model import ApiEndpoint, Flow, Handler, Saga
from flowgen_design.dsl.naming import (
    api_resource_base,
    handler_resource_base,
    pascal_case,
    saga_resource_base,
    snake_case,
)


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
    return handler_resource_base(handler.service, handler.name) + suffix


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
# defines them, `flowgen trace` and the review page point at them. The bases and
# suffixes come from `dsl.naming`, whose clash check predicts these IDs.
# Every handler drains its own queue through an event source mapping; an event
# handler's queue is filled by a rule on the bus, a command handler's by its
# saga's state machine; a handler with `dlq` also has a dead-letter queue.

EVENT_BUS_LOGICAL_ID = "EventBus"
IDEMPOTENCY_TABLE_LOGICAL_ID = "IdempotencyTable"
HTTP_API_LOGICAL_ID = "HttpApi"
HTTP_API_STAGE_LOGICAL_ID = "HttpApiStage"


def function_logical_id(handler: Handler) -> str:
    return handler_logical_id(handler, "Function")


def role_logical_id(handler: Handler) -> str:
    return handler_logical_id(handler, "Role")


def queue_logical_id(handler: Handler) -> str:
    return handler_logical_id(handler, "Queue")


def dlq_logical_id(handler: Handler) -> str:
    return handler_logical_id(handler, "DeadLetterQueue")


def queue_policy_logical_id(handler: Handler) -> str:
    """The policy that lets only the handler's rule send to its queue."""
    return handler_logical_id(handler, "QueuePolicy")


def log_group_logical_id(handler: Handler) -> str:
    return handler_logical_id(handler, "LogGroup")


def rule_logical_id(handler: Handler) -> str:
    """The bus rule that routes a handler's event to its queue."""
    return handler_logical_id(handler, "Rule")


def event_source_mapping_logical_id(handler: Handler) -> str:
    return handler_logical_id(handler, "EventSourceMapping")


def saga_logical_id(saga: Saga, suffix: str = "") -> str:
    return saga_resource_base(saga.name) + suffix


def state_machine_logical_id(saga: Saga) -> str:
    return saga_logical_id(saga, "StateMachine")


def state_machine_role_logical_id(saga: Saga) -> str:
    return saga_logical_id(saga, "StateMachineRole")


def saga_trigger_rule_logical_id(saga: Saga) -> str:
    """The bus rule that starts the saga's state machine on its trigger event."""
    return saga_logical_id(saga, "TriggerRule")


def saga_trigger_role_logical_id(saga: Saga) -> str:
    """The role that lets the trigger rule start (only) this state machine."""
    return saga_logical_id(saga, "TriggerRole")


def api_route_logical_id(endpoint: ApiEndpoint) -> str:
    """`POST /orders/{order_id}` -> `ApiPostOrdersOrderIdRoute`."""
    return api_resource_base(endpoint.method, endpoint.path) + "Route"


def api_integration_logical_id(endpoint: ApiEndpoint) -> str:
    """The integration that puts the endpoint's event on the bus."""
    return api_resource_base(endpoint.method, endpoint.path) + "Integration"


def api_role_logical_id(endpoint: ApiEndpoint) -> str:
    """The role that lets the integration put (only) the endpoint's event."""
    return api_resource_base(endpoint.method, endpoint.path) + "Role"


@dataclass(frozen=True)
class Resource:
    """A CloudFormation resource that a spec element becomes."""

    logical_id: str
    type: str


def handler_resources(handler: Handler) -> tuple[Resource, ...]:
    """The resources of one handler, in the order a message passes through them."""
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
