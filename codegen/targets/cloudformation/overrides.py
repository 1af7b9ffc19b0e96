"""Extra resources of yours: `infra/<flow>/overrides.json`, merged into the generated template.

A CloudFormation fragment in JSON, with the template's own sections:

    {
      "Parameters": {},
      "Conditions": {},
      "Mappings": {},
      "Resources": {"OrdersTable": {"Type": "AWS::DynamoDB::Table", "Properties": {...}}},
      "Outputs": {}
    }

Each entry is added to the template as written (a resource also gets `Metadata.flowgen`
naming this file and its line, like every generated resource names its spec line). An
entry never replaces a generated one: a name the generated template already uses is
FLOW332 at its line (rename yours; change a generated resource through `deploy.toml`).
The merged template is checked as a whole (every `Ref`, `Fn::GetAtt`, `Fn::Sub` and
`DependsOn` names something that exists): a dangling reference is FLOW333, at the line
of the resource (or setting) that makes it. cfn-lint runs on the merged template in the
tests as on any generated one.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flowgen_design.codegen.targets.cloudformation.starters import STARTER  # noqa: F401
from flowgen_design.codegen.targets.cloudformation.template import Json
from flowgen_design.codegen.targets.cloudformation.userfiles import UserFile
from flowgen_design.codegen.targets.cloudformation.verify import template_problems
from flowgen_design.dsl import codes

LOGICAL_ID = r"^[A-Za-z0-9]{1,255}$"


class ExtraResource(BaseModel):
    """A resource as CloudFormation takes it; its properties are the resource type's business
    (cfn-lint's, in the tests), so they are passed through."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    Type: str = Field(pattern=r"^(AWS|Custom|Alexa)::[A-Za-z0-9]+(::[A-Za-z0-9]+)*$|^Custom::[A-Za-z0-9_@-]+$")
    Properties: dict[str, Any] | None = None
    DependsOn: str | list[str] | None = None
    Condition: str | None = None
    DeletionPolicy: str | None = None
    UpdateReplacePolicy: str | None = None
    UpdatePolicy: dict[str, Any] | None = None
    CreationPolicy: dict[str, Any] | None = None
    Metadata: dict[str, Any] | None = None


class Overrides(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    Parameters: dict[str, dict[str, Any]] = {}
    Conditions: dict[str, Any] = {}
    Mappings: dict[str, dict[str, Any]] = {}
    Resources: dict[str, ExtraResource] = {}
    Outputs: dict[str, dict[str, Any]] = {}


SECTIONS = ("Parameters", "Conditions", "Mappings", "Resources", "Outputs")


def load_overrides(file: UserFile) -> Overrides:
    if file.text is None or not file.text.strip():
        return Overrides()
    try:
        data = json.loads(file.text)
    except json.JSONDecodeError as err:
        file.report(codes.OVERRIDES_INVALID, f"not valid JSON: {err.msg}", (err.lineno, err.colno))
        return Overrides()
    try:
        overrides = Overrides.model_validate(data)
    except ValidationError as err:
        file.validation_problems(codes.OVERRIDES_INVALID, err, data)
        return Overrides()
    for section in SECTIONS:
        for name in getattr(overrides, section):
            if not re.fullmatch(LOGICAL_ID, name):
                file.report(
                    codes.OVERRIDES_INVALID,
                    f"`{name}` is not a CloudFormation logical ID (letters and digits only)",
                    file.locate([section, name]),
                )
    return overrides


def merge_overrides(body: Json, overrides: Overrides, file: UserFile) -> set[tuple[str, str]]:
    """Add every entry of `overrides` to the template `body`, refusing a name it already uses;
    return what was added, as (section, name)."""
    added: set[tuple[str, str]] = set()
    for section in SECTIONS:
        entries = getattr(overrides, section)
        if not entries:
            continue
        target = body.setdefault(section, {})
        for name, value in entries.items():
            namespace = ("Parameters", "Resources") if section in ("Parameters", "Resources") else (section,)
            if any(name in body.get(s, {}) for s in namespace):
                file.report(
                    codes.OVERRIDE_COLLISION,
                    f"`{name}` in {section} is a name the generated template already uses",
                    file.locate([section, name]),
                    hint="rename yours (a generated resource is changed through deploy.toml, never replaced)",
                )
                continue
            target[name] = _entry(value, file, section, name)
            added.add((section, name))
    return added


def _entry(value: Any, file: UserFile, section: str, name: str) -> Any:
    if not isinstance(value, ExtraResource):
        return value
    resource = value.model_dump(exclude_none=True)
    origin = {"spec": file.display, "line": file.locate([section, name])[0], "element": f"extra resource {name}"}
    resource["Metadata"] = {**resource.get("Metadata", {}), "flowgen": origin}
    return resource


def reference_problems(body: Json, added: set[tuple[str, str]], overrides: UserFile, settings: UserFile) -> None:
    """Dangling references in the merged template, each reported on the file that makes it: an
    extra resource or output on the overrides file, anything else on the settings."""
    for problem in template_problems(body):
        where, _, what = problem.partition(": ")
        parts = where.replace("[", ".").split(".")
        if parts[0] not in SECTIONS:  # `X: DependsOn unknown ...` names the resource alone
            parts = ["Resources", *parts]
        unknown = re.search(r"`([^`]*)`", what)
        if len(parts) > 1 and (parts[0], parts[1]) in added:
            overrides.report(codes.OVERRIDES_INVALID, f"{where}: {what}", overrides.locate([parts[0], parts[1]]))
        elif unknown is not None:
            name = unknown.group(1).split(".")[0]
            message = f"a setting refers to `{name}`, which neither the template nor {overrides.display} declares"
            settings.report(codes.DEPLOY_SETTINGS_INVALID, message, settings.locate_word(name))
        else:
            overrides.report(codes.OVERRIDES_INVALID, f"{where}: {what}")
