"""IAM documents for least-privilege roles: one role per function, saga, rule and route.

Each builder grants exactly one capability on exactly one resource, so a role's
policy reads as a list of what that piece of the system may do.
"""

from __future__ import annotations

from collections.abc import Sequence

from flowgen_design.codegen.targets.cloudformation.template import Json, get_att, ref

VERSION = "2012-10-17"


def allow(actions: Sequence[str], resource: Json | str | list[Json], condition: Json | None = None) -> Json:
    statement: Json = {"Effect": "Allow", "Action": sorted(actions), "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


def role(service_principal: str, policy_name: str, statements: list[Json]) -> Json:
    """Properties of an AWS::IAM::Role that `service_principal` may assume, with one inline policy."""
    return {
        "AssumeRolePolicyDocument": {
            "Version": VERSION,
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service_principal}, "Action": "sts:AssumeRole"}],
        },
        "Policies": [{"PolicyName": policy_name, "PolicyDocument": {"Version": VERSION, "Statement": statements}}],
    }


def put_events(bus: str, source: str, detail_types: Sequence[str]) -> Json:
    """PutEvents on the flow's bus, only with the flow as source and only these detail types."""
    return allow(
        ["events:PutEvents"],
        get_att(bus, "Arn"),
        {"StringEquals": {"events:source": [source], "events:detail-type": sorted(set(detail_types))}},
    )


def consume_queue(queue: str) -> Json:
    """What an SQS event source mapping needs, plus ChangeMessageVisibility for the adapter's backoff."""
    actions = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
    return allow(actions, get_att(queue, "Arn"))


def send_to_queues(queues: Sequence[str]) -> Json:
    return allow(["sqs:SendMessage"], [get_att(q, "Arn") for q in sorted(set(queues))])


def write_logs(log_group: str) -> Json:
    return allow(["logs:CreateLogStream", "logs:PutLogEvents"], get_att(log_group, "Arn"))


def use_idempotency_table(table: str) -> Json:
    """The item operations of Powertools' DynamoDB idempotency store."""
    actions = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
    return allow(actions, get_att(table, "Arn"))


def answer_saga_tasks() -> Json:
    """SendTaskSuccess/Failure act on a task token, not a resource: IAM accepts only `*` here."""
    return allow(["states:SendTaskSuccess", "states:SendTaskFailure"], "*")


def start_execution(state_machine: str) -> Json:
    return allow(["states:StartExecution"], ref(state_machine))


def rule_may_send(queue: str, rule: str) -> Json:
    """An SQS queue policy: only EventBridge rule `rule` may send to `queue`."""
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": get_att(queue, "Arn"),
        "Condition": {"ArnEquals": {"aws:SourceArn": get_att(rule, "Arn")}},
    }
    return {"Queues": [ref(queue)], "PolicyDocument": {"Version": VERSION, "Statement": [statement]}}
