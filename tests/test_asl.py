"""The test ASL interpreter (`tests/asl.py`) follows Step Functions' semantics on the subset it runs.

Its agreement with moto's real interpreter on every generated saga machine is
tests/test_saga_moto.py; these pin the pieces moto cannot run quickly: timeouts,
retry timing on the virtual clock, and refusing what it does not implement.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.asl import SEND_AND_WAIT, Answer, Unsupported, run


class Script:
    """Answers commands in order from a list; records when each was sent."""

    def __init__(self, *answers: Answer | None) -> None:
        self.answers, self.sent, self.events = list(answers), [], []  # type: ignore[var-annotated]

    def send(self, queue: str, body: Any, now: float) -> Answer | None:
        self.sent.append((now, body))
        answer = self.answers.pop(0)
        return None if answer is None else Answer(now + answer.at, answer.output, answer.error, answer.cause)

    def put_events(self, entries: list[Any], now: float) -> None:
        self.events += entries


def _machine(task: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = {"n.$": "$.n", "token.$": "$$.Task.Token", "try.$": "$$.State.RetryCount"}
    states = {
        "t": {"Type": "Task", "Resource": SEND_AND_WAIT, "Parameters": {"QueueUrl": "q", "MessageBody": body}, **task},
        "ok": {"Type": "Succeed"},
        "caught": {"Type": "Fail", "Error": "Caught"},
    }
    return {"StartAt": "t", "States": states, **extra}


def test_a_task_without_an_answer_times_out_at_its_timeout() -> None:
    script = Script(None)
    ex = run(_machine({"TimeoutSeconds": 30, "Next": "ok"}), {"n": 1}, script)
    assert (ex.status, ex.error, ex.clock) == ("FAILED", "States.Timeout", 30)


def test_retries_wait_interval_times_rate_capped_and_count_per_retrier() -> None:
    retry = [
        {"ErrorEquals": ["Final"], "MaxAttempts": 0},
        {
            "ErrorEquals": ["States.ALL"],
            "MaxAttempts": 3,
            "IntervalSeconds": 2,
            "BackoffRate": 3.0,
            "MaxDelaySeconds": 5,
        },
    ]
    boom = Answer(1, error="Boom")
    script = Script(boom, boom, boom, Answer(1, output={"done": True}))
    ex = run(_machine({"TimeoutSeconds": 10, "Retry": retry, "Next": "ok"}), {"n": 1}, script)
    assert ex.status == "SUCCEEDED" and ex.output == {"done": True}
    assert [t for t, _ in script.sent] == [0, 1 + 2, 3 + 1 + 5, 9 + 1 + 5]
    assert [b["try"] for _, b in script.sent] == [0, 1, 2, 3]
    final = Script(Answer(1, error="Final"))
    assert run(_machine({"Retry": retry, "TimeoutSeconds": 10, "Next": "ok"}), {"n": 1}, final).error == "Final"


def test_catch_stores_error_and_cause_at_its_result_path() -> None:
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "ok"}]
    script = Script(Answer(1, error="No", cause='{"why": "x"}'))
    ex = run(_machine({"TimeoutSeconds": 5, "Catch": catch, "Next": "caught"}), {"n": 1}, script)
    assert ex.output == {"n": 1, "error": {"Error": "No", "Cause": '{"why": "x"}'}}


def test_intrinsics_choice_wait_and_pass() -> None:
    states = {
        "p": {
            "Type": "Pass",
            "Parameters": {
                "id.$": "States.Format('{}/undo \\\\{x\\\\}', $$.Execution.Name)",
                "json.$": "States.StringToJson($.raw)",
                "pick.$": "States.ArrayGetItem(States.Array(5, 7), $.i)",
                "sum.$": "States.MathAdd($.i, 1)",
            },
            "ResultPath": "$.out",
            "Next": "c",
        },
        "c": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.out.sum", "NumericLessThan": 2, "Next": "w"}],
            "Default": "end",
        },
        "w": {"Type": "Wait", "SecondsPath": "$.out.pick", "Next": "end"},
        "end": {"Type": "Succeed"},
    }
    ex = run({"StartAt": "p", "States": states}, {"raw": '{"a": 1}', "i": 1}, Script(), name="x1")
    assert ex.output["out"] == {"id": "x1/undo {x}", "json": {"a": 1}, "pick": 7, "sum": 2}
    assert ex.clock == 0, "2 is not less than 2: no wait"


def test_an_execution_past_its_timeout_times_out() -> None:
    ex = run(_machine({"TimeoutSeconds": 30, "Next": "ok"}, TimeoutSeconds=20), {"n": 1}, Script(None))
    assert ex.status == "TIMED_OUT"


def test_a_missing_path_is_a_runtime_error_not_a_guess() -> None:
    with pytest.raises(Exception, match=r"States\.Runtime"):
        run(_machine({"TimeoutSeconds": 5, "Next": "ok"}), {}, Script(Answer(1, output={})))


def test_anything_outside_the_subset_is_refused() -> None:
    with pytest.raises(Unsupported):
        run({"StartAt": "m", "States": {"m": {"Type": "Map", "End": True}}}, {}, Script())
    choice = {"Type": "Choice", "Choices": [{"Variable": "$.a", "BooleanEquals": True, "Next": "m"}], "Default": "m"}
    with pytest.raises(Unsupported):
        run({"StartAt": "c", "States": {"c": choice, "m": {"Type": "Succeed"}}}, {"a": True}, Script())


def _branch(name: str, **task: Any) -> dict[str, Any]:
    body = {"n.$": "$.n", "branch": name}
    step = {"Type": "Task", "Resource": SEND_AND_WAIT, "Parameters": {"QueueUrl": name, "MessageBody": body}}
    return {"StartAt": name, "States": {name: {**step, "TimeoutSeconds": 10, "End": True, **task}}}


def _parallel(**extra: Any) -> dict[str, Any]:
    parallel = {"Type": "Parallel", "Branches": [_branch("a"), _branch("b")], "Next": "ok", **extra}
    return {
        "StartAt": "p",
        "States": {"p": parallel, "ok": {"Type": "Succeed"}, "caught": {"Type": "Pass", "End": True}},
    }


def test_a_parallel_state_gives_each_branch_its_input_and_joins_their_outputs_in_order() -> None:
    """AWS: every branch starts with the state's input when the state is entered; the result is the
    list of the branches' outputs, in branch order, when the last one ends; then ResultSelector and
    ResultPath, as for a task."""
    script = Script(Answer(5, output={"x": 1}), Answer(2, output={"x": 2}))
    selector = {"a.$": "$[0].x", "b.$": "$[1].x"}
    ex = run(_parallel(ResultSelector=selector, ResultPath="$.joined"), {"n": 7}, script)
    assert (ex.status, ex.clock) == ("SUCCEEDED", 5)  # the slower branch
    assert [(at, body["branch"], body["n"]) for at, body in script.sent] == [(0, "a", 7), (0, "b", 7)]
    assert ex.output == {"n": 7, "joined": {"a": 1, "b": 2}}


def test_a_failing_branch_fails_the_parallel_state_to_its_catch_and_retry() -> None:
    script = Script(Answer(1, output={}), Answer(1, error="Boom"))
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "caught"}]
    ex = run(_parallel(Catch=catch), {"n": 1}, script)
    assert (ex.status, ex.end_state, ex.output["error"]["Error"]) == ("SUCCEEDED", "caught", "Boom")
    retried = Script(Answer(1, output={}), Answer(1, error="Boom"), Answer(1, output={}), Answer(1, output={}))
    retry = [{"ErrorEquals": ["Boom"], "MaxAttempts": 1, "IntervalSeconds": 3}]
    ex = run(_parallel(Retry=retry), {"n": 1}, retried)
    assert (ex.status, len(retried.sent), ex.clock) == ("SUCCEEDED", 4, 1 + 3 + 1)  # every branch runs again
