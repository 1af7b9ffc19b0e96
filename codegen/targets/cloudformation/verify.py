"""Checks of a template that cfn-lint cannot make: references, provenance, saga shape.

- `template_problems`: every `Ref`, `Fn::GetAtt` and `Fn::Sub` name exists, every
  resource says where in the spec it came from, and every state machine is
  well-formed (see `definition_problems`).
- `definition_problems`: every StartAt/Next/Default/Catch target exists, every
  state is reachable, every `${placeholder}` has a substitution.
- `saga_problems`: the machine does what the saga says: its steps run in order,
  a failure up to the pivot undoes the steps that ran or may have run in reverse
  order, steps after the pivot never compensate and end `failed`, a compensation
  that fails ends `failed`, every retry is bounded, and every task speaks the
  adapter protocol (SAGA-CONTRACT). Behaviour is proven by running the machine
  (tests/asl.py), this only proves its shape.

The CloudFormation target runs these on everything it generates (a failure is a
flowgen bug), and `python -m codegen.targets.cloudformation.verify TEMPLATE...`
runs the first two on any template.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flowgen_design.codegen.aws.plan import plan_of
from flowgen_design.codegen.targets.cloudformation.states import (
    COMPENSATED,
    COMPLETED,
    FAILED,
    INIT,
    MAX_STATE_NAME,
    SEND_AND_WAIT,
    TRIGGER_UNDO,
    step_state,
    undo_state,
)
from flowgen_design.dsl.model import Flow, Saga
from flowgen_design.dsl.sagapaths import endings

Json = dict[str, Any]
PSEUDO_PARAMETERS = frozenset(
    {
        "AWS::AccountId",
        "AWS::NoValue",
        "AWS::NotificationARNs",
        "AWS::Partition",
        "AWS::Region",
        "AWS::StackId",
        "AWS::StackName",
        "AWS::URLSuffix",
    }
)
MAX_RESENDS = 100  # far above any spec's `retry`; catches an "until it succeeds" loop
_PLACEHOLDER = re.compile(r"\$\{(?!!)([^}]*)\}")


def _walk(node: Any, where: str) -> Iterator[tuple[str, Json]]:
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _walk(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{where}[{i}]")


def _reference_problems(where: str, node: Json, resources: Json | set[str], names: set[str]) -> list[str]:
    problems = []
    if isinstance(node.get("Ref"), str) and node["Ref"] not in names:
        problems.append(f"{where}: Ref to unknown `{node['Ref']}`")
    att = node.get("Fn::GetAtt")
    if isinstance(att, list) and (not att or att[0] not in resources):
        problems.append(f"{where}: Fn::GetAtt of unknown `{att[0] if att else ''}`")
    text = node.get("Fn::Sub")
    if isinstance(text, str):
        for name in _PLACEHOLDER.findall(text):
            if name.split(".")[0] not in names:
                problems.append(f"{where}: Fn::Sub of unknown `{name}`")
    return problems


def _references_fine(value: Any, resources: Json | set[str], names: set[str]) -> bool:
    """Whether no object below `value` has a reference problem: `_reference_problems` without
    the paths, which a clean template (every run) does not need (0.18 s -> 0.12 s on the
    benchmark spec's template, 7,400 resources)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if ("Ref" in node or "Fn::GetAtt" in node or "Fn::Sub" in node) and _reference_problems(
                "", node, resources, names
            ):
                return False
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, dict | list))
    return True


