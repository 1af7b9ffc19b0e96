"""The generated local test kit, written by the `lambda` target next to the adapters it drives.

- `<pkg>/adapters/testkit.py`, `testkit_sagas.py`, `testkit_aws.py`: the engine (the
  kit and its queues, the saga orchestrator, the virtual clock and in-memory AWS),
  copied from `codegen/templates/testing_{runtime,sagas,aws}.py.txt`;
- `<pkg>/testing.py`: the flow's facts as data for that engine (each handler's route,
  attempts, timeout and queue; each saga's steps, pivot, timeouts, resend schedule
  and outcome events) and `TestKit`, typed with the flow's handler and saga names.

It belongs to the `lambda` target because it runs the user's code through the
generated adapters. Queue settings come from the AWS deployment plan, and the resend
schedule and compensation waits are the state machine's (`states.resend_delays`,
`sagapaths.undo_policy`), so the kit's timing is the deployed system's.
"""

from __future__ import annotations

from importlib import resources

from flowgen_design.codegen.aws.plan import plan_of
from flowgen_design.codegen.names import handlers_class, python_package, service_class, service_module
from flowgen_design.codegen.targets.cloudformation.states import resend_delays
from flowgen_design.dsl.durations import seconds_ceil
from flowgen_design.dsl.model import FillSource, Flow, Handler, Outcome, OutcomeKind, Saga, SagaStep, StepCall
from flowgen_design.dsl.sagapaths import command_sources, trigger_undo_sources, undo_policy

ENGINE = {
    "testkit.py": "testing_runtime.py.txt",
    "testkit_sagas.py": "testing_sagas.py.txt",
    "testkit_aws.py": "testing_aws.py.txt",
}
"""The engine's modules in `<pkg>/adapters/`, by the template each is copied from."""


def engine_sources() -> dict[str, str]:
    folder = resources.files("flowgen_design.codegen").joinpath("templates")
    return {module: folder.joinpath(template).read_text(encoding="utf-8") for module, template in ENGINE.items()}


def _handler_name(handler: Handler) -> str:
    return f"{handler.service}.{handler.name}"


def _seconds(ms: int) -> str:
    return repr(ms / 1000)


def _handler_spec(flow: Flow, handler: Handler) -> str:
    module = f"_{service_module(handler.service)}"
    visibility = plan_of(flow).handler(handler).visibility_timeout_seconds
    return (
        "_kit.HandlerSpec("
        f"name={_handler_name(handler)!r}, service={handler.service!r}, method={handler.name!r}, "
        f"kind={handler.trigger!r}, input={handler.input.name!r}, route={module}._{handler.name}_route, "
        f"attempts={handler.policy.attempts}, timeout_seconds={_seconds(handler.policy.timeout_ms)}, "
        f"visibility_timeout_seconds={visibility}, dlq={handler.policy.dlq})"
    )


def _call_spec(call: StepCall, timeout: int, sources: dict[str, FillSource] | None = None) -> str:
    """A command as the state machine sends it, waiting `timeout` whole seconds."""
    fields = tuple(f.name for f in call.command.fields)
    failures = tuple(r.name for r in call.command.failures)
    mapped = "" if sources is None else f", sources={ {k: _source(s) for k, s in sources.items()}!r}"
    return (
        f"_sagas.CallSpec(handler={_handler_name(call.handler)!r}, command={call.command.name!r}, "
        f"fields={fields!r}, timeout_seconds={timeout}, success={call.command.replies[0].name!r}, "
        f"failures={failures!r}{mapped}{_final_errors(call)})"
    )


def _final_errors(call: StepCall) -> str:
    """`, final=(...)`: the errors the handler `raises`, never resent; `, retryable=(...)`: the
    replies marked `retryable`, resent (nothing when the spec has neither)."""
    retryable = tuple(r.name for r in call.command.retryable)
    return (f", final={call.handler.raises!r}" if call.handler.raises else "") + (
        f", retryable={retryable!r}" if retryable else ""
    )


