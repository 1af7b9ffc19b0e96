"""What an operator watches: the plan's alarms, X-Ray tracing and state-machine logging.

Every alarm of the deployment plan (`codegen.aws.plan.Alarm`) becomes one
`AWS::CloudWatch::Alarm` whose description names the spec line its threshold
comes from; all of them notify the SNS topic in the `AlarmTopicArn` parameter,
or nothing when it is empty (the default). Functions and state machines trace
actively with X-Ray; a state machine logs its errors (no execution data) to a
log group of its own. docs/operations.md says what each alarm means.
"""

from __future__ import annotations

from flowgen_design.codegen.aws.plan import (
    ALARM_TOPIC_PARAMETER,
    COMPARISONS,
    LOG_RETENTION_DAYS,
    STATE_MACHINE_LOG_EXECUTION_DATA,
    STATE_MACHINE_LOG_LEVEL,
    Alarm,
    Plan,
    SagaPlan,
)
from flowgen_design.codegen.targets.cloudformation import iam
from flowgen_design.codegen.targets.cloudformation.template import Json, Template, get_att, ref, sub

HAS_ALARM_TOPIC = "HasAlarmTopic"
ACTIVE_TRACING: Json = {"Mode": "Active"}
"""A function's `TracingConfig`: X-Ray traces every invocation (the adapters add a subsegment per record)."""


def add_alarm_topic(t: Template, plan: Plan) -> None:
    """The parameter naming the topic the alarms notify, and its condition, when the plan has alarms."""
    if next(plan.alarms(), None) is None:
        return
    t.parameters[ALARM_TOPIC_PARAMETER] = {
        "Type": "String",
        "Default": "",
        "Description": "ARN of the SNS topic the alarms notify; empty: alarms without actions",
    }
    t.conditions[HAS_ALARM_TOPIC] = {"Fn::Not": [{"Fn::Equals": [ref(ALARM_TOPIC_PARAMETER), ""]}]}


def put_alarm(t: Template, alarm: Alarm) -> None:
    t.put(alarm.resource, alarm_properties(alarm))


def alarm_description(alarm: Alarm) -> str:
    """What an alarm means, and the spec line its threshold comes from (a position: `parts.py` fills it anew)."""
    span = alarm.span
    return f"{alarm.why} (threshold from {span.file}:{span.line}; see docs/operations.md)"


def alarm_properties(alarm: Alarm) -> Json:
    return {
        "AlarmDescription": alarm_description(alarm),
        "Namespace": alarm.namespace,
        "MetricName": alarm.metric,
        "Dimensions": [{"Name": alarm.dimension, "Value": _dimension_value(alarm)}],
        "Statistic": alarm.statistic,
        "Period": alarm.period_seconds,
        "EvaluationPeriods": 1,
        "Threshold": alarm.threshold,
        "ComparisonOperator": COMPARISONS[alarm.comparison],
        "TreatMissingData": "notBreaching",
        "AlarmActions": {"Fn::If": [HAS_ALARM_TOPIC, [ref(ALARM_TOPIC_PARAMETER)], ref("AWS::NoValue")]},
    }


def _dimension_value(alarm: Alarm) -> Json:
    """How the metric names the watched resource: a queue by name, a function by name, a machine by ARN."""
    if alarm.dimension == "QueueName":
        return get_att(alarm.watches.logical_id, "QueueName")
    return ref(alarm.watches.logical_id)


def write_traces() -> Json:
    """What active tracing needs from a function's or state machine's role (X-Ray takes no resource)."""
    return iam.allow(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*")


def deliver_logs() -> Json:
    """What a state machine's role needs to log to CloudWatch Logs: log deliveries are not resources
    IAM can scope, so AWS documents `*` for these actions."""
    actions = [
        "logs:CreateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:DescribeLogGroups",
        "logs:DescribeResourcePolicies",
        "logs:GetLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:UpdateLogDelivery",
    ]
    return iam.allow(actions, "*")


def state_machine_observability(t: Template, planned: SagaPlan) -> Json:
    """The log group of a saga's state machine, and the machine's logging and tracing properties."""
    assert planned.log_group is not None
    name = sub("/aws/vendedlogs/states/${AWS::StackName}-" + planned.state_machine.logical_id)
    log_group = t.put(planned.log_group, {"LogGroupName": name, "RetentionInDays": LOG_RETENTION_DAYS})
    return {
        "LoggingConfiguration": {
            "Level": STATE_MACHINE_LOG_LEVEL,
            "IncludeExecutionData": STATE_MACHINE_LOG_EXECUTION_DATA,
            "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": get_att(log_group, "Arn")}}],
        },
        "TracingConfiguration": {"Enabled": True},
    }
