"""Secure endpoints: who may call an endpoint, what a body must look like, and what reaches the bus.

moto 5.2.6 deploys a REST API from CloudFormation only in part (the API, its resources, methods
with their authorization type, and a deployment), does not enforce authorization or request
validation, and cannot run an EventBridge integration. So these tests run the pieces API Gateway
would run, each taken from the generated template and each by a real engine, in API Gateway's
order (`Gateway` below):

- executed: the JWT authorizer's code (from the template, against tokens signed by the
  `cryptography` library), the request model (the template's JSON schema, by `jsonschema`'s
  draft 4 validator), the request mapping template (by airspeed-ext, a Velocity engine for AWS
  templates), the PutEvents call it builds (against the bus, rules and queues that moto deployed
  from the same template), the integration response template on PutEvents' answer (a refused
  entry answers 502), and the adapters' envelope parser and the saga starter on the result;
- emulated, not executed: SigV4 verification (an `AWS_IAM` method refuses a request that carries
  no signature, with 403, as API Gateway does; a signed request is taken as valid), `$util` and
  `$input` of the mapping template (written below from AWS's reference), and the throttling and
  access logging of the stage (their settings are checked in the template only).
"""

from __future__ import annotations

import base64
import importlib
import json
import re
import sys
import time
import types
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import airspeed  # type: ignore[import-untyped]
import boto3
import jsonschema
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from moto import mock_aws

from flowgen_design.codegen.aws.ids import api_base
from flowgen_design.codegen.aws.plan import plan_of
from flowgen_design.codegen.targets.lambda_adapters import starter_source
from tests.cloudformation_support import REGION, Generated, for_moto, generate, upload_code
from tests.conftest import ROOT, run_flowgen

Json = dict[str, Any]
SPEC = ROOT / "tests" / "cloudformation" / "gateway.flow"
ISSUER = "https://id.example.com"
STAGE_TIME = "05/Dec/2026:20:47:44 +0000"
BOOKING = {"booking_id": str(uuid.uuid4()), "parcels": [{"weight_grams": 1200, "label": None}], "priority": "high"}
MALFORMED: dict[str, Any] = {
    "missing field": {k: v for k, v in BOOKING.items() if k != "priority"},
    "unknown field": {**BOOKING, "discount": 5},
    "wrong type": {**BOOKING, "booking_id": 7},
    "not in the enum": {**BOOKING, "priority": "urgent"},
    "below a minimum in a nested record": {**BOOKING, "parcels": [{"weight_grams": 0}]},
    "over a maximum length": {**BOOKING, "parcels": [{"weight_grams": 1, "label": "x" * 41}]},
    "an empty list": {**BOOKING, "parcels": []},
    "not an object": [BOOKING],
}


@pytest.fixture(scope="module")
def generated() -> Generated:
    return generate(SPEC)


# ---- the pieces API Gateway runs -------------------------------------------------------------


def method_of(template: Json, route: str) -> Json:
    method, path = route.split(" ", 1)
    props: Json = template["Resources"][api_base(method, path) + "Method"]["Properties"]
    return props


def model_schema(template: Json, route: str) -> Json:
    model = method_of(template, route)["RequestModels"]["application/json"]["Ref"]
    schema: Json = template["Resources"][model]["Properties"]["Schema"]
    return schema


def body_errors(template: Json, route: str, body: Any) -> list[str]:
    """What API Gateway's request validator would say about a body (JSON Schema draft 4)."""
    validator = jsonschema.Draft4Validator(model_schema(template, route))
    return [e.message for e in validator.iter_errors(body)]


class _Input:
    """`$input` of a mapping template (AWS reference: `$input.json(x)`, `$input.path(x)`), for `$` only."""

    def __init__(self, body: str) -> None:
        self.body = body

    def json(self, path: str) -> str:
        assert path == "$"
        return json.dumps(json.loads(self.body))

    def path(self, path: str) -> Any:
        value: Any = json.loads(self.body)
        for part in path.removeprefix("$.").split(".") if path != "$" else []:
            value = value.get(part)
        return value


class _Util:
    """`$util.escapeJavaScript`: Java's JavaScript string escaping, as API Gateway documents it."""

    def escapeJavaScript(self, text: str) -> str:  # AWS's name
        escaped = json.dumps(text, ensure_ascii=True)[1:-1]
        return escaped.replace("'", "\\'").replace("/", "\\/")


def render(template: str, body: str, request_id: str) -> str:
    context = {"requestId": request_id, "requestTime": STAGE_TIME}
    return str(airspeed.Template(template).merge({"input": _Input(body), "util": _Util(), "context": context}))


