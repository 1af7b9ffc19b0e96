"""The `asyncapi` target: documents the official tools accept, that say what the spec says.

Every document generated from the example specs (plus the sketch and a spec
with every field type) must pass the official AsyncAPI 3.0.0 JSON schema (from
`@asyncapi/specs`, checked with python-jsonschema) and the official parser
(`@asyncapi/parser`, run with node); broken documents must fail both, so the
checks cannot pass vacuously. Golden files pin the exact output.
"""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.model import Flow
from tests.conftest import ROOT, SKETCH, example_specs, node_tools, require_tool, run_flowgen
from tests.golden_files import check_golden, tree

pytestmark = pytest.mark.slow  # runs the official AsyncAPI parser in node

EVERY_TYPE = Path(__file__).resolve().parent / "asyncapi_every_type.flow"
SPECS = [*example_specs(), SKETCH, EVERY_TYPE]
VALIDATE_JS = ROOT / "tools" / "node" / "validate-asyncapi.cjs"


def _id(spec: Path) -> str:
    return spec.stem


def _flow(spec: Path) -> Flow:
    result = check_file(spec)
    assert result.ok and result.flow is not None, [d.message for d in result.diagnostics]
    return result.flow


def generate(spec: Path, out: Path, env: dict[str, str] | None = None) -> Path:
    """Run `flowgen generate -t asyncapi` like a user, from the repository root."""
    result = run_flowgen(
        "generate", str(spec.relative_to(ROOT)), "--out", str(out), "-t", "asyncapi", cwd=ROOT, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def document_path(out: Path, flow: Flow) -> Path:
    return out / "asyncapi" / f"{flow.name}.asyncapi.yaml"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Path]:
    """Each spec's generated output folder, generated once for the module."""
    root = tmp_path_factory.mktemp("asyncapi")
    return {spec: generate(spec, root / spec.stem) for spec in SPECS}


def load(out: Path, spec: Path) -> dict[str, Any]:
    data = yaml.safe_load(document_path(out, _flow(spec)).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


# ---- the official JSON schema (fast) ------------------------------------------------------


@pytest.fixture(scope="module")
def official_schema() -> jsonschema.Draft7Validator:
    path = node_tools() / "node_modules" / "@asyncapi" / "specs" / "schemas" / "3.0.0-without-$id.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def schema_errors(validator: jsonschema.Draft7Validator, document: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator.iter_errors(document)]


@pytest.mark.parametrize("spec", SPECS, ids=_id)
def test_document_matches_the_official_asyncapi_3_schema(
    spec: Path, outputs: dict[Path, Path], official_schema: jsonschema.Draft7Validator
) -> None:
    assert schema_errors(official_schema, load(outputs[spec], spec)) == []


BREAKAGES = {
    "unknown action": lambda d: d["operations"][next(iter(d["operations"]))].update(action="publish"),
    "missing info title": lambda d: d["info"].pop("title"),
    "operation without channel": lambda d: d["operations"][next(iter(d["operations"]))].pop("channel"),
    "payload schema of wrong type": lambda d: d["components"]["messages"][
        next(iter(d["components"]["messages"]))
    ].update(payload={"type": 7}),
    "unknown message field": lambda d: d["components"]["messages"][next(iter(d["components"]["messages"]))].update(
        retries=3
    ),
}


@pytest.mark.parametrize("breakage", BREAKAGES, ids=str)
def test_official_schema_rejects_a_broken_document(
    breakage: str, outputs: dict[Path, Path], official_schema: jsonschema.Draft7Validator
) -> None:
    document = copy.deepcopy(load(outputs[SKETCH], SKETCH))
    BREAKAGES[breakage](document)
    assert schema_errors(official_schema, document) != []


# ---- the official parser (node) -------------------------------------------------------------


def run_parser(*files: Path) -> tuple[int, dict[str, list[dict[str, str]]]]:
    node = require_tool("node")
    env = {"NODE_PATH": str(node_tools() / "node_modules"), "PATH": str(Path(node).parent)}
    result = subprocess.run(
        [node, str(VALIDATE_JS), *map(str, files)], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def errors_of(report: dict[str, list[dict[str, str]]]) -> dict[str, list[str]]:
    return {
        f: [f"{d['code']} at {d['path']}: {d['message']}" for d in ds if d["severity"] == "error"]
        for f, ds in report.items()
    }


@pytest.mark.slow
def test_official_parser_accepts_every_document(outputs: dict[Path, Path]) -> None:
    files = [document_path(outputs[spec], _flow(spec)) for spec in SPECS]
    code, report = run_parser(*files)
    assert errors_of(report) == {str(f): [] for f in files}
    assert code == 0


def _break_reference(d: dict[str, Any]) -> None:
    op = next(iter(d["operations"].values()))
    op["messages"] = [{"$ref": op["channel"]["$ref"] + "/messages/NoSuchMessage"}]


def _message_from_another_channel(d: dict[str, Any]) -> None:
    ops = list(d["operations"].values())
    other = next(o for o in ops if o["channel"] != ops[0]["channel"])
    ops[0]["messages"] = other["messages"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "breakage",
    [_break_reference, _message_from_another_channel, BREAKAGES["unknown action"]],
    ids=["dangling $ref", "message not in channel", "unknown action"],
)
def test_official_parser_rejects_a_broken_document(breakage: Any, outputs: dict[Path, Path], tmp_path: Path) -> None:
    document = copy.deepcopy(load(outputs[SKETCH], SKETCH))
    breakage(document)
    broken = tmp_path / "broken.asyncapi.yaml"
    broken.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    code, report = run_parser(broken)
    assert code == 1
    assert errors_of(report)[str(broken)] != []


# ---- golden files and determinism ---------------------------------------------------------------


@pytest.mark.parametrize("spec", SPECS, ids=_id)
def test_output_matches_golden(spec: Path, outputs: dict[Path, Path], update_golden: bool) -> None:
    check_golden(tree(outputs[spec]), "asyncapi", spec, update_golden)


def test_output_is_identical_across_hash_seeds(tmp_path: Path) -> None:
    first = tree(generate(SKETCH, tmp_path / "a", env={"PYTHONHASHSEED": "1"}))
    second = tree(generate(SKETCH, tmp_path / "b", env={"PYTHONHASHSEED": "2"}))
    assert first == second


def test_document_starts_with_the_generated_header(outputs: dict[Path, Path]) -> None:
    text = document_path(outputs[SKETCH], _flow(SKETCH)).read_text(encoding="utf-8")
    assert text.startswith("# Generated by flowgen from tests/sketch_example.flow")
    assert "DO NOT EDIT" in text.splitlines()[1]
