"""Helpers for the CloudFormation tests: generate in-process, lint with the real
cfn-lint, and adapt a template to what moto can deploy.

The adaptations live here, never in the product, and each one says why.
"""

from __future__ import annotations

import copy
import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowgen_design.codegen.options import GenerateOptions
from flowgen_design.codegen.targets.cloudformation import build, template_path
from flowgen_design.codegen.targets.cloudformation.verify import flow_problems
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.model import Flow
from tests.conftest import ROOT, SKETCH, example_specs

Json = dict[str, Any]
EDGE_SPECS = sorted((Path(__file__).parent / "cloudformation").glob("*.flow"))
REGION = "us-east-1"


def all_specs() -> list[Path]:
    """Every example spec, the sketch, and the specs written for this target's corner cases."""
    return [*example_specs(), SKETCH, *EDGE_SPECS]


def spec_id(spec: Path) -> str:
    return spec.stem


def load_flow(spec: Path) -> Flow:
    """The checked model, with spans relative to the repository so outputs do not depend on its location."""
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        result = check_file(spec.relative_to(ROOT))
    finally:
        os.chdir(cwd)
    assert result.ok, [d.message for d in result.diagnostics if d.is_error]
    assert result.flow is not None
    return result.flow


@dataclass(frozen=True)
class Generated:
    flow: Flow
    text: str

    @property
    def template(self) -> Json:
        template: Json = json.loads(self.text)
        return template


def generate(spec: Path) -> Generated:
    flow = load_flow(spec)
    files = build(flow, GenerateOptions(out_dir=Path("unused")))
    assert [f.path for f in files if not f.is_user_owned] == [template_path(flow)]  # and your deployment files
    return Generated(flow, files[0].content)


def lint(text: str) -> tuple[list[str], list[str]]:
    """The real cfn-lint on a template: (errors, warnings) as readable lines."""
    from cfnlint.api import lint as cfn_lint

    matches = cfn_lint(text, regions=[REGION])
    lines = [(m.rule.id, f"{m.rule.id} {m.message} (line {m.linenumber})") for m in matches]
    return [line for rule, line in lines if rule.startswith("E")], [
        line for rule, line in lines if not rule.startswith("E")
    ]


def all_problems(flow: Flow, template: Json) -> list[str]:
    """cfn-lint errors plus flowgen's own checks: what a template must pass to be trusted."""
    errors, _ = lint(json.dumps(template))
    return errors + flow_problems(flow, template)


# ---- moto -----------------------------------------------------------------------------

# moto's CloudFormation has no model of these; they are left out of the deployed copy.
# (Their correctness is what cfn-lint checks.) Of a REST API, moto 5.2.6 creates the API, its
# resources, methods (with their authorization type) and deployment, and nothing else.
MOTO_UNSUPPORTED = (
    "AWS::ApiGatewayV2::",
    "AWS::SQS::QueuePolicy",
    "AWS::CloudWatch::Alarm",
    "AWS::ApiGateway::Stage",
    "AWS::ApiGateway::Model",
    "AWS::ApiGateway::RequestValidator",
    "AWS::ApiGateway::GatewayResponse",
    "AWS::ApiGateway::Account",
    "AWS::ApiGateway::Authorizer",
)


def _mentions(node: Any, names: set[str]) -> bool:
    text = json.dumps(node)
    return any(f'"{n}"' in text for n in names)


def for_moto(template: Json) -> Json:
    """A copy of `template` that moto can create, changed only where moto falls short."""
    t = copy.deepcopy(template)
    resources = t["Resources"]
    dropped = {rid for rid, r in resources.items() if r["Type"].startswith(MOTO_UNSUPPORTED)}
    for rid in dropped:
        del resources[rid]
    t["Outputs"] = {k: o for k, o in t.get("Outputs", {}).items() if not _mentions(o, dropped)}
    for rid, resource in resources.items():
        props = resource["Properties"]
        if resource["Type"] == "AWS::StepFunctions::StateMachine":
            # moto reads only DefinitionString and ignores DefinitionSubstitutions.
            props["DefinitionString"] = {
                "Fn::Sub": [json.dumps(props.pop("Definition")), props.pop("DefinitionSubstitutions")]
            }
            # CloudFormation shortens a generated name to the 80 characters a state machine allows; moto does not.
            props["StateMachineName"] = rid[:80]
        if resource["Type"] == "AWS::ApiGateway::Method":
            # moto reads a method's authorization type and integration only; what these point at is left out above.
            for unread in ("RequestValidatorId", "RequestModels", "AuthorizerId"):
                props.pop(unread, None)
        if resource["Type"] == "AWS::SQS::Queue" and props.get("FifoQueue"):
            # CloudFormation names an unnamed FIFO queue `...fifo` itself; moto does not.
            props["QueueName"] = f"{rid}.fifo"
    return t


def upload_code(bucket: str, key: str) -> None:
    """A deployment package for the functions (moto checks that it exists, not what it does)."""
    import boto3

    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=bucket)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("placeholder.py", "")
    s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
