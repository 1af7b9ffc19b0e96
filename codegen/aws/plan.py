"""The AWS deployment plan: every AWS resource a flow becomes, computed once from the resolved model.

Per handler its queue (and dead-letter queue), the rule that fills the queue,
the function that drains it with its role, log group and event source mapping;
per saga its state machine and role, the starter that runs it once per trigger
event (rule, queue and dead-letter queue, function, role, log group, event
source mapping), its log group, and the alarms of its failed outcome; per API endpoint its method (with the
integration that puts its event), request model and role; and the stack's shared bus, idempotency
table and REST API (`ApiPlan`: paths, deployment, stage, access logs, request validator, JWT authorizer),
the event-delivery dead-letter queue every rule target shares (with its alarm) and the event archive.
Alarms (`Alarm`) carry what they watch, their threshold as the spec implies it, the span of the clause it
comes from and why (docs/operations.md). Each resource carries its
CloudFormation logical ID, its AWS type, the span of the spec line it comes
from, how that element reads (`element`), and the platform limits that apply
to it (`codegen.aws.limits`).

Everything that names or points at an AWS resource reads this plan: the
CloudFormation target renders it, the Lambda adapters and AsyncAPI take the
function entry points and queue names from it, the diagrams and `flowgen trace`
and the review page query it, and `codegen.aws.checks` holds it to the limits.
No other module builds a logical ID. A second infrastructure renderer
(Terraform, CDK) therefore needs nothing but one new module that walks
`Plan.resources()` (or the per-element plans) and writes its own format;
`tests/test_aws_plan.py` renders the plan to a plain list and proves it agrees
with the CloudFormation template resource for resource. (What each role may do,
its least-privilege statements, is not in the plan yet: `cloudformation/iam.py`
derives them from the plan and the model, and a second renderer would do the same.)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import field, replace

from flowgen_design.codegen import names
from flowgen_design.codegen.aws import limits
from flowgen_design.codegen.aws.ids import (
    API_ACCESS_LOG_GROUP,
    API_BAD_REQUEST_BODY,
    API_DEPLOYMENT_PREFIX,
    API_GATEWAY_ACCOUNT,
    API_GATEWAY_LOGS_ROLE,
    API_REQUEST_VALIDATOR,
    API_STAGE,
    DELIVERY_RESOURCE_IDS,
    EVENT_BUS,
    IDEMPOTENCY_TABLE,
    JWT_AUTHORIZER,
    JWT_AUTHORIZER_FUNCTION,
    JWT_AUTHORIZER_LOG_GROUP,
    JWT_AUTHORIZER_PERMISSION,
    JWT_AUTHORIZER_ROLE,
    REST_API,
    api_base,
    api_digest,
    api_path_id,
    handler_base,
    path_prefixes,
    saga_base,
)
from flowgen_design.codegen.aws.limits import Limit
from flowgen_design.dsl.durations import format_ms, seconds_ceil
from flowgen_design.dsl.frozen import frozen
from flowgen_design.dsl.memo import per_flow
from flowgen_design.dsl.model import (
    REDELIVERY_MARGIN_MS,
    ApiEndpoint,
    Flow,
    Handler,
    Saga,
)
from flowgen_design.dsl.source import Span

# Deployment choices (not limits), the same for every renderer of the plan.
QUEUE_RETENTION_SECONDS = limits.SQS_RETENTION.value // 1000
VISIBILITY_FACTOR = 6
"""AWS's advice for a queue that feeds a function batches: a visibility timeout of six times the function
timeout. Handler queues do not use it (see `visibility_timeout_seconds`); the saga starters' queues do."""
VISIBILITY_MARGIN_SECONDS = REDELIVERY_MARGIN_MS // 1000
"""A handler queue's visibility timeout is one attempt plus this margin for the invocation to start: a
killed attempt's message returns that much later (`dsl.model.DeliveryPolicy.handler_worst_case_ms`)."""
RUNTIME = "python3.12"
BATCH_SIZE = 1
"""Messages an event source mapping hands a handler's function at once: one, so the function's timeout is
one attempt's, and an attempt that starts in time cannot outlive its saga's deadline."""
STARTER_TIMEOUT_SECONDS = 30
"""A saga starter's function timeout: ten StartExecution calls take well under a second."""
STARTER_BATCH_SIZE = 10
STARTER_ATTEMPTS = 5
"""Deliveries of a trigger event to a saga starter before it is dead-lettered."""
LOG_RETENTION_DAYS = 30
ORDER_GAP_MARGIN_SECONDS = 60
"""An ordered subscription's gap timeout is its handler's worst case (a predecessor in the same queue
may be retried that long before it is handled or given up on) plus this for publishing and delivery."""
RULE_TARGET_ATTEMPTS = 185
"""EventBridge's own ceiling for delivering to a rule target (the `RetryPolicy`), stated in the template:
an event it still cannot deliver goes to the stack's event-delivery dead-letter queue."""
RULE_TARGET_MAX_AGE_SECONDS = 86_400
"""How long EventBridge keeps retrying one event for a rule target (its ceiling, 24 h)."""
ALARM_TOPIC_PARAMETER = "AlarmTopicArn"
"""The stack parameter naming the SNS topic every alarm notifies; empty (the default): alarms without actions."""
ALARM_PERIOD_SECONDS = 60
STATE_MACHINE_LOG_LEVEL = "ERROR"
"""What a state machine logs: failed, timed-out and aborted executions and failed states, not every
transition (`ALL` logs each state's entry and exit: a cost per step for what X-Ray already shows)."""
STATE_MACHINE_LOG_EXECUTION_DATA = False
"""Log lines carry no execution input or output: a saga's payloads are business data (customers,
amounts) that the logs' readers and retention need not see; the execution history keeps them."""
API_STAGE_NAME = "api"
API_THROTTLING_RATE_LIMIT = 50
"""Default steady requests per second for the whole stage (template parameter `ApiThrottlingRateLimit`)."""
API_THROTTLING_BURST_LIMIT = 100
"""Default burst of requests for the whole stage (template parameter `ApiThrottlingBurstLimit`)."""
JWT_AUTHORIZER_CACHE_SECONDS = 300
AUTHORIZATION_TYPES = {"iam": "AWS_IAM", "jwt": "CUSTOM", "none": "NONE"}
"""API Gateway's `AuthorizationType` for each `auth` kind of the spec (`jwt`: the stack's JWT authorizer)."""


