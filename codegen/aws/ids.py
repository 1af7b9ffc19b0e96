"""Logical IDs: the name of every AWS resource a flow may become, and what each element reserves.

Light on purpose: `flowgen check` runs the clash and length checks of `codegen.aws.checks`
on `reserved_ids` without building (or importing) the deployment plan, whose classes cost
more to define than the check costs to run. `codegen.aws.plan` builds every resource's ID
from these functions and re-exports them; no other module builds a logical ID.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

from flowgen_design.dsl.model import (
    ApiEndpoint,
    EnumRef,
    Field,
    Flow,
    ListRef,
    MapRef,
    OptionalRef,
    RecordRef,
    TypeRef,
    type_text,
)
from flowgen_design.dsl.naming import pascal_case
from flowgen_design.dsl.source import Span

# ---- the naming scheme ----------------------------------------------------------------------
#
# Every logical ID is a base (from the element's names) and a suffix (the role of the
# resource). Each element reserves every suffix it may use, whatever its options say, so
# turning on `dlq` never makes a spec start clashing: `reserved_ids` lists them all and
# the clash check in `codegen.aws.checks` reads it.

STACK_RESOURCE_IDS = (
    "EventBus",
    "IdempotencyTable",
    "RestApi",
    "ApiStage",
    "ApiAccessLogGroup",
    "ApiRequestValidator",
    "ApiBadRequestBody",
    "ApiGatewayAccount",
    "ApiGatewayLogsRole",
    "JwtAuthorizer",
    "JwtAuthorizerFunction",
    "JwtAuthorizerRole",
    "JwtAuthorizerLogGroup",
    "JwtAuthorizerPermission",
    "JwtAuthorizerErrorsAlarm",
    "JwtAuthorizerThrottlesAlarm",
)
HANDLER_RESOURCE_SUFFIXES = (
    "Queue",
    "DeadLetterQueue",
    "QueuePolicy",
    "Rule",
    "Function",
    "Role",
    "LogGroup",
    "EventSourceMapping",
    "DeadLetterQueueAlarm",
    "QueueAgeAlarm",
    "ErrorsAlarm",
    "ThrottlesAlarm",
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
    "StateMachineLogGroup",
    "StarterDeadLetterQueueAlarm",
    "StarterErrorsAlarm",
    "StarterThrottlesAlarm",
    "StarterQueueAgeAlarm",
)
API_RESOURCE_SUFFIXES = ("Method", "Model", "Role")
API_DEPLOYMENT_PREFIX = "ApiDeployment"
"""The deployment's ID ends in a digest of the API's definition: CloudFormation deploys a REST API
only when its Deployment resource is new, so a changed route, auth or event schema gets a new one."""
API_PATH_PREFIX = "ApiPath"
DELIVERY_RESOURCE_IDS = (
    "EventDeliveryDeadLetterQueue",
    "EventDeliveryDeadLetterQueuePolicy",
    "EventArchive",
    "EventDeliveryDeadLetterQueueAlarm",
)
"""The stack's data-safety resources: where a rule target's undeliverable events go (and its alarm), and
the event archive."""

EVENT_BUS, IDEMPOTENCY_TABLE = STACK_RESOURCE_IDS[:2]
(
    REST_API,
    API_STAGE,
    API_ACCESS_LOG_GROUP,
    API_REQUEST_VALIDATOR,
    API_BAD_REQUEST_BODY,
    API_GATEWAY_ACCOUNT,
    API_GATEWAY_LOGS_ROLE,
) = STACK_RESOURCE_IDS[2:9]
JWT_AUTHORIZER, JWT_AUTHORIZER_FUNCTION, JWT_AUTHORIZER_ROLE, JWT_AUTHORIZER_LOG_GROUP, JWT_AUTHORIZER_PERMISSION = (
    STACK_RESOURCE_IDS[9:14]
)
"""The JWT authorizer's resources; `STACK_RESOURCE_IDS[14:]` are its function's alarms (`function_alarms`)."""


_NOT_ALPHANUMERIC = re.compile(r"[^A-Za-z0-9]")


@lru_cache(maxsize=8192)
def logical_id(*parts: str) -> str:
    """A CloudFormation logical ID: alphanumeric, PascalCase parts joined (kept: `check` and every
    target ask for the same few thousand)."""
    return "".join(_NOT_ALPHANUMERIC.sub("", pascal_case(p)) for p in parts)


def handler_base(service: str, handler: str) -> str:
    """`Orders`, `cancel_order` -> `OrdersCancelOrder`."""
    return logical_id(service, handler)


def saga_base(saga: str) -> str:
    return logical_id(saga, "Saga")


def api_base(method: str, path: str) -> str:
    """`POST /orders/{order_id}` -> `ApiPostOrdersOrderId`; `GET /` -> `ApiGetRoot`."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", path) if w] or ["root"]
    return logical_id("Api", method.lower(), *words)


