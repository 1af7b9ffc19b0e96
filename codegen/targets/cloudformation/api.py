"""API endpoints: one HTTP API whose routes put their event straight onto the bus.

Each route uses the `EventBridge-PutEvents` integration with the request body as
the event detail and a role that may put only that route's event. An HTTP API
neither validates the body against the event's schema nor authenticates the
caller: add an authorizer in front of a public deployment.
"""

from __future__ import annotations

from flowgen_design.codegen import names
from flowgen_design.codegen.targets.cloudformation import iam
from flowgen_design.codegen.targets.cloudformation.handlers import Stack
from flowgen_design.codegen.targets.cloudformation.template import Template, get_att, ref, sub
from flowgen_design.dsl.model import ApiEndpoint

HTTP_API, STAGE = names.HTTP_API_LOGICAL_ID, names.HTTP_API_STAGE_LOGICAL_ID


def add_api(t: Template, stack: Stack, endpoints: list[ApiEndpoint]) -> None:
    flow = stack.flow
    label = f"flow {flow.name} / api"
    props = {
        "Name": sub("${AWS::StackName}-" + flow.name),
        "ProtocolType": "HTTP",
        "Description": f"entry points of flow {flow.name}",
    }
    t.add(HTTP_API, "AWS::ApiGatewayV2::Api", props, endpoints[0].span, label)
    t.add(
        STAGE,
        "AWS::ApiGatewayV2::Stage",
        {"ApiId": ref(HTTP_API), "StageName": "$default", "AutoDeploy": True},
        endpoints[0].span,
        label,
    )
    for endpoint in endpoints:
        _route(t, stack, endpoint)
    t.output("HttpApiEndpoint", get_att(HTTP_API, "ApiEndpoint"), f"base URL of the API of flow {flow.name}")


def _route(t: Template, stack: Stack, endpoint: ApiEndpoint) -> None:
    label = f"service {endpoint.service} / api {endpoint.route} -> {endpoint.event.name}"
    policy = iam.role(
        "apigateway.amazonaws.com", "put-event", [iam.put_events(stack.bus, stack.flow.name, [endpoint.event.name])]
    )
    role = t.add(names.api_role_logical_id(endpoint), "AWS::IAM::Role", policy, endpoint.span, label)
    integration = {
        "ApiId": ref(HTTP_API),
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
    t.add(
        names.api_integration_logical_id(endpoint), "AWS::ApiGatewayV2::Integration", integration, endpoint.span, label
    )
    route = {
        "ApiId": ref(HTTP_API),
        "RouteKey": endpoint.route,
        "Target": {"Fn::Join": ["/", ["integrations", ref(names.api_integration_logical_id(endpoint))]]},
    }
    t.add(names.api_route_logical_id(endpoint), "AWS::ApiGatewayV2::Route", route, endpoint.span, label)
