"""Environments and data safety in the template of every bundled and test spec: the `Stage`
parameter and the tags, retain policies on everything stateful, a dead-letter queue and retry
policy on every rule target, the event archive; cfn-lint with nothing to say (informational
rules included) and checkov failing only what docs/security.md explains.

What moto runs is in tests/test_cloudformation_retain.py; these prove shape.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from flowgen_design.codegen.aws.plan import RULE_TARGET_ATTEMPTS, RULE_TARGET_MAX_AGE_SECONDS, plan_of
from flowgen_design.codegen.targets.cloudformation.safety import RETAINED_TYPES
from flowgen_design.codegen.targets.cloudformation.stage import STAGE, TAG_PREFIX, TAG_STYLE
from tests.cloudformation_support import REGION, Generated, all_specs, generate, spec_id
from tests.conftest import ROOT

Json = dict[str, Any]
SECURITY = ROOT / "docs" / "security.md"


TESTS = ROOT / "tests"
SPECS = [
    *all_specs(),
    *sorted((TESTS / "specs").glob("*.flow")),
    TESTS / "lambda_adapters.flow",
    TESTS / "asyncapi_every_type.flow",
]
"""Every bundled spec and every spec the tests generate from."""


@pytest.fixture(scope="module", params=SPECS, ids=spec_id)
def generated(request: pytest.FixtureRequest) -> Generated:
    return generate(request.param)


def _resources(g: Generated) -> Json:
    return g.template["Resources"]  # type: ignore[no-any-return]


# ---- cfn-lint's own knowledge ------------------------------------------------------------


@cache
def taggable(kind: str) -> str | None:
    """How cfn-lint's schema says `kind` takes `Tags`: "list", "map", or None (not at all)."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, kind).schema
    tags = schema["properties"].get("Tags")
    if tags is None:
        return None
    if "$ref" in tags:
        tags = schema["definitions"][tags["$ref"].rsplit("/", 1)[-1]]
    return "list" if tags.get("type") == "array" else "map"


def test_the_tag_styles_are_cfn_lints() -> None:
    for kind, style in TAG_STYLE.items():
        assert taggable(kind) == style, kind


@cache
def stateful_types() -> frozenset[str]:
    """The resource types cfn-lint's I3011 holds to explicit deletion policies, and ours."""
    import cfnlint.data.AdditionalSpecs
    from cfnlint.helpers import load_resource

    spec = load_resource(cfnlint.data.AdditionalSpecs, "StatefulResources.json")
    return frozenset(spec["ResourceTypes"]) | RETAINED_TYPES


def lint_everything(text: str) -> list[str]:
    """Every cfn-lint finding, informational ones included, as readable lines."""
    from cfnlint.api import ManualArgs, lint

    matches = lint(text, regions=[REGION], config=ManualArgs(include_checks=["I"], regions=[REGION]))
    return [f"{m.rule.id} {m.message} (line {m.linenumber})" for m in matches]


# ---- environments ------------------------------------------------------------------------


def test_the_stage_is_a_parameter_in_every_name_flowgen_sets(generated: Generated) -> None:
    t = generated.template
    assert t["Parameters"][STAGE]["Default"] == "dev"
    name = {"Fn::Sub": generated.flow.name + "-${Stage}"}
    assert _resources(generated)["EventBus"]["Properties"]["Name"] == name
    if "RestApi" in _resources(generated):
        assert _resources(generated)["RestApi"]["Properties"]["Name"] == name
    named = [rid for rid, r in _resources(generated).items() if "Name" in r["Properties"]]
    # The JWT authorizer's name is required and unique only within its own REST API.
    assert sorted(named) == sorted(
        rid for rid in ("EventBus", "RestApi", "JwtAuthorizer") if rid in _resources(generated)
    )


def _tags(resource: Json) -> dict[str, Any]:
    tags = resource["Properties"]["Tags"]
    return {t["Key"]: t["Value"] for t in tags} if isinstance(tags, list) else dict(tags)


def test_every_taggable_resource_is_tagged_with_flow_stage_version_and_its_owner(generated: Generated) -> None:
    flow, plan = generated.flow, plan_of(generated.flow)
    owners = {r.logical_id: ("service", h.handler.service) for h in plan.handlers for r in h.resources()}
    owners.update((r.logical_id, ("service", p.endpoint.service)) for p in plan.routes for r in p.resources())
    owners.update((r.logical_id, ("saga", p.saga.name)) for p in plan.sagas for r in p.resources())
    for rid, resource in _resources(generated).items():
        style = taggable(resource["Type"])
        assert TAG_STYLE.get(resource["Type"]) == style, f"{resource['Type']}: list it in stage.TAG_STYLE as {style}"
        if style is None:
            continue
        expected = {
            TAG_PREFIX + "flow": flow.name,
            TAG_PREFIX + "stage": {"Ref": STAGE},
            TAG_PREFIX + "spec-version": flow.version,
        }
        if rid in owners:
            kind, name = owners[rid]
            expected[TAG_PREFIX + kind] = name
        assert _tags(resource) == expected, rid


