"""Target `asyncapi`: an AsyncAPI 3.0.0 document per flow, `asyncapi/<flow>.asyncapi.yaml`.

The document is built as data (`document.py`, schemas in `schemas.py`, delivery
facts in `extensions.py`) and written with `codegen.blockyaml`: keys in the order
they were built (the spec's declaration order, which is stable), no anchors, long
lines kept whole, multi-line text as literal blocks.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from codegen.blockyaml import dump
from codegen.files import GeneratedFile
from codegen.header import comment_header
from codegen.options import GenerateOptions
from codegen.targets import register
from codegen.targets.asyncapi.document import document
from dsl.model import Flow


def path_of(flow: Flow) -> PurePosixPath:
    return PurePosixPath("asyncapi") / f"{flow.name}.asyncapi.yaml"


@register("asyncapi", "AsyncAPI 3.0 document: channels, operations and message schemas")
def build(flow: Flow, options: GenerateOptions) -> list[GeneratedFile]:
    return [GeneratedFile(path_of(flow), comment_header(flow, "#") + dump(document(flow)))]