def request_template(method: Json, bus_name: str) -> str:
    text, variables = method["Integration"]["RequestTemplates"]["application/json"]["Fn::Sub"]
    assert list(variables) == ["BusName"]
    return str(text).replace("${BusName}", bus_name)


def load_authorizer(template: Json, monkeypatch: pytest.MonkeyPatch, keys: Json) -> types.ModuleType:
    """The authorizer exactly as the template inlines it, its issuer's discovery and keys served locally."""
    function = template["Resources"]["JwtAuthorizerFunction"]["Properties"]
    for name, value in function["Environment"]["Variables"].items():
        monkeypatch.setenv(name, value)
    documents = {
        ISSUER + "/.well-known/openid-configuration": {"issuer": ISSUER, "jwks_uri": ISSUER + "/keys"},
        ISSUER + "/keys": keys,
    }

    class _Response:
        def __init__(self, url: str) -> None:
            self.data = json.dumps(documents[url]).encode()

        def __enter__(self) -> _Response:
            return self

        def __exit__(self, *_: object) -> None:
            return None

        def read(self) -> bytes:
            return self.data

    monkeypatch.setattr("urllib.request.urlopen", lambda url, timeout: _Response(url))
    module = types.ModuleType("authorizer")
    exec(compile(function["Code"]["ZipFile"], "index.py", "exec"), module.__dict__)
    return module


@dataclass
class Signer:
    """An identity provider: an RSA key, its JWKS, and tokens it signs (with `cryptography`)."""

    kid: str = "k1"
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    def jwks(self) -> Json:
        numbers = self.key.public_key().public_numbers()

        def b64(n: int) -> str:
            return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()

        return {"keys": [{"kty": "RSA", "kid": self.kid, "alg": "RS256", "n": b64(numbers.n), "e": b64(numbers.e)}]}

    def token(self, **claims: Any) -> str:
        def part(value: Json) -> str:
            return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

        body = {"iss": ISSUER, "sub": "user-1", "aud": "bookings", "exp": time.time() + 300, **claims}
        signed = part({"alg": "RS256", "kid": self.kid, "typ": "JWT"}) + "." + part(body)
        signature = self.key.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signed + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


API_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/api"


def method_arn(route: str, path: str | None = None) -> str:
    method, route_path = route.split(" ", 1)
    return f"{API_ARN}/{method}{path or route_path}"


@dataclass
class Response:
    status: int
    body: Json


@dataclass
class Gateway:
    """A REST API method as API Gateway runs it: authorize, validate the body, map it, integrate."""

    template: Json
    authorizer: types.ModuleType | None = None
    bus_name: str = ""
    events: Any = None
    served: int = 0

    def call(self, route: str, body: str, headers: dict[str, str] | None = None, path: str | None = None) -> Response:
        headers = headers or {}
        method = method_of(self.template, route)
        refused = self._authorize(method, route, headers, path)
        if refused is not None:
            return refused
        if headers.get("Content-Type", "application/json") not in method["Integration"]["RequestTemplates"]:
            return Response(415, {"message": "Unsupported Media Type"})  # PassthroughBehavior NEVER
        try:
            parsed = json.loads(body)
        except ValueError:
            return Response(400, {"message": "Invalid request body"})
        errors = body_errors(self.template, route, parsed)
        if errors:
            return Response(400, {"message": "Invalid request body", "errors": errors})
        self.served += 1
        request_id = f"req-{self.served}-{uuid.uuid4()}"
        entries = json.loads(render(request_template(method, self.bus_name), body, request_id))
        result = self.events.put_events(**entries)
        accepted, *_ = method["Integration"]["IntegrationResponses"]
        context: Json = {"requestId": request_id, "responseOverride": {}}
        answer = airspeed.Template(accepted["ResponseTemplates"]["application/json"]).merge(
            {"input": _Input(json.dumps(result, default=str)), "context": context}
        )
        return Response(int(context["responseOverride"].get("status", accepted["StatusCode"])), json.loads(answer))

    def _authorize(self, method: Json, route: str, headers: dict[str, str], path: str | None) -> Response | None:
        kind = method["AuthorizationType"]
        if kind == "AWS_IAM" and not headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256 "):
            return Response(403, {"message": "Missing Authentication Token"})
        if kind == "CUSTOM":
            assert self.authorizer is not None
            token = headers.get("Authorization", "")
            try:
                policy = self.authorizer.handler(
                    {"authorizationToken": token, "methodArn": method_arn(route, path)}, None
                )
            except Exception as err:
                assert str(err) == "Unauthorized"
                return Response(401, {"message": "Unauthorized"})
            (statement,) = policy["policyDocument"]["Statement"]
            if not any(_arn_matches(p, method_arn(route, path)) for p in statement["Resource"]):
                return Response(403, {"message": "User is not authorized to access this resource"})
        return None


