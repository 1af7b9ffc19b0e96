"""The language sketch's example: complete, it passes; as written, one error per missing event."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import SKETCH, Runner

MISSING = ["StockReserved", "OutOfStock", "StockReleased", "Charged", "Refunded", "ShipmentScheduled"]


def test_completed_sketch_passes_check(flowgen: Runner) -> None:
    result = flowgen("check", str(SKETCH))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 errors" in result.stdout


def test_sketch_as_written_reports_each_missing_event_once(flowgen: Runner, tmp_path: Path) -> None:
    text = SKETCH.read_text()
    for name in MISSING:
        text = re.sub(rf"^event {name} .*\n", "", text, flags=re.M)
    spec = tmp_path / "sketch.flow"
    spec.write_text(text)
    result = flowgen("check", "--format", "json", str(spec))
    assert result.returncode == 1
    import json

    errors = [d for d in json.loads(result.stdout) if d["severity"] == "error"]
    assert sorted(d["message"] for d in errors) == sorted(f"undefined event `{n}`" for n in MISSING)
    assert all(d["code"] == "FLOW101" for d in errors)
