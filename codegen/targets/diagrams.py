"""Target `diagrams`: DOT and Mermaid text of every view, and a markdown page of them.

Writes `diagrams/<flow>/<view>.dot` and `.mmd` for the system view, the events
view and one view per saga, plus `diagrams/<flow>/README.md`, whose Mermaid blocks
render in markdown viewers and pull requests. Pictures (SVG, PNG) need Graphviz's
`dot` and so are made on demand by `flowgen diagram`, which keeps this target's
output the same on every machine.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial
from pathlib import PurePosixPath

from flowgen_design.codegen.diagrams import mermaid_key, view_file_stem, view_key, view_names, view_source
from flowgen_design.codegen.files import GeneratedFile
from flowgen_design.codegen.fragments import Fragments
from flowgen_design.codegen.header import comment_header, html_header
from flowgen_design.codegen.incremental import LazyFile, TargetOutput
from flowgen_design.codegen.options import GenerateOptions
from flowgen_design.codegen.targets import register_lazy
from flowgen_design.dsl.model import Flow


@register_lazy("diagrams", "architecture diagrams as Graphviz DOT and Mermaid (system, events, one per saga)")
def outputs(flow: Flow, options: GenerateOptions) -> list[TargetOutput]:
    """Each view's files are lazy, keyed by what each is made from (the DOT file by the view's
    diagram, `view_key`; the Mermaid file by `mermaid_key`: a saga's sequence diagram by the saga),
    and its section of the README is taken back from the last run's (`codegen.fragments`) unless
    its Mermaid changed: an edit writes the texts of the views it changes only."""
    folder = PurePosixPath("diagrams", flow.name)
    readme = folder / "README.md"
    pieces = Fragments(readme, (flow.name, flow.version, flow.path))
    files: list[TargetOutput] = []
    sections = [html_header(flow), f"# {flow.name} {flow.version}: diagrams\n"]
    for view in view_names(flow):
        stem = view_file_stem(view)
        key = mermaid_key(flow, view)
        mermaid = cache(partial(view_source, flow, view, "mermaid", comment_header(flow, "%%")))
        dot = partial(view_source, flow, view, "dot", comment_header(flow, "//"))
        files.append(LazyFile(folder / f"{stem}.dot", view_key(flow, view), dot))
        files.append(LazyFile(folder / f"{stem}.mmd", key, mermaid))
        sections.append(pieces.piece("section", key, partial(_section, view, stem, mermaid), ()))
    files.append(GeneratedFile(readme, "".join(sections)))
    return files


def _section(view: str, stem: str, mermaid: Callable[[], str]) -> str:
    return f"\n## {view}\n\nGraphviz: [{stem}.dot]({stem}.dot)\n\n```mermaid\n{mermaid()}```\n"
