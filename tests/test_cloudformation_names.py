"""The name check predicts the CloudFormation target's logical IDs, so a spec whose
names would collide in the template is an error in `flowgen check`, never a broken
stack. (`test_cloudformation` proves the prediction covers every ID generated.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Runner

HEADER = """flow clash version 1.0.0
event Ping { id: uuid  key id }
event PingDone { id: uuid  key id }
command Poke { id: uuid } -> PingDone
external Outside { publishes Ping  consumes PingDone }
"""

CASES = {
    "a route and a handler": (
        "service Orders { api POST /orders -> Ping  publishes Ping }\nservice ApiPost { on Ping -> orders { idempotent by id } }\n",
        "ApiPostOrdersRole",
    ),
    "a saga and a handler": (
        "service Check { on Ping -> out_saga_state_machine { idempotent by id } }\nservice Stock { handles Poke { idempotent by id } }\n"
        "saga CheckOut { trigger Ping  step poke: Stock.Poke  on completed emit PingDone }\n",
        "CheckOutSagaStateMachineRole",
    ),
    "two routes": (
        "service Orders { api POST /orders/{id} -> Ping  api POST /orders/id -> Ping  publishes Ping }\n",
        "ApiPostOrdersIdMethod",
    ),
    "two handlers through a suffix": (
        "service Stock { on Ping -> a { idempotent by id }  on PingDone -> a_dead_letter { idempotent by id } }\n",
        "StockADeadLetterQueue",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_names_that_collide_in_the_template_are_errors(flowgen: Runner, tmp_path: Path, case: str) -> None:
    body, ident = CASES[case]
    spec = tmp_path / "clash.flow"
    spec.write_text(HEADER + body)
    result = flowgen("check", "--format", "json", str(spec))
    clashes = [d for d in json.loads(result.stdout) if d["code"] == "FLOW105"]
    assert result.returncode == 1
    assert [d["message"] for d in clashes if f"`{ident}`" in d["message"]], result.stdout


def test_distinct_names_do_not_clash(flowgen: Runner, tmp_path: Path) -> None:
    spec = tmp_path / "fine.flow"
    spec.write_text(
        HEADER + "service Orders { api POST /orders -> Ping  publishes Ping  on Ping -> take { idempotent by id } }\n"
    )
    result = flowgen("check", "--format", "json", str(spec))
    assert [d for d in json.loads(result.stdout) if d["code"] in ("FLOW105", "FLOW106")] == []


def test_check_runs_only_the_configured_targets_checks(flowgen: Runner, tmp_path: Path) -> None:
    """`[tool.flowgen] targets` chooses whose checks run: a clash of logical IDs is the AWS
    plan's concern, so a project that generates only Python is not held to it."""
    body, ident = CASES["two routes"]
    (tmp_path / "clash.flow").write_text(HEADER + body)
    every = flowgen("check", "--format", "json", "clash.flow", cwd=tmp_path)
    assert any(ident in d["message"] for d in json.loads(every.stdout))
    (tmp_path / "pyproject.toml").write_text('[tool.flowgen]\ntargets = ["python"]\n')
    python_only = flowgen("check", "--format", "json", "clash.flow", cwd=tmp_path)
    assert [d for d in json.loads(python_only.stdout) if d["code"] == "FLOW105"] == []
    (tmp_path / "pyproject.toml").write_text('[tool.flowgen]\ntargets = ["pyton"]\n')
    typo = flowgen("check", "clash.flow", cwd=tmp_path)
    assert typo.returncode != 0 and "did you mean `python`?" in typo.stderr
