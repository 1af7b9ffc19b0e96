"""The `diagrams` target and `flowgen diagram`: golden DOT and Mermaid, drawn by the real tools."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowgen_design.codegen.diagrams import view_file_stem
from flowgen_design.codegen.diagrams.labels import handler_text, sends_text
from flowgen_design.codegen.diagrams.render import render
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.model import Flow
from tests.browser import Browser, check_mermaid, mermaid_js
from tests.conftest import ROOT, SKETCH, Runner, require_tool
from tests.diagram_support import assert_golden, build_target, diagram_specs, load, relative, spec_id, svg_texts

pytestmark = pytest.mark.slow  # runs dot, and Mermaid in node and headless Chromium

SPECS = diagram_specs()
GOLDEN = ROOT / "tests" / "golden" / "diagrams"


def _diagram_files(flow: Flow) -> dict[str, str]:
    files = build_target("diagrams", flow)
    return {path.removeprefix("diagrams/"): text for path, text in files.items()}


@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_golden_dot_and_mermaid(spec: Path, monkeypatch: pytest.MonkeyPatch, update_golden: bool) -> None:
    assert_golden(GOLDEN / spec.stem, _diagram_files(load(spec, monkeypatch)), update_golden)


@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_every_view_is_drawn_by_dot_and_names_everything(spec: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_tool("dot")
    flow = load(spec, monkeypatch)
    files = _diagram_files(flow)
    drawn = {path: svg_texts(render(text, "svg").decode()) for path, text in files.items() if path.endswith(".dot")}
    system, events = drawn[f"{flow.name}/system.dot"], drawn[f"{flow.name}/events.dot"]
    for name in [s.name for s in flow.services] + [e.name for e in flow.events]:
        assert name in system, f"{name} is missing from the system view"
    for name in [e.name for e in flow.events] + [x.name for x in flow.externals]:
        assert name in events, f"{name} is missing from the events view"
    for saga in flow.sagas:
        texts = drawn[f"{flow.name}/{view_file_stem('saga:' + saga.name)}.dot"]
        assert saga.trigger.name in texts
        assert sorted(f"{i + 1}. {s.name}" for i, s in enumerate(saga.steps)) == sorted(
            t for t in texts if t[:1].isdigit() and ". " in t
        )
        assert "PIVOT" in texts
        for step in saga.compensable_steps:
            if step.compensation is not None:
                assert f"undo {step.name}" in texts


def test_saga_compensations_run_backwards_in_red(monkeypatch: pytest.MonkeyPatch) -> None:
    """In the sketch's Checkout saga a declined charge undoes the reservation, a timed-out one itself too."""
    dot = _diagram_files(load(SKETCH, monkeypatch))["checkout/saga-checkout.dot"]
    edges = [line.strip() for line in dot.splitlines() if "->" in line]
    compensation = [e for e in edges if 'color="#c62828"' in e]
    assert all("style=dashed" in e for e in compensation)
    drawn_as = {e.split(" [")[0] for e in compensation if "dir=back" in e}
    # dir=back: the arrow points from the right-hand node to the left-hand one
    assert drawn_as == {
        "undo_Checkout_reserve -> step_Checkout_charge",  # charge replies PaymentFailed -> undo reserve
        "undo_Checkout_charge -> step_Checkout_charge",  # charge times out: it may have run -> undo charge
        "undo_Checkout_reserve -> step_Checkout_reserve",  # reserve times out -> undo reserve
        "undo_Checkout_reserve -> undo_Checkout_charge",  # undo charge -> undo reserve
        "event_OrderCancelled -> undo_Checkout_reserve",  # undo reserve -> compensated
        "event_OrderCancelled -> step_Checkout_reserve",  # reserve replies OutOfStock -> compensated
    }
    needs_a_human = {e.split(" [")[0] for e in edges if "end_Checkout_failed" in e}
    assert needs_a_human == {
        "step_Checkout_ship -> end_Checkout_failed",  # the pivot without an answer
        "undo_Checkout_charge -> end_Checkout_failed",  # a compensation that cannot finish
        "undo_Checkout_reserve -> end_Checkout_failed",
    }
    assert "label=PaymentFailed " in dot and 'label="timeout 1m20s"' in dot


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser() as b:
        yield b


@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_mermaid_parses_and_renders_in_real_mermaid(
    spec: Path, monkeypatch: pytest.MonkeyPatch, browser: Browser, tmp_path: Path
) -> None:
    flow = load(spec, monkeypatch)
    files = {p: t for p, t in _diagram_files(flow).items() if p.endswith(".mmd")}
    results = dict(zip(files, check_mermaid(browser, mermaid_js(), list(files.values()), tmp_path), strict=True))
    for path, result in results.items():
        assert result["ok"], f"{path}: {result.get('error')}"
    system = results[f"{flow.name}/system.mmd"]
    assert system["type"].startswith("flowchart")
    for name in [s.name for s in flow.services] + [e.name for e in flow.events]:
        assert name in system["text"], f"{name} is missing from the rendered Mermaid system view"
    sequences = [r for p, r in results.items() if "/saga-" in p]
    assert len(sequences) == len(flow.sagas)
    for saga, result in zip(flow.sagas, sequences, strict=True):
        assert result["type"] == "sequence"
        assert saga.trigger.name in result["text"]
        for step in saga.steps:
            awaited = step.wait.events[0].name if step.wait is not None else None  # an await: what it waits for
            assert (awaited or step.action.command.name) in result["text"]


