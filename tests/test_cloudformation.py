"""The CloudFormation target: real cfn-lint, flowgen's structural checks, and the
spec's meaning carried into queues, functions, roles and state machines.

Every spec in specs/, the language sketch and the corner-case specs in
tests/cloudformation/ are held to the same bar. Expected values come from the
model (`dsl.model`), not from copies of the output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from flowgen_design.codegen.aws.ids import api_base, handler_base, reserved_ids, saga_base
from flowgen_design.codegen.aws.plan import VISIBILITY_MARGIN_SECONDS, handler_element, plan_of
from flowgen_design.codegen.names import lambda_handler
from flowgen_design.codegen.targets.asyncapi.schemas import standalone_schema
from flowgen_design.codegen.targets.cloudformation.sagas import saga_handlers
from flowgen_design.codegen.targets.cloudformation.states import step_state
from flowgen_design.codegen.targets.cloudformation.verify import all_states
from flowgen_design.codegen.targets.cloudformation.verify import main as verify_main
from flowgen_design.codegen.targets.cloudformation.waits import awaited_events
from flowgen_design.dsl.durations import seconds_ceil
from flowgen_design.dsl.model import Flow, Handler
from tests.cloudformation_support import EDGE_SPECS, Generated, all_problems, all_specs, generate, lint, spec_id
from tests.conftest import ROOT, SKETCH, Runner


def handler_logical_id(h: Handler, suffix: str) -> str:
    """The naming scheme of the deployment plan, pinned: tests look resources up by it."""
    return handler_base(h.service, h.name) + suffix


GOLDEN = ROOT / "tests" / "golden" / "cloudformation"
Json = dict[str, Any]


@pytest.fixture(scope="module", params=all_specs(), ids=spec_id)
def generated(request: pytest.FixtureRequest) -> Generated:
    return generate(request.param)


def _resources(g: Generated) -> Json:
    return g.template["Resources"]  # type: ignore[no-any-return]


def _props(g: Generated, rid: str) -> Json:
    return _resources(g)[rid]["Properties"]  # type: ignore[no-any-return]


def _statements(role: Json) -> list[Json]:
    return [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]


# ---- validators ------------------------------------------------------------------------


@pytest.mark.slow
def test_template_passes_cfn_lint(generated: Generated) -> None:
    errors, warnings = lint(generated.text)
    for line in warnings:
        print(f"cfn-lint warning: {line}")
    assert errors == []


def test_template_passes_structural_checks(generated: Generated) -> None:
    from flowgen_design.codegen.targets.cloudformation.verify import flow_problems

    assert flow_problems(generated.flow, generated.template) == []


def test_logical_ids_are_the_ones_the_clash_check_predicts(generated: Generated) -> None:
    predicted = {ident for ident, _, _ in reserved_ids(generated.flow)}
    assert set(_resources(generated)) <= predicted


def test_every_resource_points_back_to_its_spec_line(generated: Generated) -> None:
    for rid, resource in _resources(generated).items():
        origin = resource["Metadata"]["flowgen"]
        lines = (ROOT / origin["spec"]).read_text().splitlines()
        assert 1 <= origin["line"] <= len(lines), rid
        assert origin["element"], rid
    for h in generated.flow.handlers():
        function = _resources(generated)[handler_logical_id(h, "Function")]["Metadata"]["flowgen"]
        assert (function["line"], function["element"]) == (h.span.line, handler_element(h))


def test_header_says_do_not_edit(generated: Generated) -> None:
    flowgen = generated.template["Metadata"]["flowgen"]
    assert "DO NOT EDIT" in flowgen["notice"]
    assert flowgen["spec"] == generated.flow.path


# ---- handlers ---------------------------------------------------------------------------


def _handlers(g: Generated) -> list[Handler]:
    return list(g.flow.handlers())


def test_queues_follow_the_delivery_policy(generated: Generated) -> None:
    for h in _handlers(generated):
        queue = _props(generated, handler_logical_id(h, "Queue"))
        function = _props(generated, handler_logical_id(h, "Function"))
        batch = _props(generated, handler_logical_id(h, "EventSourceMapping"))["BatchSize"]
        assert batch == 1, "one message per invocation: an attempt never waits behind another"
        assert function["Timeout"] == max(1, seconds_ceil(h.policy.timeout_ms)), "one attempt"
        assert queue["VisibilityTimeout"] == function["Timeout"] + VISIBILITY_MARGIN_SECONDS
        fifo = h.trigger == "command" and h.input.ordered_by is not None  # an ordered event: standard queue
        assert queue.get("FifoQueue", False) == fifo
        assert queue.get("ContentBasedDeduplication", False) == fifo
        redrive = queue.get("RedrivePolicy")
        assert (redrive is not None) == h.policy.dlq
        if redrive:
            assert redrive == {
                "deadLetterTargetArn": {"Fn::GetAtt": [handler_logical_id(h, "DeadLetterQueue"), "Arn"]},
                "maxReceiveCount": h.policy.attempts,
            }
            assert _props(generated, handler_logical_id(h, "DeadLetterQueue")).get("FifoQueue", False) == queue.get(
                "FifoQueue", False
            )


def test_only_event_subscriptions_get_a_rule_that_alone_may_fill_their_queue(generated: Generated) -> None:
    flow = generated.flow
    for h in _handlers(generated):
        rule_id, queue_id = handler_logical_id(h, "Rule"), handler_logical_id(h, "Queue")
        assert (rule_id in _resources(generated)) == (h.trigger == "event")
        if h.trigger != "event":
            continue
        rule = _props(generated, rule_id)
        assert rule["EventPattern"] == {"source": [flow.name], "detail-type": [h.input.name]}
        (target,) = rule["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
        assert "SqsParameters" not in target, "no static message group: per-key order is the envelope's sequence"
        (statement,) = _props(generated, handler_logical_id(h, "QueuePolicy"))["PolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert statement["Action"] == "sqs:SendMessage"
        assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}}


def test_functions_run_the_generated_adapters(generated: Generated) -> None:
    flow = generated.flow
    for h in _handlers(generated):
        function = _props(generated, handler_logical_id(h, "Function"))
        assert function["Runtime"] == "python3.12"
        assert function["Handler"] == lambda_handler(flow, h)
        assert function["Code"] == {"S3Bucket": {"Ref": "CodeBucket"}, "S3Key": {"Ref": "CodeKey"}}
        variables = function["Environment"]["Variables"]
        assert variables["FLOW_NAME"] == flow.name and "EVENT_BUS_NAME" in variables
        assert "IDEMPOTENCY_TABLE" in variables  # every handler deduplicates, by message id by default
        mapping = _props(generated, handler_logical_id(h, "EventSourceMapping"))
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["EventSourceArn"] == {"Fn::GetAtt": [handler_logical_id(h, "Queue"), "Arn"]}
    assert ("IdempotencyTable" in _resources(generated)) == bool(_handlers(generated))
    if "IdempotencyTable" in _resources(generated):
        table = _props(generated, "IdempotencyTable")
        assert (
            table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
            and table["BillingMode"] == "PAY_PER_REQUEST"
        )
        assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


def _saga_handler_keys(flow: Flow) -> set[tuple[str, str]]:
    return {(h.service, h.name) for s in flow.sagas for h in saga_handlers(s)}


TRACE_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
"""Active tracing: X-Ray's actions take no resource."""
LOG_DELIVERY_ACTIONS = {
    f"logs:{a}"
    for a in (
        "CreateLogDelivery",
        "DeleteLogDelivery",
        "DescribeLogGroups",
        "DescribeResourcePolicies",
        "GetLogDelivery",
        "ListLogDeliveries",
        "PutResourcePolicy",
        "UpdateLogDelivery",
    )
}
"""State-machine logging: AWS documents `*` for log deliveries."""