def _step_spec(saga: Saga, step: SagaStep) -> str:
    """A step; its commands name their sources when the spec maps fields or branches decide the replies."""
    explicit = saga.branched or bool(step.fills) or bool(saga.parallels)

    def sources(call: StepCall) -> dict[str, FillSource] | None:
        return command_sources(saga, step, call) if explicit else None

    undo = step.compensation
    compensation = "None"
    if undo is not None:
        compensation = _call_spec(undo, max(1, seconds_ceil(undo_policy(undo).timeout_ms)), sources(undo))
    timeout = max(1, seconds_ceil(step.timeout_ms))
    delays = tuple(resend_delays(step.policy))
    extra = f", delay_seconds={max(1, seconds_ceil(step.delay_ms))}" if step.delay_ms else ""
    if step.branches:
        branches = {b.reply.name: ("step", b.step) if b.step else ("outcome", b.outcome) for b in step.branches}
        extra += f", branches={branches!r}"
    if step.parallel is not None:
        extra += f", parallel={step.parallel!r}"
    extra += _wait_spec(step)
    return (
        f"_sagas.StepSpec(name={step.name!r}, action={_call_spec(step.action, timeout, sources(step.action))}, "
        f"compensation={compensation}, resend_delays={delays!r}{extra})"
    )


def _wait_spec(step: SagaStep) -> str:
    """`, wait=...` for an `await` step, `, heartbeat_seconds=...` for a step with a heartbeat (section 11)."""
    text = f", heartbeat_seconds={max(1, seconds_ceil(step.heartbeat_ms))}" if step.heartbeat_ms else ""
    wait = step.wait
    if wait is None:
        return text
    events = tuple(e.name for e in wait.events)
    where = f", timeout_step={wait.timeout_step!r}" if wait.timeout_step else ""
    where += f", timeout_outcome={wait.timeout_outcome!r}" if wait.timeout_outcome else ""
    return text + f", wait=_sagas.WaitSpec(events={events!r}, by={wait.by.name!r}{where})"


def _source(s: FillSource) -> tuple[object, ...]:
    if s.origin == "constant":
        return ("constant", s.value)
    if s.origin == "step":
        return ("step", s.step, s.field)
    return (s.origin, s.field)


def _outcome(outcome: Outcome | None) -> str:
    if outcome is None:
        return "None"
    fields = tuple(f.name for f in outcome.event.fields)
    fills = {f.field: tuple(_source(s) for s in f.sources) for f in outcome.fills}
    ordered = outcome.event.ordered_by.name if outcome.event.ordered_by is not None else None
    numbered = f", ordered_by={ordered!r}" if ordered is not None else ""
    return f"_sagas.OutcomeSpec(event={outcome.event.name!r}, fields={fields!r}, fills={fills!r}{numbered})"


def _saga_spec(saga: Saga) -> str:
    timeout = repr(saga.timeout_ms / 1000) if saga.timeout_ms is not None else "None"
    steps = ", ".join(_step_spec(saga, s) for s in saga.steps)
    kinds: tuple[OutcomeKind, ...] = ("completed", "compensated", "failed")
    outcomes = ", ".join(f"{k}={_outcome(saga.outcome(k))}" for k in kinds)
    if saga.named_outcomes:
        outcomes += ", named={" + ", ".join(f"{o.kind!r}: {_outcome(o)}" for o in saga.named_outcomes) + "}"
    undo = saga.trigger_compensation
    if undo is not None:
        wait = max(1, seconds_ceil(undo_policy(undo).timeout_ms))
        outcomes += f", trigger_undo={_call_spec(undo, wait, trigger_undo_sources(saga, undo))}"
    return (
        f"_sagas.SagaSpec(name={saga.name!r}, trigger={saga.trigger.name!r}, steps=({steps},), "
        f"pivot={saga.pivot_index}, timeout_seconds={timeout}, {outcomes})"
    )


def _literal(names: list[str]) -> str:
    return f"Literal[{', '.join(repr(n) for n in names)}]" if names else "Never"


DICT_LINE = "    {name}={{}},"
"""A dictionary argument of `FLOW` in `testing_layout`'s skeleton, its entries left out."""


