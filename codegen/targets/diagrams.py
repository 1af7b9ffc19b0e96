"""Target `diagrams`: DOT and Mermaid text of every view, and a markdown page of them.

Writes `diagrams/<flow>/<view>.dot` and `.mmd` for the system view, the events
view and one view per saga, plus `diagrams/<flow>/README.md`, whose Mermaid blocks
render in markdown viewers and pull requests. Pictures (SVG, PNG) need Graphviz's
`dot` and so are made on demand by `flowgen diagram`, which keeps this target's
output the same on every machine.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from flowgen_design.codegen.diagrams import build_view, view_file_stem, view_names, view_source
from flowgen_design.codegen.files import GeneratedFile
from flowgen_design.codegen.header import comment_header, html_header
from flowgen_design.codegen.options import GenerateOptions
from flowgen_design.codegen.targets import register
from flowgen_design.dsl.model import Flow


@register("diagrams", "architecture diagrams as Graphviz DOT and Mermaid (system, events, one per saga)")
def build(flow: Flow, options: GenerateOptions) -> list[GeneratedFile]:
    folder = PurePosixPath("diagrams", flow.name)
    files = []
    sections = [html_header(flow), f"# {flow.name} {flow.version}: diagrams\n"]
    for view in view_names(flow):
        stem = view_file_stem(view)
        diagram = build_view(flow, view)
        mermaid = view_source(flow, view, "mermaid", comment_header(flow, "%%"), diagram)
        dot = view_source(flow, view, "dot", comment_header(flow, "//"), diagram)
        files.append(GeneratedFile(folder / f"{stem}.dot", dot))
        files.append(GeneratedFile(folder / f"{stem}.mmd", mermaid))
        sections.append(f"\n## {view}\n\nGraphviz: [{stem}.dot]({stem}.dot)\n\n```mermaid\n{mermaid}```\n")
    files.append(GeneratedFile(folder / "README.md", "".join(sections)))
    return files
