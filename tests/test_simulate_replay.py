"""Replay: `flowgen simulate --replay DIR` writes scenarios as pytest cases for the generated local test kit.

The bundled specs are generated (python + lambda) with the sample services of
`tests/test_testkit.py`; every scenario with one fault or none is written out and run
by pytest against them: each passes (or is skipped where the kit cannot inject the
fault, with the reason). For seeded design bugs, the generated code gets stub services
that do what the design says, and each replayed counterexample fails at the property
the simulator named, after the trace the simulator predicted held.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from flowgen_design.codegen.names import python_package, service_class, service_module
from flowgen_design.codegen.simulate.samples import sample_payload
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.model import Flow, Service
from tests import test_testkit
from tests.conftest import ROOT, run_flowgen
from tests.test_testkit import SPECS

generated = test_testkit.generated  # the bundled specs generated once, with the ledger sample services
SEEDED = ROOT / "tests" / "simulate"


def _pytest(folder: Path, *python: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in python)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(folder), "-q", "-rfs", "-p", "no:cacheprovider", "--rootdir", str(folder)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _counts(output: str) -> dict[str, int]:
    return {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|skipped|error)", output)}


@pytest.mark.slow
@pytest.mark.parametrize("pkg", sorted(SPECS))
def test_every_scenario_of_a_bundled_spec_replays_and_passes(pkg: str, generated: Path, tmp_path: Path) -> None:
    out = tmp_path / "replays"
    result = run_flowgen("simulate", str(SPECS[pkg]), "--replay", str(out), "--replay-all")
    assert result.returncode == 0 and "wrote 2 replay file(s)" in result.stderr, result.stderr
    ran = _pytest(out, generated)
    counts = _counts(ran.stdout)
    assert ran.returncode == 0, ran.stdout[-6000:] + ran.stderr[-2000:]
    assert counts.get("passed", 0) >= 15 and "failed" not in counts, ran.stdout[-2000:]
    skipped = re.findall(r"SKIPPED \[\d+\] .*?: (.*)", ran.stdout)
    assert set(skipped) <= {
        "the kit cannot deliver a handler's answer after the step's timeout",
        "the kit cannot lose a handler's answer",
    }, skipped


# ---- seeded design bugs: the replayed counterexample fails the way the simulator said -------------------


def _stub(flow: Flow, service: Service) -> str:
    """A service that does what the design says: every command gets its success reply, every subscription
    emits what it declares."""
    pkg, module = python_package(flow), service_module(service.name)
    lines = [
        "from __future__ import annotations",
        "",
        "from collections.abc import Sequence",
        "from typing import Any",
        "",
        f"from {pkg} import models",
        f"from {pkg}.handlers.{module} import {service.name}Handlers",
        "",
        "",
        f"class {service_class(service.name)}({service.name}Handlers):",
    ]
    for h in service.handlers:
        if h.trigger == "command":
            reply = h.input.replies[0]  # type: ignore[union-attr]
            lines += [
                f"    def {h.name}(self, command: Any) -> Any:",
                f"        return models.{reply.name}.model_validate({{**{sample_payload(reply)!r}, **{{k: v for k, v in command.model_dump(mode='json').items() if k in {sample_payload(reply)!r}}}}})",
            ]
        else:
            outs = ", ".join(
                f"models.{e.name}.model_validate({{**{sample_payload(e)!r}, **{{k: v for k, v in event.model_dump(mode='json').items() if k in {sample_payload(e)!r}}}}})"
                for e in h.outputs
            )
            lines += [f"    def {h.name}(self, event: Any) -> Sequence[Any]:", f"        return [{outs}]"]
    return "\n".join(lines) + "\n"


def _generate_with_stubs(spec: Path, out: Path, *flags: str) -> Path:
    result = run_flowgen("generate", str(spec), "--out", str(out), "-t", "python", "-t", "lambda", *flags, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    flow = check_file(spec).flow
    assert flow is not None
    python = out / "python"
    for service in flow.services:
        if service.handlers:
            path = python / python_package(flow) / "services" / f"{service_module(service.name)}.py"
            path.write_text(_stub(flow, service), encoding="utf-8")
    return python


SEEDED_CASES = {
    "window-short": ((), "effect-twice", "`Payments.charge` took effect twice, 24s apart"),
    "saga-timeout-short": (("--disable", "FLOW502"), "saga-timeout", "still running at 50s, past its timeout of 30s"),
    "subscription-window-short": ((), "effect-twice", "`Mailer.notify` took effect twice, 24s apart"),
    "subscription-reordered": ((), "ordering", "`PriceChanged` is `ordered by sku`, but #2 was handled before #1"),
    "branch-invariant-broken": (
        (),
        "invariant: every StockReserved is followed by StockReleased or Shipped or OrderStuck",
        "`StockReserved` is never followed by",
    ),
    "branch-timeout-short": (("--disable", "FLOW502"), "saga-timeout", "still running at 25s, past its timeout of 20s"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SEEDED_CASES))
def test_a_replayed_counterexample_fails_the_way_the_simulator_said(name: str, tmp_path: Path) -> None:
    flags, code, message = SEEDED_CASES[name]
    spec = SEEDED / f"{name}.flow"
    python = _generate_with_stubs(spec, tmp_path / "gen", *flags)
    out = tmp_path / "replays"
    result = run_flowgen("simulate", str(spec), "--replay", str(out), *flags)
    assert result.returncode == 1 and f"violation [{code}]" in result.stdout, result.stdout + result.stderr
    (replay,) = out.glob("test_replay_*.py")
    assert "def test_1_counterexample_" in replay.read_text(encoding="utf-8")
    ran = _pytest(out, python)
    assert _counts(ran.stdout) == {"failed": 1}, ran.stdout[-6000:]
    failure = re.search(r"^E\s+AssertionError: (violated: .*)$", ran.stdout, flags=re.M)
    assert failure is not None and failure.group(1).startswith(f"violated: {code}: "), ran.stdout[-6000:]
    assert message in failure.group(1), failure.group(1)
    assert "# the property it breaks" in ran.stdout, "the trace the simulator predicted held; the property did not"


def test_a_replay_file_is_python_that_injects_the_scenario_faults() -> None:
    """The fast check of what the slow tests run: the file compiles and says what it injects and expects."""
    from flowgen_design.codegen.simulate import simulate
    from flowgen_design.codegen.simulate.replay import replay_files

    flow = check_file(SEEDED / "window-short.flow").flow
    assert flow is not None
    files = replay_files(flow, simulate(flow))
    (text,) = files.values()
    compile(text, "replay.py", "exec")
    assert 'kit.deliver_twice("Payments.charge", gap=24.0)' in text
    assert "violated: effect-twice: `Payments.charge` took effect twice, 24s apart" in text
    everything = replay_files(flow, simulate(flow), everything=True)
    assert list(everything) == list(files) and everything[next(iter(files))].count("\ndef test_") > 1
    assert replay_files(flow, [r for r in simulate(flow) if r.clean]) == {}


def test_replay_flags_are_checked_before_anything_runs(tmp_path: Path) -> None:
    result = run_flowgen("simulate", str(SPECS["checkout"]), "--replay-all")
    assert result.returncode == 2 and "--replay-all needs --replay DIR" in result.stderr
    assert result.stdout == ""
    out = tmp_path / "replays"
    clean = run_flowgen("simulate", str(SPECS["checkout"]), "--replay", str(out))
    assert clean.returncode == 0 and "wrote 0 replay file(s)" in clean.stderr and not list(out.iterdir())


# ---- a `retryable` reply the step resends ------------------------------------------------------------------


RESENT = {
    # spec: (scenarios passed in each of the kit and the machine, a line the replay must have)
    "retryable-resent": (7, 'kit.reply("Payments.charge", _reply("Busy"), times=6)'),  # every attempt of every send
    "retryable-branched": (12, 'kit.reply("Payments.charge", _reply("Busy"), times=6)'),  # ... then `rejected`
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RESENT))
def test_every_resent_retryable_scenario_replays_in_the_kit_and_the_machine(name: str, tmp_path: Path) -> None:
    """Differential: each scenario (one fault or none) of a saga that resends a `retryable` reply (once, on every
    send, a duplicate that succeeds after it; a branched one resent, then its named outcome) runs in the generated
    kit, through the real adapters (which retry the reply until the handler's last attempt and do not record it),
    and through the generated state machine (`tests/asl.py`) driving the same adapters, as simulated."""
    passed, line = RESENT[name]
    spec = SEEDED / f"{name}.flow"
    python = _generate_with_stubs(spec, tmp_path / "gen")
    out = tmp_path / "replays"
    result = run_flowgen("simulate", str(spec), "--replay", str(out), "--replay-all")
    assert result.returncode == 0, result.stdout + result.stderr
    (replay,) = out.glob("test_replay_*.py")
    text = replay.read_text(encoding="utf-8")
    assert line in text and 'kit.reply("Payments.charge", _reply("Busy"), times=2)' in text  # one send's attempts
    assert 'kit.deliver_twice("Payments.charge", gap=15.0)' in text
    (out / "machine").mkdir()
    (out / "machine" / replay.name.replace("test_replay_", "test_machine_replay_")).write_text(
        text.replace(_KIT_FIXTURE, _MACHINE_FIXTURE.format(spec=str(spec))), encoding="utf-8"
    )
    ran = _pytest(out, python, ROOT)
    assert ran.returncode == 0 and _counts(ran.stdout) == {"passed": 2 * passed, "skipped": 2}, ran.stdout[-6000:]
    skipped = re.findall(r"SKIPPED \[\d+\] .*?: (.*)", ran.stdout)
    assert skipped == ["the kit cannot deliver a handler's answer after the step's timeout"] * 2, skipped


_KIT_FIXTURE = """    return TestKit()
"""
_MACHINE_FIXTURE = """    import functools
    from pathlib import Path

    from flowgen_design.dsl.compiler import check_file
    from tests.test_conformance import MachineOrchestrator

    flow = check_file(Path({spec!r})).flow
    machine = functools.partial(MachineOrchestrator, flow=flow)  # the generated state machine, in tests/asl.py
    return type("MachineKit", (TestKit,), {{"orchestrator": machine}})()
"""


@pytest.mark.slow
def test_a_replayed_retryable_counterexample_fails_the_way_the_simulator_said(tmp_path: Path) -> None:
    """The seeded bug: the replayed duplicate-after-`Busy` charges twice in the kit, at the property; the second
    counterexample needs the kit to fault the resend but not the late duplicate, so it is skipped, saying so."""
    spec = SEEDED / "retryable-window-short.flow"
    python = _generate_with_stubs(spec, tmp_path / "gen")
    out = tmp_path / "replays"
    result = run_flowgen("simulate", str(spec), "--replay", str(out))
    assert result.returncode == 1 and "violation [effect-twice]" in result.stdout, result.stdout + result.stderr
    ran = _pytest(out, python)
    assert _counts(ran.stdout) == {"failed": 1, "skipped": 1}, ran.stdout[-6000:]
    failure = re.search(r"^E\s+AssertionError: (violated: .*)$", ran.stdout, flags=re.M)
    assert failure is not None, ran.stdout[-6000:]
    assert failure.group(1).startswith("violated: effect-twice: `Payments.charge` took effect twice, 1m5s apart")
    assert "the kit cannot tell a late duplicate's attempts from a resend's" in ran.stdout


def test_a_retryable_saga_timeout_replay_says_what_the_kit_cannot_time(tmp_path: Path) -> None:
    """The resent saga under a 1-minute timeout (FLOW502 would say so): the counterexample resends `Busy`, whose
    attempts the kit cannot hold at their worst case, so its replay skips, saying why."""
    from flowgen_design.codegen.simulate import simulate
    from flowgen_design.codegen.simulate.replay import replay_files

    spec = tmp_path / "short.flow"
    spec.write_text((SEEDED / "retryable-resent.flow").read_text(encoding="utf-8").replace("timeout 1h", "timeout 1m"))
    flow = check_file(spec).flow
    assert flow is not None
    (report,) = simulate(flow)
    (found,) = report.violations
    assert found.violation.code == "saga-timeout" and any(m.kind.startswith("retryable-") for m in found.moves)
    (text,) = replay_files(flow, [report]).values()
    assert 'pytest.skip("the kit cannot make a `retryable` reply\'s attempts take their worst case")' in text
