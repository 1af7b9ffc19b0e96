"""The AWS limits a flow must fit in, as named constants with the page that documents each.

The deployment plan attaches to each resource the limits that apply to it, and
`codegen.aws.checks` compares the spec's timings and names with them, so a spec
that could never deploy (or never run as written) is an error in `flowgen check`.
"""

from __future__ import annotations

from flowgen_design.dsl.frozen import frozen

_MINUTE_MS = 60_000
_HOUR_MS = 60 * _MINUTE_MS
_DAY_MS = 24 * _HOUR_MS


@frozen(kw_only=False)
class Limit:
    """A hard limit of an AWS service: `value` in `unit`, as documented at `source`."""

    name: str
    value: int
    unit: str
    source: str


LAMBDA_TIMEOUT = Limit(
    "Lambda function timeout",
    15 * _MINUTE_MS,
    "ms",
    "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
)
LAMBDA_DESCRIPTION = Limit(
    "Lambda function description",
    256,
    "characters",
    "https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html",
)
SQS_RETENTION = Limit(
    "SQS message retention period",
    14 * _DAY_MS,
    "ms",
    "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html",
)
SQS_VISIBILITY_TIMEOUT = Limit(
    "SQS visibility timeout",
    12 * _HOUR_MS,
    "ms",
    "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html",
)
STEP_FUNCTIONS_EXECUTION = Limit(
    "Step Functions standard workflow execution time",
    365 * _DAY_MS,
    "ms",
    "https://docs.aws.amazon.com/step-functions/latest/dg/limits-overview.html",
)
STEP_FUNCTIONS_STATE_NAME = Limit(
    "Step Functions state name",
    80,
    "characters",
    "https://docs.aws.amazon.com/step-functions/latest/dg/limits-overview.html",
)
API_GATEWAY_INTEGRATION_TIMEOUT = Limit(
    "API Gateway REST API integration timeout",
    29_000,
    "ms",
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html",
)
CLOUDFORMATION_LOGICAL_ID = Limit(
    "CloudFormation logical ID",
    255,
    "characters",
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html",
)