def path_segments(path: str) -> list[str]:
    """`/orders/{id}/` -> `["orders", "{id}"]`: the REST API resources a path passes through."""
    return [p for p in path.split("/") if p]


def api_path_id(path: str) -> str:
    """`/orders/{id}` -> `ApiPathOrdersById`: the REST API resource of a path (a `{param}` reads `By`)."""
    words = [("by_" + p.strip("{}")) if p.startswith("{") else p for p in path_segments(path)]
    return logical_id(API_PATH_PREFIX, *(w for word in words for w in re.split(r"[^A-Za-z0-9]+", word) if w))


def path_prefixes(endpoints: list[ApiEndpoint]) -> list[tuple[str, ApiEndpoint]]:
    """Every path prefix an endpoint passes through (`/orders`, `/orders/{id}`), first use first."""
    found: dict[str, ApiEndpoint] = {}
    for e in endpoints:
        segments = path_segments(e.path)
        for n in range(1, len(segments) + 1):
            found.setdefault("/" + "/".join(segments[:n]), e)
    return list(found.items())


def _shape(fields: tuple[Field, ...], seen: set[str]) -> list[str]:
    """The fields as their schema sees them, nested records and enums included (for the deployment digest)."""
    out = []
    for f in fields:
        out.append(f"{f.name}:{type_text(f.type)}:{f.constraints!r}")
        out += _nested(f.type, seen)
    return out


def _nested(t: TypeRef, seen: set[str]) -> list[str]:
    if isinstance(t, ListRef | OptionalRef):
        return _nested(t.item if isinstance(t, ListRef) else t.inner, seen)
    if isinstance(t, MapRef):
        return _nested(t.value, seen)
    name = t.record.name if isinstance(t, RecordRef) else t.enum.name if isinstance(t, EnumRef) else None
    if name is None or name in seen:
        return []
    seen.add(name)
    if isinstance(t, EnumRef):
        return [name + "=" + ",".join(m.name for m in t.enum.members)]
    assert isinstance(t, RecordRef)
    return [name + "{"] + _shape(t.record.fields, seen) + ["}"]


def api_digest(flow: Flow, endpoints: list[ApiEndpoint]) -> str:
    """Ten hex digits that change whenever a route, its auth, or its event's schema does."""
    lines = [flow.version]
    for e in endpoints:
        lines += [e.route, e.auth.describe(), e.event.name, *_shape(e.event.fields, set())]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:10]


def reserved_ids(flow: Flow) -> list[tuple[str, str, Span]]:
    """Every logical ID an element of `flow` may take, whatever its options: (ID, element, span).

    A handler reserves a dead-letter queue even without `dlq`, so that adding one
    never turns a valid spec into one whose names clash.
    """
    ids = [(rid, "the stack's shared resources", flow.span) for rid in STACK_RESOURCE_IDS + DELIVERY_RESOURCE_IDS]
    for service in flow.services:
        for h in service.handlers:
            base, element = handler_base(service.name, h.name), f"{service.name}.{h.name}"
            ids += [(base + suffix, element, h.span) for suffix in HANDLER_RESOURCE_SUFFIXES]
        for api in service.apis:
            base, element = api_base(api.method, api.path), f"`{api.route}`"
            ids += [(base + suffix, element, api.span) for suffix in API_RESOURCE_SUFFIXES]
            ids += [(api_path_id(p), f"path `{p}`", api.span) for p, _ in path_prefixes([api])]
    for saga in flow.sagas:
        base, element = saga_base(saga.name), f"saga {saga.name}"
        ids += [(base + suffix, element, saga.span) for suffix in SAGA_RESOURCE_SUFFIXES]
    endpoints = [api for service in flow.services for api in service.apis]
    if endpoints:
        ids.append((API_DEPLOYMENT_PREFIX + api_digest(flow, endpoints), "the stack's shared resources", flow.span))
    return ids
