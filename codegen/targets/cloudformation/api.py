"""API endpoints: one REST API whose methods check the caller, validate the body, and put the event on the bus.

Why a REST API (`AWS::ApiGateway`) and not an HTTP API (`AWS::ApiGatewayV2`): only a REST
API validates a request body against a JSON schema before the integration runs, and it
has both kinds of authorization the spec asks for: `AWS_IAM` for `auth iam` (the default),
and a Lambda TOKEN authorizer for `auth jwt` (an HTTP API's JWT authorizer is native, but
it cannot validate a body, so a malformed request would reach the bus).

Per endpoint: a method with its `AuthorizationType`, the stack's request validator (body
only) and a request model that is the event's JSON schema (`asyncapi.schemas.standalone_schema`,
the schema of the AsyncAPI document and the pydantic models); a body that does not match
gets 400 (`ApiBadRequestBody` says why) and nothing is put on the bus. The integration
calls EventBridge `PutEvents` with a role that may put only that event, wrapping the body
in the envelope the adapters read: the request id is its message id and correlation id,
so one id follows a request from the access log to the last handler. A request whose
content type has no template is refused (415): nothing unvalidated passes.

The stage is throttled (`ApiThrottlingRateLimit`/`ApiThrottlingBurstLimit` parameters)
and writes JSON access logs (request id, caller, status, validation error) to a log
group with a retention.
"""

from __future__ import annotations

import json
from importlib import resources

from flowgen_design.codegen.aws.ids import path_segments
from flowgen_design.codegen.aws.plan import (
    API_STAGE_NAME,
    API_THROTTLING_BURST_LIMIT,
    API_THROTTLING_RATE_LIMIT,
    LOG_RETENTION_DAYS,
    RUNTIME,
    ApiPlan,
    AuthorizerPlan,
    RoutePlan,
)
from flowgen_design.codegen.targets.asyncapi.schemas import standalone_schema
from flowgen_design.codegen.targets.cloudformation import iam
from flowgen_design.codegen.targets.cloudformation.handlers import Stack
from flowgen_design.codegen.targets.cloudformation.observability import ACTIVE_TRACING, write_traces
from flowgen_design.codegen.targets.cloudformation.stage import physical_name
from flowgen_design.codegen.targets.cloudformation.template import Json, Template, get_att, ref, sub

API_ENDPOINT_OUTPUT = "ApiEndpoint"
RATE_PARAMETER, BURST_PARAMETER = "ApiThrottlingRateLimit", "ApiThrottlingBurstLimit"
THROTTLING_PARAMETERS = {
    RATE_PARAMETER: {
        "Type": "Number",
        "Default": API_THROTTLING_RATE_LIMIT,
        "MinValue": 1,
        "Description": "steady requests per second the API's stage accepts before it answers 429",
    },
    BURST_PARAMETER: {
        "Type": "Number",
        "Default": API_THROTTLING_BURST_LIMIT,
        "MinValue": 1,
        "Description": "requests the API's stage accepts at once before it answers 429",
    },
}
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "sourceIp": "$context.identity.sourceIp",
    "caller": "$context.identity.caller",
    "userArn": "$context.identity.userArn",
    "principalId": "$context.authorizer.principalId",
    "error": "$context.error.message",
    "validationError": "$context.error.validationErrorString",
    "integrationError": "$context.integration.error",
}
JSON_CONTENT = "application/json"
AUTHORIZER_TEMPLATE = "jwt_authorizer.py.txt"
INLINE_CODE_LIMIT = 4096


def add_route(t: Template, stack: Stack, route: RoutePlan) -> str:
    """One route's method, request model and role; its logical ID."""
    assert stack.plan.api is not None
    return _route(t, stack, stack.plan.api, stack.plan.api.rest_api.logical_id, route)


def add_api_stage(t: Template, stack: Stack) -> None:
    """The REST API without its routes' methods (`add_route`): paths, validator, authorizer, logging,
    the deployment of every method, the stage, the base URL."""
    plan, flow = stack.plan, stack.flow
    assert plan.api is not None
    api = plan.api
    t.parameters.update(THROTTLING_PARAMETERS)
    props = {
        "Name": physical_name(flow),
        "Description": f"entry points of flow {flow.name}",
        "EndpointConfiguration": {"Types": ["REGIONAL"]},
    }
    rest_api = t.put(api.rest_api, props)
    validator = {"RestApiId": ref(rest_api), "ValidateRequestBody": True, "ValidateRequestParameters": False}
    t.put(api.validator, validator)
    t.put(api.bad_request_body, _bad_request_body(rest_api))
    _paths(t, api, rest_api)
    if api.authorizer is not None:
        _authorizer(t, stack, api.authorizer, rest_api)
    methods = [route.method.logical_id for route in plan.routes]
    _logging_account(t, api)
    deployment = t.put(api.deployment, {"RestApiId": ref(rest_api), "Description": f"flow {flow.name} {flow.version}"})
    t.resources[deployment]["DependsOn"] = sorted(methods)
    _stage(t, api, rest_api, deployment)
    url = sub("https://${" + rest_api + "}.execute-api.${AWS::Region}.${AWS::URLSuffix}/" + API_STAGE_NAME)
    t.output(API_ENDPOINT_OUTPUT, url, f"base URL of the API of flow {flow.name}")


