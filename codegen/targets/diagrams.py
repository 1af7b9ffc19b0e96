"""Target `diagrams`: DOT and Mermaid text of every view, and a markdown page of them.

Writes `diagrams/<flow>/<view>.dot` and `.mmd` for the system view, the events
view and one view per saga, plus `diagrams/<flow>/README.md`, whose Mermaid blocks
render in markdown viewers and pull requests. Pictures (SVG, PNG) need Graphviz's
`dot` and so are made on demand by `flowgen diagram`, which keeps this target's
output the same on every machine.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import PurePosixPath

from flowgen_design.codegen.diagrams import build_view, find_saga, view_file_stem, view_names, view_source
from flowgen_design.codegen.files import GeneratedFile
from flowgen_design.codegen.fragments import Fragments
from flowgen_design.codegen.header import comment_header, html_header
from flowgen_design.codegen.incremental import LazyFile, TargetOutput
from flowgen_design.codegen.options import GenerateOptions
from flowgen_design.codegen.targets import register_lazy
from flowgen_design.dsl.model import Flow


@register_lazy("diagrams", "architecture diagrams as Graphviz DOT and Mermaid (system, events, one per saga)")
def outputs(flow: Flow, options: GenerateOptions) -> list[TargetOutput]:
    """A saga's view draws that saga only: its files are lazy, keyed by the saga, and its
    section of the README is taken back from the last run's (`codegen.fragments`) unless the
    saga changed. The system and events views draw the whole flow and are built every run."""
    folder = PurePosixPath("diagrams", flow.name)
    readme = folder / "README.md"
    pieces = Fragments(readme, (flow.name, flow.version, flow.path))
    files: list[TargetOutput] = []
    sections = [html_header(flow), f"# {flow.name} {flow.version}: diagrams\n"]
    for view in view_names(flow):
        stem = view_file_stem(view)
        mermaid = partial(view_source, flow, view, "mermaid", comment_header(flow, "%%"))
        dot = partial(view_source, flow, view, "dot", comment_header(flow, "//"))
        saga = find_saga(flow, view)
        if saga is None:
            diagram = build_view(flow, view)
            text = view_source(flow, view, "mermaid", comment_header(flow, "%%"), diagram)
            files.append(GeneratedFile(folder / f"{stem}.dot", dot(diagram)))
            files.append(GeneratedFile(folder / f"{stem}.mmd", text))
            sections.append(_section(view, stem, text.__str__))
            continue
        files.append(LazyFile(folder / f"{stem}.dot", (view, saga), dot))
        files.append(LazyFile(folder / f"{stem}.mmd", (view, saga), mermaid))
        sections.append(pieces.piece("section", (view, saga), partial(_section, view, stem, mermaid)))
    files.append(GeneratedFile(readme, "".join(sections)))
    return files


def _section(view: str, stem: str, mermaid: Callable[[], str]) -> str:
    return f"\n## {view}\n\nGraphviz: [{stem}.dot]({stem}.dot)\n\n```mermaid\n{mermaid()}```\n"
