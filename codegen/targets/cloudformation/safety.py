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

Applied to every finished resource (`secure`), so rules and stateful resources that other
modules add get the same treatment, one resource at a time (a template built in parts).
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
RULE = "AWS::Events::Rule"


def add_shared_safety(t: Template, plan: Plan) -> None:
    """The stack's own safety resources: the event-delivery dead-letter queue and its policy, the archive."""
    _event_delivery_dead_letters(t, plan)
    _archive(t, plan)


def secure(rid: str, resource: Json, plan: Plan, dlq: str | None) -> None:
    """What the safety pass does to one resource: a rule's targets get the retry policy and the
    event-delivery dead-letter queue `dlq` (when the stack has one), a stateful resource is retained,
    the idempotency table keeps point-in-time recovery. Applied per resource, so a template built
    in parts (`parts.py`) gets it resource by resource."""
    kind = resource["Type"]
    if kind == RULE and dlq is not None:
        for target in resource["Properties"].get("Targets", []):
            target["DeadLetterConfig"] = {"Arn": get_att(dlq, "Arn")}
            target["RetryPolicy"] = {
                "MaximumRetryAttempts": RULE_TARGET_ATTEMPTS,
                "MaximumEventAgeInSeconds": RULE_TARGET_MAX_AGE_SECONDS,
            }
    if plan.idempotency_table is not None and rid == plan.idempotency_table.logical_id:
        resource["Properties"]["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
    if kind in RETAINED_TYPES:
        resource.update(RETAIN)


def rules(resources: Json) -> list[str]:
    return sorted(rid for rid, r in resources.items() if r["Type"] == RULE)


def plan_rules(plan: Plan) -> list[str]:
    """Every EventBridge rule of the stack, from its deployment plan (so without building it)."""
    return sorted(r.logical_id for r in plan.resources() if r.type == RULE)


def delivery_queue(plan: Plan, resources: Json) -> str | None:
    """The event-delivery dead-letter queue, when the stack has one (it has rules to send to it):
    `add_shared_safety` has added it to `resources` then."""
    dlq = plan.event_delivery_dlq
    return dlq.logical_id if dlq is not None and dlq.logical_id in resources else None


def _event_delivery_dead_letters(t: Template, plan: Plan) -> None:
    every_rule = plan_rules(plan)
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
