"""The registry of diagnostic codes: one typed constant per problem flowgen can report.

Passes report through these constants (`report.add(codes.KEY_FIELD_MISSING, ...)`),
never through a string, so a misspelt code is an attribute error that mypy finds
before any spec is checked (mypy's `errorcodes.py`, ruff's rule table). Codes are
stable: tools, CI configurations and `[tool.flowgen] ignore` refer to them by code
(`FLOW602`) or slug (`published-never-consumed`).

Each code records its stage: where in the pipeline it is reported (input, syntax,
resolution, or a semantic rule; a rule also lists the codes it emits in
`dsl.rules.RULES`). `docs/diagnostics.md` is the human table of this registry; a
test keeps the two in sync.

What a user may turn off: every warning, and the few errors marked `ignorable`:
design rules whose model is still complete and generatable (a saga step without a
compensation, a timeout that adds up too short). Input, syntax and resolution
errors, and errors about names or limits the generated code and infrastructure
would break on, cannot be ignored: generation would run on an unsound model.
"""

from __future__ import annotations

from enum import Enum

from flowgen_design.dsl.frozen import frozen


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


class Stage(str, Enum):
    """Where a code is reported: the loader, the parser, the resolver, a rule, a target's check."""

    INPUT = "input"
    SYNTAX = "syntax"
    RESOLVE = "resolve"
    RULES = "rules"
    TARGET = "target"


@frozen(kw_only=False)
class ErrorCode:
    code: str
    slug: str
    severity: Severity
    stage: Stage
    purpose: str
    ignorable: bool = False
    """An error that a project may ignore (warnings always may): see the module docstring."""
    also: tuple[Stage, ...] = ()
    """Earlier stages that report the same problem where they meet it first (a rule that
    reports it declares it in `RULES` instead)."""

    @property
    def can_ignore(self) -> bool:
        return self.severity is Severity.WARNING or self.ignorable

    def __str__(self) -> str:
        return f"{self.code} ({self.slug})"


E, W = Severity.ERROR, Severity.WARNING
INPUT, SYNTAX, RESOLVE, RULES, TARGET = Stage.INPUT, Stage.SYNTAX, Stage.RESOLVE, Stage.RULES, Stage.TARGET
_ALL: list[ErrorCode] = []


def _code(
    code: str,
    slug: str,
    severity: Severity,
    stage: Stage,
    purpose: str,
    ignorable: bool = False,
    also: tuple[Stage, ...] = (),
) -> ErrorCode:
    entry = ErrorCode(code, slug, severity, stage, purpose, ignorable, also)
    _ALL.append(entry)
    return entry


