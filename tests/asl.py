"""A small Amazon States Language interpreter on a virtual clock, for tests only.

moto stores state machines but does not run `.waitForTaskToken` tasks, so the
generated saga machines are run here instead. It covers the subset flowgen
emits, with AWS's documented semantics:

- states: Pass (InputPath, Result, Parameters, ResultPath, End), Parallel
  (Branches, ResultSelector, ResultPath, Retry, Catch: see `_parallel`), Task (`sqs:sendMessage
  .waitForTaskToken`, `events:putEvents`, `dynamodb:updateItem` when the world
  has `update_item`; ResultSelector), Choice (`StringEquals`,
  `NumericLessThan`, Default), Wait (Seconds, SecondsPath), Succeed, Fail; `TimeoutSeconds` per task attempt and per execution;
- Retry (retriers in order, each with its own count; IntervalSeconds,
  BackoffRate, MaxDelaySeconds, JitterStrategy FULL as its worst case: the full
  delay), then Catch (first matching catcher; `States.ALL` matches anything);
- paths `$.a.b`, `$.a[0]`, `$[0]` and the context object (`$$.Execution.Name`,
  `$$.State.EnteredTime`, `$$.State.RetryCount`, `$$.Task.Token`); intrinsics
  States.Format, States.StringToJson, States.Array, States.ArrayGetItem, States.MathAdd;
- `HeartbeatSeconds`: a task whose world reports a longer silence (`Answer.heartbeats`) fails
  with States.HeartbeatTimeout.

Whoever answers a command is a `World`: given the message and the virtual time
it was sent, it says when and how the task is answered (or never). Anything
outside the subset raises `Unsupported`, so a generator change cannot silently
run a different machine than the one this interpreter understands.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

Json = Any
SEND_AND_WAIT = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
PUT_EVENTS = "arn:aws:states:::events:putEvents"
UPDATE_ITEM = "arn:aws:states:::dynamodb:updateItem"
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class Unsupported(Exception):
    """The definition uses something this interpreter does not implement."""


@dataclass(frozen=True)
class Answer:
    """How a task is answered: at `at` seconds, success with `output`, or failure `error`/`cause`."""

    at: float
    output: Json = None
    error: str | None = None
    cause: str = ""
    heartbeats: tuple[float, ...] = ()
    """When SendTaskHeartbeat came (for `HeartbeatSeconds`); `at` may be `inf`: never answered."""


class World(Protocol):
    def send(self, queue: str, body: Json, now: float) -> Answer | None:
        """The answer to a command sent at `now`; None: never answered."""

    def put_events(self, entries: list[Json], now: float) -> None: ...


@dataclass
class Execution:
    status: str = "RUNNING"  # SUCCEEDED, FAILED, TIMED_OUT
    end_state: str = ""
    error: str | None = None
    output: Json = None
    clock: float = 0.0
    trace: list[tuple[float, str]] = field(default_factory=list)


T = TypeVar("T")


def sent_together_sorted(saga: Any, sent: list[T], step_of: Callable[[T], str]) -> list[T]:
    """`sent` (commands in the order a run sent them) with each run of the commands one parallel block
    of `saga` sends together sorted by step: moto runs a Parallel state's branches in threads, and a
    test that polls their queues in turn sees them in either order. Everything else, the undoing in
    reverse included, keeps its order."""
    blocks = [{saga.steps[i].name for i in block.indexes} for block in saga.parallels]
    ordered: list[T] = []
    run_block: set[str] | None = None
    run_start = 0
    for item in sent:
        block = next((b for b in blocks if step_of(item) in b), None)
        if block is None or block is not run_block:
            run_block, run_start = block, len(ordered)
        ordered.append(item)
        if block is not None:
            ordered[run_start:] = sorted(ordered[run_start:], key=step_of)
    return ordered


def iso(seconds: float) -> str:
    return (EPOCH + dt.timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


class Failure(Exception):
    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(error)
        self.error, self.cause = error, cause


def run(
    definition: Json,
    execution_input: Json,
    world: World,
    name: str = "exec-1",
    start: float = 0.0,
    tokens: str = "token",
) -> Execution:
    """Run an execution to its end on the virtual clock, starting at `start` (0; a Parallel state's
    branch starts when the state is entered); task tokens are `<tokens>-1`, `<tokens>-2`, ..."""
    ex = Execution(clock=start)
    states, current, data = definition["States"], definition["StartAt"], copy.deepcopy(execution_input)
    limit = definition.get("TimeoutSeconds")
    prefix, tokens_used = tokens, 0
    while True:
        if limit is not None and ex.clock > limit:
            ex.status, ex.end_state = "TIMED_OUT", current
            return ex
        state = states[current]
        ex.trace.append((ex.clock, current))
        kind = state["Type"]
        context = {"Execution": {"Name": name}, "State": {"EnteredTime": iso(ex.clock), "RetryCount": 0}}
        if kind == "Succeed":
            ex.status, ex.end_state, ex.output = "SUCCEEDED", current, data
            return ex
        if kind == "Fail":
            ex.status, ex.end_state, ex.error = "FAILED", current, state.get("Error")
            return ex
        if kind == "Choice":
            current = _choose(state, data)
            continue
        if kind == "Wait":
            ex.clock += float(state["Seconds"] if "Seconds" in state else _path(state["SecondsPath"], data, {}))
            current = state["Next"]
            continue
        if kind == "Pass":
            source = _path(state["InputPath"], data, {}) if "InputPath" in state else data
            result = (
                _params(state["Parameters"], source, context) if "Parameters" in state else state.get("Result", source)
            )
            data = _assign(data, state.get("ResultPath", "$"), result)
            if state.get("End"):
                ex.status, ex.end_state, ex.output = "SUCCEEDED", current, data
                return ex
            current = state["Next"]
            continue
        if kind not in ("Task", "Parallel"):
            raise Unsupported(f"state type {kind}")
        tokens_used += 1
        if kind == "Parallel":
            outcome = _parallel(state, data, world, ex, name, f"{prefix}-{tokens_used}")
        else:
            outcome = _task(state, data, context, world, ex, f"{prefix}-{tokens_used}")
        if limit is not None and ex.clock > limit:
            ex.status, ex.end_state, ex.clock = "TIMED_OUT", current, float(limit)
            return ex
        if isinstance(outcome, Failure):
            catcher = next((c for c in state.get("Catch", []) if _matches(c["ErrorEquals"], outcome.error)), None)
            if catcher is None:
                ex.status, ex.end_state, ex.error = "FAILED", current, outcome.error
                return ex
            data = _assign(data, catcher.get("ResultPath", "$"), {"Error": outcome.error, "Cause": outcome.cause})
            current = catcher["Next"]
            continue
        data = _assign(data, state.get("ResultPath", "$"), outcome)
        if state.get("End"):
            ex.status, ex.end_state, ex.output = "SUCCEEDED", current, data
            return ex
        current = state["Next"]


def _task(state: Json, data: Json, context: Json, world: World, ex: Execution, token: str) -> Json:
    counts = [0] * len(state.get("Retry", []))
    entered = ex.clock
    while True:
        context = {
            **context,
            "State": {"EnteredTime": iso(entered), "RetryCount": sum(counts)},
            "Task": {"Token": token},
        }
        params = _params(state.get("Parameters", {}), data, context)
        outcome = _attempt(state, params, world, ex)
        if not isinstance(outcome, Failure):
            return _params(state["ResultSelector"], outcome, context) if "ResultSelector" in state else outcome
        for i, retrier in enumerate(state.get("Retry", [])):
            if _matches(retrier["ErrorEquals"], outcome.error):
                if counts[i] >= retrier.get("MaxAttempts", 3):
                    return outcome
                ex.clock += _delay(retrier, counts[i])
                counts[i] += 1
                break
        else:
            return outcome


def _attempt(state: Json, params: Json, world: World, ex: Execution) -> Json:
    resource = state["Resource"]
    if resource == PUT_EVENTS:
        world.put_events(params["Entries"], ex.clock)
        return {"Entries": [{"EventId": "e"}], "FailedEntryCount": 0}
    if resource == UPDATE_ITEM and hasattr(world, "update_item"):
        return world.update_item(params, ex.clock)
    if resource != SEND_AND_WAIT:
        raise Unsupported(f"resource {resource}")
    sent = ex.clock
    answer = world.send(params["QueueUrl"], params["MessageBody"], sent)
    lapsed = _heartbeat_lapsed(state, answer, sent)
    if lapsed is not None:
        ex.clock = lapsed
        return Failure("States.HeartbeatTimeout")
    timeout = state.get("TimeoutSeconds")
    if answer is None or (timeout is not None and answer.at - sent > timeout):
        if timeout is None:
            raise Unsupported("a task that is never answered and has no timeout would wait forever")
        ex.clock = sent + timeout
        return Failure("States.Timeout")
    ex.clock = max(ex.clock, answer.at)
    if answer.error is not None:
        return Failure(answer.error, answer.cause)
    return answer.output


def _parallel(state: Json, data: Json, world: World, ex: Execution, name: str, tokens: str) -> Json:
    """A Parallel state: every branch gets the state's input and starts when the state is entered;
    the output is the list of the branches' outputs, in order (then ResultSelector), when the last one
    ends. A branch that fails fails the state with its error (AWS stops the other branches then; here
    they run one after another on the same start time, so those before it ran to their end: the
    generated machines never let a branch fail). Retry and Catch apply to the whole state."""
    counts = [0] * len(state.get("Retry", []))
    while True:
        outcome = _branches(state, data, world, ex, name, f"{tokens}.{sum(counts)}")
        if not isinstance(outcome, Failure):
            return _params(state["ResultSelector"], outcome, {}) if "ResultSelector" in state else outcome
        for i, retrier in enumerate(state.get("Retry", [])):
            if _matches(retrier["ErrorEquals"], outcome.error):
                if counts[i] >= retrier.get("MaxAttempts", 3):
                    return outcome
                ex.clock += _delay(retrier, counts[i])
                counts[i] += 1
                break
        else:
            return outcome


def _branches(state: Json, data: Json, world: World, ex: Execution, name: str, tokens: str) -> Json:
    start, end, outputs = ex.clock, ex.clock, []
    source = _path(state["InputPath"], data, {}) if "InputPath" in state else data
    if "Parameters" in state:
        source = _params(state["Parameters"], source, {"Execution": {"Name": name}})
    for i, branch in enumerate(state["Branches"]):
        sub = run(branch, source, world, name, start=start, tokens=f"{tokens}.{i}")
        ex.trace += sub.trace
        if sub.status != "SUCCEEDED":
            ex.clock = sub.clock
            return Failure(sub.error or "States.BranchFailed", f"branch {i} ended in {sub.end_state}")
        end = max(end, sub.clock)
        outputs.append(sub.output)
    ex.trace.sort(key=lambda entry: entry[0])
    ex.clock = end
    return outputs


def _heartbeat_lapsed(state: Json, answer: Answer | None, sent: float) -> float | None:
    """`HeartbeatSeconds`: the time the task fails with States.HeartbeatTimeout (the first silence longer
    than it before the answer and the timeout), or None."""
    if state.get("HeartbeatSeconds") is None:
        return None
    beat = float(state["HeartbeatSeconds"])
    end = min(answer.at if answer is not None else float("inf"), sent + state.get("TimeoutSeconds", float("inf")))
    last = sent
    for t in sorted(answer.heartbeats if answer is not None else ()):
        if t > end:
            break
        if t - last > beat:
            return last + beat
        last = t
    return last + beat if end - last > beat else None


def _delay(retrier: Json, count: int) -> float:
    """The wait before retry `count + 1`; FULL jitter waits anywhere up to it: here, all of it."""
    delay = retrier.get("IntervalSeconds", 1) * retrier.get("BackoffRate", 2.0) ** count
    if "MaxDelaySeconds" in retrier:
        delay = min(delay, retrier["MaxDelaySeconds"])
    if retrier.get("JitterStrategy", "NONE") not in ("NONE", "FULL"):
        raise Unsupported(f"jitter {retrier['JitterStrategy']}")
    return float(delay)


def _matches(names: list[str], error: str) -> bool:
    return "States.ALL" in names or error in names


def _choose(state: Json, data: Json) -> str:
    for rule in state.get("Choices", []):
        (test,) = set(rule) - {"Variable", "Next"}
        if test == "IsPresent":
            if _present(rule["Variable"], data) == rule[test]:
                return str(rule["Next"])
            continue
        value = _path(rule["Variable"], data, {})
        if test == "StringEquals" and value == rule[test]:
            return str(rule["Next"])
        if test == "NumericLessThan" and isinstance(value, (int, float)) and value < rule[test]:
            return str(rule["Next"])
        if test not in ("StringEquals", "NumericLessThan"):
            raise Unsupported(f"choice rule {test}")
    if "Default" not in state:
        raise Failure("States.NoChoiceMatched")
    return str(state["Default"])


# ---- data ---------------------------------------------------------------------------------


def _present(path: str, data: Json) -> bool:
    try:
        _path(path, data, {})
    except Failure:
        return False
    return True


def _assign(data: Json, path: str | None, value: Json) -> Json:
    if path is None:
        return data
    if path == "$":
        return copy.deepcopy(value)
    if not path.startswith("$."):
        raise Unsupported(f"ResultPath {path}")
    out = copy.deepcopy(data)
    node = out
    *parents, last = path[2:].split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = copy.deepcopy(value)
    return out


def _path(path: str, data: Json, context: Json) -> Json:
    root, rest = (context, path[3:]) if path.startswith("$$.") else (data, path[2:] if path != "$" else "")
    if rest.startswith("["):  # `$[0]`: an item of a list at the root (a Parallel state's result)
        rest = rest[1:]
    node = root
    for key in re.split(r"\.|\[", rest) if rest else []:
        if key.endswith("]") and key[:-1].isdigit():
            index = int(key[:-1])
            if not isinstance(node, list) or index >= len(node):
                raise Failure("States.Runtime", f"path {path} does not exist")
            node = node[index]
            continue
        if not isinstance(node, dict) or key not in node:
            raise Failure("States.Runtime", f"path {path} does not exist")
        node = node[key]
    return node


def _params(template: Json, data: Json, context: Json) -> Json:
    if isinstance(template, dict):
        out = {}
        for key, value in template.items():
            if key.endswith(".$"):
                out[key[:-2]] = _expression(value, data, context)
            else:
                out[key] = _params(value, data, context)
        return out
    if isinstance(template, list):
        return [_params(v, data, context) for v in template]
    return template


# ---- intrinsic functions -----------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(States\.\w+)\(|('(?:[^'\\]|\\.)*')|(-?\d+(?:\.\d+)?)|(\$\$?[\w.]*)|(,)|(\)))")


def _expression(text: str, data: Json, context: Json) -> Json:
    if not text.startswith("States."):
        return _path(text, data, context)
    value, end = _call(text, 0, data, context)
    if text[end:].strip():
        raise Unsupported(f"trailing text in {text}")
    return value


def _call(text: str, pos: int, data: Json, context: Json) -> tuple[Json, int]:
    match = _TOKEN.match(text, pos)
    if match is None or match.group(1) is None:
        raise Unsupported(f"intrinsic at {text[pos:]}")
    args: list[Json] = []
    name, pos = match.group(1), match.end()
    while True:
        match = _TOKEN.match(text, pos)
        if match is None:
            raise Unsupported(f"argument at {text[pos:]}")
        if match.group(6):
            return _apply(name, args), match.end()
        if match.group(5):
            pos = match.end()
            continue
        if match.group(1):
            value, pos = _call(text, pos, data, context)
            args.append(value)
            continue
        pos = match.end()
        if match.group(2):
            args.append(re.sub(r"\\(.)", r"\1", match.group(2)[1:-1]))
        elif match.group(3):
            number = match.group(3)
            args.append(float(number) if "." in number else int(number))
        else:
            args.append(_path(match.group(4), data, context))


def _apply(name: str, args: list[Json]) -> Json:
    if name == "States.Format":
        template, *values = args
        parts = re.split(r"(?<!\\)\{\}", template)
        if len(parts) != len(values) + 1:
            raise Failure("States.IntrinsicFailure", f"{template} takes {len(parts) - 1} values")
        text = parts[0] + "".join(str(v) + p for v, p in zip(values, parts[1:], strict=True))
        return re.sub(r"\\(.)", r"\1", text)
    if name == "States.StringToJson":
        return json.loads(args[0])
    if name == "States.Array":
        return list(args)
    if name == "States.ArrayGetItem":
        return args[0][args[1]]
    if name == "States.MathAdd":
        return args[0] + args[1]
    raise Unsupported(f"intrinsic {name}")