def test_markdown_page_embeds_every_mermaid_view(monkeypatch: pytest.MonkeyPatch) -> None:
    files = _diagram_files(load(SKETCH, monkeypatch))
    readme = files["checkout/README.md"]
    for path, text in files.items():
        if path.endswith(".mmd"):
            assert f"```mermaid\n{text}```" in readme


# ---- the command ---------------------------------------------------------------------------


def test_diagram_formats(flowgen: Runner, tmp_path: Path) -> None:
    require_tool("dot")
    spec = str(SKETCH)
    dot = flowgen("diagram", spec)
    assert dot.returncode == 0, dot.stderr
    assert dot.stdout.lstrip().startswith("digraph system {")
    mermaid = flowgen("diagram", spec, "--view", "saga:Checkout", "--format", "mermaid")
    assert mermaid.returncode == 0 and mermaid.stdout.startswith("sequenceDiagram\n")
    svg = flowgen("diagram", spec, "--view", "events", "--format", "svg")
    assert svg.returncode == 0, svg.stderr
    assert "OrderPlaced" in svg_texts(svg.stdout)
    out = tmp_path / "checkout.png"
    png = flowgen("diagram", spec, "--view", "saga:Checkout", "-o", str(out))
    assert png.returncode == 0, png.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        ("sytem", "unknown view `sytem`; did you mean `system`?"),
        ("saga:Chekout", "flow `checkout` has no saga `Chekout`; did you mean `saga:Checkout`?"),
        ("saga:Nothing", "flow `checkout` has no saga `Nothing` (sagas: Checkout)"),
    ],
)
def test_unknown_view_is_one_line_with_a_suggestion(flowgen: Runner, view: str, expected: str) -> None:
    result = flowgen("diagram", str(SKETCH), "--view", view)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"flowgen: error: {expected}" + (" (views: system, events, saga:Checkout)" if view == "sytem" else "")
    ]


def test_spec_with_errors_prints_diagnostics_and_exits_1(flowgen: Runner, tmp_path: Path) -> None:
    spec = tmp_path / "broken.flow"
    spec.write_text(SKETCH.read_text().replace("trigger OrderPlaced", "trigger OrderPlacd"))
    result = flowgen("diagram", str(spec))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "error[FLOW101]" in result.stderr and "OrderPlacd" in result.stderr


def _path_without_dot() -> str:
    """PATH with every folder that holds a `dot` removed."""
    folders = [f for f in os.environ.get("PATH", "").split(os.pathsep) if f and not (Path(f) / "dot").exists()]
    path = os.pathsep.join(folders)
    assert shutil.which("dot", path=path) is None
    return path


