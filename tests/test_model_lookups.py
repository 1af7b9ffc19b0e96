"""`Flow`, `Service` and `Message` lookups are dict-backed; they must answer as a linear search would."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from benchmarks.specgen import write_spec
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.model import Flow
from tests.conftest import SKETCH, example_specs
from tests.element_types import dump


def _flows(tmp: Path) -> list[Flow]:
    flows = [check_file(p).flow for p in [SKETCH, *example_specs(), write_spec(tmp, 3)]]
    return [f for f in flows if f is not None]


def test_lookups_match_a_linear_search(tmp_path: Path) -> None:
    flows = _flows(tmp_path)
    assert flows
    for flow in flows:
        handlers = tuple(h for s in flow.services for h in s.handlers)
        assert flow.handlers() == handlers
        names = {e.name for e in flow.events} | {c.name for c in flow.commands} | {"NoSuchThing"}
        for name in sorted(names):
            assert flow.event(name) == next((e for e in flow.events if e.name == name), None)
            assert flow.subscribers(name) == tuple(h for h in handlers if h.trigger == "event" and h.input.name == name)
            assert flow.triggered_sagas(name) == tuple(s for s in flow.sagas if s.trigger.name == name)
        for service in flow.services:
            assert flow.service(service.name) is service
            for h in service.handlers:
                assert service.handler(h.name) is h
                assert service.handler_for(h.input.name) is next(
                    x for x in service.handlers if x.input.name == h.input.name
                )
        for message in (*flow.events, *flow.commands):
            for f in message.fields:
                assert message.field(f.name) is f
            assert message.field("no_such_field") is None
        assert flow.service("NoSuchService") is None


@pytest.mark.parametrize("view", [dump, repr, hash], ids=["dump", "repr", "hash"])
def test_cached_lookups_stay_out_of_the_model(tmp_path: Path, view: Callable[[Flow], Any]) -> None:
    flow = _flows(tmp_path)[0]
    before = view(flow)
    flow.handlers(), flow.event("x"), flow.subscribers("x"), flow.triggered_sagas("x"), flow.service("x")
    assert len(flow._lookups) == 5, "the lookups were built and kept"
    assert view(flow) == before
    bare = replace(flow)
    assert not bare._lookups and bare == flow and view(bare) == before