def test_function_roles_grant_only_what_the_handler_does(generated: Generated) -> None:
    flow = generated.flow
    for h in _handlers(generated):
        own = {handler_logical_id(h, "Queue"), handler_logical_id(h, "LogGroup"), "IdempotencyTable", "EventBus"}
        statements = _statements(_props(generated, handler_logical_id(h, "Role")))
        granted: dict[str, Any] = {}
        for s in statements:
            assert s["Effect"] == "Allow"
            for action in s["Action"]:
                assert "*" not in action
                granted[action] = s
            resource = s["Resource"]
            if resource == "*":
                assert set(s["Action"]) in ({"states:SendTaskSuccess", "states:SendTaskFailure"}, TRACE_ACTIONS)
            else:
                assert resource["Fn::GetAtt"][0] in own
        assert "dynamodb:PutItem" in granted
        assert ("states:SendTaskSuccess" in granted) == ((h.service, h.name) in _saga_handler_keys(flow))
        holds_back = h.trigger == "event" and h.input.ordered_by is not None  # sent again to its own queue
        assert ("sqs:SendMessage" in granted) == holds_back and ("events:PutEvents" in granted) == bool(h.outputs)
        if h.outputs:
            condition = granted["events:PutEvents"]["Condition"]["StringEquals"]
            assert condition == {
                "events:source": [flow.name],
                "events:detail-type": sorted({e.name for e in h.outputs}),
            }


