"""The AWS plan's checks: what the deployment could not take.

- logical IDs: two spec elements whose resources would share a CloudFormation
  logical ID, or an ID longer than CloudFormation allows (`plan.reserved_ids`
  predicts every ID an element may take);
- platform limits: a handler timeout beyond Lambda's, retries that outlast SQS
  retention, a saga timeout beyond a Step Functions execution (`limits`);
- names the generated Step Functions protocol reserves;
- API paths a REST API cannot hold together (`/a/{id}` beside `/a/{key}`).

The timing arithmetic (`worst_case_ms`, ...) is the front end's; only the
comparison with AWS's numbers lives here. `flowgen check` runs these when a
target that deploys to AWS is configured.
"""

from __future__ import annotations

from flowgen_design.codegen.aws import limits
from flowgen_design.codegen.aws.ids import path_segments, reserved_ids
from flowgen_design.dsl import codes
from flowgen_design.dsl.durations import format_ms
from flowgen_design.dsl.rules import Rule, RuleContext
from flowgen_design.dsl.source import Span

# Error names the generated adapters report to Step Functions besides reply names.
SAGA_ERROR_NAMES = frozenset({"AttemptsExhausted"})


def check_logical_ids(ctx: RuleContext) -> None:
    longest = limits.CLOUDFORMATION_LOGICAL_ID.value
    seen: dict[str, tuple[str, Span]] = {}
    reported: set[tuple[str, str]] = set()
    for ident, element, span in reserved_ids(ctx.flow):
        first = seen.setdefault(ident, (element, span))
        if first[0] != element and (first[0], element) not in reported:
            reported.add((first[0], element))
            ctx.report.add(
                codes.NAME_CLASH,
                f"`{element}` and `{first[0]}` both become `{ident}` in CloudFormation logical IDs",
                span,
                f"rename one; `{first[0]}` is at {first[1].file}:{first[1].line}:{first[1].column}",
            )
        if len(ident) > longest and (element, "") not in reported:
            reported.add((element, ""))
            ctx.report.add(
                codes.NAME_TOO_LONG,
                f"`{element}` makes a CloudFormation logical ID longer than {longest} characters",
                span,
                "shorten its names",
            )


def check_path_parameters(ctx: RuleContext) -> None:
    """A REST API resource has one child for a `{parameter}`: every path must call it the same."""
    first: dict[str, tuple[str, str]] = {}
    for service in ctx.flow.services:
        for api in service.apis:
            segments = path_segments(api.path)
            for n, segment in enumerate(segments):
                if not segment.startswith("{"):
                    continue
                parent = "/" + "/".join(segments[:n])
                seen, route = first.setdefault(parent, (segment, api.route))
                if seen != segment:
                    ctx.report.add(
                        codes.PATH_PARAMETER_MISMATCH,
                        f"`{api.route}` calls the parameter after `{parent}` {segment}, but `{route}` calls it {seen}",
                        api.span,
                        f"use {seen} in both paths",
                    )
                    break


def check_saga_error_names(ctx: RuleContext) -> None:
    for event in ctx.flow.events:
        if event.name in SAGA_ERROR_NAMES:
            ctx.report.add(
                codes.RESERVED_NAME,
                f"event `{event.name}` cannot be used: it is the error a saga step fails with when its handler runs out of attempts",
                event.name_span,
                "rename the event",
            )
    for saga in ctx.flow.sagas:
        if saga.trigger_compensation is None:
            continue
        for step in saga.steps:
            if step.name == "trigger":
                ctx.report.add(
                    codes.RESERVED_NAME,
                    f"step `trigger` cannot be used in saga `{saga.name}`: `undo trigger` undoes its compensated trigger",
                    step.span,
                    "rename the step",
                )


def check_handler_limits(ctx: RuleContext) -> None:
    for handler in ctx.flow.handlers():
        policy = handler.policy
        span = policy.timeout_span or handler.span
        if policy.timeout_ms > limits.LAMBDA_TIMEOUT.value:
            ctx.report.add(
                codes.TARGET_LIMIT,
                f"`{handler.service}.{handler.name}` has a timeout of {format_ms(policy.timeout_ms)}; an AWS Lambda function runs at most {format_ms(limits.LAMBDA_TIMEOUT.value)}",
                span,
                "split the work into smaller steps, or use a saga",
            )
        elif policy.handler_worst_case_ms() > limits.SQS_RETENTION.value:
            ctx.report.add(
                codes.TARGET_LIMIT,
                f"`{handler.service}.{handler.name}` retries longer than an SQS queue keeps a message ({format_ms(limits.SQS_RETENTION.value)})",
                policy.retry_span or span,
                "use fewer attempts",
            )


def check_saga_limits(ctx: RuleContext) -> None:
    for saga in ctx.flow.sagas:
        if (
            saga.timeout_ms is not None
            and saga.timeout_span is not None
            and saga.timeout_ms > limits.STEP_FUNCTIONS_EXECUTION.value
        ):
            ctx.report.add(
                codes.TARGET_LIMIT,
                f"saga `{saga.name}` times out after {format_ms(saga.timeout_ms)}; a Step Functions workflow runs at most a year",
                saga.timeout_span,
            )


CHECKS: tuple[Rule, ...] = (
    Rule(check_logical_ids, (codes.NAME_CLASH, codes.NAME_TOO_LONG)),
    Rule(check_saga_error_names, (codes.RESERVED_NAME,)),
    Rule(check_path_parameters, (codes.PATH_PARAMETER_MISMATCH,)),
    Rule(check_handler_limits, (codes.TARGET_LIMIT,)),
    Rule(check_saga_limits, (codes.TARGET_LIMIT,)),
)