# ---- data safety -------------------------------------------------------------------------


def test_every_stateful_resource_is_retained_on_delete_and_on_replacement(generated: Generated) -> None:
    stateful = [rid for rid, r in _resources(generated).items() if r["Type"] in stateful_types()]
    assert plan_of(generated.flow).idempotency_table is None or "IdempotencyTable" in stateful
    for rid in stateful:
        resource = _resources(generated)[rid]
        assert (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")) == ("Retain", "Retain"), rid
    table = _resources(generated).get("IdempotencyTable")
    if table is not None:
        assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_every_rule_target_has_a_retry_policy_and_the_dead_letter_queue_only_rules_may_fill(
    generated: Generated,
) -> None:
    resources = _resources(generated)
    rules = sorted(rid for rid, r in resources.items() if r["Type"] == "AWS::Events::Rule")
    assert bool(rules) == ("EventDeliveryDeadLetterQueue" in resources)
    for rid in rules:
        for target in resources[rid]["Properties"]["Targets"]:
            assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["EventDeliveryDeadLetterQueue", "Arn"]}}
            assert target["RetryPolicy"] == {
                "MaximumRetryAttempts": RULE_TARGET_ATTEMPTS,
                "MaximumEventAgeInSeconds": RULE_TARGET_MAX_AGE_SECONDS,
            }
    if rules:
        dlq = resources["EventDeliveryDeadLetterQueue"]["Properties"]
        assert "FifoQueue" not in dlq, "EventBridge sends to a standard queue only"
        (statement,) = resources["EventDeliveryDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
        assert (
            statement["Principal"] == {"Service": "events.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
        )
        sources = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
        assert sources == [{"Fn::GetAtt": [rule, "Arn"]} for rule in rules]


def test_the_archive_is_there_exactly_when_the_spec_declares_one(generated: Generated) -> None:
    archive = generated.flow.archive
    resource = _resources(generated).get("EventArchive")
    assert (resource is None) == (archive is None)
    if archive is not None and resource is not None:
        assert resource["Properties"]["RetentionDays"] == archive.retention_days
        assert resource["Properties"]["SourceArn"] == {"Fn::GetAtt": ["EventBus", "Arn"]}
        assert resource["Metadata"]["flowgen"]["line"] == archive.span.line


def test_a_test_spec_declares_an_archive() -> None:
    assert any(generate(spec).flow.archive is not None for spec in SPECS)


# ---- validators --------------------------------------------------------------------------


@pytest.mark.slow
def test_cfn_lint_has_nothing_to_say_not_even_informational(generated: Generated) -> None:
    assert lint_everything(generated.text) == []


def checkov() -> str:
    """The checkov of tools/checkov/.venv (or $FLOWGEN_CHECKOV): a missing one fails the test."""
    path = Path(os.environ.get("FLOWGEN_CHECKOV", ROOT / "tools" / "checkov" / ".venv" / "bin" / "checkov"))
    if not path.is_file():
        pytest.fail(f"checkov is missing at {path}: run scripts/test, which installs it into tools/checkov/.venv")
    return str(path)


def accepted_failures() -> set[tuple[str, str]]:
    """(check, resource type) of every row of the table in docs/security.md."""
    rows = re.findall(r"^\| (CKV\w+) \| (AWS::\S+) \|", SECURITY.read_text(), flags=re.M)
    return set(rows)


@pytest.mark.slow
def test_checkov_fails_only_what_docs_security_explains(tmp_path: Path) -> None:
    for spec in SPECS:
        folder = tmp_path / spec_id(spec)
        folder.mkdir()
        (folder / "template.json").write_text(generate(spec).text)
    run = subprocess.run(
        [checkov(), "-d", str(tmp_path), "--framework", "cloudformation", "-o", "json", "--quiet", "--compact"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.stdout.strip(), run.stderr
    reports = json.loads(run.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    assert sum(r["summary"]["resource_count"] for r in reports) > 100, "checkov read the templates"
    assert all(r["summary"]["parsing_errors"] == 0 for r in reports)
    failed = {
        (f["check_id"], f["resource"].split(".")[0], f"{f['file_path']}: {f['resource']}")
        for r in reports
        for f in r["results"]["failed_checks"]
    }
    accepted = accepted_failures()
    unexplained = sorted(f"{check} {where}" for check, kind, where in failed if (check, kind) not in accepted)
    assert not unexplained, "fix these or explain them in docs/security.md:\n" + "\n".join(unexplained)