def event_pattern(flow: Flow, event: str) -> dict[str, list[str]]:
    """The EventBridge pattern of one event of this flow: what handlers publish and routes put."""
    return {"source": [flow.name], "detail-type": [event]}


# ---- the plan ----------------------------------------------------------------------------------


@frozen(kw_only=False)
class Resource:
    """One AWS resource: what it is, where in the spec it comes from, which limits bind it."""

    logical_id: str
    type: str
    span: Span
    element: str
    limits: tuple[Limit, ...] = ()


@frozen(kw_only=False)
class Alarm:
    """A CloudWatch alarm the spec implies: `metric` of `watches` compared with `threshold`.

    `dimension` names how the metric identifies the watched resource (`QueueName`,
    `FunctionName`, `StateMachineArn`); `span` is the spec clause the threshold comes from,
    and `why` says how (the formula with the spec's numbers in it).
    """

    resource: Resource
    watches: Resource
    namespace: str
    metric: str
    dimension: str
    statistic: str
    comparison: str
    threshold: int
    unit: str
    span: Span
    why: str
    period_seconds: int = ALARM_PERIOD_SECONDS

    @property
    def rule(self) -> str:
        """`ApproximateNumberOfMessagesVisible >= 1 messages`: the condition, as a reviewer reads it."""
        return (
            f"{self.statistic} {self.metric} {self.comparison} {self.threshold} {self.unit} in {self.period_seconds}s"
        )

    def breaches(self, value: float) -> bool:
        """Whether one period's statistic `value` is in alarm (what CloudWatch evaluates)."""
        return value >= self.threshold if self.comparison == ">=" else value > self.threshold


COMPARISONS = {">=": "GreaterThanOrEqualToThreshold", ">": "GreaterThanThreshold"}


@frozen(kw_only=False)
class HandlerPlan:
    """A handler's resources: rule -> queue -> event source mapping -> function (role, logs)."""

    handler: Handler
    queue: Resource
    dead_letter_queue: Resource | None
    rule: Resource | None
    """Only for an event handler: a command handler's queue is filled by its saga's state machine."""
    queue_policy: Resource | None
    event_source_mapping: Resource
    function: Resource
    role: Resource
    log_group: Resource
    entry_point: str
    """The function's `Handler` setting: `<package>.adapters.<service>.<handler>`."""
    fifo: bool
    """Only a command `ordered by` a field: its saga sends it with that field's value as message group.
    An ordered event's queue is a standard one (see `gap_timeout_seconds`)."""
    timeout_seconds: int
    visibility_timeout_seconds: int
    gap_timeout_seconds: int | None = None
    """An event `ordered by` a field: how long a message ahead of its turn waits for its predecessor
    (docs/semantics.md, "Per-key order"); None for other inputs."""
    alarms: tuple[Alarm, ...] = ()

    def __fingerprint__(self) -> tuple[object, ...]:
        """What the plan is made from, `_handler_plan`'s arguments: a handler's plan is digested
        as these (`codegen.incremental.Fingerprints`), not resource by resource and alarm by alarm
        (about 45 ms on every run of the benchmark spec)."""
        return (self.handler, self.entry_point)

    def traced(self) -> tuple[Resource, ...]:
        """The resources a reviewer follows, in the order a message passes through them
        (the queue policy and log group hang off these)."""
        path = (self.rule, self.queue, self.event_source_mapping, self.function, self.role, self.dead_letter_queue)
        return tuple(r for r in path if r is not None)

    def resources(self) -> tuple[Resource, ...]:
        every = (self.dead_letter_queue, self.queue, self.rule, self.queue_policy, self.log_group, self.role)
        return (
            tuple(r for r in every if r is not None)
            + (self.function, self.event_source_mapping)
            + tuple(a.resource for a in self.alarms)
        )


