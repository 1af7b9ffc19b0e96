"""Data safety: what a stack update or delete must not lose, and what EventBridge must not drop.

- Retain: every stateful resource flowgen generates (the idempotency table, the queues and
  dead-letter queues, the log groups, the event archive) has `DeletionPolicy` and
  `UpdateReplacePolicy` `Retain`: deleting the stack, or an update that would replace one of
  them, leaves the old resource and its data in the account instead of deleting it. The
  idempotency table also keeps point-in-time recovery.
- Rule targets: EventBridge retries a target it cannot deliver to for a while and then drops
  the event. Every target of every rule gets an explicit `RetryPolicy` (the plan's
  `RULE_TARGET_ATTEMPTS` within `RULE_TARGET_MAX_AGE_SECONDS`) and a `DeadLetterConfig`: the
  stack's event-delivery dead-letter queue, which only the stack's rules may send to.
- Archive: `archive 90d` in the spec keeps a copy of every event on the bus for that long, to
  replay after a bug fix (`AWS::Events::Archive`).

Applied over the finished template, so rules and stateful resources that other modules add
get the same treatment.
"""

from __future__ import annotations

from flowgen_design.codegen.aws.plan import (
    QUEUE_RETENTION_SECONDS,
    RULE_TARGET_ATTEMPTS,
    RULE_TARGET_MAX_AGE_SECONDS,
    Plan,
)
from flowgen_design.codegen.targets.cloudformation.iam import VERSION
from flowgen_design.codegen.targets.cloudformation.template import Json, Template, get_att, ref

RETAINED_TYPES = frozenset({"AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::Logs::LogGroup", "AWS::Events::Archive"})
"""The stateful resource types flowgen generates: their data outlives the stack."""
RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}


def add_data_safety(t: Template, plan: Plan) -> None:
    """Everything above, on the template `plan` became (before the user's overrides are merged)."""
    _event_delivery_dead_letters(t, plan)
    _archive(t, plan)
    if plan.idempotency_table is not None:
        table = t.resources[plan.idempotency_table.logical_id]["Properties"]
        table["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
    retain_stateful(t.resources)


def retain_stateful(resources: Json) -> None:
    for resource in resources.values():
        if resource["Type"] in RETAINED_TYPES:
            resource.update(RETAIN)


def rules(resources: Json) -> list[str]:
    return sorted(rid for rid, r in resources.items() if r["Type"] == "AWS::Events::Rule")


def _event_delivery_dead_letters(t: Template, plan: Plan) -> None:
    every_rule = rules(t.resources)
    if plan.event_delivery_dlq is None or plan.event_delivery_dlq_policy is None or not every_rule:
        return
    queue = t.put(
        plan.event_delivery_dlq, {"MessageRetentionPeriod": QUEUE_RETENTION_SECONDS, "SqsManagedSseEnabled": True}
    )
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": get_att(queue, "Arn"),
        "Condition": {"ArnEquals": {"aws:SourceArn": [get_att(rule, "Arn") for rule in every_rule]}},
    }
    policy = {"Queues": [ref(queue)], "PolicyDocument": {"Version": VERSION, "Statement": [statement]}}
    t.put(plan.event_delivery_dlq_policy, policy)
    for rule in every_rule:
        for target in t.resources[rule]["Properties"].get("Targets", []):
            target["DeadLetterConfig"] = {"Arn": get_att(queue, "Arn")}
            target["RetryPolicy"] = {
                "MaximumRetryAttempts": RULE_TARGET_ATTEMPTS,
                "MaximumEventAgeInSeconds": RULE_TARGET_MAX_AGE_SECONDS,
            }
    t.output(queue + "Url", ref(queue), "events EventBridge could not deliver to a rule's target")


def _archive(t: Template, plan: Plan) -> None:
    archive = plan.flow.archive
    if plan.archive is None or archive is None:
        return
    props = {
        "SourceArn": get_att(plan.event_bus.logical_id, "Arn"),
        "RetentionDays": archive.retention_days,
        "Description": f"every event of flow {plan.flow.name}, kept {archive.retention_days} days to replay",
    }
    t.put(plan.archive, props)
