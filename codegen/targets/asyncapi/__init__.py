"""Target `asyncapi`: an AsyncAPI 3.0.0 document per flow, `asyncapi/<flow>.asyncapi.yaml`.

The document is built as data (`document.py`, schemas in `schemas.py`, delivery
facts in `extensions.py`) and written with `codegen.blockyaml`: keys in the order
they were built (the spec's declaration order, which is stable), no anchors, long
lines kept whole, multi-line text as literal blocks.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from flowgen_design.codegen.blockyaml import dump
from flowgen_design.codegen.files import GeneratedFile
from flowgen_design.codegen.header import comment_header
from flowgen_design.codegen.options import GenerateOptions
from flowgen_design.codegen.targets import register
from flowgen_design.codegen.targets.asyncapi.document import document
from flowgen_design.dsl.model import Flow


def path_of(flow: Flow) -> PurePosixPath:
    return PurePosixPath("asyncapi") / f"{flow.name}.asyncapi.yaml"


@register("asyncapi", "AsyncAPI 3.0 document: channels, operations and message schemas")
def build(flow: Flow, options: GenerateOptions) -> list[GeneratedFile]:
    return [GeneratedFile(path_of(flow), comment_header(flow, "#") + dump(document(flow)))]
