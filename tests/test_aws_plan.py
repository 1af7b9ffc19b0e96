"""The AWS deployment plan is the one source of AWS names: a second renderer needs only the plan.

`render_rows` below is a complete (if trivial) infrastructure target: it walks the
plan and writes one `(type, logical ID, spec line)` row per resource. The test
proves it describes exactly the resources of the CloudFormation template, so a
Terraform or CDK renderer written the same way would deploy the same system.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowgen_design.codegen.aws import limits
from flowgen_design.codegen.aws.plan import Plan, plan_of
from flowgen_design.codegen.targets.cloudformation import build_template
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.model import Flow
from tests.conftest import SKETCH, example_specs

SPECS = [*example_specs(), SKETCH, Path(__file__).resolve().parent / "lambda_adapters.flow"]


def render_rows(plan: Plan) -> list[tuple[str, str, int]]:
    """Another infrastructure format, rendered from the plan alone."""
    return sorted((r.type, r.logical_id, r.span.line) for r in plan.resources())


def flow_of(spec: Path) -> Flow:
    result = check_file(spec)
    assert result.ok and result.flow is not None, [d.message for d in result.diagnostics]
    return result.flow


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_a_second_renderer_agrees_with_the_cloudformation_template(spec: Path) -> None:
    flow = flow_of(spec)
    template = json.loads(build_template(flow).render())
    from_template = sorted(
        (r["Type"], rid, r["Metadata"]["flowgen"]["line"]) for rid, r in template["Resources"].items()
    )
    assert render_rows(plan_of(flow)) == from_template


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_every_resource_is_planned_once_with_its_element_and_limits(spec: Path) -> None:
    flow = flow_of(spec)
    plan = plan_of(flow)
    ids = [r.logical_id for r in plan.resources()]
    assert len(ids) == len(set(ids))
    template = json.loads(build_template(flow).render())["Resources"]
    for resource in plan.resources():
        assert template[resource.logical_id]["Metadata"]["flowgen"]["element"] == resource.element
        assert limits.CLOUDFORMATION_LOGICAL_ID in resource.limits
    for planned in plan.handlers:
        assert limits.LAMBDA_TIMEOUT in planned.function.limits
        assert limits.SQS_RETENTION in planned.queue.limits
    for saga in plan.sagas:
        assert limits.STEP_FUNCTIONS_EXECUTION in saga.state_machine.limits


def test_the_plan_is_built_once_per_flow() -> None:
    flow = flow_of(SKETCH)
    assert plan_of(flow) is plan_of(flow)


def test_every_limit_says_where_it_is_documented() -> None:
    found = [v for v in vars(limits).values() if isinstance(v, limits.Limit)]
    assert found and all(v.source.startswith("https://docs.aws.amazon.com/") and v.value > 0 for v in found)


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_every_planned_queue_has_its_alarm(spec: Path) -> None:
    """A dead-letter queue (a handler's, a starter's, the stack's event-delivery one) alarms on any
    message; a queue a function drains alarms on its oldest message's age (deployed: test_observability)."""
    plan = plan_of(flow_of(spec))
    watched = {(a.watches.logical_id, a.metric) for a in plan.alarms()}
    for queue in (r for r in plan.resources() if r.type == "AWS::SQS::Queue"):
        dead_letters = queue.logical_id.endswith("DeadLetterQueue")
        metric = "ApproximateNumberOfMessagesVisible" if dead_letters else "ApproximateAgeOfOldestMessage"
        assert (queue.logical_id, metric) in watched, queue.logical_id
    if plan.event_delivery_dlq is not None:
        assert plan.event_delivery_alarm is not None and plan.event_delivery_alarm.threshold == 1