@frozen(kw_only=False)
class StarterPlan:
    """What starts a saga once per trigger event: rule -> queue (+ DLQ) -> function -> StartExecution.

    EventBridge delivers at least once and a rule that starts a state machine itself sets
    no execution name, so the starter names each execution after the trigger's message id.
    """

    rule: Resource
    queue: Resource
    dead_letter_queue: Resource
    queue_policy: Resource
    event_source_mapping: Resource
    function: Resource
    role: Resource
    log_group: Resource
    entry_point: str
    timeout_seconds: int
    visibility_timeout_seconds: int
    alarms: tuple[Alarm, ...] = ()
    sweep_rule: Resource | None = None
    """A saga with an `await ... heartbeat D`: the schedule that makes the awaiter confirm its waits."""
    sweep_minutes: int = 0

    def traced(self) -> tuple[Resource, ...]:
        sweep = (self.sweep_rule,) if self.sweep_rule is not None else ()
        return (
            self.rule,
            self.queue,
            self.event_source_mapping,
            self.function,
            self.role,
            self.dead_letter_queue,
            *sweep,
        )

    def resources(self) -> tuple[Resource, ...]:
        return (
            self.dead_letter_queue,
            self.queue,
            self.rule,
            self.queue_policy,
            self.log_group,
            self.role,
            self.function,
            self.event_source_mapping,
            *((self.sweep_rule,) if self.sweep_rule is not None else ()),
            *(a.resource for a in self.alarms),
        )


@frozen(kw_only=False)
class SagaPlan:
    """A saga's state machine and role, its starter, and the alarms of its failed outcome
    (`failed_alarm` on failed executions, `timed_out_alarm` on timed-out ones; `alarms` has both,
    with their thresholds), and the log group its state machine logs to."""

    saga: Saga
    state_machine: Resource
    role: Resource
    starter: StarterPlan
    failed_alarm: Resource
    timed_out_alarm: Resource
    log_group: Resource | None = None
    alarms: tuple[Alarm, ...] = ()

    def all_alarms(self) -> tuple[Alarm, ...]:
        """The saga's alarms, then its starter's."""
        return self.alarms + self.starter.alarms

    @property
    def trigger_rule(self) -> Resource:
        return self.starter.rule

    def traced(self) -> tuple[Resource, ...]:
        return (*self.starter.traced(), self.state_machine, self.role, self.failed_alarm, self.timed_out_alarm)

    def resources(self) -> tuple[Resource, ...]:
        return (
            self.role,
            *((self.log_group,) if self.log_group is not None else ()),
            self.state_machine,
            *self.starter.resources(),
            self.failed_alarm,
            self.timed_out_alarm,
        )


@frozen(kw_only=False)
class RoutePlan:
    """An endpoint's method on the flow's REST API: who may call it (`authorization_type`, and the
    stack's JWT authorizer for `auth jwt`), the request model its body is validated against (the
    event's JSON schema), and the integration, inside the method, that puts its event with `role`."""

    endpoint: ApiEndpoint
    api: Resource
    path: Resource | None
    """The REST API resource of the endpoint's path; None for `/` (the API's root resource)."""
    role: Resource
    model: Resource
    method: Resource
    authorization_type: str
    authorizer: Resource | None

    def traced(self) -> tuple[Resource, ...]:
        every = (self.api, self.path, self.authorizer, self.method, self.model, self.role)
        return tuple(r for r in every if r is not None)

    def resources(self) -> tuple[Resource, ...]:
        return (self.role, self.model, self.method)


@frozen(kw_only=False)
class AuthorizerPlan:
    """The stack's one JWT authorizer: a Lambda TOKEN authorizer that checks each bearer token
    against the issuer and audiences of the endpoint it calls (every `auth jwt` endpoint)."""

    authorizer: Resource
    function: Resource
    role: Resource
    log_group: Resource
    permission: Resource
    cache_seconds: int
    alarms: tuple[Alarm, ...] = ()
    """Its function's errors and throttles: a failing authorizer refuses every `auth jwt` request."""

    def resources(self) -> tuple[Resource, ...]:
        return (self.log_group, self.role, self.function, self.permission, self.authorizer)