# input and syntax
UNREADABLE_FILE = _code("FLOW001", "unreadable-file", E, INPUT, "A spec file or folder cannot be read.")
NOT_TEXT = _code("FLOW002", "not-text", E, INPUT, "A spec file is not UTF-8 text (binary data or a bad encoding).")
FILE_TOO_LARGE = _code("FLOW003", "file-too-large", E, INPUT, "A spec file is larger than flowgen will read.")
SYNTAX_ERROR = _code(
    "FLOW010", "syntax-error", E, SYNTAX, "The text does not follow the .flow grammar.", also=(RESOLVE,)
)
NESTING_TOO_DEEP = _code(
    "FLOW011",
    "nesting-too-deep",
    E,
    SYNTAX,
    "A type, a payload or a chain of `use` nests deeper than any spec should.",
    also=(RESOLVE,),
)
INVALID_LITERAL = _code(
    "FLOW012", "invalid-literal", E, SYNTAX, "A number, duration or version is out of range or malformed."
)
IMPORT_NOT_FOUND = _code("FLOW020", "import-not-found", E, INPUT, "An imported file does not exist.")
IMPORT_CYCLE = _code("FLOW021", "import-cycle", E, INPUT, "Files import each other in a cycle.")
IMPORT_OUTSIDE_PROJECT = _code(
    "FLOW022", "import-outside-project", E, INPUT, "An import leads outside the project folder."
)
OUTPUT_COLLISION = _code(
    "FLOW023",
    "output-collision",
    E,
    TARGET,
    "Two specs would generate the same output file (one flow name twice, or names that differ only in case).",
)
DANGLING_DOC_COMMENT = _code(
    "FLOW030", "dangling-doc-comment", W, SYNTAX, "A `///` doc comment is not directly above anything it can document."
)
# names
UNDEFINED_NAME = _code("FLOW101", "undefined-name", E, RESOLVE, "A name is used but never declared.")
DUPLICATE_NAME = _code("FLOW102", "duplicate-name", E, RESOLVE, "A name is declared twice in the same scope.")
WRONG_KIND = _code(
    "FLOW103",
    "wrong-kind",
    E,
    RESOLVE,
    "A name refers to a declaration of the wrong kind (a type where an event is needed, ...).",
)
RESERVED_NAME = _code(
    "FLOW104",
    "reserved-name",
    E,
    TARGET,
    "A name cannot be used in a generated target (a Python keyword, a builtin type name).",
    also=(RESOLVE,),
)
NAME_CLASH = _code("FLOW105", "name-clash", E, TARGET, "Two names become the same identifier in a generated target.")
NAME_TOO_LONG = _code("FLOW106", "name-too-long", E, TARGET, "A name exceeds a length limit of the deployment target.")
RECURSIVE_TYPE = _code(
    "FLOW107", "recursive-type", E, RESOLVE, "A type contains itself; payloads must be finite trees."
)
DUPLICATE_CLAUSE = _code(
    "FLOW108",
    "duplicate-clause",
    E,
    RULES,
    "A clause that may appear once (key, ordered by, trigger, timeout, ...) appears twice.",
)
# payloads and keys
KEY_FIELD_MISSING = _code(
    "FLOW201", "key-field-missing", E, RESOLVE, "A `key`, `ordered by` or `idempotent by` field is not in the payload."
)
KEY_NOT_SCALAR = _code(
    "FLOW202",
    "key-not-scalar",
    E,
    RESOLVE,
    "A key field is optional, a list, a map or a record: it cannot identify a message.",
)
UNKNOWN_CONSTRAINT = _code("FLOW203", "unknown-constraint", E, RESOLVE, "A field constraint is not one flowgen knows.")
CONSTRAINT_MISMATCH = _code(
    "FLOW204", "constraint-mismatch", E, RESOLVE, "A constraint does not fit the field's type or value."
)
INVALID_MAP_KEY = _code("FLOW205", "invalid-map-key", E, RESOLVE, "A map key type is not `string`.")
EMPTY_ENUM = _code("FLOW206", "empty-enum", E, RESOLVE, "An enum has no members.")
HEADER_NOT_SCALAR = _code(
    "FLOW210", "header-not-scalar", E, RESOLVE, "A message header is a list, a map, a record or bytes: not one value."
)
HEADER_NAMED_LIKE_FIELD = _code(
    "FLOW211", "header-named-like-field", E, RESOLVE, "A message header has the name of one of its payload fields."
)
HEADER_NEVER_FILLED = _code(
    "FLOW212",
    "header-never-filled",
    E,
    RULES,
    "A required header is on an event that an `api` entry point or a saga publishes, which cannot set it.",
)
# delivery: retries and idempotency
RETRIED_NOT_IDEMPOTENT = _code(
    "FLOW301",
    "retried-not-idempotent",
    W,
    RULES,
    "A handler is retried but not idempotent: an attempt that fails part-way runs again and repeats what it did.",
)
AT_LEAST_ONCE_NOT_IDEMPOTENT = _code(
    "FLOW302",
    "at-least-once-not-idempotent",
    W,
    RULES,
    "A handler has no `idempotent by` key: a redelivered message runs once, but the same event published twice runs twice.",
)
IDEMPOTENCY_WINDOW_TOO_SHORT = _code(
    "FLOW303", "idempotency-window-too-short", W, RULES, "An idempotency window ends before the handler's retries do."
)
EMITS_NOT_PUBLISHED = _code(
    "FLOW304", "emits-not-published", E, RESOLVE, "A handler emits an event its service does not publish."
)
UNKNOWN_BACKOFF = _code("FLOW305", "unknown-backoff", E, RESOLVE, "A backoff kind is not `fixed` or `exponential`.")
DLQ_WITHOUT_RETRY = _code(
    "FLOW306", "dlq-without-retry", W, RULES, "A dead-letter queue is declared for a handler that is tried only once."
)
POLICY_CYCLE = _code("FLOW307", "policy-cycle", E, RESOLVE, "Policies `use` each other in a cycle.")
API_EVENT_NOT_PUBLISHED = _code(
    "FLOW308",
    "api-event-not-published",
    W,
    RULES,
    "An API entry point emits an event its service does not list under `publishes`.",
)
MISPLACED_OPTION = _code(
    "FLOW309",
    "misplaced-option",
    E,
    RESOLVE,
    "An option that means nothing where it is written (`dlq`, `idempotent by` or `emits` on a saga step).",
)
ORDERED_EVENT_UNNUMBERED = _code(
    "FLOW340",
    "ordered-event-unnumbered",
    W,
    RULES,
    "An event `ordered by` a field that handlers take is also put on the bus by an api endpoint or an external "
    "system, which give it no sequence: those messages are handled as they come.",
)

