"""The one place the simulator says in what order messages reach a handler.

docs/semantics.md (section 8, per-key order) is the contract. Every handler reads a
standard SQS queue fed by an EventBridge rule, so messages of different keys never
wait for each other (a key whose message is being retried does not hold up another
key). For an event `ordered by` a field, every generated publisher (handler adapters,
saga outcome states) numbers each message per key and the subscriber's adapter holds
back a message that arrives ahead of its predecessor: a reversal is a scenario in
which the early message waits, for events every publisher of which numbers them
(`numbered_by_publishers`). An `api` endpoint and an external system do not number
(FLOW340 warns), so their reversals stay violations. The explorer
(`subscriptions.py`) reads only `RUNTIME`.
"""

from __future__ import annotations

from flowgen_design.dsl.frozen import frozen
from flowgen_design.dsl.memo import per_flow
from flowgen_design.dsl.model import Flow, Message


@frozen(kw_only=False)
class Ordering:
    """What the deployed runtime does with messages that arrive out of order."""

    same_key_in_order: bool
    """Messages with one `ordered by` value are handled in publish order (an early one is held back)."""
    keys_block_each_other: bool
    """A message being retried holds up messages of other keys."""


RUNTIME = Ordering(same_key_in_order=True, keys_block_each_other=False)
"""docs/semantics.md section 8: order per key for numbered events, keys independent."""


def promised(event: Message) -> bool:
    """Whether the spec promises order for messages of `event` (`ordered by FIELD`)."""
    return event.ordered_by is not None


def reversal_kept_in_order(event: Message, ordering: Ordering = RUNTIME, numbered: bool = True) -> bool:
    """Whether two messages of one key that arrive reversed are still handled in publish order
    (`numbered`: every publisher of the event numbers it per key)."""
    return promised(event) and ordering.same_key_in_order and numbered


def numbered_by_publishers(flow: Flow, event: Message) -> bool:
    """Whether every publisher of `event` is generated code that can number it: no `api` endpoint
    and no external system publishes it."""
    return event.name not in _published_unnumbered(flow)


@per_flow
def _published_unnumbered(flow: Flow) -> frozenset[str]:
    """The events an `api` endpoint or an external system publishes (found once per flow: the
    review page asks for each of hundreds of subscriptions on every run)."""
    by_api = {a.event.name for s in flow.services for a in s.apis}
    return frozenset(by_api | {e.name for x in flow.externals for e in x.publishes})


def key_of(event: Message) -> str:
    """The field that groups messages for ordering: `ordered by`, else `key`, else the message itself."""
    field = event.ordered_by or event.key
    return field.name if field is not None else "message_id"
