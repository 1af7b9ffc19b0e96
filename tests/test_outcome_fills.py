"""The issue's outcome-event bugs, replayed on specs/checkout.flow: `check` now catches each."""

from __future__ import annotations

from pathlib import Path

from flowgen_design.dsl.compiler import check_file
from tests.conftest import ROOT

CHECKOUT = (ROOT / "specs" / "checkout.flow").read_text()


def _errors(tmp_path: Path, text: str) -> list[tuple[str, str]]:
    (tmp_path / "shared").mkdir()
    for f in (ROOT / "specs" / "shared").iterdir():
        (tmp_path / "shared" / f.name).write_text(f.read_text())
    spec = tmp_path / "checkout.flow"
    spec.write_text(text)
    return [(d.code, d.message) for d in check_file(spec).diagnostics if d.is_error]


def test_the_bundled_spec_fills_every_outcome_event(tmp_path: Path) -> None:
    assert _errors(tmp_path, CHECKOUT) == []


def test_without_its_fill_out_of_stock_and_timeouts_cancel_without_a_reason(tmp_path: Path) -> None:
    text = CHECKOUT.replace(
        "  on compensated emit OrderCancelled {\n    reason = failure.reason or failure.error\n  }\n",
        "  on compensated emit OrderCancelled\n",
    )
    ((code, message),) = _errors(tmp_path, text)
    assert code == "FLOW415"
    assert "when step `reserve` replies `OutOfStock`" in message
    assert "when step `charge` times out or runs out of attempts" in message


def test_renaming_the_reply_field_no_longer_empties_the_event_silently(tmp_path: Path) -> None:
    text = CHECKOUT.replace(
        "event PaymentFailed { order_id: uuid  reason: string",
        "event PaymentFailed { order_id: uuid  why: string",
    )
    assert text != CHECKOUT
    ((code, message),) = _errors(tmp_path, text)
    assert code == "FLOW416" and "no failure of this outcome carries a required `reason`" in message