# ---- sagas ---------------------------------------------------------------------------------


def test_saga_roles_send_only_to_their_steps_and_emit_only_their_outcomes(generated: Generated) -> None:
    flow = generated.flow
    for saga in flow.sagas:
        machine_id = saga_base(saga.name) + "StateMachine"
        statements = {
            a: s
            for s in _statements(_props(generated, (saga_base(saga.name) + "StateMachineRole")))
            for a in s["Action"]
        }
        observability = {a for a, st in statements.items() if st["Resource"] == "*"}
        assert observability == TRACE_ACTIONS | LOG_DELIVERY_ACTIONS, "only tracing and log delivery take `*`"
        assert set(statements) - observability <= {"sqs:SendMessage", "events:PutEvents"}
        queues = {r["Fn::GetAtt"][0] for r in statements["sqs:SendMessage"]["Resource"]}
        awaiter = {saga_base(saga.name) + "StarterQueue"} if awaited_events(saga) else set()  # waits register there
        assert queues == {handler_logical_id(h, "Queue") for h in saga_handlers(saga)} | awaiter
        outcomes = sorted({o.event.name for o in saga.outcomes})
        if outcomes:
            assert statements["events:PutEvents"]["Condition"]["StringEquals"]["events:detail-type"] == outcomes
        starter = _statements(_props(generated, saga_base(saga.name) + "StarterRole"))
        (start,) = [s for s in starter if s["Action"] == ["states:StartExecution"]]
        assert start["Resource"] == {"Ref": machine_id}
        rule = _props(generated, saga_base(saga.name) + "TriggerRule")
        awaited = [e.name for e in awaited_events(saga)]  # the starter's awaiter takes them too
        assert rule["EventPattern"] == {"source": [flow.name], "detail-type": [saga.trigger.name, *awaited]}
        queue = saga_base(saga.name) + "StarterQueue"
        assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": [queue, "Arn"]}, "the starter names each execution"
        function = _props(generated, saga_base(saga.name) + "StarterFunction")
        assert function["Environment"]["Variables"]["STATE_MACHINE_ARN"] == {"Ref": machine_id}


