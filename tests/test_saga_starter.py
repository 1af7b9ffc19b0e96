"""The saga starter starts one execution per trigger event, however often the event is delivered.

Runs the starter module as generated (`codegen/templates/saga_starter.py.txt`,
through the `lambda` target) against moto's Step Functions, with the generated
state machine of specs/checkout.flow.
"""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from flowgen_design.codegen.options import GenerateOptions
from flowgen_design.codegen.targets import lambda_adapters
from flowgen_design.codegen.targets.cloudformation.states import definition
from tests.cloudformation_support import load_flow
from tests.conftest import ROOT
from tests.saga_world import payload_of

REGION = "us-east-1"
FLOW = load_flow(ROOT / "specs" / "checkout.flow")
SAGA = FLOW.sagas[0]


def _starter() -> types.ModuleType:
    files = lambda_adapters.build(FLOW, GenerateOptions(out_dir=Path("unused")))
    (source,) = [f.content for f in files if f.path.name == "saga_starter.py"]
    module = types.ModuleType("saga_starter")
    exec(compile(source, "saga_starter.py", "exec"), module.__dict__)
    return module


def _record(body: Any, message_id: str) -> dict[str, Any]:
    return {"messageId": message_id, "body": body if isinstance(body, str) else json.dumps(body)}


def _event(event_id: str, detail: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "time": "2026-01-01T00:00:00Z",
        "source": "checkout",
        "detail-type": "OrderPlaced",
        "detail": detail,
    }


@pytest.fixture()
def machine(monkeypatch: pytest.MonkeyPatch) -> Any:
    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name=REGION)
        body = json.dumps(definition(FLOW, SAGA, lambda h: "queue", "bus"))
        arn = sfn.create_state_machine(name="checkout", definition=body, roleArn="arn:aws:iam::123456789012:role/r")[
            "stateMachineArn"
        ]
        monkeypatch.setenv("STATE_MACHINE_ARN", arn)
        monkeypatch.setenv("SAGA_NAME", SAGA.name)
        monkeypatch.setenv("FLOW_VERSION", FLOW.version)
        yield sfn, arn


def test_a_duplicate_trigger_starts_one_execution(machine: Any) -> None:
    sfn, arn = machine
    starter = _starter()
    envelope = {
        "message_id": "m-1",
        "correlation_id": "c-1",
        "causation_id": None,
        "saga_instance": None,
        "schema_version": FLOW.version,
        "time": "2026-01-01T00:00:00Z",
    }
    event = _event("eb-1", {"envelope": envelope, "payload": payload_of(SAGA.trigger)})
    client = boto3.client("stepfunctions", region_name=REGION)
    first = starter.handler({"Records": [_record(event, "r-1")]}, client=client)
    again = starter.handler({"Records": [_record(event, "r-2"), _record(event, "r-3")]}, client=client)
    assert first == again == {"batchItemFailures": []}
    (execution,) = sfn.list_executions(stateMachineArn=arn)["executions"]
    assert execution["name"] == starter.execution_name("m-1", SAGA.name)
    started = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
    assert started == {"trigger": {"envelope": envelope, "payload": payload_of(SAGA.trigger)}}


def test_a_bare_payload_gets_an_envelope_from_the_eventbridge_event(machine: Any) -> None:
    sfn, arn = machine
    starter = _starter()
    client = boto3.client("stepfunctions", region_name=REGION)
    event = _event("eb-2", payload_of(SAGA.trigger))
    assert starter.handler({"Records": [_record(event, "r-1"), _record(event, "r-2")]}, client=client) == {
        "batchItemFailures": []
    }
    (execution,) = sfn.list_executions(stateMachineArn=arn)["executions"]
    trigger = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])["trigger"]
    assert trigger["envelope"]["message_id"] == trigger["envelope"]["correlation_id"] == "eb-2"
    assert trigger["envelope"]["schema_version"] == FLOW.version
    assert trigger["payload"] == payload_of(SAGA.trigger)


def test_a_record_that_is_not_an_event_is_acknowledged_and_a_failed_start_is_retried(machine: Any) -> None:
    starter = _starter()

    class Broken:
        exceptions = boto3.client("stepfunctions", region_name=REGION).exceptions

        def start_execution(self, **_: Any) -> None:
            raise RuntimeError("throttled")

    records = [_record("not json", "bad"), _record(_event("eb-3", {}), "retry-me")]
    assert starter.handler({"Records": records}, client=Broken()) == {
        "batchItemFailures": [{"itemIdentifier": "retry-me"}]
    }


def test_the_starter_counts_each_batchs_outcomes_in_one_emf_blob(machine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Started, invalid, duplicate, failed: one blob per batch in the flow's namespace (docs/operations.md)."""
    monkeypatch.setenv("FLOW_NAME", FLOW.name)
    starter = _starter()
    blobs: list[dict[str, Any]] = []
    starter.__dict__["EMIT_METRICS"] = blobs.append  # the sink tests replace
    client = boto3.client("stepfunctions", region_name=REGION)

    class Refusing:
        """Step Functions refusing a second start of a finished execution, then failing outright."""

        exceptions = client.exceptions
        calls = 0

        def start_execution(self, **_: Any) -> None:
            self.calls += 1
            if self.calls == 1:
                raise client.exceptions.ExecutionAlreadyExists({"Error": {"Code": "ExecutionAlreadyExists"}}, "Start")
            raise RuntimeError("throttled")

    events = [_record(_event(f"eb-{i}", payload_of(SAGA.trigger)), f"r-{i}") for i in (5, 6)]
    assert starter.handler({"Records": [*events, _record("not json", "bad")]}, client=client) == {
        "batchItemFailures": []
    }
    assert starter.handler({"Records": events}, client=Refusing()) == {"batchItemFailures": [{"itemIdentifier": "r-6"}]}
    assert [_counts(b) for b in blobs] == [
        {"SagasStarted": 2, "InvalidMessages": 1},
        {"DuplicatesSkipped": 1, "Failures": 1},
    ]
    (directive,) = blobs[0]["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == FLOW.name
    assert {n: blobs[0][n] for n in directive["Dimensions"][0]} == {"service": SAGA.name, "handler": "starter"}


def _counts(blob: dict[str, Any]) -> dict[str, float]:
    """An EMF blob's metrics summed as CloudWatch does (several values of one metric come as a list)."""
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    values = {m["Name"]: blob[m["Name"]] for m in directive["Metrics"]}
    return {name: sum(v) if isinstance(v, list) else v for name, v in values.items()}
