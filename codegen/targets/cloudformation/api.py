"""API endpoints: one HTTP API whose routes put their event straight onto the bus.

Each route uses the `EventBridge-PutEvents` integration with the request body as
the event detail and a role that may put only that route's event. An HTTP API
neither validates the body against the event's schema nor authenticates the
caller: add an authorizer in front of a public deployment.
"""

from __future__ import annotations

from flowgen_design.codegen.aws.plan import RoutePlan
from flowgen_design.codegen.targets.cloudformation import iam
from flowgen_design.codegen.targets.cloudformation.handlers import Stack
from flowgen_design.codegen.targets.cloudformation.stage import physical_name
from flowgen_design.codegen.targets.cloudformation.template import Template, get_att, ref


def add_api(t: Template, stack: Stack) -> None:
    plan, flow = stack.plan, stack.flow
    assert plan.http_api is not None and plan.http_api_stage is not None
    props = {
        "Name": physical_name(flow),
        "ProtocolType": "HTTP",
        "Description": f"entry points of flow {flow.name}",
    }
    http_api = t.put(plan.http_api, props)
    t.put(plan.http_api_stage, {"ApiId": ref(http_api), "StageName": "$default", "AutoDeploy": True})
    for route in plan.routes:
        _route(t, stack, http_api, route)
    t.output("HttpApiEndpoint", get_att(http_api, "ApiEndpoint"), f"base URL of the API of flow {flow.name}")


def _route(t: Template, stack: Stack, http_api: str, planned: RoutePlan) -> None:
    endpoint = planned.endpoint
    policy = iam.role(
        "apigateway.amazonaws.com", "put-event", [iam.put_events(stack.bus, stack.flow.name, [endpoint.event.name])]
    )
    role = t.put(planned.role, policy)
    integration = {
        "ApiId": ref(http_api),
        "IntegrationType": "AWS_PROXY",
        "IntegrationSubtype": "EventBridge-PutEvents",
        "CredentialsArn": get_att(role, "Arn"),
        "PayloadFormatVersion": "1.0",
        "RequestParameters": {
            "EventBusName": stack.bus_name,
            "Source": stack.flow.name,
            "DetailType": endpoint.event.name,
            "Detail": "$request.body",
        },
    }
    integration_id = t.put(planned.integration, integration)
    route = {
        "ApiId": ref(http_api),
        "RouteKey": endpoint.route,
        "Target": {"Fn::Join": ["/", ["integrations", ref(integration_id)]]},
    }
    t.put(planned.route, route)