def _arn_matches(pattern: str, arn: str) -> bool:
    return re.fullmatch(re.escape(pattern).replace(r"\*", "[^/]+"), arn) is not None


SIGNED = {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261205/us-east-1/execute-api/aws4_request"}


# ---- who may call ------------------------------------------------------------------------------


def test_each_method_declares_the_specs_authorization(generated: Generated) -> None:
    expected = {"iam": "AWS_IAM", "jwt": "CUSTOM", "none": "NONE"}
    for service in generated.flow.services:
        for api in service.apis:
            assert method_of(generated.template, api.route)["AuthorizationType"] == expected[api.auth.kind]
    assert method_of(generated.template, "POST /bookings")["AuthorizationType"] == "AWS_IAM", "the default"


def test_a_request_without_authorization_is_refused(generated: Generated, monkeypatch: pytest.MonkeyPatch) -> None:
    signer = Signer()
    gateway = Gateway(generated.template, load_authorizer(generated.template, monkeypatch, signer.jwks()))
    body = json.dumps(BOOKING)
    assert gateway.call("POST /bookings", body).status == 403
    assert gateway.call("POST /couriers/ping", json.dumps({"courier": "c"})).status == 403
    cancel = json.dumps({"booking_id": BOOKING["booking_id"], "reason": "late"})
    assert gateway.call("DELETE /bookings/{booking_id}", cancel, path="/bookings/b-1").status == 401


def test_the_jwt_authorizer_allows_only_valid_tokens_for_their_audiences(
    generated: Generated, monkeypatch: pytest.MonkeyPatch
) -> None:
    signer = Signer()
    authorizer = load_authorizer(generated.template, monkeypatch, signer.jwks())
    cancel, track = "DELETE /bookings/{booking_id}", "PUT /bookings/{booking_id}/tracking"

    def verdict(token: str, route: str = cancel, path: str = "/bookings/b-1") -> list[str] | str:
        try:
            policy = authorizer.handler({"authorizationToken": token, "methodArn": method_arn(route, path)}, None)
        except Exception as err:
            return str(err)
        (statement,) = policy["policyDocument"]["Statement"]
        assert statement["Effect"] == "Allow" and statement["Action"] == "execute-api:Invoke"
        return [r.removeprefix(API_ARN + "/") for r in statement["Resource"]]

    assert verdict("Bearer " + signer.token()) == ["DELETE/bookings/*"]
    assert verdict("Bearer " + signer.token(aud=["tracking", "other"]), track, "/bookings/b-1/tracking") == [
        "PUT/bookings/*/tracking"
    ]
    assert verdict("Bearer " + signer.token(aud=["admin", "tracking"])) == [
        "DELETE/bookings/*",
        "PUT/bookings/*/tracking",
    ]
    refused = {
        "wrong audience": "Bearer " + signer.token(aud="billing"),
        "expired": "Bearer " + signer.token(exp=time.time() - 1),
        "no expiry": "Bearer " + signer.token(exp=None),
        "not yet valid": "Bearer " + signer.token(nbf=time.time() + 3600),
        "other issuer": "Bearer " + signer.token(iss="https://evil.example.com"),
        "another key": "Bearer " + Signer().token(),
        "tampered": "Bearer " + _tamper(signer.token()),
        "not bearer": "Basic " + signer.token(),
        "garbage": "Bearer abc.def.ghi",
        "none alg": "Bearer " + _unsigned(signer.token()),
        "odd audiences": "Bearer " + signer.token(aud=[{"bookings": 1}, 7]),
    }
    for why, token in refused.items():
        assert verdict(token) == "Unauthorized", why

    gateway = Gateway(generated.template, authorizer)
    wrong_route = gateway.call(track, "{}", {"Authorization": "Bearer " + signer.token()}, "/bookings/b-1/tracking")
    assert wrong_route.status == 403, "a token for `bookings` may not call the `tracking` endpoint"


def _tamper(token: str) -> str:
    head, body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "sub": "admin"}).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{signature}"


def _unsigned(token: str) -> str:
    _, body, _ = token.split(".")
    head = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": "k1"}).encode()).rstrip(b"=").decode()
    return f"{head}.{body}."