def _paths(t: Template, api: ApiPlan, rest_api: str) -> None:
    ids = dict(api.paths)
    for path, resource in api.paths:
        *parents, last = path_segments(path)
        parent = ref(ids["/" + "/".join(parents)].logical_id) if parents else get_att(rest_api, "RootResourceId")
        t.put(resource, {"RestApiId": ref(rest_api), "ParentId": parent, "PathPart": last})


def _route(t: Template, stack: Stack, api: ApiPlan, rest_api: str, planned: RoutePlan) -> str:
    endpoint = planned.endpoint
    event = endpoint.event
    policy = iam.role(
        "apigateway.amazonaws.com", "put-event", [iam.put_events(stack.bus, stack.flow.name, [event.name])]
    )
    role = t.put(planned.role, policy)
    model = {
        "RestApiId": ref(rest_api),
        "ContentType": JSON_CONTENT,
        "Description": f"the body of {endpoint.route}: event {event.name}",
        "Schema": standalone_schema(event, event.name),
    }
    model_id = t.put(planned.model, model)
    method: Json = {
        "RestApiId": ref(rest_api),
        "ResourceId": ref(planned.path.logical_id) if planned.path else get_att(rest_api, "RootResourceId"),
        "HttpMethod": endpoint.method,
        "AuthorizationType": planned.authorization_type,
        "RequestValidatorId": ref(api.validator.logical_id),
        "RequestModels": {JSON_CONTENT: ref(model_id)},
        "Integration": _integration(stack, endpoint.event.name, role),
        "MethodResponses": [{"StatusCode": "202"}, {"StatusCode": "502"}],
    }
    if planned.authorizer is not None:
        method["AuthorizerId"] = ref(planned.authorizer.logical_id)
    return t.put(planned.method, method)


def _integration(stack: Stack, event: str, role: str) -> Json:
    """EventBridge PutEvents with the body as the payload of an envelope made from the request."""
    return {
        "Type": "AWS",
        "IntegrationHttpMethod": "POST",
        "Uri": sub("arn:${AWS::Partition}:apigateway:${AWS::Region}:events:action/PutEvents"),
        "Credentials": get_att(role, "Arn"),
        "PassthroughBehavior": "NEVER",
        "RequestParameters": {
            "integration.request.header.X-Amz-Target": "'AWSEvents.PutEvents'",
            "integration.request.header.Content-Type": "'application/x-amz-json-1.1'",
        },
        "RequestTemplates": {
            JSON_CONTENT: put_events_template(stack.flow.name, stack.flow.version, event, stack.bus_name)
        },
        "IntegrationResponses": [
            {"StatusCode": "202", "ResponseTemplates": {JSON_CONTENT: ACCEPTED_TEMPLATE}},
            {
                "StatusCode": "502",
                "SelectionPattern": "[45]\\d{2}",
                "ResponseTemplates": {JSON_CONTENT: '{"message": "the event bus did not accept the event"}'},
            },
        ],
    }


MONTHS = ", ".join(
    f'"{m}": "{n:02d}"' for n, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)
)
ENVELOPE_TIME = (
    "#set($months = {" + MONTHS + "})\n"
    "#set($t = $context.requestTime)\n"
    '#set($time = "$t.substring(7,11)-$months.get($t.substring(3,6))-$t.substring(0,2)T$t.substring(12,20)Z")\n'
)
"""`05/Dec/2026:20:47:44 +0000` (API Gateway's request time, always UTC) as ISO 8601, which the envelope needs."""
ACCEPTED_TEMPLATE = (
    "#set($failed = $input.path('$.FailedEntryCount'))\n"
    "#if($failed && $failed > 0)\n"
    "#set($context.responseOverride.status = 502)\n"
    '{"message": "the event bus did not accept the event", "request_id": "$context.requestId"}\n'
    "#else\n"
    '{"message_id": "$context.requestId"}\n'
    "#end\n"
)


def put_events_template(flow: str, version: str, event: str, bus_name: Json) -> Json:
    """The VTL that turns a validated body into one PutEvents entry: `{"envelope", "payload"}` as detail."""
    envelope = (
        '{\\"message_id\\": \\"$context.requestId\\", \\"correlation_id\\": \\"$context.requestId\\", '
        '\\"causation_id\\": null, \\"saga_instance\\": null, '
        f'\\"schema_version\\": \\"{version}\\", \\"time\\": \\"$time\\"}}'
    )
    payload = "$util.escapeJavaScript($input.json('$')).replaceAll(\"\\\\'\", \"'\")"
    assert "${" not in ENVELOPE_TIME + envelope + payload, "Fn::Sub would read it as a variable"
    text = (
        ENVELOPE_TIME + '{"Entries": [{"EventBusName": "${BusName}", '
        f'"Source": "{flow}", "DetailType": "{event}", '
        f'"Detail": "{{\\"envelope\\": {envelope}, \\"payload\\": {payload}}}"}}]}}\n'
    )
    return {"Fn::Sub": [text, {"BusName": bus_name}]}