@frozen(kw_only=False)
class ApiPlan:
    """The flow's REST API: one resource per path segment, a deployment and its stage (throttled,
    with JSON access logs into `access_log_group`), the request validator every method uses, the 400
    response that names what is wrong with a body, API Gateway's account-level logging role, and
    the JWT authorizer when an endpoint uses one."""

    rest_api: Resource
    paths: tuple[tuple[str, Resource], ...]
    """(`/orders`, resource), parents before children."""
    deployment: Resource
    stage: Resource
    access_log_group: Resource
    validator: Resource
    bad_request_body: Resource
    logs_role: Resource
    account: Resource
    authorizer: AuthorizerPlan | None

    def path(self, path: str) -> Resource | None:
        return dict(self.paths).get(path.rstrip("/"))

    def resources(self) -> tuple[Resource, ...]:
        auth = self.authorizer.resources() if self.authorizer else ()
        shared = (self.rest_api, self.validator, self.bad_request_body, self.access_log_group)
        logging = (self.logs_role, self.account)
        return (*shared, *logging, *(r for _, r in self.paths), *auth, self.deployment, self.stage)


@frozen(kw_only=False)
class Plan:
    """Every AWS resource of one flow. Build it with `plan_of(flow)` (computed once per flow)."""

    flow: Flow
    event_bus: Resource
    idempotency_table: Resource | None
    api: ApiPlan | None
    handlers: tuple[HandlerPlan, ...]
    sagas: tuple[SagaPlan, ...]
    routes: tuple[RoutePlan, ...]
    event_delivery_dlq: Resource | None = None
    """Where every rule target sends what EventBridge cannot deliver (present when the stack has rules)."""
    event_delivery_dlq_policy: Resource | None = None
    archive: Resource | None = None
    """The bus's event archive, when the spec declares `archive <retention>`."""
    event_delivery_alarm: Alarm | None = None
    """Any event in `event_delivery_dlq`: EventBridge gave up delivering it to a rule's target."""
    _by_handler: dict[tuple[str, str], HandlerPlan] = field(default_factory=dict, repr=False, compare=False)
    _by_saga: dict[str, SagaPlan] = field(default_factory=dict, repr=False, compare=False)
    _by_route: dict[str, RoutePlan] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_handler.update(((p.handler.service, p.handler.name), p) for p in self.handlers)
        self._by_saga.update((p.saga.name, p) for p in self.sagas)
        self._by_route.update((p.endpoint.route, p) for p in self.routes)

    def handler(self, handler: Handler) -> HandlerPlan:
        return self._by_handler[handler.service, handler.name]

    def saga(self, saga: Saga) -> SagaPlan:
        return self._by_saga[saga.name]

    def route(self, endpoint: ApiEndpoint) -> RoutePlan:
        return self._by_route[endpoint.route]

    def alarms(self) -> Iterator[Alarm]:
        """Every alarm: per handler, then per saga (its own, then its starter's), then the API's, then the
        event-delivery dead-letter queue's."""
        for planned in self.handlers:
            yield from planned.alarms
        for saga in self.sagas:
            yield from saga.all_alarms()
        if self.api is not None and self.api.authorizer is not None:
            yield from self.api.authorizer.alarms
        if self.event_delivery_alarm is not None:
            yield self.event_delivery_alarm

    def resources(self) -> Iterator[Resource]:
        """Every resource once, shared ones first, then per handler, saga and route."""
        yield self.event_bus
        if self.idempotency_table is not None:
            yield self.idempotency_table
        if self.api is not None:
            yield from self.api.resources()
        for planned in self.handlers:
            yield from planned.resources()
        for saga in self.sagas:
            yield from saga.resources()
        for route in self.routes:
            yield from route.resources()
        yield from (r for r in (self.event_delivery_dlq, self.event_delivery_dlq_policy, self.archive) if r)
        if self.event_delivery_alarm is not None:
            yield self.event_delivery_alarm.resource


def _resource(logical: str, kind: str, span: Span, element: str, *bound: Limit) -> Resource:
    return Resource(logical, kind, span, element, (*bound, limits.CLOUDFORMATION_LOGICAL_ID))


def handler_element(handler: Handler) -> str:
    """How a handler reads in the spec, for resource metadata."""
    if handler.trigger == "event":
        return f"service {handler.service} / on {handler.input.name} -> {handler.name}"
    return f"service {handler.service} / handles {handler.input.name}"