def test_the_inline_authorizer_fits_cloudformations_limit(generated: Generated) -> None:
    code = generated.template["Resources"]["JwtAuthorizerFunction"]["Properties"]["Code"]["ZipFile"]
    assert len(code) <= 4096
    authorizer = generated.template["Resources"]["JwtAuthorizer"]["Properties"]
    assert (authorizer["Type"], authorizer["IdentitySource"]) == ("TOKEN", "method.request.header.Authorization")


# ---- what a body must look like -----------------------------------------------------------------


def test_the_request_model_classifies_bodies_as_the_events_schema_does(generated: Generated) -> None:
    template = generated.template
    jsonschema.Draft4Validator.check_schema(model_schema(template, "POST /bookings"))
    assert body_errors(template, "POST /bookings", BOOKING) == []
    assert body_errors(template, "POST /bookings", {**BOOKING, "parcels": [{"weight_grams": 5}]}) == []
    for why, body in MALFORMED.items():
        assert body_errors(template, "POST /bookings", body), why


@pytest.mark.slow  # generates and imports the Python package
def test_the_request_model_and_the_generated_pydantic_model_agree(generated: Generated, tmp_path: Path) -> None:
    """The gateway refuses what a handler's pydantic model would refuse, and lets through what it accepts."""
    models = generated_module(tmp_path, "gateway.models")
    bodies = [BOOKING, *MALFORMED.values(), {**BOOKING, "parcels": [{"weight_grams": 30000}]}]
    for body in bodies:
        try:
            models.ParcelBooked.model_validate_json(json.dumps(body))
            pydantic_accepts = True
        except ValueError:
            pydantic_accepts = False
        assert (body_errors(generated.template, "POST /bookings", body) == []) == pydantic_accepts, body


def test_every_method_validates_its_body_with_the_events_model(generated: Generated) -> None:
    template = generated.template
    for service in generated.flow.services:
        for api in service.apis:
            method = method_of(template, api.route)
            validator = template["Resources"][method["RequestValidatorId"]["Ref"]]["Properties"]
            assert validator["ValidateRequestBody"] is True
            assert model_schema(template, api.route)["title"] == api.event.name
            assert method["Integration"]["PassthroughBehavior"] == "NEVER"
    response = template["Resources"]["ApiBadRequestBody"]["Properties"]
    assert (response["ResponseType"], response["StatusCode"]) == ("BAD_REQUEST_BODY", "400")


def test_the_stage_is_throttled_and_logs_each_request_as_json(generated: Generated) -> None:
    template = generated.template
    stage = template["Resources"]["ApiStage"]["Properties"]
    (settings,) = stage["MethodSettings"]
    parameters = template["Parameters"]
    assert parameters[settings["ThrottlingRateLimit"]["Ref"]]["Default"] == 50
    assert parameters[settings["ThrottlingBurstLimit"]["Ref"]]["Default"] == 100
    log = json.loads(stage["AccessLogSetting"]["Format"])
    assert log["requestId"] == "$context.requestId" and "validationError" in log and "status" in log
    group = stage["AccessLogSetting"]["DestinationArn"]["Fn::GetAtt"][0]
    assert template["Resources"][group]["Properties"]["RetentionInDays"] == 30


def test_an_event_the_bus_refuses_answers_502(generated: Generated) -> None:
    class RefusingBus:
        def put_events(self, **entries: Any) -> Json:
            return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure"}]}

    gateway = Gateway(generated.template, None, "bus", RefusingBus())
    refused = gateway.call("POST /bookings", json.dumps(BOOKING), SIGNED)
    assert refused.status == 502 and "request_id" in refused.body


# ---- what reaches the bus (moto) ------------------------------------------------------------------


@dataclass
class Stack:
    template: Json
    outputs: dict[str, str]
    queues: dict[str, str]

    def drain(self) -> dict[str, list[Json]]:
        sqs = boto3.client("sqs", region_name=REGION)
        found: dict[str, list[Json]] = {}
        for name, url in self.queues.items():
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            for message in got:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            if got:
                found[name] = [json.loads(m["Body"]) for m in got]
        return found