# delivery: the deployment (added by ops)
ARCHIVE_RETENTION = _code(
    "FLOW330",
    "archive-retention",
    E,
    RULES,
    "An event archive's retention is not a whole number of days, at least one (`archive 90d`).",
)
DEPLOY_SETTINGS_INVALID = _code(
    "FLOW331",
    "deploy-settings-invalid",
    E,
    TARGET,
    "The user-owned deployment settings (`infra/<flow>/deploy.toml`) are malformed or name no service or handler.",
)
OVERRIDE_COLLISION = _code(
    "FLOW332",
    "override-collision",
    E,
    TARGET,
    "An extra resource of the overrides file (`infra/<flow>/overrides.json`) takes a name the generated template uses.",
)
OVERRIDES_INVALID = _code(
    "FLOW333",
    "overrides-invalid",
    E,
    TARGET,
    "The user-owned overrides file (`infra/<flow>/overrides.json`) is not a CloudFormation fragment flowgen can merge.",
)

# endpoints: who may call an API entry point
PUBLIC_ENDPOINT = _code(
    "FLOW320",
    "public-endpoint",
    W,
    RULES,
    "An API endpoint says `auth none`: anyone on the internet may call it and put its event on the bus.",
)
JWT_ISSUER_NOT_HTTPS = _code(
    "FLOW321",
    "jwt-issuer-not-https",
    E,
    RULES,
    "A JWT issuer is not an `https://` URL, so its signing keys cannot be fetched safely.",
)
PATH_PARAMETER_MISMATCH = _code(
    "FLOW322",
    "path-parameter-mismatch",
    E,
    TARGET,
    "Two API paths name the parameter at the same place differently (`/a/{id}` and `/a/{key}`): one REST API resource cannot have both.",
)
# sagas
STEP_NOT_COMPENSABLE = _code(
    "FLOW401",
    "step-not-compensable",
    E,
    RULES,
    "A saga step before the pivot has no compensation and is not `readonly`.",
    ignorable=True,
)
COMPENSATION_NOT_IDEMPOTENT = _code(
    "FLOW402",
    "compensation-not-idempotent",
    E,
    RULES,
    "A compensation's handler is not idempotent; compensations are retried and may repeat.",
    ignorable=True,
)
COMPENSATION_NOT_RETRIED = _code(
    "FLOW403",
    "compensation-not-retried",
    E,
    RULES,
    "A compensation's handler is not retried; a compensation must not give up after one failure.",
    ignorable=True,
)
AFTER_PIVOT_NOT_IDEMPOTENT = _code(
    "FLOW404",
    "after-pivot-not-idempotent",
    E,
    RULES,
    "A step after the pivot must finish and may be delivered twice, so its handler must be idempotent.",
    ignorable=True,
)
MULTIPLE_PIVOTS = _code("FLOW405", "multiple-pivots", E, RESOLVE, "A saga has more than one pivot step.")
STEP_NOT_HANDLED = _code(
    "FLOW406", "step-not-handled", E, RESOLVE, "A saga step sends a command to a service that does not handle it."
)
MISSING_TRIGGER = _code("FLOW407", "missing-trigger", E, RESOLVE, "A saga has no trigger event.")
UNKNOWN_OUTCOME = _code(
    "FLOW408",
    "unknown-outcome",
    E,
    RESOLVE,
    "A saga outcome is not `completed`, `compensated`, `failed`, or a named outcome that a branch leads to.",
)
READONLY_COMPENSATED = _code(
    "FLOW409",
    "readonly-compensated",
    E,
    RESOLVE,
    "A step is both `readonly` and compensated; a readonly step has nothing to undo.",
)
COMMAND_WITHOUT_REPLIES = _code(
    "FLOW410",
    "command-without-replies",
    E,
    RULES,
    "A command used by a saga step declares no replies to wait for.",
)
COMPENSATION_AFTER_PIVOT = _code(
    "FLOW411",
    "compensation-after-pivot",
    W,
    RULES,
    "A step after the pivot declares a compensation that can never run.",
)
EMPTY_SAGA = _code("FLOW412", "empty-saga", E, RESOLVE, "A saga has no steps.")
STEP_FIELD_UNAVAILABLE = _code(
    "FLOW414",
    "step-field-unavailable",
    W,
    RULES,
    "A command field that a saga cannot fill: no field of that name and type in the trigger event or an earlier reply.",
)
MISSING_OUTCOME = _code(
    "FLOW413",
    "missing-outcome",
    W,
    RULES,
    "A saga emits no event when it completes or compensates, so nobody can learn its result.",
)
OUTCOME_FIELD_UNFILLED = _code(
    "FLOW415",
    "outcome-field-unfilled",
    E,
    RULES,
    "A required field of an outcome event has no value on some way the saga can end (a step's reply, timeout or error).",
)
INVALID_FILL = _code(
    "FLOW416",
    "invalid-fill",
    E,
    RESOLVE,
    "An outcome event's fill names a field, step or source that does not exist or has another type.",
    also=(RULES,),
)
# saga control flow (lang-saga: FLOW42x-FLOW44x)
BRANCH_TARGET_UNKNOWN = _code(
    "FLOW420",
    "branch-target-unknown",
    E,
    RESOLVE,
    "A step's branch (`on REPLY -> TARGET`) leads to neither a step of the saga nor a named outcome it declares.",
)
BRANCH_BACKWARDS = _code(
    "FLOW421",
    "branch-backwards",
    E,
    RESOLVE,
    "A branch leads to the same or an earlier step: branches go forward only, so every saga ends.",
)
BRANCH_REPLY_UNKNOWN = _code(
    "FLOW422",
    "branch-reply-unknown",
    E,
    RESOLVE,
    "A branch names a reply its step's command does not declare, or a reply that already has a branch.",
)
STEP_FILL_INVALID = _code(
    "FLOW424",
    "step-fill-invalid",
    E,
    RESOLVE,
    "A step's fill (`field = source`) names a field its command lacks, a source that is not the trigger or an "
    "earlier step, or a value that is not there, or not of the field's type, on every way to the step.",
    also=(RULES,),
)
STEP_NEVER_RUNS = _code(
    "FLOW423",
    "step-never-runs",
    W,
    RULES,
    "No path through a saga's branches reaches a step.",
)
# parallel blocks (par: FLOW44x)
PARALLEL_PIVOT = _code(
    "FLOW440",
    "parallel-pivot",
    E,
    RESOLVE,
    "The pivot is a step of a parallel block, written or by default (a saga that ends with a block).",
)
PARALLEL_BRANCH = _code(
    "FLOW441",
    "parallel-branch",
    E,
    RESOLVE,
    "A step of a parallel block branches (`on REPLY -> TARGET`): its siblings run at the same time.",
)
PARALLEL_BRANCH_INTO = _code(
    "FLOW442",
    "parallel-branch-into",
    E,
    RESOLVE,
    "A branch leads to a step inside a parallel block instead of to the block.",
)
PARALLEL_NESTED = _code("FLOW443", "parallel-nested", E, RESOLVE, "A parallel block is inside another parallel block.")
PARALLEL_SIBLING_FILL = _code(
    "FLOW444",
    "parallel-sibling-fill",
    E,
    RESOLVE,
    "A step of a parallel block fills a field from a sibling's reply, which runs at the same time.",
)
PARALLEL_TOO_SMALL = _code("FLOW445", "parallel-too-small", E, RESOLVE, "A parallel block has fewer than two steps.")
PARALLEL_AWAIT = _code(
    "FLOW446",
    "parallel-await",
    E,
    RESOLVE,
    "A step of a parallel block awaits an event: a wait runs on its own, before or after a block.",
)
# waits for an event (wait: FLOW43x)
AWAIT_WITHOUT_TIMEOUT = _code(
    "FLOW430",
    "await-without-timeout",
    E,
    RESOLVE,
    "An `await` step does not say how long the saga waits (`timeout D` in its body).",
)
AWAIT_UNCORRELATED = _code(
    "FLOW431",
    "await-uncorrelated",
    E,
    RESOLVE,
    "An awaited event has no field, of the trigger's type, that matches it to the saga instance (the trigger's "
    "key, or `by FIELD`).",
)
TIMEOUT_BRANCH_MISPLACED = _code(
    "FLOW432",
    "timeout-branch-misplaced",
    E,
    RESOLVE,
    "`on timeout ->` on a step that sends a command: a command that timed out may have run, so it is compensated "
    "or fails; only an `await` can lead its timeout elsewhere.",
)
WAIT_LONGER_THAN_SAGA = _code(
    "FLOW433",
    "wait-longer-than-saga",
    E,
    RULES,
    "A saga's timeout is shorter than the waits on one way through it: it would give up before an awaited event "
    "could arrive.",
    ignorable=True,
)
AWAIT_MISPLACED_CLAUSE = _code(
    "FLOW434",
    "await-misplaced-clause",
    E,
    RESOLVE,
    "An `await` step has a clause only a command step can have (`compensate`, `readonly`, `retry`, a fill): a "
    "wait sends nothing and changes nothing.",
)
HEARTBEAT_INVALID = _code(
    "FLOW435",
    "heartbeat-invalid",
    E,
    RESOLVE,
    "A step's `heartbeat` is not shorter than its timeout, or shorter than its handler's longest silence between "
    "two attempts (it would fail a healthy step).",
    also=(RULES,),
)
# time
STEP_TIMEOUT_TOO_SHORT = _code(
    "FLOW501",
    "step-timeout-too-short",
    E,
    RULES,
    "A step timeout is shorter than its handler's attempts and backoff.",
    ignorable=True,
)
SAGA_TIMEOUT_TOO_SHORT = _code(
    "FLOW502",
    "saga-timeout-too-short",
    E,
    RULES,
    "A saga timeout is shorter than its steps take in the worst case.",
    ignorable=True,
)
TARGET_LIMIT = _code(
    "FLOW503",
    "target-limit",
    E,
    TARGET,
    "A duration exceeds a limit of the deployment target (function timeout, queue retention, ...).",
)
BACKOFF_RANGE_REVERSED = _code(
    "FLOW504", "backoff-range-reversed", E, RULES, "A backoff range starts above where it ends."
)
ATTEMPTS_BELOW_ONE = _code("FLOW505", "attempts-below-one", E, RULES, "A retry declares fewer than one attempt.")
NON_POSITIVE_DURATION = _code("FLOW506", "non-positive-duration", E, RULES, "A duration is zero.")
# event flow
CONSUMED_NEVER_PUBLISHED = _code(
    "FLOW601",
    "consumed-never-published",
    E,
    RULES,
    "An event is consumed but nothing in the spec, nor an external system, publishes it.",
    ignorable=True,
)
PUBLISHED_NEVER_CONSUMED = _code(
    "FLOW602", "published-never-consumed", W, RULES, "An event is published but nothing consumes it."
)
EVENT_CYCLE = _code(
    "FLOW603",
    "event-cycle",
    W,
    RULES,
    "Handlers publish events that lead back to themselves: a possible infinite loop.",
)

DUPLICATE_CHANNEL = _code(
    "FLOW610", "duplicate-channel", E, RULES, "Two events have the same AsyncAPI channel address."
)
INVALID_CHANNEL = _code(
    "FLOW611",
    "invalid-channel",
    E,
    RULES,
    "A channel address is empty, has blanks or braces, or is longer than 255 characters.",
)

RETRYABLE_SUCCESS = _code(
    "FLOW615", "retryable-success", E, RULES, "A command's success reply (its first) is marked `retryable`."
)
RETRYABLE_NOT_RETRIED = _code(
    "FLOW616",
    "retryable-not-retried",
    W,
    RULES,
    "A command has a `retryable` reply, but neither its handler nor a saga step retries: it never is.",
)
ERROR_NAME_TAKEN = _code(
    "FLOW617",
    "error-name-taken",
    E,
    RULES,
    "A `raises` error has the name of a reply of the handler's command, or of an error flowgen reports itself.",
)


CODES: dict[str, ErrorCode] = {c.code: c for c in _ALL}
BY_SLUG: dict[str, ErrorCode] = {c.slug: c for c in _ALL}
