"""A CloudFormation template as data: resources with provenance, outputs, JSON rendering.

Every resource carries `Metadata.flowgen` (spec file, line, element) so a reviewer
or `flowgen trace` can walk from any AWS resource back to the spec line that asked
for it. Rendering sorts keys, so the output is byte-identical across runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flowgen_design.codegen import prettyjson
from flowgen_design.codegen.aws.plan import Resource
from flowgen_design.dsl.frozen import frozen
from flowgen_design.dsl.source import Span

Json = dict[str, Any]


def ref(logical_id: str) -> Json:
    return {"Ref": logical_id}


def get_att(logical_id: str, attribute: str) -> Json:
    return {"Fn::GetAtt": [logical_id, attribute]}


def sub(text: str) -> Json:
    return {"Fn::Sub": text}


def provenance(span: Span, element: str) -> Json:
    return {"flowgen": {"spec": span.file, "line": span.line, "element": element}}


@dataclass
class Template:
    """The template being built; builders add resources and outputs to it."""

    description: str
    metadata: Json
    parameters: Json = field(default_factory=dict)
    resources: Json = field(default_factory=dict)
    outputs: Json = field(default_factory=dict)
    conditions: Json = field(default_factory=dict)

    def add(self, logical_id: str, kind: str, properties: Json, span: Span, element: str) -> str:
        """Add a resource and return its logical ID; a second resource with the same ID is a bug."""
        if logical_id in self.resources:
            raise ValueError(f"bug: two resources named {logical_id}")
        self.resources[logical_id] = {"Type": kind, "Properties": properties, "Metadata": provenance(span, element)}
        return logical_id

    def put(self, resource: Resource, properties: Json) -> str:
        """Add a resource of the deployment plan with these properties; return its logical ID."""
        return self.add(resource.logical_id, resource.type, properties, resource.span, resource.element)

    def scope(self, span: Span, element: str) -> Scope:
        """A view that adds resources for one spec element."""
        return Scope(self, span, element)

    def output(self, name: str, value: Json, description: str) -> None:
        if name in self.outputs:
            raise ValueError(f"bug: two outputs named {name}")
        self.outputs[name] = {"Description": description, "Value": value}

    def as_dict(self) -> Json:
        body: Json = {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": self.description,
            "Metadata": self.metadata,
            "Parameters": self.parameters,
            "Resources": self.resources,
        }
        if self.conditions:
            body["Conditions"] = self.conditions
        if self.outputs:
            body["Outputs"] = self.outputs
        return body

    def render(self) -> str:
        return prettyjson.dumps(self.as_dict()) + "\n"

    def render_parsed(self) -> tuple[str, Json]:
        """`render()`, and the text read back as JSON: the template exactly as written."""
        text, parsed = prettyjson.dumps_parsed(self.as_dict())
        return text + "\n", parsed


@frozen(kw_only=False)
class Scope:
    """Adds resources that all come from one spec element (same span, same label)."""

    template: Template
    span: Span
    element: str

    def add(self, logical_id: str, kind: str, properties: Json) -> str:
        return self.template.add(logical_id, kind, properties, self.span, self.element)