def testing_source(flow: Flow) -> str:
    """`<pkg>/testing.py` (unformatted): the flow's data and its typed `TestKit`."""
    skeleton, entries = testing_layout(flow)
    for name, items in entries.items():
        skeleton = skeleton.replace(DICT_LINE.format(name=name), f"    {name}={{{', '.join(items)}}},", 1)
    return skeleton


def testing_layout(flow: Flow) -> tuple[str, dict[str, list[str]]]:
    """`testing_source` as a skeleton whose big dictionaries (`DICT_LINE`) are empty, and
    their entries by argument name: what `lambda_adapters` formats entry by entry."""
    pkg = python_package(flow)
    services = [s for s in flow.services if s.handlers]
    handlers = [h for s in services for h in s.handlers]
    services = sorted(services, key=lambda s: service_module(s.name))
    typing_names = sorted({"Literal", "TypedDict", "Never" if not flow.sagas else "Literal"})
    entries = {
        "handlers": [f"{_handler_name(h)!r}: {_handler_spec(flow, h)}" for h in handlers],
        "sagas": [f"{s.name!r}: {_saga_spec(s)}" for s in flow.sagas],
        "events": [f"{e.name!r}: _models.{e.name}" for e in flow.events],
        "services": [
            f"{s.name!r}: _kit.user_service(_{service_module(s.name)}_impl, {service_class(s.name)})" for s in services
        ],
    }
    lines = [
        f'"""Local test kit of flow `{flow.name}` {flow.version}: sagas and subscriptions in process, on a virtual clock.',
        "",
        "Your services run through the generated Lambda adapters with in-memory AWS;",
        "faults are injected by handler (`Service.handler`) or saga name:",
        "",
        f"    from {pkg}.testing import TestKit",
        "",
        "    kit = TestKit(services={...})  # services left out are your `services/` classes",
        "    kit.fail(HANDLER, times=3)  # or .reply(), .delay(), .deliver_late(), .deliver_twice(), .poison()",
        "    run = kit.publish(EVENT)",
        "    run.outcome(SAGA), run.events(), run.calls(), run.compensations()",
        "",
        f"The engine is `{pkg}.adapters.testkit`.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        f"from typing import {', '.join(typing_names)}",
        "",
        f"from {pkg} import models as _models",
        *(f"from {pkg}.adapters import {service_module(s.name)} as _{service_module(s.name)}" for s in services),
        f"from {pkg}.adapters import testkit as _kit",
        *([f"from {pkg}.adapters import testkit_sagas as _sagas"] if flow.sagas else []),
        f"from {pkg}.adapters.testkit import Entry, InjectedFailure, Run",
        f"from {pkg}.adapters.testkit_sagas import Outcome",
        *(f"from {pkg}.handlers.{service_module(s.name)} import {handlers_class(s.name)}" for s in services),
        *(f"from {pkg}.services import {service_module(s.name)} as _{service_module(s.name)}_impl" for s in services),
        *(f"from {pkg}.services.{service_module(s.name)} import {service_class(s.name)}" for s in services),
        "",
        '__all__ = ["FLOW", "Entry", "HandlerName", "InjectedFailure", "Outcome", "Run", "SagaName", "Services", "TestKit"]',
        "",
        f"HandlerName = {_literal([_handler_name(h) for h in handlers])}",
        f"SagaName = {_literal([s.name for s in flow.sagas])}",
        "",
        "",
        "class Services(TypedDict, total=False):",
        '    """Your implementation of each service, by name."""',
        "",
        *(f"    {s.name}: {handlers_class(s.name)}" for s in services),
        "",
        "FLOW = _kit.FlowSpec(",
        f"    name={flow.name!r},",
        f"    version={flow.version!r},",
        *(DICT_LINE.format(name=name) for name in entries),
        ")",
        "",
        "",
        "class TestKit(_kit.Kit[HandlerName, SagaName]):",
        f'    """Flow `{flow.name}` in process: inject faults, `publish` an event, read the `Run`."""',
        "",
        "    __test__ = False  # not a pytest test class",
        "",
        "    def __init__(self, services: Services | None = None, *, seed: int = 0) -> None:",
        "        super().__init__(FLOW, dict(services or {}), seed=seed)",
    ]
    return "\n".join(lines) + "\n", entries
