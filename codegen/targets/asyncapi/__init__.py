"""Target `asyncapi`: an AsyncAPI 3.0.0 document per flow, `asyncapi/<flow>.asyncapi.yaml`.

The document is built as data (`document.py`, schemas in `schemas.py`, delivery
facts in `extensions.py`) and written with `codegen.blockyaml`: keys in the order
they were built (the spec's declaration order, which is stable), no anchors, long
lines kept whole, multi-line text as literal blocks.
"""

from __future__ import annotations

from functools import partial
from pathlib import PurePosixPath

from flowgen_design.codegen.blockyaml import Raw, dump, value_text
from flowgen_design.codegen.files import GeneratedFile
from flowgen_design.codegen.fragments import Fragments
from flowgen_design.codegen.header import comment_header
from flowgen_design.codegen.options import GenerateOptions
from flowgen_design.codegen.targets import register
from flowgen_design.codegen.targets.asyncapi.document import Deferred, Node, deferred_document
from flowgen_design.dsl.model import Flow


def path_of(flow: Flow) -> PurePosixPath:
    return PurePosixPath("asyncapi") / f"{flow.name}.asyncapi.yaml"


@register("asyncapi", "AsyncAPI 3.0 document: channels, operations and message schemas")
def build(flow: Flow, options: GenerateOptions) -> list[GeneratedFile]:
    doc = deferred_document(flow)
    _written(doc, 0, Fragments(path_of(flow), (flow.name, flow.version, flow.path)))
    return [GeneratedFile(path_of(flow), comment_header(flow, "#") + dump(doc))]


# The document's maps of named entries (channels, operations, messages, schemas, ...): the keys
# of the document whose values hold them, and the components' ones one level further down.
_ENTRIES = ("channels", "operations", "x-flowgen-sagas")


def _written(doc: Node, indent: int, pieces: Fragments) -> None:
    """Each named entry replaced by its YAML text, taken back from the last run's document when
    the entry is what it was (`codegen.fragments`): an edit rewrites the entries it changed.

    An entry left to be made (`Deferred`: channels, messages, schemas, a service's operations) is
    keyed by the elements it is made from, so an unchanged one is neither made nor keyed by its
    value; any other by its value (`Fragments.dumped`)."""
    for name, entries in doc.items():
        if name == "components" and isinstance(entries, dict):
            _written(entries, indent + 2, pieces)
        elif (name in _ENTRIES or indent) and isinstance(entries, dict):
            depth = indent + 2
            for key, value in entries.items():
                if isinstance(value, Deferred):
                    text = pieces.piece(f"yaml@{depth}:{name}:{key}", value.inputs, partial(_made, value, depth), ())
                else:
                    text = pieces.dumped(f"yaml@{depth}", value, partial(value_text, value, depth))
                entries[key] = Raw(text)


def _made(entry: Deferred, depth: int) -> str:
    return value_text(entry.make(), depth)
