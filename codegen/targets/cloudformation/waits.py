"""What a saga's waits and heartbeats need beyond its state machine (docs/semantics.md, section 11).

An `await` step registers its task token with the saga's starter, which therefore also
receives the awaited events (its rule matches them) and answers the wait; a command step
with a `heartbeat` needs its handler's adapter to send SendTaskHeartbeat.
"""

from __future__ import annotations

from flowgen_design.dsl.model import Event, Flow, Saga

SWEEP = "saga-wait-sweep"
"""The `kind` of the scheduled message that makes the awaiter send every registered wait's heartbeat."""


def awaited_events(saga: Saga) -> list[Event]:
    """The events a saga's `await` steps wait for, each once, in step order."""
    found = {e.name: e for s in saga.steps if s.wait is not None for e in s.wait.events}
    return list(found.values())


def heartbeat_handlers(flow: Flow) -> set[tuple[str, str]]:
    """(service, handler) of every command step with a `heartbeat`: its adapter sends SendTaskHeartbeat."""
    return {
        (s.action.service, s.action.handler.name)
        for saga in flow.sagas
        for s in saga.steps
        if s.heartbeat_ms and s.wait is None
    }