@pytest.fixture()
def stack(generated: Generated) -> Iterator[Stack]:
    template = for_moto(generated.template)
    with mock_aws():
        upload_code("flowgen-code", "package.zip")
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        parameters = [
            {"ParameterKey": "CodeBucket", "ParameterValue": "flowgen-code"},
            {"ParameterKey": "CodeKey", "ParameterValue": "package.zip"},
        ]
        cloudformation.create_stack(
            StackName="gateway",
            TemplateBody=json.dumps(template),
            Parameters=parameters,
            Capabilities=["CAPABILITY_IAM"],
        )
        described = cloudformation.describe_stacks(StackName="gateway")["Stacks"][0]
        assert described["StackStatus"] == "CREATE_COMPLETE", described.get("StackStatusReason")
        outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
        lambdas = boto3.client("lambda", region_name=REGION)
        for mapping in lambdas.list_event_source_mappings()["EventSourceMappings"]:
            lambdas.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)  # no Docker to run them
        plan = plan_of(generated.flow)
        queues = {f"{p.handler.service}.{p.handler.name}": outputs[p.queue.logical_id + "Url"] for p in plan.handlers}
        yield Stack(generated.template, outputs, queues)


@pytest.mark.slow
def test_the_deployed_methods_carry_the_specs_authorization(stack: Stack, generated: Generated) -> None:
    apigateway = boto3.client("apigateway", region_name=REGION)
    (api,) = apigateway.get_rest_apis()["items"]
    by_path = {r["path"]: r for r in apigateway.get_resources(restApiId=api["id"])["items"]}
    expected = {"iam": "AWS_IAM", "jwt": "CUSTOM", "none": "NONE"}
    for service in generated.flow.services:
        for endpoint in service.apis:
            resource = by_path[endpoint.path]
            deployed = apigateway.get_method(restApiId=api["id"], resourceId=resource["id"], httpMethod=endpoint.method)
            assert deployed["authorizationType"] == expected[endpoint.auth.kind], endpoint.route
            assert deployed["methodIntegration"]["uri"].endswith(":events:action/PutEvents")


def generated_module(out: Path, module: str) -> Any:
    """A module of the generated package (`gateway.adapters.runtime`), imported as a handler imports it."""
    result = run_flowgen(
        "generate", str(SPEC.relative_to(ROOT)), "--out", str(out), "-t", "python", "-t", "lambda", cwd=ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(out / "python"))
    try:
        return importlib.import_module(module)
    finally:
        sys.path.remove(str(out / "python"))
        for name in [m for m in sys.modules if m == "gateway" or m.startswith("gateway.")]:
            del sys.modules[name]


@pytest.mark.slow
def test_a_valid_request_reaches_its_subscriber_with_the_request_id_as_correlation_id(
    stack: Stack, tmp_path: Path
) -> None:
    gateway = Gateway(stack.template, None, stack.outputs["EventBusName"], boto3.client("events", region_name=REGION))
    response = gateway.call("POST /bookings", json.dumps(BOOKING), SIGNED)
    assert response.status == 202
    delivered = stack.drain()
    assert list(delivered) == ["Dispatch.plan_route"]
    (event,) = delivered["Dispatch.plan_route"]
    assert (event["source"], event["detail-type"]) == ("gateway", "ParcelBooked")
    detail = event["detail"]
    assert detail["payload"] == BOOKING
    runtime = generated_module(tmp_path, "gateway.adapters.runtime")
    assert runtime.is_wrapped(detail)
    envelope = runtime.envelope_of(detail["envelope"])
    request_id = response.body["message_id"]
    assert envelope.message_id == envelope.correlation_id == request_id
    assert (envelope.schema_version, envelope.time) == ("0.3.0", "2026-12-05T20:47:44Z")
    starter = types.ModuleType("starter")
    exec(compile(starter_source(), "starter.py", "exec"), starter.__dict__)
    assert starter.trigger(event)["envelope"]["correlation_id"] == request_id, "a saga carries the request id on"


@pytest.mark.slow
def test_a_malformed_body_gets_400_and_puts_nothing_on_the_bus(stack: Stack) -> None:
    gateway = Gateway(stack.template, None, stack.outputs["EventBusName"], boto3.client("events", region_name=REGION))
    for body in (
        json.dumps({**BOOKING, "priority": "urgent"}),
        json.dumps({"booking_id": "b"}),
        "{not json",
    ):
        assert gateway.call("POST /bookings", body, SIGNED).status == 400, body
    assert gateway.call("POST /bookings", json.dumps(BOOKING), {**SIGNED, "Content-Type": "text/plain"}).status == 415
    assert gateway.call("POST /bookings", json.dumps(BOOKING)).status == 403
    assert stack.drain() == {}
    public = gateway.call("POST /", json.dumps({"ping_id": str(uuid.uuid4()), "note": "hi"}))
    assert public.status == 202, "`auth none` needs no credentials"
    assert list(stack.drain()) == ["Dispatch.pong"]
