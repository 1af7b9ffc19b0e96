"""Environments: the `Stage` parameter, the names it goes into, and the tags on every resource.

One template deploys any number of environments: `Stage` (`dev` unless the deploy
says otherwise) goes into the physical names flowgen sets (the bus, the API) and
into the tags of every taggable resource, with the flow, the spec's version and
what owns the resource: the service (a handler's or an endpoint's resources) or the
saga (its state machine, starter and alarms). Named resources
are named `<flow>-<stage>`, so one account and region holds one stack per flow and
stage: a second stack of the same flow and stage fails to create instead of
silently sharing a bus.

Tags are applied last, to every finished resource (`tag`), so resources other modules add
are tagged too; `TAG_STYLE` says how each resource type takes its tags (a list
of `Key`/`Value` pairs or an object), and `tests/test_cloudformation_ops.py` holds
it to cfn-lint's schemas: a resource type that takes tags and is missing here fails.
"""

from __future__ import annotations

from typing import Literal

from flowgen_design.codegen.aws.plan import Plan
from flowgen_design.codegen.targets.cloudformation.template import Json, Template, ref, sub
from flowgen_design.dsl.model import Flow

STAGE = "Stage"
DEFAULT_STAGE = "dev"
STAGE_PATTERN = "^[a-z][a-z0-9-]{0,15}$"
TAG_PREFIX = "flowgen:"

STAGE_PARAMETER: Json = {
    "Type": "String",
    "Default": DEFAULT_STAGE,
    "AllowedPattern": STAGE_PATTERN,
    "Description": "the environment this stack is (dev, staging, prod, ...): in resource names and tags",
}

TagStyle = Literal["list", "map"]
TAG_STYLE: dict[str, TagStyle] = {
    "AWS::ApiGateway::ApiKey": "list",
    "AWS::ApiGateway::DomainName": "list",
    "AWS::ApiGateway::RestApi": "list",
    "AWS::ApiGateway::Stage": "list",
    "AWS::ApiGateway::UsagePlan": "list",
    "AWS::ApiGatewayV2::Api": "map",
    "AWS::ApiGatewayV2::DomainName": "map",
    "AWS::ApiGatewayV2::Stage": "map",
    "AWS::ApiGatewayV2::VpcLink": "map",
    "AWS::CloudWatch::Alarm": "list",
    "AWS::CloudWatch::CompositeAlarm": "list",
    "AWS::CloudWatch::Dashboard": "list",
    "AWS::DynamoDB::Table": "list",
    "AWS::Events::EventBus": "list",
    "AWS::Events::Rule": "list",
    "AWS::IAM::Role": "list",
    "AWS::KMS::Key": "list",
    "AWS::Lambda::EventSourceMapping": "list",
    "AWS::Lambda::Function": "list",
    "AWS::Logs::LogGroup": "list",
    "AWS::Pipes::Pipe": "map",
    "AWS::S3::Bucket": "list",
    "AWS::SNS::Topic": "list",
    "AWS::SQS::Queue": "list",
    "AWS::SSM::Parameter": "map",
    "AWS::Scheduler::ScheduleGroup": "list",
    "AWS::SecretsManager::Secret": "list",
    "AWS::StepFunctions::Activity": "list",
    "AWS::StepFunctions::StateMachine": "list",
    "AWS::WAFv2::WebACL": "list",
    "AWS::XRay::Group": "list",
    "AWS::XRay::SamplingRule": "list",
}
"""How each resource type flowgen generates (or may: what a stack like this one holds) takes `Tags`;
types without `Tags` are absent. A generated resource of a type missing here fails the tests."""


def physical_name(flow: Flow) -> Json:
    """The name of a named resource of the flow's stack: `<flow>-<stage>`."""
    return sub(flow.name + "-${" + STAGE + "}")


def add_stage(t: Template) -> None:
    t.parameters[STAGE] = dict(STAGE_PARAMETER)


def tag_values(plan: Plan, owner: dict[str, str]) -> dict[str, Json | str]:
    """The tags of one resource: flow, stage, spec version, and the service or saga that owns it."""
    flow = plan.flow
    tags: dict[str, Json | str] = {
        TAG_PREFIX + "flow": flow.name,
        TAG_PREFIX + "stage": ref(STAGE),
        TAG_PREFIX + "spec-version": flow.version,
    }
    tags.update((TAG_PREFIX + kind, name) for kind, name in owner.items())
    return tags


def owners(plan: Plan) -> dict[str, dict[str, str]]:
    """What owns each resource, by logical ID: `{"service": ...}` for a handler's and an endpoint's
    resources, `{"saga": ...}` for a saga's; the stack's shared resources have no owner."""
    owned = {r.logical_id: {"service": h.handler.service} for h in plan.handlers for r in h.resources()}
    owned.update((r.logical_id, {"service": p.endpoint.service}) for p in plan.routes for r in p.resources())
    owned.update((r.logical_id, {"saga": p.saga.name}) for p in plan.sagas for r in p.resources())
    return owned


def tag(resource: Json, plan: Plan, owner: dict[str, str]) -> None:
    """Tag one resource (when its type takes tags) as owned by `owner` (`owners`)."""
    style = TAG_STYLE.get(resource["Type"])
    if style is None:
        return
    tags = tag_values(plan, owner)
    props = resource.setdefault("Properties", {})
    props["Tags"] = _merged(props.get("Tags"), tags, style)


def _merged(existing: object, tags: dict[str, Json | str], style: TagStyle) -> object:
    if style == "map":
        return {**tags, **(existing if isinstance(existing, dict) else {})}
    have = existing if isinstance(existing, list) else []
    keys = {t.get("Key") for t in have if isinstance(t, dict)}
    return [{"Key": k, "Value": v} for k, v in tags.items() if k not in keys] + have
