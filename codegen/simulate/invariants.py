"""Invariants a user states in terms of events: `every StockReserved is followed by StockReleased or ShipmentScheduled`.

A saga declares them (`invariant every A is followed by B or C`, `Saga.invariants`);
`flowgen simulate --invariant TEXT` adds more for one run.

Within one saga instance (so for the same key): every time the first event is
produced, one of the others is produced later in the same schedule. An event
counts when a handler produced it (a reply, even one that arrived too late or
was lost: the business fact happened) or when the saga emitted it as its outcome.
"""

from __future__ import annotations

import re

from flowgen_design.dsl.frozen import frozen
from flowgen_design.dsl.model import Flow, Saga

_FORM = re.compile(r"^\s*every\s+(\w+)\s+is\s+followed\s+by\s+(\w+(?:\s+or\s+\w+)*)\s*$")


@frozen(kw_only=False)
class Invariant:
    text: str
    event: str
    followers: tuple[str, ...]

    def applies_to(self, saga: Saga) -> bool:
        return self.event in saga_events(saga)


def saga_events(saga: Saga) -> set[str]:
    """Every event one instance of `saga` can produce."""
    names = {o.event.name for o in saga.outcomes}
    calls = [c for s in saga.steps for c in (s.action, s.compensation)] + [saga.trigger_compensation]
    for call in calls:
        if call is not None:
            names |= {r.name for r in call.command.replies}
    return names


def parse_invariant(text: str, flow: Flow) -> Invariant | str:
    """The invariant, or a message saying what is wrong with `text`."""
    match = _FORM.match(text)
    if match is None:
        return f"cannot read invariant `{text}`: write `every EVENT is followed by EVENT or EVENT`"
    event, rest = match.group(1), match.group(2)
    followers = tuple(re.split(r"\s+or\s+", rest.strip()))
    unknown = [n for n in (event, *followers) if flow.event(n) is None]
    if unknown:
        return f"invariant `{text.strip()}` names `{unknown[0]}`, which is not an event of `{flow.name}`"
    return Invariant(" ".join(text.split()), event, followers)