def template_problems(template: Json, known: tuple[set[str], set[str]] | None = None) -> list[str]:
    """The problems of `template`; `known` is (resource names, every name a `Ref` may take) when the
    template is a part of a larger one (`flow_part_problems`), else the template's own names."""
    resources = template.get("Resources", {})
    if known is None:
        resource_names = set(resources)
        names = resource_names | set(template.get("Parameters", {})) | PSEUDO_PARAMETERS
    else:
        resource_names, names = known
    problems: list[str] = []
    for section in ("Resources", "Outputs"):
        if _references_fine(template.get(section, {}), resource_names, names):
            continue
        for where, node in _walk(template.get(section, {}), section):
            problems += _reference_problems(where, node, resource_names, names)
    for rid, resource in resources.items():
        for dep in (
            [resource.get("DependsOn", [])]
            if isinstance(resource.get("DependsOn"), str)
            else resource.get("DependsOn", [])
        ):
            if dep not in resource_names:
                problems.append(f"{rid}: DependsOn unknown `{dep}`")
        origin = resource.get("Metadata", {}).get("flowgen", {})
        if not {"spec", "line", "element"} <= set(origin):
            problems.append(f"{rid}: Metadata.flowgen must say spec, line and element")
        if resource.get("Type") == "AWS::StepFunctions::StateMachine":
            props = resource.get("Properties", {})
            problems += [
                f"{rid}: {p}"
                for p in definition_problems(props.get("Definition", {}), props.get("DefinitionSubstitutions", {}))
            ]
    return problems


def successors(state: Json) -> list[str]:
    found = [state["Next"]] if "Next" in state else []
    found += [c["Next"] for c in state.get("Choices", []) if "Next" in c]
    found += [state["Default"]] if "Default" in state else []
    found += [c["Next"] for c in state.get("Catch", []) if "Next" in c]
    return found


