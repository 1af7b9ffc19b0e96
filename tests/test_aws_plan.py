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


# CloudFormation's quotas on one stack (README, "How large a flow one stack holds"), as cfn-lint
# holds templates to them: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
STACK_RESOURCES, STACK_OUTPUTS, TEMPLATE_BYTES = 500, 200, 1_000_000


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_each_element_becomes_the_resources_the_readme_counts(spec: Path) -> None:
    plan = plan_of(flow_of(spec))
    per_handler = [len(h.resources()) for h in plan.handlers]
    assert all(8 <= n <= 12 for n in per_handler), per_handler
    assert all(len(s.resources()) == 17 for s in plan.sagas)
    assert all(len(r.resources()) == 3 for r in plan.routes)
    elements = (
        sum(per_handler) + sum(len(s.resources()) for s in plan.sagas) + sum(len(r.resources()) for r in plan.routes)
    )
    shared = len(list(plan.resources())) - elements
    assert shared >= 14 if plan.routes else shared <= 5, shared


def within_one_stack(text: str) -> dict[str, dict[str, object]]:
    """The template `text`, parsed, once it is held to the three quotas of one stack."""
    template: dict[str, dict[str, object]] = json.loads(text)
    assert len(template["Resources"]) <= STACK_RESOURCES
    assert len(template.get("Outputs", {})) <= STACK_OUTPUTS
    assert len(text.encode("utf-8")) <= TEMPLATE_BYTES
    return template


@pytest.mark.parametrize("spec", example_specs(), ids=lambda p: p.stem)
def test_the_bundled_specs_fit_in_one_stack(spec: Path) -> None:
    within_one_stack(build_template(flow_of(spec)).render())


@pytest.mark.slow
def test_the_largest_benchmark_flow_one_stack_holds_is_four_domains(tmp_path: Path) -> None:
    """The README's and docs/benchmarks.md's boundary, from below: the 4-domain benchmark spec (31
    handlers, 4 sagas, 4 endpoints) is within all three quotas, and the real cfn-lint reports no error
    on its template (E3010, resources; E1002, size). Issue 16's edit ratios are measured on both sides."""
    from benchmarks.specgen import write_spec
    from tests.cloudformation_support import lint

    flow = flow_of(write_spec(tmp_path, 4))
    plan = plan_of(flow)
    assert (len(plan.handlers), len(plan.sagas), len(plan.routes)) == (31, 4, 4)
    text = build_template(flow).render()
    assert len(within_one_stack(text)["Resources"]) == len(list(plan.resources())) == 425
    errors, _ = lint(text)
    assert errors == []


@pytest.mark.slow
def test_a_flow_of_forty_handlers_does_not_fit_in_one_stack_and_cfn_lint_says_so(tmp_path: Path) -> None:
    """What the README says flowgen does not catch yet: the benchmark's 5-domain spec."""
    from benchmarks.specgen import write_spec
    from tests.cloudformation_support import lint

    flow = flow_of(write_spec(tmp_path, 5))
    plan = plan_of(flow)
    assert (len(plan.handlers), len(plan.sagas), len(list(plan.resources()))) == (39, 5, 531)
    errors, _ = lint(build_template(flow).render())
    assert any(line.startswith("E3010 ") for line in errors), errors