def _handler_plan(handler: Handler, entry_point: str) -> HandlerPlan:
    """A handler's plan, from the handler and its function's entry point alone (what
    `HandlerPlan.__fingerprint__` says it is made from)."""
    base, span, element = handler_base(handler.service, handler.name), handler.span, handler_element(handler)
    queue_limits = (limits.SQS_RETENTION, limits.SQS_VISIBILITY_TIMEOUT)
    dlq = None
    if handler.policy.dlq:
        dlq_span = handler.policy.dlq_span or span
        dlq = _resource(base + "DeadLetterQueue", "AWS::SQS::Queue", dlq_span, element, *queue_limits)
    event = handler.trigger == "event"
    timeout = max(1, seconds_ceil(handler.policy.timeout_ms))
    planned = HandlerPlan(
        handler=handler,
        queue=_resource(base + "Queue", "AWS::SQS::Queue", span, element, *queue_limits),
        dead_letter_queue=dlq,
        rule=_resource(base + "Rule", "AWS::Events::Rule", span, element) if event else None,
        queue_policy=_resource(base + "QueuePolicy", "AWS::SQS::QueuePolicy", span, element) if event else None,
        event_source_mapping=_resource(base + "EventSourceMapping", "AWS::Lambda::EventSourceMapping", span, element),
        function=_resource(
            base + "Function",
            "AWS::Lambda::Function",
            span,
            element,
            limits.LAMBDA_TIMEOUT,
            limits.LAMBDA_DESCRIPTION,
        ),
        role=_resource(base + "Role", "AWS::IAM::Role", span, element),
        log_group=_resource(base + "LogGroup", "AWS::Logs::LogGroup", span, element),
        entry_point=entry_point,
        fifo=not event and handler.input.ordered_by is not None,
        timeout_seconds=timeout,
        visibility_timeout_seconds=timeout + VISIBILITY_MARGIN_SECONDS,
        gap_timeout_seconds=order_gap_timeout_seconds(handler),
    )
    return replace(planned, alarms=handler_alarms(planned))


def order_gap_timeout_seconds(handler: Handler) -> int | None:
    """How long an ordered subscription's message waits for a predecessor not yet handled."""
    if handler.trigger != "event" or handler.input.ordered_by is None:
        return None
    return seconds_ceil(handler.policy.handler_worst_case_ms()) + ORDER_GAP_MARGIN_SECONDS