def test_saga_timeouts_and_retries_follow_the_spec(generated: Generated) -> None:
    for saga in generated.flow.sagas:
        machine = _props(generated, (saga_base(saga.name) + "StateMachine"))
        definition = machine["Definition"]
        assert isinstance(definition, dict)
        assert definition.get("TimeoutSeconds") == (seconds_ceil(saga.timeout_ms) if saga.timeout_ms else None)
        states = all_states(definition)  # a parallel block's steps are in its branches
        for step in saga.steps:
            task = states[step_state(step)]
            assert task["TimeoutSeconds"] == max(1, seconds_ceil(step.timeout_ms))
            assert task["ResultPath"] == f"$.steps.{step.name}"
            assert "Retry" not in task, "a resend is a loop that enters the step again (a fresh deadline)"
            (catch,) = task["Catch"]
            assert (catch["ErrorEquals"], catch["ResultPath"]) == (["States.ALL"], "$.error"), "AttemptsExhausted too"
            caught = states[catch["Next"]]
            resend = [c for c in caught.get("Choices", []) if c["Next"] == f"resend {step.name}"]
            if step.policy.attempts == 1:
                assert resend == []
                continue
            assert resend == [
                {
                    "Variable": f"$.resends.{step.name}.count",
                    "NumericLessThan": step.policy.attempts - 1,
                    "Next": f"resend {step.name}",
                }
            ]
            answers = [c["StringEquals"] for c in caught["Choices"][: caught["Choices"].index(resend[0])]]
            assert answers == [r.name for r in step.action.command.failures] + ["InvalidMessage"], "never resent"
            wait = states[f"wait to resend {step.name}"]
            assert (wait["Type"], wait["Next"]) == ("Wait", step_state(step))
            backoff = step.policy.backoff
            table = states[f"resend {step.name}"]["Parameters"]["wait.$"]
            if backoff is not None:
                delays = [seconds_ceil(backoff.delay_ms(k)) for k in range(1, step.policy.attempts)]
                assert table.startswith(f"States.ArrayGetItem(States.Array({', '.join(map(str, delays))})")


def _definition(g: Generated, saga: str) -> Json:
    (found,) = [s for s in g.flow.sagas if s.name == saga]
    return _props(g, (saga_base(found.name) + "StateMachine"))["Definition"]  # type: ignore[no-any-return]


def test_outcome_fields_come_from_the_trigger_the_replies_and_the_fills() -> None:
    g = generate(next(s for s in EDGE_SPECS if s.stem == "fulfilment"))
    states = _definition(g, "Dispatch")["States"]
    completed = states["emit ParcelShipped"]["Parameters"]["Entries"][0]["Detail"]
    assert completed["payload"] == {
        "parcel_id.$": "$.trigger.payload.parcel_id",
        "carrier.$": "$.steps.ship.payload.carrier",
        "tracking.$": "$.steps.ship.payload.tracking",
    }, "the optional `note` nobody supplies is left out"
    assert completed["envelope"]["causation_id.$"] == "$.trigger.envelope.message_id"
    abandoned = [
        e["Parameters"]["Entries"][0]["Detail"]["payload"]["why.$"]
        for name, e in states.items()
        if name.startswith("emit ParcelAbandoned")
    ]
    assert sorted(abandoned) == ["$.failure.error", "$.failure.payload.why"], "`why = failure.why or failure.error`"
    assert [c["StringEquals"] for c in states["failed pick"]["Choices"]] == ["NotInStock"]
    assert states["pick replied NotInStock"]["Parameters"]["payload.$"] == "States.StringToJson($.error.Cause)"
    assert states["step pick"]["Parameters"]["MessageGroupId.$"] == "States.Format('{}', $.trigger.payload.warehouse)"
    assert "undo check" not in states, "a readonly step has nothing to undo"


# ---- API and outputs --------------------------------------------------------------------------