def run_without_dot(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "PATH": _path_without_dot()}
    return subprocess.run(
        [sys.executable, "-m", "flowgen_design", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_pictures_without_dot_fail_in_one_line_with_an_install_hint(fmt: str, tmp_path: Path) -> None:
    result = run_without_dot("diagram", str(SKETCH), "--format", fmt, "-o", str(tmp_path / f"x.{fmt}"))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "`dot`" in lines[0] and "apt-get install graphviz" in lines[0] and "--format dot or mermaid" in lines[0]
    assert not (tmp_path / f"x.{fmt}").exists()


def test_dot_and_mermaid_need_no_dot_program() -> None:
    for fmt in ("dot", "mermaid"):
        result = run_without_dot("diagram", str(SKETCH), "--format", fmt)
        assert result.returncode == 0, result.stderr
        assert "OrderPlaced" in result.stdout


def test_generated_diagrams_are_identical_across_hash_seeds(tmp_path: Path) -> None:
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / seed
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": seed}
        args = [
            sys.executable,
            "-m",
            "flowgen_design",
            "generate",
            "-t",
            "diagrams",
            "-o",
            str(out),
            str(relative(SKETCH)),
            str(relative(SPECS[-1])),
        ]
        subprocess.run(args, env=env, cwd=ROOT, check=True, capture_output=True, timeout=300)
        outputs.append(
            {
                str(p.relative_to(out)): p.read_bytes()
                for p in sorted(out.rglob("*"))
                if p.is_file() and ".flowgen" not in p.parts
            }
        )
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) >= 14


def test_large_diagrams_limit_dots_crossing_search_and_still_draw(tmp_path: Path) -> None:
    from benchmarks.specgen import write_spec
    from flowgen_design.codegen.diagrams import build_view, view_source
    from flowgen_design.codegen.diagrams.dot import LARGE_DIAGRAM, LARGE_LAYOUT
    from flowgen_design.dsl.compiler import check_file

    flow = check_file(write_spec(tmp_path, 24)).flow
    assert flow is not None
    system = build_view(flow, "system")
    assert len(system.nodes) >= LARGE_DIAGRAM
    source = view_source(flow, "system", "dot", diagram=system)
    assert all(f"{name}={value}" in source for name, value in LARGE_LAYOUT.items())
    svg = render(source, "svg").decode("utf-8")
    assert svg.count('class="node"') == len(system.nodes)
    small = view_source(flow, "saga:" + flow.sagas[0].name, "dot")
    assert not any(f"{name}=" in small for name in LARGE_LAYOUT)


def test_a_step_box_says_the_sends_and_the_handler_attempts(tmp_path: Path) -> None:
    """A step sent once whose handler retries three times says both, not "1 attempt (no retry)"."""
    spec = tmp_path / "s.flow"
    spec.write_text(
        "flow s version 1.0.0\n"
        "event Go { id: uuid  key id }\nevent Done { id: uuid  key id }\nevent Undone { id: uuid  key id }\n"
        "command Do { id: uuid } -> Done\ncommand Undo { id: uuid } -> Undone\n"
        "service S {\n  handles Do { retry 3 backoff fixed 1s  idempotent by id }\n"
        "  handles Undo { retry 3 backoff fixed 1s  idempotent by id }\n}\n"
        "saga Run {\n  trigger Go\n  step once: S.Do compensate S.Undo\n"
        "  step again: S.Do { retry 2 backoff fixed 5s }\n  on completed emit Done\n  on compensated emit Undone\n}\n"
        "external X { publishes Go  consumes Done, Undone }\n"
    )
    flow = check_file(spec).flow
    assert flow is not None
    once, again = flow.sagas[0].steps
    assert sends_text(once.policy) == "sent once (no resend)"
    assert handler_text(once.action.handler.policy) == "handler: 3 attempts, fixed 1s"
    assert sends_text(again.policy) == "sent up to 2 times, fixed 5s"


@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_a_pivot_that_gives_no_answer_ends_failed_in_the_sequence(spec: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/semantics.md: the pivot's outcome is unknown when it gives no answer (it may have run), so
    the saga ends `failed` without undoing anything; only its failure replies are undone."""
    from flowgen_design.codegen.diagrams.labels import timeout_text
    from flowgen_design.codegen.diagrams.mermaid import saga_sequence

    flow = load(spec, monkeypatch)
    pivots = [s for s in flow.sagas if s.steps and s.steps[s.pivot_index].wait is None]
    for saga in pivots:
        pivot = saga.steps[saga.pivot_index]
        lines = saga_sequence(saga).splitlines()
        call = next(i for i, line in enumerate(lines) if f"{pivot.name}: {pivot.action.command.name}" in line)
        arm = next(i for i in range(call, len(lines)) if lines[i].strip() == f"else {timeout_text(pivot.timeout_ms)}")
        depth = len(lines[arm]) - len(lines[arm].lstrip())
        body = []
        for line in lines[arm + 1 :]:
            if len(line) - len(line.lstrip()) <= depth:
                break
            body.append(line.strip())
        assert any("needs a human" in line for line in body), (saga.name, body)
        assert not any("--)" in line or "->>bus" in line for line in body), (saga.name, body)


def test_a_diagrams_digest_changes_with_anything_it_draws() -> None:
    """The whole-flow views are keyed by `Diagram.digest` (`view_key`): every field of the
    diagram, its nodes and its edges counts, and text no JSON writer takes (a lone surrogate) too."""
    from dataclasses import replace
    from typing import Any

    from flowgen_design.codegen.diagrams.model import Diagram, Edge, Node

    node = Node("event_A", "event", ("A",), ("id: uuid",), "doc", False)
    edge = Edge("event_A", "service_B", "handled", ("retry 3",), False)
    base = Diagram("system", "t", "LR", (node,), (edge,), ("note",))
    diagram_changes: dict[str, Any] = {
        "name": "x",
        "title": "u",
        "direction": "TB",
        "nodes": (),
        "edges": (),
        "notes": (),
    }
    node_changes: dict[str, Any] = {
        "id": "event_B",
        "kind": "service",
        "label": ("B",),
        "detail": ("id: int",),
        "tooltip": None,
        "emphasis": True,
    }
    edge_changes: dict[str, Any] = {
        "source": "x",
        "target": "y",
        "kind": "flow",
        "label": ("retry 4",),
        "backwards": True,
    }
    variants = [replace(base, **{k: v}) for k, v in diagram_changes.items()]
    variants += [replace(base, nodes=(replace(node, **{k: v}),)) for k, v in node_changes.items()]
    variants += [replace(base, edges=(replace(edge, **{k: v}),)) for k, v in edge_changes.items()]
    variants.append(replace(base, title="t\ud800"))
    digests = {d.digest() for d in [base, *variants]}
    assert len(digests) == 1 + len(variants)
    assert replace(base).digest() == base.digest()
