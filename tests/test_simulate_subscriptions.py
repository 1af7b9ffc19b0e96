"""`flowgen simulate` on subscriptions (`on Event -> handler`): duplicates before and after the
idempotency window, exhaustion to the DLQ, re-ordering of one key and of different keys; and the
seeded design bug the language can say today without branches (a step with no compensation)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from flowgen_design.codegen.simulate import SagaReport, simulate
from flowgen_design.codegen.simulate.ordering import RUNTIME
from flowgen_design.codegen.simulate.subscriptions import explore_subscription, subscriptions
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.model import Flow
from tests.conftest import ROOT, run_flowgen

SEEDED = ROOT / "tests" / "simulate"


def _flow(path: Path) -> Flow:
    flow = check_file(path).flow
    assert flow is not None
    return flow


def _only(path: Path) -> SagaReport:
    (report,) = simulate(_flow(path))
    return report


def _texts(report: SagaReport) -> list[list[str]]:
    return [[m.text for m in s] for s in report.scenarios]


def test_a_window_shorter_than_the_retries_lets_a_duplicate_take_effect_twice() -> None:
    report = _only(SEEDED / "subscription-window-short.flow")
    assert report.kind == "subscription" and report.saga == "Mailer.notify"
    (found,) = report.violations
    assert found.violation.code == "effect-twice"
    assert found.violation.message == "`Mailer.notify` took effect twice, 24s apart: it remembers keys for 1s only"
    assert [m.text for m in found.moves] == [
        "`OrderShipped` is published",
        "`Mailer.notify` handles `OrderShipped`",
        "`OrderShipped` is delivered again 24s later: `Mailer.notify` handles it again",
        "the message ends `handled twice`",
    ]
    assert found.moves[2].events == ("CustomerNotified",)


def test_an_ordered_event_an_external_system_publishes_handled_reversed_is_a_violation() -> None:
    """An external publisher does not number its events, so the adapter cannot hold the early one back."""
    report = _only(SEEDED / "subscription-reordered.flow")
    (found,) = report.violations
    assert found.violation.code == "ordering"
    assert "`PriceChanged` is `ordered by sku`, but #2 was handled before #1" == found.violation.message
    assert found.moves[-1].result == "handled out of order"


def test_the_reordering_model_is_one_switch() -> None:
    """When the runtime keeps order per key (the `order` work), the same reversal is held back, not a violation."""
    flow = _flow(SEEDED / "subscription-reordered.flow")
    (handler,) = subscriptions(flow)
    kept = explore_subscription(handler, 1, dataclasses.replace(RUNTIME, same_key_in_order=True))
    assert kept.clean
    assert any("#2 reaches `Catalog.reprice` first and is held back until #1 is handled" in t for t in _texts(kept)[5])
    blocking = explore_subscription(handler, 1, dataclasses.replace(RUNTIME, keys_block_each_other=True))
    other = next(s for s in blocking.scenarios if s[1].kind == "retrying")
    assert "after A's retries" in other[-2].text and other[-2].at_ms > other[-3].at_ms


def test_every_subscription_scenario_of_the_bundled_checkout() -> None:
    (report,) = simulate(_flow(ROOT / "specs" / "checkout.flow"), subscription="Orders.record_payment_failure")
    assert report.clean
    outcomes = [s[-1].result for s in report.scenarios]
    assert outcomes == [
        "handled",
        "handled",
        "dead-lettered",
        "handled",
        "handled twice",
        "#1 dropped",  # idempotent by its key: a second message of one `order_id` is a duplicate
        "handled",
    ]
    texts = _texts(report)
    assert "`Orders.record_payment_failure` drops it (it remembers keys for 1d)" in texts[3][2]
    assert "after the window: handled again" in texts[4][2]
    assert "keys do not wait" in " ".join(texts[6])
    assert (
        simulate(_flow(ROOT / "specs" / "checkout.flow"), bound=0, subscription="Orders.record_payment_failure")[
            0
        ].schedules
        == 1
    )


def test_exhaustion_without_a_dlq_drops_the_message(tmp_path: Path) -> None:
    spec = tmp_path / "nodlq.flow"
    text = (SEEDED / "subscription-window-short.flow").read_text(encoding="utf-8")
    spec.write_text(text.replace("timeout 2s  dlq", "timeout 2s"), encoding="utf-8")
    report = _only(spec)
    exhausted = next(s for s in report.scenarios if s[1].kind == "exhausted")
    assert exhausted[1].text == "`Mailer.notify` raises on all 3 attempt(s): the message is dropped (no `dlq`)"
    assert exhausted[-1].result == "dropped"


def test_the_cli_explores_one_subscription() -> None:
    spec = str(SEEDED / "subscription-window-short.flow")
    result = run_flowgen("simulate", spec, "--subscription", "Mailer.notify")
    assert result.returncode == 1 and "violation [effect-twice]" in result.stdout, result.stdout + result.stderr
    missing = run_flowgen("simulate", spec, "--subscription", "Mailer.nope")
    assert missing.returncode != 0 and "no subscription `Mailer.nope`" in missing.stderr
    mermaid = run_flowgen("simulate", spec, "--format", "mermaid").stdout
    assert "participant Saga" not in mermaid and "Note over Mailer: violated: effect-twice" in mermaid


def test_a_step_that_takes_effect_without_a_compensation() -> None:
    """FLOW401 is an error `check` does not let through; the simulator reads the model anyway and shows
    the shortest way the saga ends `compensated` with `reserve` still in effect."""
    (report,) = simulate(_flow(SEEDED / "compensation-missing.flow"))
    (found,) = report.violations
    assert found.violation.code == "compensation"
    assert "step `reserve` took effect but the saga ended `compensated` without undoing it" in found.violation.message
    assert [m.kind for m in found.moves] == ["start", "late-success", "outcome"]


def test_the_runtime_keeps_order_so_only_an_unnumbered_publisher_still_breaks_it(tmp_path: Path) -> None:
    """Generated publishers number ordered events (docs/semantics.md section 8); an external system numbers nothing."""
    assert RUNTIME.same_key_in_order and not RUNTIME.keys_block_each_other
    kept = RUNTIME
    unkept = dataclasses.replace(RUNTIME, same_key_in_order=False)
    external = simulate(_flow(SEEDED / "subscription-reordered.flow"), ordering=kept)
    assert [c.violation.code for r in external for c in r.violations] == ["ordering"]
    spec = tmp_path / "numbered.flow"
    text = (SEEDED / "subscription-reordered.flow").read_text(encoding="utf-8")
    internal = text.replace(
        "external Pricing {\n  publishes PriceChanged\n  consumes Repriced\n}",
        "service Pricing {\n  publishes PriceChanged\n  on Repriced -> audit { idempotent by sku  emits PriceChanged }\n}",
    )
    spec.write_text(internal, encoding="utf-8")
    assert all(r.clean for r in simulate(_flow(spec), ordering=kept))
    assert all(r.clean for r in simulate(_flow(spec)))  # the default is the runtime's: order kept
    assert not all(r.clean for r in simulate(_flow(spec), ordering=unkept))  # a runtime keeping none breaks it
