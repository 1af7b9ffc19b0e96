"""Your deployment settings (`infra/<flow>/deploy.toml`) and extra resources
(`infra/<flow>/overrides.json`): created once, never overwritten, merged into the template
on every `generate`, and their mistakes reported at their line (FLOW331-FLOW333) with
nothing written. The merged template passes cfn-lint (informational findings included) and
deploys into moto with the extra resources and settings in place.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowgen_design.cli import main
from flowgen_design.codegen.aws.ids import handler_base
from flowgen_design.codegen.aws.plan import plan_of
from flowgen_design.dsl.model import Flow
from tests.cloudformation_support import load_flow
from tests.conftest import ROOT

SPEC = ROOT / "specs" / "checkout.flow"
LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:shared"
Json = dict[str, Any]

SETTINGS = """\
# mine: flowgen must keep every byte of this file
[functions]
memory = 256

[services.Payments]
architecture = "arm64"
environment = { PAYMENTS_TABLE = { Ref = "PaymentsLedger" }, PROVIDER_URL = "https://pay.example.com" }
iam_statements = [
  { Effect = "Allow", Action = ["dynamodb:GetItem", "dynamodb:PutItem"], Resource = { "Fn::GetAtt" = ["PaymentsLedger", "Arn"] } },
]

[handlers."Payments.charge"]
memory = 1024
reserved_concurrency = 5
event_source_concurrency = 3
layers = ["arn:aws:lambda:us-east-1:123456789012:layer:shared:3"]
"""

OVERRIDES = {
    "Resources": {
        "PaymentsLedger": {
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": "payment_id", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "payment_id", "KeyType": "HASH"}],
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            },
        }
    },
    "Outputs": {"PaymentsLedgerName": {"Value": {"Ref": "PaymentsLedger"}, "Description": "the payments ledger"}},
}


def generate(out: Path, *extra: str) -> int:
    return main(["generate", str(SPEC), "--out", str(out), "--target", "cloudformation", *extra])


def template(out: Path) -> Json:
    loaded: Json = json.loads((out / "infra/checkout/template.json").read_text())
    return loaded


def customise(out: Path) -> None:
    (out / "infra/checkout/deploy.toml").write_text(SETTINGS)
    (out / "infra/checkout/overrides.json").write_text(json.dumps(OVERRIDES, indent=2) + "\n")


@pytest.fixture
def out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(ROOT)
    folder = tmp_path / "generated"
    assert generate(folder) == 0
    return folder


def _props(t: Json, rid: str) -> Json:
    return t["Resources"][rid]["Properties"]  # type: ignore[no-any-return]


def test_the_starter_files_change_nothing_in_the_template(out: Path) -> None:
    from flowgen_design.codegen.targets.cloudformation import build_template

    starter = (out / "infra/checkout/deploy.toml").read_text()
    assert "yours to edit" in starter and '"Payments.charge"' in starter
    assert json.loads((out / "infra/checkout/overrides.json").read_text()) == {
        "Parameters": {},
        "Conditions": {},
        "Resources": {},
        "Outputs": {},
    }
    assert template(out) == json.loads(build_template(load_flow(SPEC)).render())


def test_settings_and_overrides_survive_regeneration_and_reach_the_template(out: Path) -> None:
    customise(out)
    written = {name: (out / "infra/checkout" / name).read_bytes() for name in ("deploy.toml", "overrides.json")}
    for _ in range(2):
        assert generate(out) == 0
        assert {name: (out / "infra/checkout" / name).read_bytes() for name in written} == written
        t = template(out)
        charge, refund = handler_base("Payments", "charge"), handler_base("Payments", "refund")
        assert _props(t, charge + "Function")["MemorySize"] == 1024
        assert _props(t, refund + "Function")["MemorySize"] == 256
        assert _props(t, refund + "Function")["Architectures"] == ["arm64"]
        assert _props(t, charge + "Function")["ReservedConcurrentExecutions"] == 5
        assert _props(t, charge + "Function")["Layers"] == ["arn:aws:lambda:us-east-1:123456789012:layer:shared:3"]
        assert _props(t, charge + "EventSourceMapping")["ScalingConfig"] == {"MaximumConcurrency": 3}
        variables = _props(t, charge + "Function")["Environment"]["Variables"]
        assert variables["PAYMENTS_TABLE"] == {"Ref": "PaymentsLedger"} and "EVENT_BUS_NAME" in variables
        policies = {p["PolicyName"]: p for p in _props(t, charge + "Role")["Policies"]}
        (statement,) = policies["deploy-settings"]["PolicyDocument"]["Statement"]
        assert statement["Resource"] == {"Fn::GetAtt": ["PaymentsLedger", "Arn"]}
        orders = plan_of(load_flow(SPEC)).handlers[0]
        assert orders.handler.service == "Orders"
        assert _props(t, orders.function.logical_id)["MemorySize"] == 256  # [functions] reaches every function
        assert "Architectures" not in _props(t, orders.function.logical_id)
        ledger = t["Resources"]["PaymentsLedger"]
        assert ledger["Metadata"]["flowgen"]["spec"].endswith("infra/checkout/overrides.json")
        assert ledger["Metadata"]["flowgen"]["line"] == 3
        assert t["Outputs"]["PaymentsLedgerName"]["Value"] == {"Ref": "PaymentsLedger"}
    assert generate(out, "--check") == 0


def test_an_edit_of_the_settings_is_never_skipped_by_the_unchanged_run(out: Path) -> None:
    customise(out)
    assert generate(out) == 0
    (out / "infra/checkout/deploy.toml").write_text(SETTINGS.replace("memory = 1024", "memory = 2048"))
    assert generate(out, "--check") == 1
    assert generate(out) == 0
    assert _props(template(out), handler_base("Payments", "charge") + "Function")["MemorySize"] == 2048


MISTAKES = [
    ("deploy.toml", '[handlers."Payments.charg"]\nmemory = 512\n', "deploy.toml:1:11: error[FLOW331]", "did you mean"),
    ("deploy.toml", "[functions]\nmemory = 64\n", "deploy.toml:2:1: error[FLOW331]", "greater than or equal to 128"),
    ("deploy.toml", "[functions]\ncolour = 'blue'\n", "deploy.toml:2:1: error[FLOW331]", "colour"),
    ("deploy.toml", "[functions\n", "deploy.toml:1:", "not valid TOML"),
    ("deploy.toml", "[functions]\nenvironment = { A = { B = 1 } }\n", "deploy.toml:2:17: error[FLOW331]", "`{ Ref"),
    ("deploy.toml", "[functions]\nlayers = ['my-layer']\n", "deploy.toml:2:1: error[FLOW331]", "functions.layers.0"),
    (
        "deploy.toml",
        "[functions]\nenvironment = { EVENT_BUS_NAME = 'mine' }\n",
        "deploy.toml:2:17: error[FLOW331]",
        "set by flowgen",
    ),
    ("deploy.toml", "[functions]\nenvironment = { AWS_REGION = 'x' }\n", "deploy.toml:2:1: error[FLOW331]", "Lambda"),
    (
        "deploy.toml",
        "[functions]\nreserved_concurrency = 2\nevent_source_concurrency = 5\n",
        "deploy.toml:3:1: error[FLOW331]",
        "above reserved_concurrency 2",
    ),
    (
        "deploy.toml",
        "[functions]\nlayers = [" + ", ".join(f"'{LAYER}:{n}'" for n in range(6)) + "]\n",
        "deploy.toml:2:1: error[FLOW331]",
        "at most 5",
    ),
    (
        "deploy.toml",
        "[functions]\niam_statements = [{ Effect = 'Allow', Action = 's3:GetObject', Resource = { Ref = 'Nope' } }]\n",
        "deploy.toml:2:",
        "refers to `Nope`",
    ),
    (
        "overrides.json",
        '{\n  "Resources": {\n    "EventBus": {"Type": "AWS::SNS::Topic"}\n  }\n}\n',
        "overrides.json:3:5: error[FLOW332]",
        "already uses",
    ),
    (
        "overrides.json",
        '{\n  "Parameters": {\n    "Stage": {"Type": "String"}\n  }\n}\n',
        "overrides.json:3:5",
        "FLOW332",
    ),
    ("overrides.json", '{\n  "Resources": {\n', "overrides.json:2:1: error[FLOW333]", "not valid JSON"),
    (
        "overrides.json",
        '{\n  "Resources": {\n    "Mine": {"Type": "AWS::SNS::Topic", "DependsOn": "Gone"}\n  }\n}\n',
        "overrides.json:3:5: error[FLOW333]",
        "DependsOn unknown `Gone`",
    ),
    ("overrides.json", '{"Resource": {}}\n', "overrides.json:1:2: error[FLOW333]", "Extra inputs"),
]


@pytest.mark.parametrize(("name", "text", "where", "what"), MISTAKES)
def test_a_mistake_is_located_and_nothing_is_written(
    out: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, where: str, what: str
) -> None:
    before = (out / "infra/checkout/template.json").read_bytes()
    (out / "infra/checkout" / name).write_text(text)
    capsys.readouterr()
    assert generate(out) == 1
    err = capsys.readouterr().err
    assert where in err and what in err, err
    assert "Traceback" not in err and "nothing generated" in err
    assert (out / "infra/checkout/template.json").read_bytes() == before
    assert (out / "infra/checkout" / name).read_text() == text


@pytest.mark.slow
def test_the_merged_template_passes_cfn_lint_with_informational_findings(out: Path) -> None:
    from tests.test_cloudformation_ops import lint_everything

    customise(out)
    assert generate(out) == 0
    assert lint_everything(json.dumps(template(out))) == []


# ---- whatever is in your files, a located diagnostic or a template, never a traceback --------

_SCALARS = st.one_of(
    st.integers(-5, 20000), st.booleans(), st.sampled_from(["arm64", "x86_64", "*", "Payments.charge", LAYER + ":1"])
)
_KEYS = st.sampled_from(
    ["functions", "services", "handlers", "Payments", "Payments.charge", "memory", "architecture", "layers"]
    + ["environment", "iam_statements", "event_source_concurrency", "reserved_concurrency", "Effect", "Action"]
    + ["Resource", "Ref", "Fn::GetAtt", "EventBus", "Resources", "Outputs", "Type", "Properties", "X"]
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=12,
)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.dictionaries(_KEYS, _VALUES, max_size=4), st.dictionaries(_KEYS, _VALUES, max_size=3))
def test_any_settings_and_overrides_give_a_template_or_located_diagnostics(
    settings_data: dict[str, Any], overrides_data: dict[str, Any]
) -> None:
    from flowgen_design.codegen.targets.cloudformation import build_template
    from flowgen_design.codegen.targets.cloudformation.customise import customised
    from flowgen_design.codegen.targets.cloudformation.userfiles import UserFileError

    flow = _flow()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        (out / "infra/checkout").mkdir(parents=True)
        toml = "".join(f"{json.dumps(k)} = {_toml_value(v)}\n" for k, v in settings_data.items())
        (out / "infra/checkout/deploy.toml").write_text(toml)
        (out / "infra/checkout/overrides.json").write_text(json.dumps(overrides_data, indent=1))
        try:
            merged = customised(build_template(flow), plan_of(flow), out)
        except UserFileError as err:
            assert err.diagnostics
            for d in err.diagnostics:
                assert d.code in ("FLOW331", "FLOW332", "FLOW333") and d.span.line >= 1 and d.span.column >= 1
                assert d.span.file.endswith(("deploy.toml", "overrides.json"))
        else:
            assert merged is None or merged["Resources"]


@cache
def _flow() -> Flow:
    return load_flow(SPEC)


@pytest.mark.slow
def test_package_builds_each_function_for_the_architecture_your_settings_give_it(tmp_path: Path) -> None:
    """`architecture` in deploy.toml reaches `flowgen package`: those functions get an arm64 zip."""
    from tests.conftest import run_flowgen

    out, dist, spec = tmp_path / "generated", tmp_path / "dist", str(SPEC.relative_to(ROOT))
    targets = ("-t", "python", "-t", "lambda", "-t", "cloudformation")
    assert run_flowgen("generate", spec, "--out", str(out), *targets, cwd=ROOT).returncode == 0
    (out / "infra/checkout/deploy.toml").write_text('[services.Payments]\narchitecture = "arm64"\n')
    assert run_flowgen("generate", spec, "--out", str(out), *targets, cwd=ROOT).returncode == 0
    result = run_flowgen("package", spec, "--out", str(out), "--dist", str(dist), cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    packaged = json.loads((dist / "checkout/template.json").read_text())
    for rid, resource in packaged["Resources"].items():
        if resource["Type"] == "AWS::Lambda::Function":
            arm = rid.startswith("Payments")
            assert resource["Properties"]["Code"] == ("python3.12-arm64.zip" if arm else "python3.12-x86_64.zip"), rid
    assert sorted(p.name for p in (dist / "checkout").glob("*.zip")) == [
        "python3.12-arm64.zip",
        "python3.12-x86_64.zip",
    ]


_EMPTY_OVERRIDES = json.dumps({"Parameters": {}, "Conditions": {}, "Resources": {}, "Outputs": {}})


@pytest.mark.parametrize(
    ("settings_text", "overrides_text", "nothing"),
    [
        (None, None, True),
        ("# only comments\n\n# [functions]\n# memory = 256\n", _EMPTY_OVERRIDES, True),
        ("", "{}", True),
        ("", "  \n", True),
        ("", '{"Mappings": {}}', True),
        ("[functions]\n", "{}", False),  # an empty table is a setting: the validating road reads it
        ("[functions]\nmemory = 256\n", "{}", False),
        ("", '{"Resources": {"Extra": {"Type": "AWS::SNS::Topic"}}}', False),
        ("", '{"Unknown": {}}', False),  # a mistake: the validating road reports it
        ("", "[]", False),
        ("memory = ", "{}", False),  # not TOML: reported, with its position, by the validating road
        ("", "{", False),
    ],
)
def test_files_that_add_nothing_are_known_without_validating_them(
    settings_text: str | None, overrides_text: str | None, nothing: bool
) -> None:
    from flowgen_design.codegen.targets.cloudformation.starters import adds_nothing

    assert adds_nothing(settings_text, overrides_text) is nothing


_SECTION_NAMES = st.sampled_from(["Parameters", "Conditions", "Mappings", "Resources", "Outputs"])


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.dictionaries(_KEYS, _VALUES, max_size=3),
    st.dictionaries(_KEYS, _VALUES, max_size=3) | st.dictionaries(_SECTION_NAMES, st.just({}), max_size=5),
)
def test_adding_nothing_is_what_the_validating_road_finds(
    settings_data: dict[str, Any], overrides_data: dict[str, Any]
) -> None:
    """Whenever the light check says the files add nothing, pydantic's validation agrees: no
    setting, no entry, no mistake."""
    from flowgen_design.codegen.targets.cloudformation.deploy import Settings, load_settings
    from flowgen_design.codegen.targets.cloudformation.overrides import Overrides, load_overrides
    from flowgen_design.codegen.targets.cloudformation.starters import adds_nothing
    from flowgen_design.codegen.targets.cloudformation.userfiles import UserFile

    toml = "# comments only, or settings\n" + "".join(
        f"{json.dumps(k)} = {_toml_value(v)}\n" for k, v in settings_data.items()
    )
    overrides = json.dumps(overrides_data)
    if not adds_nothing(toml, overrides):
        return
    settings_file, overrides_file = UserFile("deploy.toml", toml), UserFile("overrides.json", overrides)
    assert load_settings(settings_file, _flow()) == Settings()
    assert load_overrides(overrides_file) == Overrides()
    assert not settings_file.problems and not overrides_file.problems


def test_the_starter_files_of_an_older_spec_add_nothing_either() -> None:
    """The starter lists the handlers the spec had when it was created; later edits of the spec do
    not make it add anything."""
    from flowgen_design.codegen.targets.cloudformation.starters import STARTER, adds_nothing, starter_settings

    assert adds_nothing(starter_settings(_flow()), STARTER)


def test_a_run_whose_files_add_nothing_does_not_import_the_validation(out: Path) -> None:
    code = (
        "import sys\nfrom flowgen_design.cli import main\n"
        f"main(['generate', {str(SPEC)!r}, '--out', {str(out)!r}])\n"
        "print('pydantic' in sys.modules)\n"
    )
    (out / "infra/checkout/template.json").unlink()  # something to build: the target runs
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip().splitlines()[-1] == "False", done.stdout