def test_each_route_checks_its_caller_validates_its_body_and_puts_only_its_event(generated: Generated) -> None:
    flow = generated.flow
    endpoints = [a for s in flow.services for a in s.apis]
    assert ("RestApi" in _resources(generated)) == bool(endpoints)
    expected_auth = {"iam": "AWS_IAM", "jwt": "CUSTOM", "none": "NONE"}
    for api in endpoints:
        base = api_base(api.method, api.path)
        method = _props(generated, base + "Method")
        assert method["HttpMethod"] == api.method
        assert method["AuthorizationType"] == expected_auth[api.auth.kind]
        assert ("AuthorizerId" in method) == (api.auth.kind == "jwt")
        validator = _props(generated, method["RequestValidatorId"]["Ref"])
        assert validator["ValidateRequestBody"] is True
        model = _props(generated, method["RequestModels"]["application/json"]["Ref"])
        assert model["Schema"] == standalone_schema(api.event, api.event.name)
        integration = method["Integration"]
        assert integration["Uri"]["Fn::Sub"].endswith(":events:action/PutEvents")
        assert integration["PassthroughBehavior"] == "NEVER", "a body of another content type is refused, not passed"
        template = integration["RequestTemplates"]["application/json"]["Fn::Sub"][0]
        assert f'"Source": "{flow.name}", "DetailType": "{api.event.name}"' in template
        (statement,) = _statements(_props(generated, base + "Role"))
        assert statement["Condition"]["StringEquals"]["events:detail-type"] == [api.event.name]
    if endpoints:
        stage = _props(generated, "ApiStage")
        (settings,) = stage["MethodSettings"]
        assert settings["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
        assert settings["ThrottlingBurstLimit"] == {"Ref": "ApiThrottlingBurstLimit"}
        access_log = json.loads(stage["AccessLogSetting"]["Format"])
        assert access_log["requestId"] == "$context.requestId"
        assert _props(generated, "ApiAccessLogGroup")["RetentionInDays"] > 0


def test_outputs_name_what_a_deployment_needs(generated: Generated) -> None:
    flow = generated.flow
    outputs = set(generated.template["Outputs"])
    expected = {"EventBusName", "EventBusArn"} | {handler_logical_id(h, "QueueUrl") for h in flow.handlers()}
    expected |= {(saga_base(s.name) + "StateMachine") + "Arn" for s in flow.sagas}
    expected |= {"ApiEndpoint"} if any(s.apis for s in flow.services) else set()
    expected |= {"EventDeliveryDeadLetterQueueUrl"} if plan_of(flow).event_delivery_dlq else set()
    assert outputs == expected


# ---- broken templates fail the same checks ------------------------------------------------------


def _break_next(t: Json) -> str:
    t["Resources"]["CheckoutSagaStateMachine"]["Properties"]["Definition"]["States"]["step charge"][
        "Next"
    ] = "step nowhere"
    return "step nowhere"


def _break_ref(t: Json) -> str:
    t["Resources"]["OrdersCancelOrderFunction"]["Properties"]["Code"]["S3Bucket"] = {"Ref": "CodeBuckett"}
    return "CodeBuckett"


def _break_get_att(t: Json) -> str:
    t["Resources"]["OrdersCancelOrderRule"]["Properties"]["Targets"][0]["Arn"] = {
        "Fn::GetAtt": ["OrdersCancelOrderQueeu", "Arn"]
    }
    return "OrdersCancelOrderQueeu"


def _break_compensation_order(t: Json) -> str:
    states = t["Resources"]["CheckoutSagaStateMachine"]["Properties"]["Definition"]["States"]
    states["no answer from charge"]["Next"] = "undo reserve"
    states["undo reserve"]["Next"] = "undo charge"
    states["undo charge"]["Next"] = "compensated: which event"
    return "expected ['undo charge', 'undo reserve']"


def _break_reachability(t: Json) -> str:
    t["Resources"]["CheckoutSagaStateMachine"]["Properties"]["Definition"]["States"]["forgotten"] = {
        "Type": "Pass",
        "End": True,
    }
    return "`forgotten` is unreachable"


def _break_substitution(t: Json) -> str:
    del t["Resources"]["CheckoutSagaStateMachine"]["Properties"]["DefinitionSubstitutions"]["PaymentsChargeQueue"]
    return "PaymentsChargeQueue"


def _break_protocol(t: Json) -> str:
    t["Resources"]["CheckoutSagaStateMachine"]["Properties"]["Definition"]["States"]["step reserve"]["Parameters"][
        "MessageBody"
    ]["kind"] = "command"
    return "adapter protocol"


BREAKERS = [
    _break_next,
    _break_ref,
    _break_get_att,
    _break_compensation_order,
    _break_reachability,
    _break_substitution,
    _break_protocol,
]


@pytest.fixture(scope="module")
def sketch() -> Generated:
    return generate(SKETCH)


@pytest.mark.slow
@pytest.mark.parametrize("breaker", BREAKERS, ids=lambda b: b.__name__.removeprefix("_break_"))
def test_a_broken_template_fails_the_checks(sketch: Generated, breaker: Any) -> None:
    broken = sketch.template
    needle = breaker(broken)
    problems = all_problems(sketch.flow, broken)
    assert any(needle in p for p in problems), problems


def test_a_compensation_after_the_pivot_fails_the_checks() -> None:
    from flowgen_design.codegen.targets.cloudformation.verify import flow_problems

    g = generate(next(s for s in EDGE_SPECS if s.stem == "fulfilment"))
    broken = g.template
    states = broken["Resources"]["DispatchSagaStateMachine"]["Properties"]["Definition"]["States"]
    states["no answer from notify"]["Next"] = "undo pick"
    assert flow_problems(g.flow, g.template) == []
    assert any("runs after the pivot" in p for p in flow_problems(g.flow, broken))


def test_the_verifier_runs_on_template_files(
    sketch: Generated, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(sketch.text)
    broken = sketch.template
    _break_next(broken)
    bad.write_text(json.dumps(broken))
    assert verify_main([str(good)]) == 0
    assert verify_main([str(bad)]) == 1
    assert "step nowhere" in capsys.readouterr().out


# ---- golden output and determinism ----------------------------------------------------------


def test_template_matches_golden(generated: Generated, update_golden: bool) -> None:
    stem = Path(generated.flow.path).stem
    golden = GOLDEN / stem / "template.json"
    if update_golden:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(generated.text)
    assert golden.exists(), f"no golden file {golden}: run pytest with --update-golden"
    assert (
        generated.text == golden.read_text()
    ), f"{golden} is stale: review the diff, then run pytest with --update-golden"


def _generate_with_seed(seed: str, out: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": seed}
    spec = SKETCH.relative_to(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "flowgen_design", "generate", str(spec), "-o", str(out), "-t", "cloudformation"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return (out / "infra" / "checkout" / "template.json").read_text()


def test_output_is_identical_across_hash_seeds(tmp_path: Path) -> None:
    assert _generate_with_seed("1", tmp_path / "a") == _generate_with_seed("2", tmp_path / "b")


def test_cli_writes_the_template_and_then_finds_it_up_to_date(flowgen: Runner, tmp_path: Path) -> None:
    written = flowgen("generate", str(SKETCH), "-o", str(tmp_path), "-t", "cloudformation")
    assert written.returncode == 0, written.stderr
    template = json.loads((tmp_path / "infra" / "checkout" / "template.json").read_text())
    assert "AWS::Serverless-2016-10-31" not in json.dumps(template.get("Transform", ""))
    checked = flowgen("generate", str(SKETCH), "-o", str(tmp_path), "-t", "cloudformation", "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("spec", all_specs(), ids=spec_id)
def test_the_template_built_in_parts_is_the_one_built_whole(spec: Path) -> None:
    """`generate` writes the template from its groups' entries (`parts.py`), which an edit takes back
    from the last run; the plain road builds it whole and writes it with `Template.render`."""
    from flowgen_design.codegen.targets.cloudformation import build_template
    from tests.cloudformation_support import load_flow

    assert generate(spec).text == build_template(load_flow(spec)).render()