def reachable(states: Json, start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name in seen or name not in states:
            continue
        seen.add(name)
        todo += successors(states[name])
    return seen


def definition_problems(definition: Json, substitutions: Json) -> list[str]:
    states = definition.get("States", {})
    start = definition.get("StartAt")
    problems = [] if start in states else [f"StartAt `{start}` is not a state"]
    for name, state in states.items():
        if len(name) > MAX_STATE_NAME:
            problems.append(f"state name `{name}` is longer than {MAX_STATE_NAME} characters")
        problems += [f"state `{name}` goes to unknown state `{t}`" for t in successors(state) if t not in states]
        terminal = state.get("Type") in ("Succeed", "Fail", "Choice") or state.get("End") is True
        if terminal == ("Next" in state):
            problems.append(f"state `{name}` must have exactly one of Next and End")
    problems += [f"state `{name}` is unreachable" for name in sorted(set(states) - reachable(states, str(start)))]
    problems += _branch_problems(states)
    used = set(_PLACEHOLDER.findall(json.dumps(definition)))
    problems += [f"placeholder `${{{p}}}` has no substitution" for p in sorted(used - set(substitutions))]
    problems += [f"substitution `{p}` is never used" for p in sorted(set(substitutions) - used)]
    return problems


def _branch_problems(states: Json) -> list[str]:
    """Each branch of a Parallel state is a well-formed machine of its own, and a state name is
    unique across the whole machine (Step Functions requires it)."""
    problems: list[str] = []
    seen = set(states)
    for name, state in states.items():
        for i, branch in enumerate(state.get("Branches", []) if state.get("Type") == "Parallel" else []):
            inner = branch.get("States", {})
            problems += [f"`{name}` branch {i}: {p}" for p in definition_problems(branch, {}) if "placeholder" not in p]
            problems += [f"state `{n}` of `{name}` has the name of another state" for n in sorted(seen & set(inner))]
            seen |= set(inner)
    return problems


def all_states(definition: Json) -> Json:
    """The states of a machine and of every branch of its Parallel states, by name."""
    found = dict(definition.get("States", {}))
    for state in list(found.values()):
        for branch in state.get("Branches", []) if state.get("Type") == "Parallel" else []:
            found.update(all_states(branch))
    return found


# ---- the saga's meaning -------------------------------------------------------------

COMMAND_KEYS = {"kind", "saga", "step", "command", "payload", "taskToken.$", "envelope"}
ENVELOPE_KEYS = {"message_id.$", "correlation_id.$", "causation_id.$", "saga_instance.$", "schema_version", "time.$"}


def _happy_path(states: Json) -> list[str]:
    path, name = [], INIT
    while name in states and name not in path:
        path.append(name)
        name = states[name].get("Next", states[name].get("Default", ""))  # a parallel block's join: all joined
    return path


def _protocol_problems(saga: Saga, name: str, state: Json, step: str, command: str) -> list[str]:
    body = state.get("Parameters", {}).get("MessageBody", {})
    problems = [] if state.get("Resource") == SEND_AND_WAIT else [f"`{name}` does not send and wait for a task token"]
    fixed = {"kind": "saga-command", "saga": saga.name, "step": step, "command": command}
    if set(body) != COMMAND_KEYS or any(body.get(k) != v for k, v in fixed.items()):
        problems.append(f"`{name}` sends {sorted(body)}, the adapter protocol expects {sorted(COMMAND_KEYS)} ({fixed})")
    envelope = set(body.get("envelope", {}))
    envelope -= {"heartbeat_seconds"}  # a step with `heartbeat D`: its adapter sends SendTaskHeartbeat
    if envelope - {"timeout_seconds", "timeout_seconds.$"} != ENVELOPE_KEYS or len(envelope) != len(ENVELOPE_KEYS) + 1:
        problems.append(f"`{name}` sends the envelope {sorted(envelope)}")
    if any(r.get("MaxAttempts", 3) > MAX_RESENDS for r in state.get("Retry", [])):
        problems.append(f"`{name}` retries more than {MAX_RESENDS} times")
    return problems


WAIT_KEYS = {"kind", "saga", "step", "events", "by", "key.$", "taskToken.$", "envelope"}


def _wait_protocol_problems(saga: Saga, name: str, state: Json, step: str) -> list[str]:
    """An `await` step registers its task token with the awaiter (docs/semantics.md, section 11)."""
    body = state.get("Parameters", {}).get("MessageBody", {})
    problems = [] if state.get("Resource") == SEND_AND_WAIT else [f"`{name}` does not send and wait for a task token"]
    if (
        set(body) != WAIT_KEYS
        or body.get("kind") != "saga-wait"
        or body.get("saga") != saga.name
        or body.get("step") != step
    ):
        problems.append(f"`{name}` registers {sorted(body)}, the awaiter expects {sorted(WAIT_KEYS)}")
    if "TimeoutSeconds" not in state:
        problems.append(f"`{name}` waits without a timeout")
    return problems


def _undo_walk(states: Json, start: str) -> tuple[list[str], set[str]]:
    """The `undo` states met from `start` (following Next, Pass and routing Choices), and what follows them."""
    chain, name = [], start
    while states.get(name, {}).get("Type") == "Pass" and not name.startswith("undo "):
        name = states[name].get("Next", "")
    while name.startswith("undo ") and name in states and name not in chain:
        chain.append(name)
        name = states[name].get("Next", "")
    return chain, reachable(states, name) if name in states else set()


def _failure_path_problems(saga: Saga, states: Json, index: int) -> list[str]:
    step = saga.steps[index]
    name = step_state(step)
    catches = states[name].get("Catch", [])
    if [c.get("ErrorEquals") for c in catches] != [["States.ALL"]]:
        return [f"`{name}` does not catch every failure"]
    after = reachable(states, catches[0]["Next"])
    if index > saga.pivot_index:
        if any(t.startswith("undo ") for t in after) or COMPENSATED in after:
            return [f"`{name}` runs after the pivot but a failure of it compensates"]
        return [] if FAILED in after else [f"a failure of `{name}` does not end in `{FAILED}`"]
    choice = states.get(catches[0]["Next"], {})
    targets = [c["Next"] for c in choice.get("Choices", [])] + [choice.get("Default", choice.get("Next", ""))]
    problems = []
    for target in targets:
        if target.startswith("resend "):
            continue  # the step's own `retry`: back to the step
        chain, tail = _undo_walk(states, target)
        own = target == targets[-1] and index < saga.pivot_index
        expected = [undo_state(s) for s in reversed(saga.steps[: index + own]) if s.compensation is not None]
        if saga.trigger_compensation is not None:
            expected.append(TRIGGER_UNDO)  # the local transaction that published the trigger, undone last
        if index == saga.pivot_index and target == targets[-1] and step.wait is None:
            expected = []  # no answer from the pivot: unknown (a wait that timed out did nothing)
        if chain != expected:
            problems.append(f"a failure of `{name}` via `{target}` runs {chain}, expected {expected}")
        if any(states[t].get("Type") == "Succeed" and t != COMPENSATED for t in tail | set(chain)):
            problems.append(f"after a failure of `{name}` the machine may complete")
    return problems


def saga_problems(saga: Saga, definition: Json) -> list[str]:
    states = definition.get("States", {})
    steps = [step_state(s) for s in saga.steps]
    path = _happy_path(states)
    # A branched saga is not a line, nor is one with a parallel block: their ways are proven by
    # running them (tests/test_saga_branches.py, tests/test_saga_parallel.py).
    straight = not saga.branched and not saga.parallels
    problems = (
        [] if path[1 : 1 + len(steps)] == steps or not straight else [f"steps run as {path}, expected {steps} in order"]
    )
    if not path or states.get(path[-1], {}).get("Type") != "Succeed" or COMPLETED not in path:
        problems.append("the machine does not end in `completed` after the last step")
    # a saga no way of which fails (a lone wait at the pivot) has no `failed` state to reach
    fails = any(e.outcome == FAILED for e in endings(saga))
    if (fails or FAILED in states) and states.get(FAILED, {}).get("Type") != "Fail":
        problems.append(f"`{FAILED}` is not a Fail state")
    states = all_states(definition)  # the steps of a parallel block run in its branches
    for index, step in enumerate(saga.steps):
        if step_state(step) not in states:
            continue
        if step.wait is not None:
            problems += _wait_protocol_problems(saga, step_state(step), states[step_state(step)], step.name)
        else:
            problems += _protocol_problems(
                saga, step_state(step), states[step_state(step)], step.name, step.action.command.name
            )
        problems += _failure_path_problems(saga, states, index) if straight else []
        undo = states.get(undo_state(step))
        if step.compensation is not None and index < saga.pivot_index:
            if undo is None:
                problems.append(f"step `{step.name}` has no `{undo_state(step)}` state")
                continue
            problems += _protocol_problems(saga, undo_state(step), undo, step.name, step.compensation.command.name)
            if FAILED not in reachable(states, undo.get("Catch", [{}])[0].get("Next", "")):
                problems.append(f"a failure of `{undo_state(step)}` does not end in `{FAILED}`")
    return problems


def flow_problems(flow: Flow, template: Json) -> list[str]:
    """Everything above, for the template generated from `flow`."""
    return flow_part_problems(flow, template, list(flow.sagas))


def flow_part_problems(
    flow: Flow, part: Json, sagas: list[Saga], known: tuple[set[str], set[str]] | None = None
) -> list[str]:
    """`flow_problems` of a part of the template (the resources an edit rebuilt, `parts.py`) that
    holds the state machines of `sagas`; names resolve against `known`, the whole template's
    (resource names, every name a `Ref` may take, the pseudo parameters included), or the part's own."""
    problems = template_problems(part, known)
    for saga in sagas:
        resource = part.get("Resources", {}).get(plan_of(flow).saga(saga).state_machine.logical_id)
        if resource is None:
            problems.append(f"saga `{saga.name}` has no state machine")
            continue
        problems += _saga_machine_problems(saga, resource)
    return problems


def _saga_machine_problems(saga: Saga, resource: Json) -> list[str]:
    return [f"saga `{saga.name}`: {p}" for p in saga_problems(saga, resource["Properties"].get("Definition", {}))]


def main(argv: list[str]) -> int:
    failed = False
    for path in argv:
        for problem in template_problems(json.loads(Path(path).read_text(encoding="utf-8"))):
            print(f"{path}: {problem}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