def _starter_plan(flow: Flow, saga: Saga) -> StarterPlan:
    base, span, element = saga_base(saga.name), saga.span, f"saga {saga.name} / trigger {saga.trigger.name}"
    queue_limits = (limits.SQS_RETENTION, limits.SQS_VISIBILITY_TIMEOUT)
    function_limits = (limits.LAMBDA_TIMEOUT, limits.LAMBDA_DESCRIPTION)
    planned = StarterPlan(
        rule=_resource(base + "TriggerRule", "AWS::Events::Rule", span, element),
        queue=_resource(base + "StarterQueue", "AWS::SQS::Queue", span, element, *queue_limits),
        dead_letter_queue=_resource(base + "StarterDeadLetterQueue", "AWS::SQS::Queue", span, element, *queue_limits),
        queue_policy=_resource(base + "StarterQueuePolicy", "AWS::SQS::QueuePolicy", span, element),
        event_source_mapping=_resource(
            base + "StarterEventSourceMapping", "AWS::Lambda::EventSourceMapping", span, element
        ),
        function=_resource(base + "StarterFunction", "AWS::Lambda::Function", span, element, *function_limits),
        role=_resource(base + "StarterRole", "AWS::IAM::Role", span, element),
        log_group=_resource(base + "StarterLogGroup", "AWS::Logs::LogGroup", span, element),
        entry_point=names.starter_handler(flow),
        timeout_seconds=STARTER_TIMEOUT_SECONDS,
        visibility_timeout_seconds=VISIBILITY_FACTOR * STARTER_TIMEOUT_SECONDS,
    )
    beats = [s.heartbeat_ms for s in saga.steps if s.wait is not None and s.heartbeat_ms]
    if beats:  # the awaiter's sweep runs at least twice per heartbeat (docs/semantics.md, section 11)
        sweep = _resource(base + "WaitSweepRule", "AWS::Events::Rule", span, f"saga {saga.name} / waits")
        planned = replace(planned, sweep_rule=sweep, sweep_minutes=max(1, min(beats) // 120_000))
    return replace(planned, alarms=starter_alarms(saga, planned))


def _saga_plan(flow: Flow, saga: Saga) -> SagaPlan:
    base, label = saga_base(saga.name), f"saga {saga.name}"
    machine_limits = (limits.STEP_FUNCTIONS_EXECUTION, limits.STEP_FUNCTIONS_STATE_NAME)
    alarm = "AWS::CloudWatch::Alarm"
    planned = SagaPlan(
        saga=saga,
        state_machine=_resource(
            base + "StateMachine", "AWS::StepFunctions::StateMachine", saga.span, label, *machine_limits
        ),
        role=_resource(base + "StateMachineRole", "AWS::IAM::Role", saga.span, label),
        starter=_starter_plan(flow, saga),
        failed_alarm=_resource(base + "FailedAlarm", alarm, saga.span, f"saga {saga.name} / failed"),
        timed_out_alarm=_resource(base + "TimedOutAlarm", alarm, saga.span, f"saga {saga.name} / failed"),
        log_group=_resource(base + "StateMachineLogGroup", "AWS::Logs::LogGroup", saga.span, label),
    )
    return replace(planned, alarms=saga_alarms(planned))


def _route_plan(api: ApiPlan, endpoint: ApiEndpoint) -> RoutePlan:
    base, span = api_base(endpoint.method, endpoint.path), endpoint.span
    label = f"service {endpoint.service} / api {endpoint.route} -> {endpoint.event.name}"
    jwt = endpoint.auth.kind == "jwt"
    return RoutePlan(
        endpoint=endpoint,
        api=api.rest_api,
        path=api.path(endpoint.path),
        role=_resource(base + "Role", "AWS::IAM::Role", span, label),
        model=_resource(base + "Model", "AWS::ApiGateway::Model", span, label),
        method=_resource(
            base + "Method", "AWS::ApiGateway::Method", span, label, limits.API_GATEWAY_INTEGRATION_TIMEOUT
        ),
        authorization_type=AUTHORIZATION_TYPES[endpoint.auth.kind],
        authorizer=api.authorizer.authorizer if jwt and api.authorizer else None,
    )


def _authorizer_plan(endpoints: list[ApiEndpoint]) -> AuthorizerPlan | None:
    jwt = [e for e in endpoints if e.auth.kind == "jwt"]
    if not jwt:
        return None
    span, label = jwt[0].auth.span, "api / auth jwt"
    function_limits = (limits.LAMBDA_TIMEOUT, limits.LAMBDA_DESCRIPTION)
    function = _resource(JWT_AUTHORIZER_FUNCTION, "AWS::Lambda::Function", span, label, *function_limits)
    return AuthorizerPlan(
        authorizer=_resource(JWT_AUTHORIZER, "AWS::ApiGateway::Authorizer", span, label),
        function=function,
        role=_resource(JWT_AUTHORIZER_ROLE, "AWS::IAM::Role", span, label),
        log_group=_resource(JWT_AUTHORIZER_LOG_GROUP, "AWS::Logs::LogGroup", span, label),
        permission=_resource(JWT_AUTHORIZER_PERMISSION, "AWS::Lambda::Permission", span, label),
        cache_seconds=JWT_AUTHORIZER_CACHE_SECONDS,
        alarms=function_alarms(JWT_AUTHORIZER, function, span, "the JWT authorizer"),
    )


def _api_plan(flow: Flow, endpoints: list[ApiEndpoint]) -> ApiPlan:
    span, label = endpoints[0].span, f"flow {flow.name} / api"
    paths = tuple(
        (p, _resource(api_path_id(p), "AWS::ApiGateway::Resource", e.span, f"api path {p}"))
        for p, e in path_prefixes(endpoints)
    )
    return ApiPlan(
        rest_api=_resource(REST_API, "AWS::ApiGateway::RestApi", span, label),
        paths=paths,
        deployment=_resource(
            API_DEPLOYMENT_PREFIX + api_digest(flow, endpoints), "AWS::ApiGateway::Deployment", span, label
        ),
        stage=_resource(API_STAGE, "AWS::ApiGateway::Stage", span, label),
        access_log_group=_resource(API_ACCESS_LOG_GROUP, "AWS::Logs::LogGroup", span, label),
        validator=_resource(API_REQUEST_VALIDATOR, "AWS::ApiGateway::RequestValidator", span, label),
        bad_request_body=_resource(API_BAD_REQUEST_BODY, "AWS::ApiGateway::GatewayResponse", span, label),
        logs_role=_resource(API_GATEWAY_LOGS_ROLE, "AWS::IAM::Role", span, label),
        account=_resource(API_GATEWAY_ACCOUNT, "AWS::ApiGateway::Account", span, label),
        authorizer=_authorizer_plan(endpoints),
    )


@per_flow
def plan_of(flow: Flow) -> Plan:
    """The deployment plan of `flow`, computed once per flow."""
    endpoints = [api for service in flow.services for api in service.apis]
    api = _api_plan(flow, endpoints) if endpoints else None
    idempotent = bool(flow.handlers()) or any(
        s.wait for saga in flow.sagas for s in saga.steps
    )  # waits keep tokens there
    table = "AWS::DynamoDB::Table"
    dlq, dlq_policy = _event_delivery_plan(flow)
    return Plan(
        flow=flow,
        event_bus=_resource(EVENT_BUS, "AWS::Events::EventBus", flow.span, f"flow {flow.name}"),
        idempotency_table=(
            _resource(IDEMPOTENCY_TABLE, table, flow.span, f"flow {flow.name} / idempotency records")
            if idempotent
            else None
        ),
        api=api,
        handlers=tuple(_handler_plan(h, names.lambda_handler(flow, h)) for h in flow.handlers()),
        sagas=tuple(_saga_plan(flow, s) for s in flow.sagas),
        routes=tuple(_route_plan(api, e) for e in endpoints if api is not None),
        event_delivery_dlq=dlq,
        event_delivery_dlq_policy=dlq_policy,
        archive=_archive_plan(flow),
        event_delivery_alarm=event_delivery_alarm(flow, dlq),
    )


def _event_delivery_plan(flow: Flow) -> tuple[Resource | None, Resource | None]:
    """One dead-letter queue (and the policy that lets the stack's rules fill it) for every rule target."""
    if not any(h.trigger == "event" for h in flow.handlers()) and not flow.sagas:
        return None, None
    queue, policy = DELIVERY_RESOURCE_IDS[:2]
    label = f"flow {flow.name} / events EventBridge could not deliver"
    return (
        _resource(queue, "AWS::SQS::Queue", flow.span, label, limits.SQS_RETENTION),
        _resource(policy, "AWS::SQS::QueuePolicy", flow.span, label),
    )


def _archive_plan(flow: Flow) -> Resource | None:
    archive = flow.archive
    if archive is None:
        return None
    return _resource(DELIVERY_RESOURCE_IDS[2], "AWS::Events::Archive", archive.span, f"flow {flow.name} / archive")


# ---- alarms: what the spec says is wrong, and when ----------------------------------------------------
#
# Each threshold is the spec's own promise turned around: a message in a dead-letter queue means
# `retry N` ran out; a message older than a handler's worst-case retry span (`retry`, `timeout`,
# `backoff`: `DeliveryPolicy.handler_worst_case_ms`) is no longer being retried as the spec says but
# stuck or queued behind a backlog; a failed execution is the saga's `failed` outcome (a human is
# needed); a timed-out one overran the saga's `timeout`. docs/operations.md lists them.

ALARM = "AWS::CloudWatch::Alarm"


def _alarm(
    logical: str, watches: Resource, metric: tuple[str, str, str], rule: tuple[str, str, int, str], span: Span, why: str
) -> Alarm:
    """`metric` = (namespace, name, dimension); `rule` = (statistic, comparison, threshold, unit)."""
    namespace, name, dimension = metric
    statistic, comparison, threshold, unit = rule
    resource = Resource(logical, ALARM, span, watches.element, (limits.CLOUDFORMATION_LOGICAL_ID,))
    return Alarm(resource, watches, namespace, name, dimension, statistic, comparison, threshold, unit, span, why)


def dead_letter_alarm(logical: str, dlq: Resource, span: Span, attempts: int) -> Alarm:
    why = f"a message is in the dead-letter queue: all {attempts} attempt(s) failed"
    metric = ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName")
    return _alarm(logical, dlq, metric, ("Maximum", ">=", 1, "messages"), span, why)


def first_rule_span(flow: Flow) -> Span:
    """The spec line of the first element that becomes an EventBridge rule (an event handler's
    subscription or a saga's trigger), else the flow's."""
    spans = [h.span for h in flow.handlers() if h.trigger == "event"] + [s.span for s in flow.sagas]
    return min(spans, key=lambda span: (span.line, span.column), default=flow.span)


def event_delivery_alarm(flow: Flow, dlq: Resource | None) -> Alarm | None:
    """Any event in the stack's event-delivery dead-letter queue: EventBridge could not put it on a rule's
    target (a queue, while its policy or encryption refused it) in `RULE_TARGET_ATTEMPTS` attempts within
    `RULE_TARGET_MAX_AGE_SECONDS`, so no handler or saga saw it."""
    if dlq is None:
        return None
    why = (
        f"an event EventBridge could not deliver to a rule's target in {RULE_TARGET_ATTEMPTS} attempts within "
        f"{format_ms(RULE_TARGET_MAX_AGE_SECONDS * 1000)}: no handler or saga received it"
    )
    metric = ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName")
    return _alarm(DELIVERY_RESOURCE_IDS[3], dlq, metric, ("Maximum", ">=", 1, "messages"), first_rule_span(flow), why)


def function_alarms(base: str, function: Resource, span: Span, what: str) -> tuple[Alarm, ...]:
    """Invocation errors (a crash, a timeout, out of memory: exceptions in the user's code are caught per
    record and retried) and throttles (a throttled batch returns to its queue and uses up an attempt)."""
    errors = _alarm(
        base + "ErrorsAlarm",
        function,
        ("AWS/Lambda", "Errors", "FunctionName"),
        ("Sum", ">=", 1, "errors"),
        span,
        f"an invocation of {what} crashed or ran out of time",
    )
    throttles = _alarm(
        base + "ThrottlesAlarm",
        function,
        ("AWS/Lambda", "Throttles", "FunctionName"),
        ("Sum", ">=", 1, "throttles"),
        span,
        f"{what} was throttled: its messages come back and use up attempts",
    )
    return errors, throttles


def retry_span_text(handler: Handler) -> str:
    """`3 x 10s + 20s between attempts = 50s`: the handler's worst-case retry span, spelled out."""
    policy = handler.policy
    total = policy.handler_worst_case_ms()
    waits = total - policy.attempts * policy.timeout_ms
    text = f"{policy.attempts} x {format_ms(policy.timeout_ms)}"
    return text + (f" + {format_ms(waits)} between attempts" if waits else "") + f" = {format_ms(total)}"


def handler_alarms(planned: HandlerPlan) -> tuple[Alarm, ...]:
    """A handler's dead-letter queue (if any), the age of its queue's oldest message, its function."""
    handler, policy = planned.handler, planned.handler.policy
    base, name = handler_base(handler.service, handler.name), f"{handler.service}.{handler.name}"
    alarms: list[Alarm] = []
    if planned.dead_letter_queue is not None:
        span = policy.dlq_span or handler.span
        alarms.append(
            dead_letter_alarm(base + "DeadLetterQueueAlarm", planned.dead_letter_queue, span, policy.attempts)
        )
    age = seconds_ceil(policy.handler_worst_case_ms())
    alarms.append(
        _alarm(
            base + "QueueAgeAlarm",
            planned.queue,
            ("AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName"),
            ("Maximum", ">", age, "seconds"),
            policy.retry_span or policy.timeout_span or handler.span,
            f"a message waits longer than {name} may retry it ({retry_span_text(handler)}): stuck or backlogged",
        )
    )
    alarms += function_alarms(base, planned.function, policy.timeout_span or handler.span, name)
    return tuple(alarms)


def starter_worst_case_seconds(starter: StarterPlan) -> int:
    """How old a trigger event may grow in a starter's queue while it is still being retried: each of
    `STARTER_ATTEMPTS` deliveries hides it for the queue's visibility timeout (a failed or killed attempt
    returns it only then), and after the last one SQS moves it to the dead-letter queue."""
    return STARTER_ATTEMPTS * starter.visibility_timeout_seconds


def starter_alarms(saga: Saga, starter: StarterPlan) -> tuple[Alarm, ...]:
    """A saga starter's dead-letter queue (a trigger that never started its saga), the age of its queue's
    oldest message (older than every retry: the starter is not draining it), and its function."""
    base = saga_base(saga.name)
    dlq = dead_letter_alarm(
        base + "StarterDeadLetterQueueAlarm", starter.dead_letter_queue, saga.span, STARTER_ATTEMPTS
    )
    retries = (
        f"{STARTER_ATTEMPTS} deliveries x a {starter.visibility_timeout_seconds}s visibility timeout, "
        f"{VISIBILITY_FACTOR} x its {starter.timeout_seconds}s timeout: {starter_worst_case_seconds(starter)}s"
    )
    age = _alarm(
        base + "StarterQueueAgeAlarm",
        starter.queue,
        ("AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName"),
        ("Maximum", ">", starter_worst_case_seconds(starter), "seconds"),
        saga.span,
        f"a trigger event waits longer than the starter of saga {saga.name} may retry it ({retries}), "
        "stuck or backlogged",
    )
    what = f"the starter of saga {saga.name}"
    return (dlq, age, *function_alarms(base + "Starter", starter.function, saga.span, what))


def saga_alarms(planned: SagaPlan) -> tuple[Alarm, ...]:
    """Failed executions (the `failed` outcome: escalated to a human) and timed-out ones (the saga's
    `timeout`), on the resources the plan already names for them."""
    saga, machine = planned.saga, planned.state_machine
    failed = Alarm(
        planned.failed_alarm,
        machine,
        "AWS/States",
        "ExecutionsFailed",
        "StateMachineArn",
        "Sum",
        ">=",
        1,
        "executions",
        saga.span,
        f"saga {saga.name} ended `failed` (escalated: a human is needed)",
    )
    timeout = f"its timeout {format_ms(saga.timeout_ms)}" if saga.timeout_ms is not None else "Step Functions' limit"
    timed_out = Alarm(
        planned.timed_out_alarm,
        machine,
        "AWS/States",
        "ExecutionsTimedOut",
        "StateMachineArn",
        "Sum",
        ">=",
        1,
        "executions",
        saga.timeout_span or saga.span,
        f"saga {saga.name} ran out of {timeout}",
    )
    return failed, timed_out