def _bad_request_body(rest_api: str) -> Json:
    """A 400 that says which part of the body does not match the event's schema."""
    return {
        "RestApiId": ref(rest_api),
        "ResponseType": "BAD_REQUEST_BODY",
        "StatusCode": "400",
        "ResponseTemplates": {
            JSON_CONTENT: '{"message": "$context.error.message", "errors": "$context.error.validationErrorString", '
            '"request_id": "$context.requestId"}'
        },
    }


def _authorizer(t: Template, stack: Stack, planned: AuthorizerPlan, rest_api: str) -> None:
    flow = stack.flow
    log_group = t.put(planned.log_group, {"RetentionInDays": LOG_RETENTION_DAYS})
    _retain(t, log_group)
    statements = [iam.write_logs(log_group), write_traces()]
    role = t.put(planned.role, iam.role("lambda.amazonaws.com", "authorizer", statements))
    rules = {
        e.route: {"issuer": e.auth.issuer, "audiences": list(e.auth.audiences)}
        for s in flow.services
        for e in s.apis
        if e.auth.kind == "jwt"
    }
    function = {
        "Description": f"checks the bearer JWT of the auth jwt endpoints of flow {flow.name}",
        "Runtime": RUNTIME,
        "Handler": "index.handler",
        "Role": get_att(role, "Arn"),
        "Timeout": 10,
        "Code": {"ZipFile": authorizer_code()},
        "Environment": {"Variables": {"FLOW_JWT_ROUTES": json.dumps(rules, sort_keys=True)}},
        "LoggingConfig": {"LogGroup": ref(log_group)},
        "TracingConfig": ACTIVE_TRACING,
    }
    function_id = t.put(planned.function, function)
    permission = {
        "Action": "lambda:InvokeFunction",
        "FunctionName": get_att(function_id, "Arn"),
        "Principal": "apigateway.amazonaws.com",
        "SourceArn": sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${" + rest_api + "}/*"),
    }
    t.put(planned.permission, permission)
    authorizer = {
        "RestApiId": ref(rest_api),
        "Name": "jwt",
        "Type": "TOKEN",
        "IdentitySource": "method.request.header.Authorization",
        "IdentityValidationExpression": "^[Bb]earer [-0-9A-Za-z_]+\\.[-0-9A-Za-z_]+\\.[-0-9A-Za-z_]+$",
        "AuthorizerResultTtlInSeconds": planned.cache_seconds,
        "AuthorizerUri": sub(
            "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${"
            + function_id
            + ".Arn}/invocations"
        ),
    }
    t.put(planned.authorizer, authorizer)


def authorizer_code() -> str:
    """The JWT authorizer's source, inline in the template (it needs nothing but the standard library)."""
    code = resources.files("flowgen_design.codegen").joinpath("templates", AUTHORIZER_TEMPLATE).read_text("utf-8")
    assert len(code) <= INLINE_CODE_LIMIT, "the inline JWT authorizer outgrew CloudFormation's ZipFile limit"
    return code


def _retain(t: Template, logical_id: str) -> None:
    """Logs outlive the stack: deleting or replacing it keeps what happened."""
    t.resources[logical_id]["DeletionPolicy"] = "Retain"
    t.resources[logical_id]["UpdateReplacePolicy"] = "Retain"


def _logging_account(t: Template, api: ApiPlan) -> None:
    """API Gateway writes logs only with an account-level role. The role is kept when the stack is
    deleted, so another stack's API in the same account and region keeps logging."""
    trust = iam.role("apigateway.amazonaws.com", "unused", [])
    role = {
        "AssumeRolePolicyDocument": trust["AssumeRolePolicyDocument"],
        "ManagedPolicyArns": [
            sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs")
        ],
    }
    logs_role = t.put(api.logs_role, role)
    _retain(t, logs_role)
    t.put(api.account, {"CloudWatchRoleArn": get_att(logs_role, "Arn")})


def _stage(t: Template, api: ApiPlan, rest_api: str, deployment: str) -> None:
    log_group = t.put(api.access_log_group, {"RetentionInDays": LOG_RETENTION_DAYS})
    _retain(t, log_group)
    stage = {
        "RestApiId": ref(rest_api),
        "DeploymentId": ref(deployment),
        "StageName": API_STAGE_NAME,
        "TracingEnabled": True,
        "AccessLogSetting": {
            "DestinationArn": get_att(log_group, "Arn"),
            "Format": json.dumps(ACCESS_LOG_FORMAT, separators=(",", ":")),
        },
        "MethodSettings": [
            {
                "ResourcePath": "/*",
                "HttpMethod": "*",
                "ThrottlingRateLimit": ref(RATE_PARAMETER),
                "ThrottlingBurstLimit": ref(BURST_PARAMETER),
                "MetricsEnabled": True,
            }
        ],
    }
    stage_id = t.put(api.stage, stage)
    t.resources[stage_id]["DependsOn"] = [api.account.logical_id]
