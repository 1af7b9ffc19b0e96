"""Target `asyncapi`: an AsyncAPI 3.0.0 document per flow, `asyncapi/<flow>.asyncapi.yaml`.

The document is built as data (`document.py`, schemas in `schemas.py`, delivery
facts in `extensions.py`) and dumped with PyYAML here: keys in the order they
were built (the spec's declaration order, which is stable), no anchors, long
lines kept whole, multi-line text as literal blocks.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import yaml

from codegen.files import GeneratedFile
from codegen.header import comment_header
from codegen.options import GenerateOptions
from codegen.targets import register
from codegen.targets.asyncapi.document import document
from dsl.model import Flow


class _Dumper(yaml.SafeDumper):
    """Plain YAML: no `&id001` aliases when the same dict appears twice."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=10_000)


def path_of(flow: Flow) -> PurePosixPath:
    return PurePosixPath("asyncapi") / f"{flow.name}.asyncapi.yaml"


@register("asyncapi", "AsyncAPI 3.0 document: channels, operations and message schemas")
def build(flow: Flow, options: GenerateOptions) -> list[GeneratedFile]:
    return [GeneratedFile(path_of(flow), comment_header(flow, "#") + dump(document(flow)))]
