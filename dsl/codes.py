"""The registry of diagnostic codes: one entry per problem flowgen can report.

Codes are stable: tools and CI configurations refer to them. Each has a slug (a
readable name), a default severity and a one-line purpose. `docs/diagnostics.md` is
the human table of this registry; a test keeps the two in sync.
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


class Code(NamedTuple):
    code: str
    slug: str
    severity: Severity
    purpose: str


E, W = Severity.ERROR, Severity.WARNING

_ALL = (
    # input and syntax
    Code("FLOW001", "unreadable-file", E, "A spec file or folder cannot be read."),
    Code("FLOW002", "not-text", E, "A spec file is not UTF-8 text (binary data or a bad encoding)."),
    Code("FLOW003", "file-too-large", E, "A spec file is larger than flowgen will read."),
    Code("FLOW010", "syntax-error", E, "The text does not follow the .flow grammar."),
    Code("FLOW011", "nesting-too-deep", E, "A type, a payload or a chain of `use` nests deeper than any spec should."),
    Code("FLOW012", "invalid-literal", E, "A number, duration or version is out of range or malformed."),
    Code("FLOW020", "import-not-found", E, "An imported file does not exist."),
    Code("FLOW021", "import-cycle", E, "Files import each other in a cycle."),
    Code("FLOW030", "dangling-doc-comment", W, "A `///` doc comment is not directly above anything it can document."),
    # names
    Code("FLOW101", "undefined-name", E, "A name is used but never declared."),
    Code("FLOW102", "duplicate-name", E, "A name is declared twice in the same scope."),
    Code(
        "FLOW103",
        "wrong-kind",
        E,
        "A name refers to a declaration of the wrong kind (a type where an event is needed, ...).",
    ),
    Code(
        "FLOW104",
        "reserved-name",
        E,
        "A name cannot be used in a generated target (a Python keyword, a builtin type name).",
    ),
    Code("FLOW105", "name-clash", E, "Two names become the same identifier in a generated target."),
    Code("FLOW106", "name-too-long", E, "A name exceeds a length limit of the deployment target."),
    Code("FLOW107", "recursive-type", E, "A type contains itself; payloads must be finite trees."),
    Code(
        "FLOW108",
        "duplicate-clause",
        E,
        "A clause that may appear once (key, ordered by, trigger, timeout, ...) appears twice.",
    ),
    # payloads and keys
    Code("FLOW201", "key-field-missing", E, "A `key`, `ordered by` or `idempotent by` field is not in the payload."),
    Code(
        "FLOW202",
        "key-not-scalar",
        E,
        "A key field is optional, a list, a map or a record: it cannot identify a message.",
    ),
    Code("FLOW203", "unknown-constraint", E, "A field constraint is not one flowgen knows."),
    Code("FLOW204", "constraint-mismatch", E, "A constraint does not fit the field's type or value."),
    Code("FLOW205", "invalid-map-key", E, "A map key type is not `string`."),
    Code("FLOW206", "empty-enum", E, "An enum has no members."),
    # delivery: retries and idempotency
    Code(
        "FLOW301",
        "retried-not-idempotent",
        W,
        "A handler is retried but not idempotent: a retry can repeat its side effects.",
    ),
    Code(
        "FLOW302",
        "at-least-once-not-idempotent",
        W,
        "A handler consumes an at-least-once delivery but is not idempotent: a duplicate delivery repeats its side effects.",
    ),
    Code("FLOW303", "idempotency-window-too-short", W, "An idempotency window ends before the handler's retries do."),
    Code("FLOW304", "emits-not-published", E, "A handler emits an event its service does not publish."),
    Code("FLOW305", "unknown-backoff", E, "A backoff kind is not `fixed` or `exponential`."),
    Code("FLOW306", "dlq-without-retry", W, "A dead-letter queue is declared for a handler that is tried only once."),
    Code("FLOW307", "policy-cycle", E, "Policies `use` each other in a cycle."),
    Code(
        "FLOW308",
        "api-event-not-published",
        W,
        "An API entry point emits an event its service does not list under `publishes`.",
    ),
    Code(
        "FLOW309",
        "misplaced-option",
        E,
        "An option that means nothing where it is written (`dlq`, `idempotent by` or `emits` on a saga step).",
    ),
    # sagas
    Code(
        "FLOW401", "step-not-compensable", E, "A saga step before the pivot has no compensation and is not `readonly`."
    ),
    Code(
        "FLOW402",
        "compensation-not-idempotent",
        E,
        "A compensation's handler is not idempotent; compensations are retried and may repeat.",
    ),
    Code(
        "FLOW403",
        "compensation-not-retried",
        E,
        "A compensation's handler is not retried; a compensation must not give up after one failure.",
    ),
    Code(
        "FLOW404",
        "after-pivot-not-idempotent",
        E,
        "A step after the pivot must finish and may be delivered twice, so its handler must be idempotent.",
    ),
    Code("FLOW405", "multiple-pivots", E, "A saga has more than one pivot step."),
    Code("FLOW406", "step-not-handled", E, "A saga step sends a command to a service that does not handle it."),
    Code("FLOW407", "missing-trigger", E, "A saga has no trigger event."),
    Code("FLOW408", "unknown-outcome", E, "A saga outcome is not `completed`, `compensated` or `failed`."),
    Code(
        "FLOW409",
        "readonly-compensated",
        E,
        "A step is both `readonly` and compensated; a readonly step has nothing to undo.",
    ),
    Code("FLOW410", "command-without-replies", E, "A command used by a saga step declares no replies to wait for."),
    Code(
        "FLOW411", "compensation-after-pivot", W, "A step after the pivot declares a compensation that can never run."
    ),
    Code("FLOW412", "empty-saga", E, "A saga has no steps."),
    Code(
        "FLOW414",
        "step-field-unavailable",
        W,
        "A command field that a saga cannot fill: no field of that name and type in the trigger event or an earlier reply.",
    ),
    Code(
        "FLOW413",
        "missing-outcome",
        W,
        "A saga emits no event when it completes or compensates, so nobody can learn its result.",
    ),
    Code(
        "FLOW415",
        "outcome-field-unfilled",
        E,
        "A required field of an outcome event has no value on some way the saga can end (a step's reply, timeout or error).",
    ),
    Code(
        "FLOW416",
        "invalid-fill",
        E,
        "An outcome event's fill names a field, step or source that does not exist or has another type.",
    ),
    # time
    Code("FLOW501", "step-timeout-too-short", E, "A step timeout is shorter than its handler's attempts and backoff."),
    Code("FLOW502", "saga-timeout-too-short", E, "A saga timeout is shorter than its steps take in the worst case."),
    Code(
        "FLOW503",
        "target-limit",
        E,
        "A duration exceeds a limit of the deployment target (queue retention, workflow duration, ...).",
    ),
    Code("FLOW504", "backoff-range-reversed", E, "A backoff range starts above where it ends."),
    Code("FLOW505", "attempts-below-one", E, "A retry declares fewer than one attempt."),
    Code("FLOW506", "non-positive-duration", E, "A duration is zero."),
    Code(
        "FLOW507",
        "batch-exceeds-function",
        E,
        "A batch of messages, processed one after another, cannot finish within the function's time limit.",
    ),
    # event flow
    Code(
        "FLOW601",
        "consumed-never-published",
        E,
        "An event is consumed but nothing in the spec, nor an external system, publishes it.",
    ),
    Code("FLOW602", "published-never-consumed", W, "An event is published but nothing consumes it."),
    Code(
        "FLOW603", "event-cycle", W, "Handlers publish events that lead back to themselves: a possible infinite loop."
    ),
)

CODES: dict[str, Code] = {c.code: c for c in _ALL}
BY_SLUG: dict[str, Code] = {c.slug: c for c in _ALL}


def code(slug: str) -> Code:
    """Look a code up by slug; a typo here is a bug in flowgen, so it raises."""
    return BY_SLUG[slug]
